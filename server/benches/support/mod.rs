//! What the server's benchmarks share: the national data set (generated as the shared crate's
//! `national` benchmark generates it), a builder that loads it into a server database, and the
//! caller and memory figures they measure with.

#![allow(dead_code)]

pub mod measure;
#[path = "../../../shared/benches/support/nation.rs"]
pub mod nation;
pub mod national_db;
