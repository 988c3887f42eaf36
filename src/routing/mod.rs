//! Routing: the [`Router`] trait that decides the next hop of a payment at a node from what
//! that node can know, the shared path-finding machinery, and the baseline routers.

use std::fmt;
use std::str::FromStr;

/// The baseline routers a scene or the CLI can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum RouterKind {
    Random,
    Shortest,
    Cheapest,
    Lnd,
    Ldk,
    /// The upper bound: sees the true network (see `oracle`). Not a router a wallet could run.
    Oracle,
}

impl RouterKind {
    pub const ALL: [RouterKind; 6] = [
        RouterKind::Random,
        RouterKind::Shortest,
        RouterKind::Cheapest,
        RouterKind::Lnd,
        RouterKind::Ldk,
        RouterKind::Oracle,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RouterKind::Random => "random",
            RouterKind::Shortest => "shortest",
            RouterKind::Cheapest => "cheapest",
            RouterKind::Lnd => "lnd",
            RouterKind::Ldk => "ldk",
            RouterKind::Oracle => "oracle",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        RouterKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                format!("unknown routing policy `{name}` (expected random, shortest, cheapest, lnd, ldk or oracle)")
            })
    }
}

impl TryFrom<String> for RouterKind {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        RouterKind::parse(&s)
    }
}

impl From<RouterKind> for String {
    fn from(kind: RouterKind) -> String {
        kind.as_str().to_string()
    }
}

impl FromStr for RouterKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RouterKind::parse(s)
    }
}

impl fmt::Display for RouterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

pub mod baselines;
pub mod cache;
pub mod dead_end;
pub mod ldk;
pub mod lru;
pub mod mission_control;
pub mod oracle;
pub mod per_sender;
pub mod potential;
pub mod radix_heap;
pub mod search;
pub mod settings;

pub use oracle::{Unroutable, UnroutableCounts};
pub use settings::RoutingSettings;

use crate::network::failure::FailureReason;
use crate::network::{ChannelId, Direction, GossipView, Network, NodeId, ShortChannelId};

/// One hop of a source route (what an onion tells each forwarding node).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteHop {
    pub channel: ChannelId,
    pub direction: Direction,
    pub scid: ShortChannelId,
    /// The node this hop delivers to.
    pub to: NodeId,
    /// The HTLC amount on this hop: what `to` receives, its own fee for the next hop included.
    pub amount_msat: u64,
    /// The HTLC's CLTV on this hop, in blocks above the current height.
    pub cltv: u32,
}

/// A complete route from the deciding node to the destination.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Route {
    pub hops: Vec<RouteHop>,
}

impl Route {
    /// What the first hop carries minus what the destination receives.
    pub fn fee_msat(&self) -> u64 {
        match (self.hops.first(), self.hops.last()) {
            (Some(f), Some(l)) => f.amount_msat - l.amount_msat,
            _ => 0,
        }
    }
}

/// What a node decides for a payment in its hands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// A whole route to the destination (source routing; only meaningful at the sender).
    Route(Route),
    /// Forward over one of this node's channels; the next node decides again.
    Forward {
        channel: ChannelId,
        direction: Direction,
    },
    /// Give up: the attempt fails here with this reason.
    Fail(FailureReason),
    /// No path can carry the payment now (only the `oracle` knows this); the attempt fails
    /// with `no_route` and the cause is counted.
    Unroutable(Unroutable),
}

/// The payment as the deciding node sees it.
#[derive(Clone, Copy, Debug)]
pub struct PaymentView<'a> {
    pub sender: NodeId,
    pub destination: NodeId,
    /// What the destination must receive.
    pub amount_msat: u64,
    /// Fees this attempt may still spend.
    pub fee_budget_msat: u64,
    /// CLTV blocks this attempt may still add before the sender's limit.
    pub cltv_budget: u32,
    /// Nodes visited so far: the sender first, the deciding node last.
    pub route_nodes: &'a [NodeId],
    /// 1 for the first attempt.
    pub attempt: u32,
    pub elapsed_ms: u64,
}

/// A node's exact knowledge of its own channels (and nothing else's balances).
#[derive(Clone, Copy)]
pub struct LocalView<'a> {
    network: &'a Network,
    node: NodeId,
}

/// One of the deciding node's channels, seen from its side.
#[derive(Clone, Copy, Debug)]
pub struct LocalChannel {
    pub channel: ChannelId,
    pub direction: Direction,
    pub peer: NodeId,
    pub balance_msat: u64,
    pub slots_free: usize,
    pub slot_occupancy: f32,
    pub capacity_sat: u64,
}

impl<'a> LocalView<'a> {
    pub fn new(network: &'a Network, node: NodeId) -> Self {
        LocalView { network, node }
    }

    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The whole true network: every balance, slot, policy and node state. Only the
    /// `oracle` policy reads it; a router that a real node could run must not.
    pub fn truth(&self) -> &'a Network {
        self.network
    }

    /// Whether this node could offer `amount_msat` over its own channel now (exact).
    pub fn can_send(&self, channel: ChannelId, amount_msat: u64) -> Result<(), FailureReason> {
        let dir = self
            .network
            .direction_from(channel, self.node)
            .ok_or(FailureReason::ChannelDisabled)?;
        // A node knows whether its peer is connected.
        let (_, peer) = self
            .network
            .direction_endpoints(channel, dir)
            .ok_or(FailureReason::ChannelDisabled)?;
        if !self.network.node(peer).is_some_and(|n| n.online) {
            return Err(FailureReason::NodeOffline);
        }
        self.network
            .channel(channel)
            .ok_or(FailureReason::ChannelDisabled)?
            .can_forward(dir, amount_msat)
    }

    /// The fee this node charges for forwarding `amount_msat` over one of its own channels,
    /// by its current policy (what it enforces, whatever gossip says); `None` if not its
    /// channel.
    pub fn fee_msat(&self, channel: ChannelId, amount_msat: u64) -> Option<u64> {
        let dir = self.network.direction_from(channel, self.node)?;
        let ch = self.network.channel(channel)?;
        Some(ch.side(dir).policy.fee_msat(amount_msat))
    }

    /// This node's spendable balance on one of its channels (0 if not its channel).
    pub fn outbound_msat(&self, channel: ChannelId) -> u64 {
        match (
            self.network.direction_from(channel, self.node),
            self.network.channel(channel),
        ) {
            (Some(dir), Some(ch)) => ch.side(dir).balance_msat,
            _ => 0,
        }
    }

    /// The channels this node could forward `amount_msat` over now, leaving out those
    /// whose peer is already on the route.
    pub fn usable_channels(&self, amount_msat: u64, route_nodes: &[NodeId]) -> Vec<LocalChannel> {
        self.channels()
            .into_iter()
            .filter(|c| !route_nodes.contains(&c.peer))
            .filter(|c| self.can_send(c.channel, amount_msat).is_ok())
            .collect()
    }

    /// This node's channels, in channel-id order.
    pub fn channels(&self) -> Vec<LocalChannel> {
        self.network
            .channels_of(self.node)
            .into_iter()
            .filter_map(|(channel, direction, peer)| {
                let ch = self.network.channel(channel)?;
                let side = ch.side(direction);
                Some(LocalChannel {
                    channel,
                    direction,
                    peer,
                    balance_msat: side.balance_msat,
                    slots_free: side.slots_free(),
                    slot_occupancy: side.slot_occupancy(),
                    capacity_sat: ch.capacity_sat,
                })
            })
            .collect()
    }
}

/// Everything a node may use to decide: gossip, its own channels, the payment and the
/// routing settings. Failure history lives in each router's own state.
#[derive(Clone, Copy)]
pub struct DecisionContext<'a> {
    pub now_ms: u64,
    pub node: NodeId,
    pub gossip: &'a GossipView,
    pub local: LocalView<'a>,
    pub payment: PaymentView<'a>,
    pub settings: &'a RoutingSettings,
}

/// One hop of an attempt as the sender learns it back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HopRecord {
    pub channel: ChannelId,
    pub direction: Direction,
    pub from: NodeId,
    pub to: NodeId,
    pub amount_msat: u64,
    pub capacity_msat: u64,
}

/// How an attempt ended, reported to the sender's router so it can learn.
#[derive(Clone, Copy, Debug)]
pub struct AttemptOutcome<'a> {
    pub now_ms: u64,
    pub sender: NodeId,
    pub destination: NodeId,
    pub amount_msat: u64,
    /// The hops tried; on failure the last one is the hop that failed.
    pub hops: &'a [HopRecord],
    /// `None` on success; otherwise the failure reason.
    pub failure: Option<FailureReason>,
}

/// A routing policy. The engine asks the sender's router when an attempt starts, and, for
/// payments without a source route, the router of every node the payment reaches.
pub trait Router: Send {
    fn name(&self) -> &str;
    fn decide(&mut self, ctx: &DecisionContext) -> Decision;
    /// Learn from a resolved attempt that this router's node sent.
    fn learn(&mut self, _outcome: &AttemptOutcome) {}
    /// The gossip view changed (policy or topology); drop what depends on it.
    fn gossip_changed(&mut self, _gossip: &GossipView) {}
    /// How the router spent its effort, for benchmarks (e.g. cache hits and searches).
    fn stats(&self) -> String {
        String::new()
    }
}

/// Build a baseline router.
pub fn build_router(kind: RouterKind, seed: u64) -> Box<dyn Router> {
    match kind {
        RouterKind::Random => Box::new(baselines::RandomRouter::new(seed)),
        RouterKind::Shortest => {
            Box::new(baselines::SourceRouter::new(baselines::Scoring::Shortest))
        }
        RouterKind::Cheapest => {
            Box::new(baselines::SourceRouter::new(baselines::Scoring::Cheapest))
        }
        RouterKind::Lnd => Box::new(baselines::SourceRouter::new(baselines::Scoring::Lnd(
            mission_control::MissionControlConfig::default(),
        ))),
        RouterKind::Ldk => Box::new(baselines::SourceRouter::new(baselines::Scoring::Ldk(
            ldk::LdkConfig::default(),
        ))),
        RouterKind::Oracle => Box::new(oracle::OracleRouter::new()),
    }
}
