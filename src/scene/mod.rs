//! Scenes: the project's own versioned RON format for a whole experiment (topology,
//! liquidity, workload, timeline, routing and simulation settings), with loading that
//! reports file, line and column, atomic saving, and building the engine's network.

pub mod build;
pub mod edit;
pub mod generate;
pub mod import;
pub mod io;
pub mod schema;

pub use io::{SceneError, load, parse, save};
pub use schema::{FORMAT_VERSION, Scene, SceneChannel, SceneNode};
