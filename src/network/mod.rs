//! The Lightning network model: nodes, channels with two-sided balances and HTLC slots,
//! liquidity models, the gossip view routers see, and real-graph import and synthetic
//! generation. Plain Rust, no Bevy: everything here is testable headless.

pub mod channel;
pub mod generate;
pub mod gossip;
pub mod graph;
pub mod ids;
pub mod import;
pub mod liquidity;
pub mod node;

pub use channel::{Channel, ChannelPolicy, HalfChannel, InFlightHtlc};
pub use gossip::{GossipPolicy, GossipView};
pub use graph::Network;
pub use ids::{ChannelId, Direction, NodeId, ShortChannelId};
pub use liquidity::LiquidityModel;
pub use node::{Node, PubKey, Role};
pub mod layout;
