//! Data the benchmarks share, without criterion, so other crates' benchmarks can include it.

pub mod nation;
