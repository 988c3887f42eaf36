//! Backward path search from the destination, as lnd and LDK do it: amounts grow hop by hop
//! toward the sender as each forwarding node adds its fee, CLTV deltas add up, and a
//! router-supplied [`EdgeScorer`] prices every edge. The distance of a node is
//! `weight + attempt_penalty / probability` (lnd's probability-weighted distance; additive
//! scorers use probability 1 and no penalty), which only grows along a path, so the search
//! settles nodes in order and can stop or resume at any time.
//!
//! A [`Tree`] is the search state for one destination and amount. It can be resumed, which
//! is what makes the destination-rooted cache in `cache` cheap: a later sender only extends
//! the search as far as it needs.

use super::RoutingSettings;
use super::{LocalView, Route, RouteHop};
use crate::network::gossip::{EdgeIdx, InEdge};
use crate::network::{GossipView, NodeId};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// How a router prices one directed edge that a node other than the sender forwards over.
pub trait EdgeScorer {
    /// Extra weight (in msat) and success probability of sending `amount_msat` over `edge`,
    /// whose owner charges `fee_msat`; `None` makes the edge unusable.
    fn score(&self, edge: &InEdge, amount_msat: u64, fee_msat: u64) -> Option<(f64, f64)>;
    /// lnd's attempt penalty, divided by the path probability in the distance; 0 for
    /// additive scorers.
    fn attempt_penalty_msat(&self, _amount_msat: u64) -> f64 {
        0.0
    }
    /// Paths less likely than this are not considered (lnd's minimum route probability).
    fn min_probability(&self) -> f64 {
        0.0
    }
}

/// Limits every route must meet.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_hops: u32,
    pub cltv_limit: u32,
    pub final_cltv_delta: u32,
    pub fee_limit_msat: u64,
}

impl Limits {
    pub fn new(settings: &RoutingSettings, amount_msat: u64) -> Self {
        Limits {
            max_hops: settings.max_hops,
            cltv_limit: settings.cltv_limit,
            final_cltv_delta: settings.final_cltv_delta,
            fee_limit_msat: settings.fee_limit_msat(amount_msat),
        }
    }
}

const NO_EDGE: u32 = u32::MAX;

/// Start a new search over `n` nodes with generation-stamped labels: labels written by
/// an older generation count as absent, so nothing is cleared between searches (except
/// when the node count changes or the counter wraps).
pub(super) fn next_generation<L: Clone + Default>(
    labels: &mut Vec<L>,
    generation: &mut u32,
    n: usize,
) {
    if labels.len() != n {
        *labels = vec![L::default(); n];
        *generation = 0;
    }
    *generation = generation.wrapping_add(1);
    if *generation == 0 {
        labels.fill(L::default());
        *generation = 1;
    }
}

/// A node waiting in a search's heap (also the oracle's): a min-heap on distance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct HeapItem {
    pub(super) dist: f64,
    pub(super) node: u32,
}
impl Eq for HeapItem {}
impl Ord for HeapItem {
    fn cmp(&self, other: &Self) -> Ordering {
        // Min-heap on distance; ties by node id so the order is deterministic.
        other
            .dist
            .total_cmp(&self.dist)
            .then_with(|| other.node.cmp(&self.node))
    }
}
impl PartialOrd for HeapItem {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// One node's label: its best known distance to the destination and how to get there.
/// Kept together (one cache line) because a search touches all of it at once.
#[derive(Clone, Copy, Debug, Default)]
struct Label {
    dist: f64,
    weight: f64,
    prob: f64,
    amount_msat: u64,
    cltv: u32,
    next: EdgeIdx,
    /// The search generation that wrote this label; older labels count as absent.
    stamp: u32,
    hops: u8,
    settled: bool,
}

/// Per-node labels of a search toward one destination.
#[derive(Clone, Debug)]
pub struct Tree {
    pub destination: NodeId,
    /// The amount the destination receives, as searched.
    pub amount_msat: u64,
    pub epoch: u64,
    /// Optional node that may only be reached through its own channels (the sender of an
    /// exact search); it never forwards for others.
    source: Option<NodeId>,
    generation: u32,
    labels: Vec<Label>,
    heap: BinaryHeap<HeapItem>,
    limits: Limits,
    pub settled_count: usize,
}

impl Tree {
    pub fn new() -> Self {
        Tree {
            destination: NodeId(0),
            amount_msat: 0,
            epoch: 0,
            source: None,
            generation: 0,
            labels: Vec::new(),
            heap: BinaryHeap::new(),
            limits: Limits {
                max_hops: 20,
                cltv_limit: 2016,
                final_cltv_delta: 80,
                fee_limit_msat: u64::MAX,
            },
            settled_count: 0,
        }
    }

    /// Start a new search (reusing the buffers).
    pub fn reset(
        &mut self,
        gossip: &GossipView,
        destination: NodeId,
        amount_msat: u64,
        limits: Limits,
        source: Option<NodeId>,
    ) {
        let n = gossip.node_bound();
        next_generation(&mut self.labels, &mut self.generation, n);
        self.destination = destination;
        self.amount_msat = amount_msat;
        self.epoch = gossip.epoch;
        self.source = source;
        self.limits = limits;
        self.heap.clear();
        self.settled_count = 0;
        let d = destination.index();
        if d < n {
            self.labels[d] = Label {
                dist: 0.0,
                weight: 0.0,
                prob: 1.0,
                amount_msat,
                cltv: limits.final_cltv_delta,
                next: NO_EDGE,
                stamp: self.generation,
                hops: 0,
                settled: false,
            };
            self.heap.push(HeapItem {
                dist: 0.0,
                node: d as u32,
            });
        }
    }

    fn label(&self, v: usize) -> Option<&Label> {
        self.labels.get(v).filter(|l| l.stamp == self.generation)
    }

    /// The settled distance of `v`, if any.
    pub fn distance(&self, v: NodeId) -> Option<f64> {
        self.label(v.index()).filter(|l| l.settled).map(|l| l.dist)
    }

    /// Hops and fees (what `v` must receive above the destination amount) of `v`'s settled
    /// route to the destination (the onward estimates' tests check their estimates against it).
    #[cfg(test)]
    pub fn settled_hops_and_fee(&self, v: NodeId) -> Option<(u8, u64)> {
        self.label(v.index())
            .filter(|l| l.settled)
            .map(|l| (l.hops, l.amount_msat.saturating_sub(self.amount_msat)))
    }

    /// The next edge from `v` toward the destination.
    pub fn next_edge(&self, v: NodeId) -> Option<EdgeIdx> {
        self.label(v.index())
            .map(|l| l.next)
            .filter(|&e| e != NO_EDGE)
    }

    /// Settle nodes until `stop(node)` says so or nothing is left. Returns the node that
    /// stopped the search.
    pub fn run<S: EdgeScorer + ?Sized>(
        &mut self,
        gossip: &GossipView,
        scorer: &S,
        local: Option<&LocalView>,
        mut stop: impl FnMut(NodeId) -> bool,
    ) -> Option<NodeId> {
        let penalty = scorer.attempt_penalty_msat(self.amount_msat);
        let min_prob = scorer.min_probability();
        while let Some(HeapItem { dist, node }) = self.heap.pop() {
            let u = node as usize;
            let here = self.labels[u];
            if here.settled || dist > here.dist {
                continue;
            }
            self.labels[u].settled = true;
            self.settled_count += 1;
            // Relax before asking `stop`, so a search resumed later is still complete.
            // The sender never forwards for others.
            if Some(NodeId(node)) != self.source && u32::from(here.hops) < self.limits.max_hops {
                self.relax(gossip, scorer, local, u, penalty, min_prob);
            }
            if stop(NodeId(node)) {
                return Some(NodeId(node));
            }
        }
        None
    }

    /// Offer `u`'s label to every node with an edge into `u`.
    #[inline]
    fn relax<S: EdgeScorer + ?Sized>(
        &mut self,
        gossip: &GossipView,
        scorer: &S,
        local: Option<&LocalView>,
        u: usize,
        penalty: f64,
        min_prob: f64,
    ) {
        let generation = self.generation;
        let here = self.labels[u];
        {
            for in_edge in gossip.incoming_data(NodeId(u as u32)) {
                let v = in_edge.from as usize;
                let is_source = self.source == Some(NodeId(in_edge.from));
                // A node with no other peer could only send the payment back to `u`.
                if !is_source && !gossip.could_relay(in_edge.from, u as u32) {
                    continue;
                }
                let there = self.labels[v];
                let known = there.stamp == generation;
                if known && there.settled {
                    continue;
                }
                let (amount_v, cltv_v, weight_v, prob_v) = if is_source {
                    // The sender's own channel: exact local knowledge, no fee, no risk.
                    let Some(local) = local else { continue };
                    if local.can_send(in_edge.channel, here.amount_msat).is_err() {
                        continue;
                    }
                    (here.amount_msat, here.cltv, here.weight, here.prob)
                } else {
                    let policy = &in_edge.policy;
                    if !policy.admits(here.amount_msat, in_edge.capacity_msat) {
                        continue;
                    }
                    let fee = policy.fee_msat(here.amount_msat);
                    let amount_v = here.amount_msat.saturating_add(fee);
                    if amount_v - self.amount_msat > self.limits.fee_limit_msat {
                        continue;
                    }
                    let cltv_v = here.cltv + u32::from(policy.cltv_expiry_delta);
                    if cltv_v > self.limits.cltv_limit {
                        continue;
                    }
                    let Some((w, p)) = scorer.score(in_edge, here.amount_msat, fee) else {
                        continue;
                    };
                    (amount_v, cltv_v, here.weight + w, here.prob * p)
                };
                if prob_v <= min_prob || prob_v <= 0.0 {
                    continue;
                }
                let dist_v = weight_v + if penalty > 0.0 { penalty / prob_v } else { 0.0 };
                // Between parallel channels to the same peer the sender uses the one with
                // the most balance (as the shared trees do).
                let better = !known
                    || dist_v < there.dist
                    || (is_source
                        && dist_v == there.dist
                        && there.next != NO_EDGE
                        && local.is_some_and(|l| {
                            gossip.to[there.next as usize] == in_edge.to
                                && l.outbound_msat(in_edge.channel)
                                    > l.outbound_msat(gossip.channel[there.next as usize])
                        }));
                if better {
                    self.labels[v] = Label {
                        dist: dist_v,
                        weight: weight_v,
                        prob: prob_v,
                        amount_msat: amount_v,
                        cltv: cltv_v,
                        next: in_edge.edge,
                        stamp: generation,
                        hops: here.hops + 1,
                        settled: false,
                    };
                    self.heap.push(HeapItem {
                        dist: dist_v,
                        node: v as u32,
                    });
                }
            }
        }
    }

    /// Edges from `start` to the destination following the tree, or `None` if the path
    /// is broken or loops.
    pub fn path_edges(&self, gossip: &GossipView, start: NodeId) -> Option<Vec<EdgeIdx>> {
        let mut edges = Vec::new();
        let mut v = start;
        while v != self.destination {
            let e = self.next_edge(v)?;
            edges.push(e);
            if edges.len() > self.limits.max_hops as usize {
                return None;
            }
            v = NodeId(gossip.to[e as usize]);
        }
        Some(edges)
    }
}

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

/// Turn a sequence of edges (sender first) into a route delivering exactly `amount_msat`,
/// with amounts and CLTVs computed backward from gossip. Checks what the sender can check:
/// gossip limits, hop count, fee and CLTV limits, loops, and its own first channel.
pub fn build_route(
    gossip: &GossipView,
    edges: &[EdgeIdx],
    amount_msat: u64,
    limits: &Limits,
    local: &LocalView,
) -> Option<Route> {
    if edges.is_empty() || edges.len() as u32 > limits.max_hops {
        return None;
    }
    let mut hops = vec![
        RouteHop {
            channel: gossip.channel[0],
            direction: gossip.direction[0],
            scid: gossip.scid[0],
            to: NodeId(0),
            amount_msat: 0,
            cltv: 0,
        };
        edges.len()
    ];
    let mut amount = amount_msat;
    let mut cltv = limits.final_cltv_delta;
    for i in (0..edges.len()).rev() {
        let e = edges[i] as usize;
        let policy = &gossip.policy[e];
        if i > 0 && !policy.admits(amount, gossip.capacity_msat[e]) {
            return None;
        }
        hops[i] = RouteHop {
            channel: gossip.channel[e],
            direction: gossip.direction[e],
            scid: gossip.scid[e],
            to: NodeId(gossip.to[e]),
            amount_msat: amount,
            cltv,
        };
        if i > 0 {
            // The node forwarding over edge i (the `from` of edge i) charges its fee.
            amount = amount.checked_add(policy.fee_msat(amount))?;
            cltv += u32::from(policy.cltv_expiry_delta);
        }
    }
    if amount - amount_msat > limits.fee_limit_msat || cltv > limits.cltv_limit {
        return None;
    }
    // Consecutive edges must connect, start at the sender and never revisit a node.
    let sender = NodeId(gossip.from[edges[0] as usize]);
    let mut seen = vec![sender];
    for w in edges.windows(2) {
        if gossip.to[w[0] as usize] != gossip.from[w[1] as usize] {
            return None;
        }
    }
    for h in &hops {
        if seen.contains(&h.to) {
            return None;
        }
        seen.push(h.to);
    }
    if sender != local.node()
        || local
            .can_send(hops[0].channel, hops[0].amount_msat)
            .is_err()
    {
        return None;
    }
    Some(Route { hops })
}
