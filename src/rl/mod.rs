//! Reinforcement learning for routing: agents at chosen nodes pick the next hop of every
//! payment they forward, with a policy trained by Proximal Policy Optimization (dfdx, CPU).
//! Plain Rust, no Bevy: the `ecs` plugin drives it inside Bevy systems.

pub mod config;
pub mod features;
pub mod net;
pub mod normalize;
pub mod oracle;
pub mod policy;
pub mod ppo;

pub mod agents;
pub mod session;
#[cfg(test)]
mod tests;
