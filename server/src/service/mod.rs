//! The services: every rule, access check, audit entry and re-determination lives here, behind
//! functions that take the caller and return a `ServiceError`. The JSON API (`api/`) and the
//! portal (`portal/`) are thin adapters over these and never import each other.

pub mod appeals;
pub mod audit_log;
pub mod contracts;
pub mod exports;
pub mod history;
pub mod imports;
pub mod locations;
pub mod market;
pub mod notices;
pub mod payments;
pub mod people;
pub mod places;
pub mod planning;
pub mod records;
pub mod retention;
pub mod rule_drafts;
pub mod sessions;
pub mod transparency;
pub mod visits;
