//! Bevy plugins that drive the engine. `sim` runs simulation and training as ECS systems
//! and works headless (`MinimalPlugins`, no window, no GPU); the desktop lab adds the same
//! plugin next to its window and UI plugins.

pub mod lab;
pub mod sim;
