//! lnlab: a lab where agents learn to route Lightning payments and pay for APIs with L402.
//!
//! The engine (`network`, `sim`, `routing`, `scene`, `rl`, `l402`) is plain Rust with no
//! Bevy types, so it can be tested and benchmarked headless. `ecs` wraps it in Bevy
//! plugins, and `cli` is a thin shell over it.

pub mod cli;
pub mod ecs;
pub mod l402;
pub mod network;
pub mod rl;
pub mod routing;
pub mod scene;
pub mod sim;
