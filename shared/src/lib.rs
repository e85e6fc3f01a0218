//! `accredit-shared`: the domain types and rules that the field app and the server share, so one
//! function computes a score, a tier or a payment line everywhere.
//!
//! - [`framework`]: versioned framework packs (TOML), validated with field paths.
//! - [`scheme`]: versioned scheme rule sets with effective dates, and the [`scheme::RuleBook`];
//!   [`rule_form`] edits one as a form, [`rule_diff`] compares two, [`scheme_toml`] writes one.
//! - [`scoring`]: a visit's answers to domain and overall percentages.
//! - [`determination`]: a location's tier on a day, with its explanation.
//! - [`premium`]: payment schedules, pro-rated by day, rounded once per line; adjustment lines.
//! - [`withhold`]: withhold/release mode.
//! - [`visit_diff`]: what changed between two states of a visit, exactly (applied to the older
//!   state it gives the newer), and domain scores before and after.
//! - [`warning`]: early-warning traffic lights.
//!
//! Pure Rust, no I/O. Money is integer pence ([`money::Pence`]); dates are civil dates
//! ([`chrono::NaiveDate`]) in Europe/London; ids are UUIDs.

#![warn(missing_docs)]

pub mod advice;
pub mod api;
pub mod attachment;
pub mod calendar;
pub mod determination;
pub mod framework;
pub mod labels;
pub mod load_error;
pub mod money;
pub mod pack_migration;
pub mod planning;
pub mod premium;
pub mod ratio;
pub mod records;
pub mod retention;
pub mod rule_diff;
pub mod rule_form;
pub mod scheme;
pub mod scheme_toml;
pub mod scoring;
pub mod sync;
pub mod visit;
pub mod visit_diff;
pub mod warning;
pub mod whatif;
pub mod withhold;

pub use determination::{Determination, Engine, PremiumStatus};
pub use framework::{FrameworkPack, PackLibrary};
pub use load_error::LoadError;
pub use money::Pence;
pub use scheme::{RuleBook, RuleSet};
