//! The network: nodes and channels in a petgraph `StableGraph`, so that opening and closing
//! channels at run time keeps every other id valid. Edge direction in the graph is
//! `node1 -> node2`; both payment directions live inside the [`Channel`].

use super::channel::Channel;
use super::ids::{ChannelId, Direction, NodeId, ShortChannelId};
use super::node::Node;
use petgraph::stable_graph::StableGraph;
use petgraph::visit::EdgeRef;
use std::collections::HashMap;

#[derive(Clone, Debug, Default)]
pub struct Network {
    graph: StableGraph<Node, Channel>,
    by_scid: HashMap<ShortChannelId, ChannelId>,
}

impl Network {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_node(&mut self, node: Node) -> NodeId {
        NodeId(self.graph.add_node(node).index() as u32)
    }

    /// Add a channel. Fails if the short channel id is taken, an endpoint is missing, or
    /// both endpoints are the same node.
    pub fn add_channel(
        &mut self,
        node1: NodeId,
        node2: NodeId,
        channel: Channel,
    ) -> Result<ChannelId, String> {
        if self.by_scid.contains_key(&channel.scid) {
            return Err(format!("short channel id {} is used twice", channel.scid));
        }
        if node1 == node2 {
            return Err(format!(
                "channel {} connects node {node1} to itself",
                channel.scid
            ));
        }
        if self.node(node1).is_none() || self.node(node2).is_none() {
            return Err(format!(
                "channel {} names a node that does not exist",
                channel.scid
            ));
        }
        let scid = channel.scid;
        let idx = self
            .graph
            .add_edge(node1.graph_index(), node2.graph_index(), channel);
        let id = ChannelId(idx.index() as u32);
        self.by_scid.insert(scid, id);
        Ok(id)
    }

    /// Remove a channel outright (callers make sure nothing is in flight).
    pub fn remove_channel(&mut self, id: ChannelId) -> Option<Channel> {
        let channel = self.graph.remove_edge(id.graph_index())?;
        self.by_scid.remove(&channel.scid);
        Some(channel)
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.graph.node_weight(id.graph_index())
    }

    pub fn node_mut(&mut self, id: NodeId) -> Option<&mut Node> {
        self.graph.node_weight_mut(id.graph_index())
    }

    pub fn channel(&self, id: ChannelId) -> Option<&Channel> {
        self.graph.edge_weight(id.graph_index())
    }

    pub fn channel_mut(&mut self, id: ChannelId) -> Option<&mut Channel> {
        self.graph.edge_weight_mut(id.graph_index())
    }

    pub fn channel_by_scid(&self, scid: ShortChannelId) -> Option<ChannelId> {
        self.by_scid.get(&scid).copied()
    }

    /// `(node1, node2)` of a channel.
    pub fn endpoints(&self, id: ChannelId) -> Option<(NodeId, NodeId)> {
        self.graph
            .edge_endpoints(id.graph_index())
            .map(|(a, b)| (NodeId(a.index() as u32), NodeId(b.index() as u32)))
    }

    /// Source and destination node of one direction of a channel.
    pub fn direction_endpoints(&self, id: ChannelId, dir: Direction) -> Option<(NodeId, NodeId)> {
        let (a, b) = self.endpoints(id)?;
        Some(match dir {
            Direction::Forward => (a, b),
            Direction::Backward => (b, a),
        })
    }

    /// The direction of `id` that leaves `from`, if `from` is an endpoint.
    pub fn direction_from(&self, id: ChannelId, from: NodeId) -> Option<Direction> {
        let (a, b) = self.endpoints(id)?;
        if from == a {
            Some(Direction::Forward)
        } else if from == b {
            Some(Direction::Backward)
        } else {
            None
        }
    }

    /// Nodes in the network (removed ones no longer count).
    pub fn node_count(&self) -> usize {
        self.graph.node_weights().filter(|n| !n.removed).count()
    }

    /// Whether `id` is a node of the network now (it exists and was not removed).
    pub fn is_live(&self, id: NodeId) -> bool {
        self.node(id).is_some_and(|n| !n.removed)
    }

    pub fn channel_count(&self) -> usize {
        self.graph.edge_count()
    }

    /// One past the largest node index in use (ids are dense unless nodes were removed).
    pub fn node_bound(&self) -> usize {
        self.graph
            .node_indices()
            .map(|i| i.index() + 1)
            .max()
            .unwrap_or(0)
    }

    /// One past the largest channel index in use.
    pub fn channel_bound(&self) -> usize {
        self.graph
            .edge_indices()
            .map(|i| i.index() + 1)
            .max()
            .unwrap_or(0)
    }

    /// Nodes in index order (deterministic), without the removed ones.
    pub fn nodes(&self) -> impl Iterator<Item = (NodeId, &Node)> + '_ {
        self.graph
            .node_indices()
            .map(move |i| (NodeId(i.index() as u32), &self.graph[i]))
            .filter(|(_, n)| !n.removed)
    }

    /// Channels in index order (deterministic), with their endpoints.
    pub fn channels(&self) -> impl Iterator<Item = (ChannelId, NodeId, NodeId, &Channel)> + '_ {
        self.graph.edge_indices().map(move |e| {
            let (a, b) = self
                .graph
                .edge_endpoints(e)
                .expect("edge index from the graph");
            (
                ChannelId(e.index() as u32),
                NodeId(a.index() as u32),
                NodeId(b.index() as u32),
                &self.graph[e],
            )
        })
    }

    /// Channels touching `node`, as `(channel, direction leaving node, peer)`, sorted by
    /// channel id so that every consumer sees the same order.
    pub fn channels_of(&self, node: NodeId) -> Vec<(ChannelId, Direction, NodeId)> {
        let mut out: Vec<_> = self
            .graph
            .edges_directed(node.graph_index(), petgraph::Direction::Outgoing)
            .map(|e| {
                (
                    ChannelId(e.id().index() as u32),
                    Direction::Forward,
                    NodeId(e.target().index() as u32),
                )
            })
            .chain(
                self.graph
                    .edges_directed(node.graph_index(), petgraph::Direction::Incoming)
                    .map(|e| {
                        (
                            ChannelId(e.id().index() as u32),
                            Direction::Backward,
                            NodeId(e.source().index() as u32),
                        )
                    }),
            )
            .collect();
        out.sort_by_key(|(c, _, _)| *c);
        out
    }

    /// What could move over all of `node`'s channels now: outward (what it can send) or
    /// inward (what it can receive). A channel counts when it is open, its direction is
    /// enabled and has a free slot, and the peer is online; it contributes the sending
    /// side's balance, capped by that direction's `htlc_maximum_msat`.
    pub fn movable_msat(&self, node: NodeId, outward: bool) -> u64 {
        let online = |v: NodeId| self.node(v).is_some_and(|n| n.online);
        self.channels_of(node)
            .into_iter()
            .filter(|&(_, _, peer)| online(peer))
            .filter_map(|(channel, dir, _)| {
                let ch = self.channel(channel)?;
                let side = ch.side(if outward { dir } else { dir.reverse() });
                let usable = !ch.closing && !side.policy.disabled && side.slots_free() > 0;
                usable.then_some(side.balance_msat.min(side.policy.htlc_maximum_msat))
            })
            .sum()
    }

    /// Total capacity of a node's channels, in sat.
    pub fn node_capacity_sat(&self, node: NodeId) -> u64 {
        self.channels_of(node)
            .iter()
            .filter_map(|(c, _, _)| self.channel(*c))
            .map(|c| c.capacity_sat)
            .sum()
    }

    /// Check every channel's invariant.
    pub fn check_invariants(&self) -> Result<(), String> {
        for (_, _, _, c) in self.channels() {
            c.check_invariant()?;
        }
        Ok(())
    }

    /// Total msat locked in HTLCs over all channels, and the number of HTLCs.
    pub fn in_flight_totals(&self) -> (u64, usize) {
        self.channels().fold((0, 0), |(msat, n), (_, _, _, c)| {
            (
                msat + c.sides[0].in_flight_msat() + c.sides[1].in_flight_msat(),
                n + c.in_flight_count(),
            )
        })
    }
}
