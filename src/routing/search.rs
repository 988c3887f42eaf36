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

use super::{LocalView, Route, RouteHop};
use crate::network::gossip::EdgeIdx;
use crate::network::{GossipView, NodeId};
use crate::scene::RoutingSettings;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// How a router prices one directed edge that a node other than the sender forwards over.
pub trait EdgeScorer {
    /// Extra weight (in msat) and success probability of sending `amount_msat` over `edge`,
    /// whose owner charges `fee_msat`; `None` makes the edge unusable.
    fn score(
        &self,
        gossip: &GossipView,
        edge: EdgeIdx,
        amount_msat: u64,
        fee_msat: u64,
    ) -> Option<(f64, f64)>;
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

#[derive(Clone, Copy, Debug, PartialEq)]
struct HeapItem {
    dist: f64,
    node: u32,
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
    stamp: Vec<u32>,
    generation: u32,
    dist: Vec<f64>,
    weight: Vec<f64>,
    prob: Vec<f64>,
    amount: Vec<u64>,
    cltv: Vec<u32>,
    hops: Vec<u8>,
    next: Vec<EdgeIdx>,
    settled: Vec<bool>,
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
            stamp: Vec::new(),
            generation: 0,
            dist: Vec::new(),
            weight: Vec::new(),
            prob: Vec::new(),
            amount: Vec::new(),
            cltv: Vec::new(),
            hops: Vec::new(),
            next: Vec::new(),
            settled: Vec::new(),
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
        if self.stamp.len() != n {
            self.stamp = vec![0; n];
            self.dist = vec![0.0; n];
            self.weight = vec![0.0; n];
            self.prob = vec![0.0; n];
            self.amount = vec![0; n];
            self.cltv = vec![0; n];
            self.hops = vec![0; n];
            self.next = vec![NO_EDGE; n];
            self.settled = vec![false; n];
            self.generation = 0;
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamp.fill(0);
            self.generation = 1;
        }
        self.destination = destination;
        self.amount_msat = amount_msat;
        self.epoch = gossip.epoch;
        self.source = source;
        self.limits = limits;
        self.heap.clear();
        self.settled_count = 0;
        let d = destination.index();
        if d < n {
            self.label(
                d,
                0.0,
                0.0,
                1.0,
                amount_msat,
                limits.final_cltv_delta,
                0,
                NO_EDGE,
            );
            self.heap.push(HeapItem {
                dist: 0.0,
                node: d as u32,
            });
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn label(
        &mut self,
        v: usize,
        dist: f64,
        weight: f64,
        prob: f64,
        amount: u64,
        cltv: u32,
        hops: u8,
        next: EdgeIdx,
    ) {
        self.stamp[v] = self.generation;
        self.dist[v] = dist;
        self.weight[v] = weight;
        self.prob[v] = prob;
        self.amount[v] = amount;
        self.cltv[v] = cltv;
        self.hops[v] = hops;
        self.next[v] = next;
        self.settled[v] = false;
    }

    fn labelled(&self, v: usize) -> bool {
        self.stamp.get(v).is_some_and(|&s| s == self.generation)
    }

    pub fn is_settled(&self, v: NodeId) -> bool {
        self.labelled(v.index()) && self.settled[v.index()]
    }

    /// The settled distance of `v`, if any.
    pub fn distance(&self, v: NodeId) -> Option<f64> {
        self.is_settled(v).then(|| self.dist[v.index()])
    }

    /// The next edge from `v` toward the destination.
    pub fn next_edge(&self, v: NodeId) -> Option<EdgeIdx> {
        (self.labelled(v.index()) && self.next[v.index()] != NO_EDGE).then(|| self.next[v.index()])
    }

    /// Settle nodes until `stop(node)` says so or nothing is left. Returns the node that
    /// stopped the search.
    pub fn run(
        &mut self,
        gossip: &GossipView,
        scorer: &dyn EdgeScorer,
        local: Option<&LocalView>,
        mut stop: impl FnMut(&Self, NodeId) -> bool,
    ) -> Option<NodeId> {
        let penalty = scorer.attempt_penalty_msat(self.amount_msat);
        let min_prob = scorer.min_probability();
        while let Some(HeapItem { dist, node }) = self.heap.pop() {
            let u = node as usize;
            if self.settled[u] || dist > self.dist[u] {
                continue;
            }
            self.settled[u] = true;
            self.settled_count += 1;
            if stop(self, NodeId(node)) {
                return Some(NodeId(node));
            }
            if Some(NodeId(node)) == self.source {
                continue; // the sender never forwards for others
            }
            let (u_weight, u_prob, u_amount, u_cltv, u_hops) = (
                self.weight[u],
                self.prob[u],
                self.amount[u],
                self.cltv[u],
                self.hops[u],
            );
            if u32::from(u_hops) >= self.limits.max_hops {
                continue;
            }
            for &e in gossip.incoming(NodeId(node)) {
                let v = gossip.from[e as usize] as usize;
                if self.labelled(v) && self.settled[v] {
                    continue;
                }
                let is_source = self.source == Some(NodeId(v as u32));
                let (amount_v, cltv_v, weight_v, prob_v) = if is_source {
                    // The sender's own channel: exact local knowledge, no fee, no risk.
                    let Some(local) = local else { continue };
                    if local
                        .can_send(gossip.channel[e as usize], u_amount)
                        .is_err()
                    {
                        continue;
                    }
                    (u_amount, u_cltv, u_weight, u_prob)
                } else {
                    let policy = &gossip.policy[e as usize];
                    if !policy.admits(u_amount, gossip.capacity_msat[e as usize]) {
                        continue;
                    }
                    let fee = policy.fee_msat(u_amount);
                    let amount_v = u_amount.saturating_add(fee);
                    if amount_v - self.amount_msat > self.limits.fee_limit_msat {
                        continue;
                    }
                    let cltv_v = u_cltv + u32::from(policy.cltv_expiry_delta);
                    if cltv_v > self.limits.cltv_limit {
                        continue;
                    }
                    let Some((w, p)) = scorer.score(gossip, e, u_amount, fee) else {
                        continue;
                    };
                    (amount_v, cltv_v, u_weight + w, u_prob * p)
                };
                if prob_v <= min_prob || prob_v <= 0.0 {
                    continue;
                }
                let dist_v = weight_v + if penalty > 0.0 { penalty / prob_v } else { 0.0 };
                if !self.labelled(v) || dist_v < self.dist[v] {
                    self.label(v, dist_v, weight_v, prob_v, amount_v, cltv_v, u_hops + 1, e);
                    self.heap.push(HeapItem {
                        dist: dist_v,
                        node: v as u32,
                    });
                }
            }
        }
        None
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
