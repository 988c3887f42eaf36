//! The discrete-event simulator: a virtual clock, an event queue and seeded RNG streams;
//! the HTLC lifecycle hop by hop; the workload; scripted and live commands; timing
//! settings; and the metrics a run collects. Plain Rust, no Bevy.

pub mod command;
pub mod engine;
pub mod hubs;
pub mod ledger;
pub mod metrics;
pub mod settings;
pub mod workload;

pub use settings::SimSettings;
