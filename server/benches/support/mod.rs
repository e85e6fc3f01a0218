//! Data the server's benchmarks share: the national data set (generated as the shared crate's
//! `national` benchmark generates it) and a builder that loads it into a server database.

#![allow(dead_code)]

#[path = "../../../shared/benches/support/nation.rs"]
pub mod nation;
pub mod national_db;
