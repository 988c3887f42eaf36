//! Reinforcement learning for routing: agents at chosen nodes pick the next hop of every
//! payment they forward, with a policy trained by Proximal Policy Optimization (dfdx, CPU).
//! Plain Rust, no Bevy: a session (`crate::session`) drives it, headless or inside the
//! Bevy systems of the `ecs` plugin.

pub mod config;
pub mod features;
pub mod net;
pub mod normalize;
pub mod onward;
pub mod policy;
pub mod ppo;

pub mod agents;
#[cfg(test)]
mod tests;
