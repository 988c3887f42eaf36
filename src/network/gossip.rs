//! The gossip view: what every node knows about the graph from channel announcements and
//! updates (capacities and policies, never balances), laid out as compressed adjacency
//! arrays for fast path finding. It lags the real channel state by the scene's gossip delay,
//! which is how senders come to use stale fees and CLTV deltas, as they do on mainnet.
//!
//! Every change bumps [`GossipView::epoch`]; routers key their caches on it.

use super::graph::Network;
use super::ids::{ChannelId, Direction, NodeId, ShortChannelId};

/// A directed edge index into the view's arrays.
pub type EdgeIdx = u32;

/// What gossip says about one direction of a channel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GossipPolicy {
    pub fee_base_msat: u64,
    pub fee_rate_ppm: u64,
    pub cltv_expiry_delta: u16,
    pub htlc_minimum_msat: u64,
    pub htlc_maximum_msat: u64,
    pub disabled: bool,
}

impl GossipPolicy {
    #[inline]
    pub fn fee_msat(&self, amount_msat: u64) -> u64 {
        super::channel::forwarding_fee_msat(self.fee_base_msat, self.fee_rate_ppm, amount_msat)
    }
    /// Whether gossip says an HTLC of `amount_msat` may use this direction.
    pub fn admits(&self, amount_msat: u64, capacity_msat: u64) -> bool {
        !self.disabled
            && amount_msat >= self.htlc_minimum_msat
            && amount_msat <= self.htlc_maximum_msat
            && amount_msat <= capacity_msat
    }
}

impl From<&super::channel::ChannelPolicy> for GossipPolicy {
    fn from(p: &super::channel::ChannelPolicy) -> Self {
        GossipPolicy {
            fee_base_msat: p.fee_base_msat,
            fee_rate_ppm: p.fee_rate_ppm,
            cltv_expiry_delta: p.cltv_expiry_delta,
            htlc_minimum_msat: p.htlc_minimum_msat,
            htlc_maximum_msat: p.htlc_maximum_msat,
            disabled: p.disabled,
        }
    }
}

/// An edge as the backward search reads it: stored inline in the incoming adjacency of its
/// target, so a search scans memory sequentially.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InEdge {
    pub edge: EdgeIdx,
    pub from: u32,
    pub to: u32,
    pub channel: ChannelId,
    pub direction: Direction,
    pub capacity_msat: u64,
    pub policy: GossipPolicy,
}

/// [`GossipView::could_relay`]'s marks: incoming edges from two or more peers, or none.
const MANY_PEERS: u32 = u32::MAX;
const NO_PEER: u32 = u32::MAX - 1;

#[derive(Clone, Debug, Default)]
pub struct GossipView {
    /// Bumped on every change; caches built on an older epoch are stale.
    pub epoch: u64,
    node_bound: usize,
    pub from: Vec<u32>,
    pub to: Vec<u32>,
    pub channel: Vec<ChannelId>,
    pub direction: Vec<Direction>,
    pub scid: Vec<ShortChannelId>,
    pub capacity_msat: Vec<u64>,
    pub policy: Vec<GossipPolicy>,
    in_offsets: Vec<u32>,
    in_edges: Vec<EdgeIdx>,
    /// `in_edges` with each edge's data inline; `in_pos[e]` is edge `e`'s slot.
    in_data: Vec<InEdge>,
    in_pos: Vec<u32>,
    out_offsets: Vec<u32>,
    out_edges: Vec<EdgeIdx>,
    /// `out_edges` with each edge's data inline (for forward searches), each node's edges
    /// ordered by fee rate, then edge index (see [`Self::outgoing_data`]); `out_pos[e]` is
    /// edge `e`'s slot.
    out_data: Vec<InEdge>,
    out_pos: Vec<u32>,
    /// `channel.index() * 2 + direction.index()` -> edge, `u32::MAX` when absent.
    edge_of_channel: Vec<EdgeIdx>,
    /// Per node: the one peer all its incoming edges come from, [`MANY_PEERS`] when they
    /// come from two or more, [`NO_PEER`] when there are none (see [`Self::could_relay`]).
    in_peer: Vec<u32>,
}

impl GossipView {
    /// Build the view from the network's current announced state.
    pub fn build(network: &Network, epoch: u64) -> Self {
        Self::rebuild(network, epoch, None, |_| true)
    }

    /// Build a view of the channels gossip has announced (`visible`), keeping the policies
    /// `previous` had for channels it already knew, so that changes still travelling do
    /// not show early.
    pub fn rebuild(
        network: &Network,
        epoch: u64,
        previous: Option<&GossipView>,
        visible: impl Fn(ShortChannelId) -> bool,
    ) -> Self {
        let mut v = GossipView {
            epoch,
            node_bound: network.node_bound(),
            ..Default::default()
        };
        v.edge_of_channel = vec![u32::MAX; network.channel_bound() * 2];
        for (id, n1, n2, ch) in network.channels().filter(|(_, _, _, ch)| visible(ch.scid)) {
            for dir in Direction::BOTH {
                let (a, b) = if dir == Direction::Forward {
                    (n1, n2)
                } else {
                    (n2, n1)
                };
                let e = v.from.len() as u32;
                v.from.push(a.0);
                v.to.push(b.0);
                v.channel.push(id);
                v.direction.push(dir);
                v.scid.push(ch.scid);
                v.capacity_msat.push(ch.capacity_msat());
                let known = previous.and_then(|p| {
                    let e = p.edge(id, dir)?;
                    (p.scid[e as usize] == ch.scid).then(|| p.policy[e as usize])
                });
                v.policy
                    .push(known.unwrap_or_else(|| GossipPolicy::from(&ch.side(dir).policy)));
                v.edge_of_channel[id.index() * 2 + dir.index()] = e;
            }
        }
        (v.in_offsets, v.in_edges) = csr(v.node_bound, &v.to);
        (v.out_offsets, v.out_edges) = csr(v.node_bound, &v.from);
        v.in_pos = vec![0; v.from.len()];
        for (pos, &e) in v.in_edges.iter().enumerate() {
            v.in_pos[e as usize] = pos as u32;
        }
        v.in_data = v.in_edges.iter().map(|&e| v.in_edge(e)).collect();
        v.out_data = v.out_edges.iter().map(|&e| v.in_edge(e)).collect();
        for node in 0..v.node_bound {
            let (start, end) = (v.out_offsets[node], v.out_offsets[node + 1]);
            v.out_data[start as usize..end as usize].sort_unstable_by_key(by_rate);
        }
        v.out_pos = vec![0; v.from.len()];
        for (pos, e) in v.out_data.iter().enumerate() {
            v.out_pos[e.edge as usize] = pos as u32;
        }
        v.in_peer = (0..v.node_bound)
            .map(|i| {
                v.incoming_data(NodeId(i as u32))
                    .iter()
                    .map(|e| e.from)
                    .try_fold(NO_PEER, |peer, from| match peer {
                        NO_PEER => Some(from),
                        p if p == from => Some(p),
                        _ => None,
                    })
                    .unwrap_or(MANY_PEERS)
            })
            .collect();
        v
    }

    /// Whether `node` has an announced channel from a node other than `toward`, so that it
    /// could forward a payment to `toward` that did not come from `toward`. A leaf (one peer)
    /// can never be an intermediate hop toward its only peer: searches skip it, which is
    /// most of what a hub's relaxation would otherwise write. Topology only (a disabled
    /// direction still counts), so it is never wrong, only sometimes not tight.
    #[inline]
    pub fn could_relay(&self, node: u32, toward: u32) -> bool {
        match self.in_peer.get(node as usize) {
            Some(&peer) => peer == MANY_PEERS || (peer != NO_PEER && peer != toward),
            None => false,
        }
    }

    fn in_edge(&self, e: EdgeIdx) -> InEdge {
        let i = e as usize;
        InEdge {
            edge: e,
            from: self.from[i],
            to: self.to[i],
            channel: self.channel[i],
            direction: self.direction[i],
            capacity_msat: self.capacity_msat[i],
            policy: self.policy[i],
        }
    }

    /// Edges arriving at `node`, with their data inline.
    pub fn incoming_data(&self, node: NodeId) -> &[InEdge] {
        let i = node.index();
        if i + 1 >= self.in_offsets.len() {
            return &[];
        }
        &self.in_data[self.in_offsets[i] as usize..self.in_offsets[i + 1] as usize]
    }

    pub fn node_bound(&self) -> usize {
        self.node_bound
    }

    pub fn edge_count(&self) -> usize {
        self.from.len()
    }

    /// Edges arriving at `node` (for backward searches from a destination).
    pub fn incoming(&self, node: NodeId) -> &[EdgeIdx] {
        slice(&self.in_offsets, &self.in_edges, node)
    }

    /// Edges leaving `node`.
    pub fn outgoing(&self, node: NodeId) -> &[EdgeIdx] {
        slice(&self.out_offsets, &self.out_edges, node)
    }

    /// Edges leaving `node`, with their data inline, by ascending fee rate (then edge
    /// index), so that a forward search can leave the dear ones for later.
    pub fn outgoing_data(&self, node: NodeId) -> &[InEdge] {
        slice(&self.out_offsets, &self.out_data, node)
    }

    pub fn edge(&self, channel: ChannelId, dir: Direction) -> Option<EdgeIdx> {
        self.edge_of_channel
            .get(channel.index() * 2 + dir.index())
            .copied()
            .filter(|&e| e != u32::MAX)
    }

    /// Apply a propagated `channel_update`.
    pub fn update_policy(&mut self, channel: ChannelId, dir: Direction, policy: GossipPolicy) {
        if let Some(e) = self.edge(channel, dir) {
            self.policy[e as usize] = policy;
            self.in_data[self.in_pos[e as usize] as usize].policy = policy;
            self.set_out_policy(e, policy);
            self.epoch += 1;
        }
    }

    /// Change edge `e`'s policy in `out_data`, moving it to keep its node's edges ordered
    /// by fee rate.
    fn set_out_policy(&mut self, e: EdgeIdx, policy: GossipPolicy) {
        let node = self.from[e as usize] as usize;
        let (start, end) = (
            self.out_offsets[node] as usize,
            self.out_offsets[node + 1] as usize,
        );
        let mut pos = self.out_pos[e as usize] as usize;
        self.out_data[pos].policy = policy;
        while pos > start && by_rate(&self.out_data[pos]) < by_rate(&self.out_data[pos - 1]) {
            self.swap_out(pos, pos - 1);
            pos -= 1;
        }
        while pos + 1 < end && by_rate(&self.out_data[pos + 1]) < by_rate(&self.out_data[pos]) {
            self.swap_out(pos, pos + 1);
            pos += 1;
        }
    }

    fn swap_out(&mut self, a: usize, b: usize) {
        self.out_data.swap(a, b);
        self.out_pos[self.out_data[a].edge as usize] = a as u32;
        self.out_pos[self.out_data[b].edge as usize] = b as u32;
    }
}

/// The order of a node's edges in `out_data`.
fn by_rate(e: &InEdge) -> (u64, EdgeIdx) {
    (e.policy.fee_rate_ppm, e.edge)
}

fn slice<'a, T>(offsets: &[u32], edges: &'a [T], node: NodeId) -> &'a [T] {
    let i = node.index();
    if i + 1 >= offsets.len() {
        return &[];
    }
    &edges[offsets[i] as usize..offsets[i + 1] as usize]
}

/// Compressed adjacency grouped by `key[e]`, edges in ascending order inside each group.
fn csr(node_bound: usize, key: &[u32]) -> (Vec<u32>, Vec<EdgeIdx>) {
    let mut offsets = vec![0u32; node_bound + 1];
    for &k in key {
        offsets[k as usize + 1] += 1;
    }
    for i in 0..node_bound {
        offsets[i + 1] += offsets[i];
    }
    let mut fill = offsets.clone();
    let mut edges = vec![0; key.len()];
    for (e, &k) in key.iter().enumerate() {
        edges[fill[k as usize] as usize] = e as u32;
        fill[k as usize] += 1;
    }
    (offsets, edges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scene::generate::{GenerateParams, GraphModel, network_for_tests};
    use rand::{Rng, SeedableRng};

    /// Through random fee updates, every node's outgoing edges stay ordered by fee rate and
    /// then edge index, each carrying its edge's current policy.
    #[test]
    fn outgoing_edges_stay_ordered_by_rate() {
        let (_, mut gossip) = network_for_tests(&GenerateParams {
            nodes: 200,
            channels: 800,
            model: GraphModel::MainnetLike,
            seed: 5,
        });
        let check = |gossip: &GossipView| {
            for node in 0..gossip.node_bound() {
                let out = gossip.outgoing_data(NodeId(node as u32));
                let mut edges: Vec<EdgeIdx> = out.iter().map(|e| e.edge).collect();
                assert!(out.windows(2).all(|w| by_rate(&w[0]) < by_rate(&w[1])));
                assert!(
                    out.iter()
                        .all(|e| e.policy == gossip.policy[e.edge as usize])
                );
                edges.sort_unstable();
                assert_eq!(edges, gossip.outgoing(NodeId(node as u32)));
            }
        };
        check(&gossip);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let epoch = gossip.epoch;
        for _ in 0..2_000 {
            let e = rng.random_range(0..gossip.edge_count()) as EdgeIdx;
            let policy = GossipPolicy {
                fee_rate_ppm: rng.random_range(0..2_000),
                ..gossip.policy[e as usize]
            };
            gossip.update_policy(
                gossip.channel[e as usize],
                gossip.direction[e as usize],
                policy,
            );
        }
        check(&gossip);
        assert_eq!(gossip.epoch, epoch + 2_000);
    }
}
