//! The discrete-event simulator: a virtual clock, an event queue and seeded RNG streams;
//! the HTLC lifecycle hop by hop; the workload; scripted and live commands; and the
//! metrics and reports a run produces. Plain Rust, no Bevy.

pub mod command;
pub mod delay;
pub mod engine;
pub mod failure;
pub mod ledger;
pub mod metrics;
pub mod report;
pub mod run;
pub mod workload;
