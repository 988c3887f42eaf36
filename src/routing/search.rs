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
//!
//! An exact search (one sender) looks one hop ahead, as A* does: every route from a node
//! that is not the sender's peer still needs a hop into that node forwarded by someone
//! else, and the scorer bounds what that hop can cost ([`EdgeScorer::hop_into_bound`]).
//! Heap keys add the bound; labels keep the true distance. Because the bound never
//! overstates, keys never fall along a path and any offer a node receives after it left
//! the heap is at least its distance, so its label is final then, and the labels (and so
//! the routes) are exactly those of the plain search. Exact ties keep that so: an offer
//! that ties a label goes to the predecessor the plain search settles first, and between
//! equal keys the heap serves nodes with a lookahead first (the only order that can show).
//! This needs every hop to lengthen the distance, as lnd's and LDK's scorers do. On a
//! mainnet-shaped graph an lnd search settles about a sixth of the nodes it used to.
//! Additive scorers can bound much more than one hop: `potential` bounds the whole rest of
//! the route with a forward search from the sender, through the same lookahead, and a
//! retry of theirs continues the payment's previous search (`resume`).

mod resume;
pub use resume::Snapshot;

use super::RoutingSettings;
use super::{LocalView, Route, RouteHop};
use crate::network::gossip::{EdgeIdx, GossipPolicy, InEdge};
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
    /// A bound on any hop into `node` forwarded by a node other than the sender, when
    /// `node` receives `amount_msat`: no such hop is more likely than `max_probability` or
    /// adds less weight than `min_weight`. It must never overstate (the search's results
    /// depend on it); the default bounds nothing.
    fn hop_into_bound(&self, _node: u32, _amount_msat: u64) -> HopBound {
        HopBound::NONE
    }
    /// For additive scorers: a floor on the weight of any hop over an edge with `policy`
    /// that carries at least `amount_msat`, so that a forward search can bound the rest of a
    /// route (see `potential`). It must never overstate, which holds when the weight grows
    /// with the amount; `None` (the default) means no floor is known.
    fn weight_floor(&self, _policy: &GossipPolicy, _amount_msat: u64) -> Option<f64> {
        None
    }
    /// A floor on [`Self::weight_floor`] over every policy with `fee_rate_ppm` at
    /// `amount_msat`, never decreasing as the rate grows: the forward search scans a node's
    /// edges (ordered by rate) only as far as this lets it (see `potential`). The default,
    /// 0, makes it scan them all at once.
    fn weight_floor_by_rate(&self, _fee_rate_ppm: u64, _amount_msat: u64) -> f64 {
        0.0
    }
}

/// What [`EdgeScorer::hop_into_bound`] promises about the hops into one node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HopBound {
    pub max_probability: f64,
    pub min_weight: f64,
}

impl HopBound {
    /// No bound: any hop may be certain and free.
    pub const NONE: HopBound = HopBound {
        max_probability: 1.0,
        min_weight: 0.0,
    };
}

/// Limits every route must meet.
#[derive(Clone, Copy, Debug, PartialEq)]
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

/// A node waiting in a search's heap (also the oracle's): a min-heap on `key` (the
/// distance plus any lookahead). Between equal keys, nodes whose key adds a lookahead come
/// first, then smaller ids: that is the plain search's order wherever the order can show
/// (an offer that ties a node's settled distance comes from a node with a lookahead whose
/// key equals the tied node's, see `Tree::run`). Sixteen bytes, since the heap moves them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct HeapItem {
    pub(super) key: f64,
    /// The node id, with the top bit set when the key adds no lookahead.
    rank: u32,
}
impl HeapItem {
    const PLAIN: u32 = 1 << 31;
    pub(super) fn new(key: f64, dist: f64, node: u32) -> Self {
        debug_assert!(node < Self::PLAIN, "node ids fit in 31 bits");
        HeapItem {
            key,
            rank: node | if key == dist { Self::PLAIN } else { 0 },
        }
    }
    pub(super) fn node(&self) -> u32 {
        self.rank & !Self::PLAIN
    }
    /// Whether the key is the distance itself, with no lookahead added.
    pub(super) fn is_plain(&self) -> bool {
        self.rank & Self::PLAIN != 0
    }
}
impl Eq for HeapItem {}
impl Ord for HeapItem {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .key
            .total_cmp(&self.key)
            .then_with(|| other.rank.cmp(&self.rank))
    }
}
impl PartialOrd for HeapItem {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The shortest distance any offer of settled `u` (labelled `here`) over a hop forwarded
/// by a node other than the sender can give, by the scorer's bound on the hops into `u`
/// ([`EdgeScorer::hop_into_bound`]). Computed as the offer computes its distance, each
/// step of which only grows with the hop's weight and shrinks with its probability, so
/// rounding cannot make an offer shorter than this.
#[inline]
fn offers_at_least<S: EdgeScorer + ?Sized>(
    scorer: &S,
    u: usize,
    here: &Label,
    penalty: f64,
) -> f64 {
    let bound = scorer.hop_into_bound(u as u32, here.amount_msat);
    let weight = here.weight + bound.min_weight;
    weight
        + if penalty > 0.0 {
            penalty / (here.prob * bound.max_probability)
        } else {
            0.0
        }
}

/// One node's label: its best known distance to the destination and how to get there.
/// Kept together (one cache line) because a search touches all of it at once.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Label {
    dist: f64,
    /// The heap key: `dist` with the lookahead of an exact search (else equal to it).
    key: f64,
    weight: f64,
    prob: f64,
    amount_msat: u64,
    cltv: u32,
    next: EdgeIdx,
    hops: u8,
}

/// Whether a node has a label in the current search, and whether it is settled: kept apart
/// from the labels, small and dense, because relaxing a hub asks it of hundreds of nodes
/// and most of the answers are "settled".
#[derive(Clone, Copy, Debug, Default)]
struct Mark {
    /// The search generation that wrote the label; older labels count as absent.
    stamp: u32,
    settled: bool,
    /// The label is only a lower bound, kept from an earlier search (see `resume`): the
    /// node takes its neighbours' offers again when it leaves the heap, and none before.
    lower_bound: bool,
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
    marks: Vec<Mark>,
    labels: Vec<Label>,
    /// The source's peers, stamped with the generation: no lookahead there, since the
    /// source's own hop is free and certain.
    peer_stamp: Vec<u32>,
    /// A guided search's floors ([`Self::set_floors`]): `floors[v]` is `v`'s when
    /// `floor_stamp[v]` is the generation, else `beyond` (`None` when unguided). The same
    /// two arrays serve every search, so they stay in cache (a payment's own floor vector,
    /// read at random by its searches between other payments', did not).
    floor_stamp: Vec<u32>,
    floors: Vec<f64>,
    beyond: Option<f64>,
    heap: BinaryHeap<HeapItem>,
    /// The nodes labelled in this search, in the order they were first labelled, and the
    /// nodes settled, in the order they settled (what [`Self::save`] keeps).
    touched: Vec<u32>,
    settled_order: Vec<u32>,
    /// [`Self::resume`]'s buffer: the nodes it labels again at once.
    redo: Vec<u32>,
    /// Whether this search continues an earlier one ([`Self::resume`]), the key up to
    /// which its labels are complete (infinite for a fresh search), and whether it stopped
    /// there ([`Self::aborted`]).
    resumed: bool,
    horizon: f64,
    aborted: bool,
    limits: Limits,
    pub settled_count: usize,
    /// Edges the search looked at (relaxing a hub looks at hundreds).
    pub scanned_count: usize,
}

impl Tree {
    pub fn new() -> Self {
        Tree {
            destination: NodeId(0),
            amount_msat: 0,
            epoch: 0,
            source: None,
            generation: 0,
            marks: Vec::new(),
            labels: Vec::new(),
            peer_stamp: Vec::new(),
            floor_stamp: Vec::new(),
            floors: Vec::new(),
            beyond: None,
            heap: BinaryHeap::new(),
            touched: Vec::new(),
            settled_order: Vec::new(),
            redo: Vec::new(),
            resumed: false,
            horizon: f64::INFINITY,
            aborted: false,
            limits: Limits {
                max_hops: 20,
                cltv_limit: 2016,
                final_cltv_delta: 80,
                fee_limit_msat: u64::MAX,
            },
            settled_count: 0,
            scanned_count: 0,
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
        next_generation(&mut self.marks, &mut self.generation, n);
        if self.labels.len() != n {
            self.labels = vec![Label::default(); n];
        }
        if self.peer_stamp.len() != n || self.generation == 1 {
            // New size, or the generation counter started over: old stamps could match.
            self.peer_stamp = vec![0; n];
            self.floor_stamp = vec![0; n];
            self.floors = vec![0.0; n];
        }
        self.beyond = None;
        if let Some(s) = source {
            for &e in gossip.outgoing(s) {
                if let Some(stamp) = self.peer_stamp.get_mut(gossip.to[e as usize] as usize) {
                    *stamp = self.generation;
                }
            }
        }
        self.destination = destination;
        self.amount_msat = amount_msat;
        self.epoch = gossip.epoch;
        self.source = source;
        self.limits = limits;
        self.resumed = false;
        self.horizon = f64::INFINITY;
        self.aborted = false;
        self.restart(gossip);
    }

    /// (Re)start the search from the destination alone (floors and the sender's peers
    /// stay as set).
    fn restart(&mut self, gossip: &GossipView) {
        let n = gossip.node_bound();
        self.heap.clear();
        self.touched.clear();
        self.settled_order.clear();
        self.settled_count = 0;
        self.scanned_count = 0;
        let d = self.destination.index();
        if d < n {
            self.touched.push(d as u32);
            self.labels[d] = Label {
                dist: 0.0,
                key: 0.0,
                weight: 0.0,
                prob: 1.0,
                amount_msat: self.amount_msat,
                cltv: self.limits.final_cltv_delta,
                next: NO_EDGE,
                hops: 0,
            };
            self.marks[d] = Mark {
                stamp: self.generation,
                settled: false,
                lower_bound: false,
            };
            self.heap.push(HeapItem::new(0.0, 0.0, d as u32));
        }
    }

    /// Guide this search with floors: a lower bound on what the rest of any route costs
    /// between the sender and a node (see `potential`), `exact` for some nodes and `beyond`
    /// for every other. Call after [`Self::reset`] and before [`Self::run`].
    pub fn set_floors(&mut self, exact: &[(u32, f64)], beyond: f64) {
        self.beyond = Some(beyond);
        for &(v, floor) in exact {
            if let Some(stamp) = self.floor_stamp.get_mut(v as usize) {
                *stamp = self.generation;
                self.floors[v as usize] = floor;
            }
        }
    }

    fn label(&self, v: usize) -> Option<&Label> {
        self.marks
            .get(v)
            .filter(|m| m.stamp == self.generation)
            .map(|_| &self.labels[v])
    }

    fn settled_label(&self, v: usize) -> Option<&Label> {
        self.marks
            .get(v)
            .filter(|m| m.stamp == self.generation && m.settled)
            .map(|_| &self.labels[v])
    }

    /// Whether the last [`Self::run`] stopped at its horizon: a resumed search went past
    /// the keys its snapshot knew, and must start over (see `resume`).
    pub fn aborted(&self) -> bool {
        self.aborted
    }

    /// The settled distance of `v`, if any.
    pub fn distance(&self, v: NodeId) -> Option<f64> {
        self.settled_label(v.index()).map(|l| l.dist)
    }

    /// Hops and fees (what `v` must receive above the destination amount) of `v`'s settled
    /// route to the destination (the onward estimates' tests check their estimates against it).
    #[cfg(test)]
    pub fn settled_hops_and_fee(&self, v: NodeId) -> Option<(u8, u64)> {
        self.settled_label(v.index())
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
        while let Some(item) = self.heap.pop() {
            let node = item.node();
            let u = node as usize;
            let here = self.labels[u];
            // An entry of a replaced label is stale (a better distance can have a larger
            // key, hence `!=`; an entry whose key equals the label's pops where the label's
            // own entry would).
            if self.marks[u].settled || item.key != here.key {
                continue;
            }
            if item.key > self.horizon {
                // Past what a resumed search knows (see `resume`): the caller starts over.
                self.aborted = true;
                return None;
            }
            if self.marks[u].lower_bound {
                // A lower bound reached the top: take the real offers now (see `resume`).
                self.relabel(gossip, scorer, local, u, penalty, min_prob);
                continue;
            }
            self.marks[u].settled = true;
            self.settled_count += 1;
            self.settled_order.push(node);
            // Relax before asking `stop`, so a search resumed later is still complete.
            // The sender never forwards for others.
            if Some(NodeId(node)) != self.source && u32::from(here.hops) < self.limits.max_hops {
                self.relax(gossip, scorer, local, u, penalty, min_prob);
            }
            if stop(NodeId(node)) {
                return Some(NodeId(node));
            }
        }
        // Nodes past a resumed search's horizon may have had labels it does not know.
        self.aborted = self.horizon < f64::INFINITY;
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
        let in_edges = gossip.incoming_data(NodeId(u as u32));
        self.scanned_count += in_edges.len();
        let here = self.labels[u];
        let at_least = offers_at_least(scorer, u, &here, penalty);
        for in_edge in in_edges {
            self.offer(
                gossip, scorer, local, in_edge, u, &here, at_least, penalty, min_prob,
            );
        }
    }

    /// Offer settled `u`'s label to `in_edge.from` over `in_edge` (into `u`): the label
    /// changes when the offer is better, and the node is pushed on the heap. `at_least` is
    /// [`offers_at_least`] for `u`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(super) fn offer<S: EdgeScorer + ?Sized>(
        &mut self,
        gossip: &GossipView,
        scorer: &S,
        local: Option<&LocalView>,
        in_edge: &InEdge,
        u: usize,
        here: &Label,
        at_least: f64,
        penalty: f64,
        min_prob: f64,
    ) {
        let generation = self.generation;
        let v = in_edge.from as usize;
        let is_source = self.source == Some(NodeId(in_edge.from));
        // A node with no other peer could only send the payment back to `u`.
        if !is_source && !gossip.could_relay(in_edge.from, u as u32) {
            return;
        }
        let mark = self.marks[v];
        let known = mark.stamp == generation;
        if known && (mark.settled || mark.lower_bound) {
            return;
        }
        // A label already shorter than any offer over this edge could be cannot lose to it
        // (nor tie it): skip the pricing. The sender's own hop adds nothing.
        if known && self.labels[v].dist < if is_source { here.dist } else { at_least } {
            return;
        }
        let (amount_v, cltv_v, weight_v, prob_v) = if is_source {
            // The sender's own channel: exact local knowledge, no fee, no risk.
            let Some(local) = local else { return };
            if local.can_send(in_edge.channel, here.amount_msat).is_err() {
                return;
            }
            (here.amount_msat, here.cltv, here.weight, here.prob)
        } else {
            let policy = &in_edge.policy;
            if !policy.admits(here.amount_msat, in_edge.capacity_msat) {
                return;
            }
            let fee = policy.fee_msat(here.amount_msat);
            let amount_v = here.amount_msat.saturating_add(fee);
            if amount_v - self.amount_msat > self.limits.fee_limit_msat {
                return;
            }
            let cltv_v = here.cltv + u32::from(policy.cltv_expiry_delta);
            if cltv_v > self.limits.cltv_limit {
                return;
            }
            let Some((w, p)) = scorer.score(in_edge, here.amount_msat, fee) else {
                return;
            };
            (amount_v, cltv_v, here.weight + w, here.prob * p)
        };
        if prob_v <= min_prob || prob_v <= 0.0 {
            return;
        }
        let hops_v = here.hops + 1;
        let dist_v = weight_v + if penalty > 0.0 { penalty / prob_v } else { 0.0 };
        let better = !known || {
            let there = &self.labels[v];
            dist_v < there.dist
                || (dist_v == there.dist
                    && self.wins_tie(gossip, local, is_source, in_edge, u, there.next))
        };
        if !better {
            return;
        }
        // The lookahead (none at the sender, its peers, or without a sender).
        let key_v = if is_source || self.source.is_none() || self.peer_stamp[v] == generation {
            dist_v
        } else {
            let bound = scorer.hop_into_bound(in_edge.from, amount_v);
            let min_weight = match self.beyond {
                None => bound.min_weight,
                Some(beyond) => bound.min_weight.max(if self.floor_stamp[v] == generation {
                    self.floors[v]
                } else {
                    beyond
                }),
            };
            weight_v
                + min_weight
                + if penalty > 0.0 {
                    penalty / (prob_v * bound.max_probability)
                } else {
                    0.0
                }
        };
        if !known {
            self.touched.push(v as u32);
        }
        self.labels[v] = Label {
            dist: dist_v,
            key: key_v,
            weight: weight_v,
            prob: prob_v,
            amount_msat: amount_v,
            cltv: cltv_v,
            next: in_edge.edge,
            hops: hops_v,
        };
        self.marks[v] = Mark {
            stamp: generation,
            settled: false,
            lower_bound: false,
        };
        self.heap.push(HeapItem::new(key_v, dist_v, v as u32));
    }

    /// Whether an offer through `u` (over `in_edge`) beats an equal-distance label whose
    /// next edge is `next`. Between parallel channels to the same peer the sender uses the
    /// one with the most balance (as the shared trees do); otherwise the smaller edge
    /// index stays (the first offer, since `relax` scans edges in that order), and between
    /// peers the one the plain search settles first wins (smaller distance, then smaller
    /// id), so the label depends neither on settling order nor on the order of the edges
    /// `resume` offers over. Without a lookahead, offers arrive in exactly that order, so
    /// the first one stays, as it always did.
    fn wins_tie(
        &self,
        gossip: &GossipView,
        local: Option<&LocalView>,
        is_source: bool,
        in_edge: &InEdge,
        u: usize,
        next: EdgeIdx,
    ) -> bool {
        if next == NO_EDGE {
            return false;
        }
        let pred = gossip.to[next as usize] as usize;
        if pred == u {
            // (The sender's own channels always come with a local view, see `offer`.)
            let by_balance = match local {
                Some(l) if is_source => l
                    .outbound_msat(in_edge.channel)
                    .cmp(&l.outbound_msat(gossip.channel[next as usize])),
                _ => Ordering::Equal,
            };
            return by_balance.then(next.cmp(&in_edge.edge)).is_gt();
        }
        let (mine, theirs) = (self.labels[u].dist, self.labels[pred].dist);
        mine < theirs || (mine == theirs && u < pred)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Network;
    use crate::network::failure::FailureReason;
    use crate::routing::ldk::{LdkConfig, LdkKnowledge, LdkScorer};
    use crate::routing::mission_control::{LndScorer, MissionControl, MissionControlConfig};
    use crate::routing::{AttemptOutcome, HopRecord};
    use crate::scene::generate::{GenerateParams, GraphModel, network_for_tests};
    use rand::{Rng, SeedableRng};

    /// A scorer with its lookahead hidden: the search runs as the plain one.
    struct Plain<'a, S>(&'a S);
    impl<S: EdgeScorer> EdgeScorer for Plain<'_, S> {
        fn score(&self, edge: &InEdge, amount_msat: u64, fee_msat: u64) -> Option<(f64, f64)> {
            self.0.score(edge, amount_msat, fee_msat)
        }
        fn attempt_penalty_msat(&self, amount_msat: u64) -> f64 {
            self.0.attempt_penalty_msat(amount_msat)
        }
        fn min_probability(&self) -> f64 {
            self.0.min_probability()
        }
    }

    /// Run one exact search from `sender` with and without the lookahead; both must give
    /// the same route at the same distance. Returns the nodes each settled.
    fn both<S: EdgeScorer>(
        network: &Network,
        gossip: &GossipView,
        scorer: &S,
        (sender, destination, amount_msat): (NodeId, NodeId, u64),
    ) -> (usize, usize, Option<Vec<EdgeIdx>>) {
        let limits = Limits {
            max_hops: 20,
            cltv_limit: 2016,
            final_cltv_delta: 40,
            fee_limit_msat: amount_msat / 20 + 10_000,
        };
        let local = LocalView::new(network, sender);
        let mut fast = Tree::new();
        let mut plain = Tree::new();
        fast.reset(gossip, destination, amount_msat, limits, Some(sender));
        plain.reset(gossip, destination, amount_msat, limits, Some(sender));
        fast.run(gossip, scorer, Some(&local), |v| v == sender);
        plain.run(gossip, &Plain(scorer), Some(&local), |v| v == sender);
        let route = plain.path_edges(gossip, sender);
        assert_eq!(fast.path_edges(gossip, sender), route);
        assert_eq!(
            fast.distance(sender).map(f64::to_bits),
            plain.distance(sender).map(f64::to_bits)
        );
        (fast.settled_count, plain.settled_count, route)
    }

    /// Every hop forwarded by others costs 1, and the scorer says so.
    struct Hops;
    impl EdgeScorer for Hops {
        fn score(&self, _: &InEdge, _: u64, _: u64) -> Option<(f64, f64)> {
            Some((1.0, 1.0))
        }
        fn hop_into_bound(&self, _: u32, _: u64) -> HopBound {
            HopBound {
                max_probability: 1.0,
                min_weight: 1.0,
            }
        }
    }

    /// Exact ties fall as in the plain search. Sender S (0) reaches D (4) over A (1) and
    /// then B1 (2) or B2 (3), both two hops. B2 is also S's peer (over a channel S cannot
    /// send on), so it has no lookahead and settles before B1; the plain search settles B1
    /// first, and A must still take B1.
    #[test]
    fn ties_fall_as_in_the_plain_search() {
        use crate::network::node::Node;
        use crate::network::{Channel, ChannelPolicy, HalfChannel, ShortChannelId};
        let mut network = Network::new();
        for i in 0..5 {
            network.add_node(Node::router_for_tests(i));
        }
        let channels = [
            (0, 1, 500),
            (1, 2, 500),
            (1, 3, 500),
            (2, 4, 500),
            (3, 4, 500),
            (0, 3, 0),
        ];
        for (i, (a, b, balance_a_sat)) in channels.into_iter().enumerate() {
            let side =
                |sat: u64| HalfChannel::new(ChannelPolicy::lnd_default(1_000_000), sat * 1_000);
            let channel = Channel::new(
                ShortChannelId::new(1, i as u32, 0),
                1_000,
                [side(balance_a_sat), side(1_000 - balance_a_sat)],
            );
            network.add_channel(NodeId(a), NodeId(b), channel).unwrap();
        }
        let gossip = GossipView::build(&network, 0);
        let (_, _, route) = both(&network, &gossip, &Hops, (NodeId(0), NodeId(4), 100_000));
        let nodes: Vec<u32> = route
            .unwrap()
            .iter()
            .map(|&e| gossip.to[e as usize])
            .collect();
        assert_eq!(nodes, [1, 2, 4]);
    }

    /// The lookahead changes no route and no distance, for lnd's and LDK's scorers with
    /// learnt histories (remembered successes and failures), and settles fewer nodes.
    #[test]
    fn lookahead_changes_no_route() {
        let (network, gossip) = network_for_tests(&GenerateParams {
            nodes: 400,
            channels: 1_600,
            model: GraphModel::MainnetLike,
            seed: 5,
        });
        let lnd_config = MissionControlConfig::default();
        let ldk_config = LdkConfig::default();
        let mut lnd = MissionControl::default();
        let mut ldk = LdkKnowledge::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let (mut fast_total, mut plain_total, mut routes) = (0, 0, 0);
        // Few senders, so that each one builds up a history.
        let senders: Vec<NodeId> = (0..6).map(|_| NodeId(rng.random_range(0..400))).collect();
        for i in 0..600u64 {
            let sender = senders[rng.random_range(0..senders.len())];
            let destination = NodeId(rng.random_range(0..400));
            if destination == sender {
                continue;
            }
            let amount_msat = 10f64.powf(rng.random_range(5.0..9.5)) as u64;
            let now_ms = i * 10_000;
            let mark = |nodes: Vec<NodeId>| {
                let mut mask = vec![false; gossip.node_bound()];
                for n in nodes {
                    mask[n.index()] = true;
                }
                mask
            };
            let from_mask = mark(lnd.nodes_of(sender).collect());
            let into_mask = mark(lnd.success_targets_of(sender).collect());
            let lnd_scorer = LndScorer {
                config: &lnd_config,
                history: lnd.history(sender),
                mask: &from_mask,
                into_mask: &into_mask,
                now_ms,
            };
            let query = (sender, destination, amount_msat);
            let (f, p, lnd_route) = both(&network, &gossip, &lnd_scorer, query);
            (fast_total, plain_total) = (fast_total + f, plain_total + p);
            let ldk_mask = mark(ldk.nodes_of(sender).collect());
            let ldk_scorer = LdkScorer {
                config: &ldk_config,
                bounds: ldk.bounds_of(sender),
                mask: &ldk_mask,
                now_ms,
            };
            let (f, p, ldk_route) = both(&network, &gossip, &ldk_scorer, query);
            (fast_total, plain_total) = (fast_total + f, plain_total + p);
            // Teach both a made-up outcome on their route: a success, or a liquidity
            // failure at a random hop.
            for (route, learn_lnd) in [(lnd_route, true), (ldk_route, false)] {
                let Some(edges) = route else { continue };
                routes += 1;
                let hops: Vec<HopRecord> = edges
                    .iter()
                    .map(|&e| HopRecord {
                        channel: gossip.channel[e as usize],
                        direction: gossip.direction[e as usize],
                        from: NodeId(gossip.from[e as usize]),
                        to: NodeId(gossip.to[e as usize]),
                        amount_msat,
                        capacity_msat: gossip.capacity_msat[e as usize],
                    })
                    .collect();
                // `failing == hops.len()` stands for a success.
                let failing = rng.random_range(0..=hops.len());
                let (tried, failure) = match hops.get(failing) {
                    Some(_) => (
                        &hops[..=failing],
                        Some(FailureReason::InsufficientLiquidity),
                    ),
                    None => (&hops[..], None),
                };
                let outcome = AttemptOutcome {
                    now_ms,
                    sender,
                    destination,
                    amount_msat,
                    hops: tried,
                    failure,
                };
                if learn_lnd {
                    lnd.record(&outcome);
                } else {
                    ldk.record(&outcome);
                }
            }
        }
        assert!(routes > 500, "only {routes} routes found");
        assert!(
            fast_total * 4 < plain_total * 3,
            "the lookahead settled {fast_total} nodes, the plain search {plain_total}"
        );
    }
}
