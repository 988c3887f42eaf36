//! The Lightning network model: nodes, channels with two-sided balances and HTLC slots,
//! liquidity models, the gossip view routers see, failure reasons, processing delays and a
//! graph layout. Plain Rust, no Bevy: everything here is testable headless.

pub mod channel;
pub mod delay;
pub mod failure;
pub mod gossip;
pub mod graph;
pub mod ids;
pub mod layout;
pub mod liquidity;
pub mod node;

pub use channel::{Channel, ChannelPolicy, HalfChannel};
pub use delay::DelayModel;
pub use failure::FailureReason;
pub use gossip::{GossipPolicy, GossipView};
pub use graph::Network;
pub use ids::{ChannelId, Direction, NodeId, ShortChannelId};
pub use liquidity::LiquidityModel;
pub use node::{Node, PubKey, Role};
