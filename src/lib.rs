//! lnlab: a lab where agents learn to route Lightning payments and pay for APIs with L402.
//!
//! The engine (`network`, `routing`, `sim`, `rl`, `l402`, `scene`, `session`) is plain Rust
//! with no Bevy types, so it can be tested and benchmarked headless. `ecs` wraps it in Bevy
//! plugins, and `cli` is a thin shell over it.
//!
//! Data flows one way: a scene builds a session; the session runs the engine, asks the
//! routers and agents for decisions, and collects metrics; the lab draws them and sends
//! commands back through the session.
//!
//! # Layers
//! Each module imports only from the modules listed beside it (a test in `layering.rs`
//! checks every `crate::` path against this table; test modules may import anything):
//!
//! | module | may import |
//! |---|---|
//! | `rng`, `limits`, `files` | nothing of the crate |
//! | `network` | `rng`, `limits` |
//! | `routing` | `network`, `rng`, `limits` |
//! | `sim` | `routing`, `network`, `rng`, `limits` |
//! | `rl` | `sim`, `routing`, `network`, `rng`, `limits`, `files` |
//! | `l402` | `sim`, `network`, `rng`, `limits` |
//! | `scene` | `rl`, `l402`, `sim`, `routing`, `network`, `rng`, `limits`, `files` |
//! | `session` | `scene`, `rl`, `l402`, `sim`, `routing`, `network`, `rng`, `limits`, `files` |
//! | `ecs` | `session`, `scene`, `rl`, `l402`, `sim`, `routing`, `network`, `files` |
//! | `cli` | anything |
//!
//! - `rng`: seeded random streams, every stream tag registered; `limits`: bounds on user
//!   values; `files`: atomic writes.
//! - `network`: nodes, channels, HTLC slots, gossip view, failure reasons, delays, layout.
//! - `routing`: the router trait, path finding, the baseline routers, routing settings.
//! - `sim`: the discrete-event engine, workload, commands, timing settings, metrics.
//! - `rl`: PPO agents, features, networks, checkpoints.
//! - `l402`: invoices, macaroons, headers, servers, and the market of paying clients.
//! - `scene`: the file format for a whole experiment, graph import and generation.
//! - `session`: one running session (engine, agents, market), headless runs and reports.
//! - `ecs`: the Bevy plugins (simulation, headless-capable; the desktop lab).
//! - `cli`: the command line.

pub mod cli;
pub mod ecs;
pub mod files;
pub mod l402;
pub mod limits;
pub mod network;
pub mod rl;
pub mod rng;
pub mod routing;
pub mod scene;
pub mod session;
pub mod sim;

#[cfg(test)]
mod layering;
