//! Resuming a payment's backward search after a failed attempt, instead of starting over.
//!
//! A retry searches for the same sender, destination and amount as the attempt before it,
//! with a few more channels left out (the ones that just failed). Leaving edges out only
//! lengthens distances, so every label of the previous search whose path to the
//! destination avoids the newly left-out edges is still right: a settled one stays
//! settled, a waiting one is still the best offer its settled neighbours make. A
//! [`Snapshot`] keeps the search's labels sparsely (a few thousand nodes), and
//! [`Tree::resume`] restores them into the shared tree. Labels that do not survive:
//! - a settled one was the node's distance, so it is a lower bound on the new one. It
//!   waits in the heap with its old key and refuses offers; when it reaches the top, it
//!   takes the best offer of its settled neighbours over its own outgoing edges
//!   ([`Tree::relabel`], with [`Tree::offer`]'s tie rules) and goes back with its real
//!   key. Most never reach the top before the search ends.
//! - a waiting one was only the best offer so far, no bound: the node takes its settled
//!   neighbours' offers again at once, as does the sender (its first hop depends on its
//!   balances now).
//!
//! Most of a search's waiting labels have keys far beyond where it stopped. A snapshot
//! keeps only those up to a horizon ([`HORIZON_FACTOR`] times the stopping key): a search
//! resumed from it is right up to that key, and one that would go past it (its route got
//! that much dearer) stops, and the router starts over. The sender's new label also bounds
//! where the search can stop, so waiting nodes with larger keys get no heap entry. When
//! labelling nodes again would scan more than [`REDO_FACTOR`] times the edges of a fresh
//! search (the failure was next to the destination, and most of the tree hangs below it),
//! the tree starts over instead.
//!
//! Old keys are lower bounds only when keys grow with distances, which holds for the
//! additive scorers (a key is the distance plus the node's floor); lnd's and LDK's scorers
//! learn between attempts and never resume. The resumed search settles exactly the labels
//! a fresh one would: tested against fresh searches through chains of retries, and the
//! routers' per-payment logs are byte-identical. A snapshot is only used for the same
//! gossip epoch, limits and sender (checked here), and when no edge left out before has
//! come back, which could shorten a distance (checked by the caller).

use super::{EdgeScorer, HeapItem, Label, Limits, Mark, NO_EDGE, Tree, offers_at_least};
use crate::network::gossip::EdgeIdx;
use crate::network::{GossipView, NodeId};
use crate::routing::LocalView;
use std::collections::BinaryHeap;

/// What a search had labelled when it stopped: enough to resume it.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Gossip epoch, destination, amount, sender and limits of the search.
    of: Option<(u64, NodeId, u64, Option<NodeId>, Limits)>,
    /// Settled nodes in the order they settled (a label's predecessor comes before it).
    settled: Vec<(u32, Label)>,
    /// Labelled nodes not settled yet, and whether each label is only a lower bound.
    waiting: Vec<(u32, Label, bool)>,
    /// Edges the payment's last fresh search scanned (what starting over costs).
    fresh_scanned: usize,
    /// Waiting labels with larger keys were left out: a search resumed from here is only
    /// right up to this key.
    horizon: f64,
}

/// A snapshot keeps the waiting labels whose keys are at most this many times the key at
/// which its search stopped (most of a search's labels wait far beyond it). A retry's
/// route costs more than its predecessor's, but on mainnet-like 6k/30k at most 1.2x as
/// much in 86% of retries and 2x in 93%; the others start over. Factors 1.2 to 1.5 were
/// fastest there, 2 was 3% slower and 3 8% slower; without a horizon, 29% slower.
const HORIZON_FACTOR: f64 = 1.5;
/// A retry resumes only when labelling nodes again scans at most this many times the
/// edges of a fresh search (a relabelling scan is cheaper than a relaxation's, and what
/// survives saves the rest). On mainnet-like 6k/30k, factors 2 to 9 were level, 1 was 7%
/// slower.
const REDO_FACTOR: usize = 3;

impl Tree {
    fn identity(&self) -> (u64, NodeId, u64, Option<NodeId>, Limits) {
        (
            self.epoch,
            self.destination,
            self.amount_msat,
            self.source,
            self.limits,
        )
    }

    fn is_settled(&self, v: usize) -> bool {
        let m = self.marks[v];
        m.stamp == self.generation && m.settled
    }

    /// Keep this search's labels in `snapshot` (reusing its buffers).
    pub fn save(&self, snapshot: &mut Snapshot) {
        snapshot.of = Some(self.identity());
        if !self.resumed {
            snapshot.fresh_scanned = self.scanned_count;
        }
        let stopped_at = self
            .source
            .filter(|s| self.is_settled(s.index()))
            .map_or(f64::INFINITY, |s| self.labels[s.index()].key);
        let horizon = self.horizon.min(stopped_at * HORIZON_FACTOR);
        snapshot.horizon = horizon;
        snapshot.settled.clear();
        snapshot.settled.extend(
            self.settled_order
                .iter()
                .map(|&v| (v, self.labels[v as usize])),
        );
        snapshot.waiting.clear();
        let generation = self.generation;
        snapshot
            .waiting
            .extend(self.touched.iter().filter_map(|&v| {
                let m = self.marks[v as usize];
                let label = self.labels[v as usize];
                // An empty label (see `relabel`) is no label.
                (m.stamp == generation
                    && !m.settled
                    && label.next != NO_EDGE
                    && label.key <= horizon)
                    .then_some((v, label, m.lower_bound))
            }));
    }

    /// Continue from `snapshot` with the edges `left_out` says unusable, which must include
    /// every edge the scorer now refuses and the snapshot's search did not (see the module
    /// notes). Call after [`Self::reset`] (and [`Self::set_floors`]) for the same search,
    /// then [`Self::run`]. Returns `false`, and leaves the search as [`Self::reset`] did,
    /// when the snapshot is of another search or starting over is cheaper.
    pub fn resume<S: EdgeScorer + ?Sized>(
        &mut self,
        gossip: &GossipView,
        scorer: &S,
        local: Option<&LocalView>,
        snapshot: &Snapshot,
        left_out: impl Fn(EdgeIdx) -> bool,
    ) -> bool {
        if snapshot.of != Some(self.identity()) {
            return false;
        }
        let mut items = std::mem::take(&mut self.heap).into_vec();
        items.clear();
        self.touched.clear();
        self.settled_order.clear();
        // A label survives when its own edge is still usable and its predecessor survived
        // (settled nodes come after their predecessors, waiting ones after all of them).
        let survives = |tree: &Tree, label: &Label| {
            label.next == NO_EDGE
                || (!left_out(label.next)
                    && tree.is_settled(gossip.to[label.next as usize] as usize))
        };
        let sender = self.source.map(|s| s.0);
        for &(v, label) in &snapshot.settled {
            // A settled label was the node's distance: a lower bound on it now.
            let settled = Some(v) != sender && survives(self, &label);
            self.keep(v, label, settled, !settled, &mut items);
        }
        let mut redo = std::mem::take(&mut self.redo);
        redo.clear();
        for &(v, label, lower_bound) in &snapshot.waiting {
            if lower_bound || survives(self, &label) {
                self.keep(v, label, false, lower_bound, &mut items);
            } else {
                // A waiting label was only the best offer so far, no bound on the node's
                // distance: the node takes its settled neighbours' offers again now.
                redo.push(v);
            }
        }
        redo.extend(sender);
        // Labelling a node again scans its outgoing edges: when that would cost much more
        // than a fresh search, start over instead (the failure was near the destination,
        // and few labels survive).
        let redo_edges: usize = redo.iter().map(|&v| gossip.outgoing(NodeId(v)).len()).sum();
        if redo_edges > snapshot.fresh_scanned * REDO_FACTOR {
            self.redo = redo;
            self.heap = BinaryHeap::from(items);
            let absent = self.generation.wrapping_sub(1);
            for &v in &self.touched {
                self.marks[v as usize].stamp = absent;
            }
            self.restart(gossip);
            return false;
        }
        self.resumed = true;
        self.horizon = snapshot.horizon;
        let penalty = scorer.attempt_penalty_msat(self.amount_msat);
        let min_prob = scorer.min_probability();
        // The sender first: its new label bounds where this search stops, and nodes whose
        // keys exceed it need no heap entry (one is pushed if their label improves).
        let sender_label = sender.map(|s| {
            self.relabel(gossip, scorer, local, s as usize, penalty, min_prob);
            self.labels[s as usize].key
        });
        if let Some(bound) = sender_label {
            items.retain(|item| item.key <= bound);
        }
        items.extend(self.heap.drain());
        self.heap = BinaryHeap::from(items);
        for &v in &redo {
            if Some(v) != sender {
                self.relabel(gossip, scorer, local, v as usize, penalty, min_prob);
            }
        }
        self.redo = redo;
        true
    }

    /// Restore one node's label from a snapshot: settled, waiting, or a lower bound
    /// waiting with its old key.
    fn keep(
        &mut self,
        v: u32,
        label: Label,
        settled: bool,
        lower_bound: bool,
        heap: &mut Vec<HeapItem>,
    ) {
        let i = v as usize;
        self.labels[i] = label;
        self.marks[i] = Mark {
            stamp: self.generation,
            settled,
            lower_bound,
        };
        self.touched.push(v);
        if settled {
            self.settled_order.push(v);
        } else {
            heap.push(HeapItem::new(label.key, label.dist, v));
        }
    }

    /// Give `v` the best offer of its settled neighbours (none: no label), as their
    /// relaxations would have: over `v`'s outgoing edges, with [`Self::offer`]'s rules.
    pub(super) fn relabel<S: EdgeScorer + ?Sized>(
        &mut self,
        gossip: &GossipView,
        scorer: &S,
        local: Option<&LocalView>,
        v: usize,
        penalty: f64,
        min_prob: f64,
    ) {
        let generation = self.generation;
        if self.marks[v].stamp != generation {
            self.touched.push(v as u32);
        }
        self.marks[v] = Mark {
            stamp: generation,
            settled: false,
            lower_bound: false,
        };
        // No offer yet: the first one wins (and no old heap entry matches the key).
        self.labels[v].dist = f64::INFINITY;
        self.labels[v].key = f64::INFINITY;
        self.labels[v].next = NO_EDGE;
        let out_edges = gossip.outgoing_data(NodeId(v as u32));
        self.scanned_count += out_edges.len();
        for out in out_edges {
            let w = out.to as usize;
            if self.source == Some(NodeId(out.to)) || !self.is_settled(w) {
                continue;
            }
            let from_w = self.labels[w];
            if u32::from(from_w.hops) >= self.limits.max_hops {
                continue;
            }
            let at_least = offers_at_least(scorer, w, &from_w, penalty);
            self.offer(
                gossip, scorer, local, out, w, &from_w, at_least, penalty, min_prob,
            );
        }
        // With no offer, the label stays empty (infinite, no edge) and takes the first
        // offer a later settled neighbour makes.
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Network;
    use crate::network::channel::forwarding_fee_msat;
    use crate::network::gossip::{GossipPolicy, InEdge};
    use crate::routing::potential::{Guide, Potentials};
    use crate::scene::generate::{GenerateParams, GraphModel, network_for_tests};
    use rand::{Rng, SeedableRng};

    /// Fees plus a timelock term, with some edges left out (as `cheapest` prices them).
    struct LeavingOut<'a>(&'a [EdgeIdx]);
    impl EdgeScorer for LeavingOut<'_> {
        fn score(&self, edge: &InEdge, amount_msat: u64, fee_msat: u64) -> Option<(f64, f64)> {
            if self.0.contains(&edge.edge) {
                return None;
            }
            let timelock = amount_msat as f64 * f64::from(edge.policy.cltv_expiry_delta) * 15e-9;
            Some((fee_msat as f64 + timelock, 1.0))
        }
        fn weight_floor(&self, policy: &GossipPolicy, amount_msat: u64) -> Option<f64> {
            let timelock = amount_msat as f64 * f64::from(policy.cltv_expiry_delta) * 15e-9;
            Some(policy.fee_msat(amount_msat) as f64 + timelock)
        }
        fn weight_floor_by_rate(&self, fee_rate_ppm: u64, amount_msat: u64) -> f64 {
            forwarding_fee_msat(0, fee_rate_ppm, amount_msat) as f64
        }
    }

    fn limits(amount_msat: u64) -> Limits {
        Limits {
            max_hops: 20,
            cltv_limit: 2016,
            final_cltv_delta: 40,
            fee_limit_msat: amount_msat / 20 + 10_000,
        }
    }

    /// One search of a payment, fresh or resumed from `snapshot`, guided by its floors
    /// when `floors`. Returns the route's edges and the sender's distance.
    fn search(
        tree: &mut Tree,
        (network, gossip): (&Network, &GossipView),
        (sender, destination, amount_msat): (NodeId, NodeId, u64),
        left_out: &[EdgeIdx],
        floors: &mut Option<Potentials>,
        snapshot: Option<&mut Snapshot>,
    ) -> (Option<Vec<EdgeIdx>>, Option<u64>, bool) {
        let local = LocalView::new(network, sender);
        let scorer = LeavingOut(left_out);
        let mut start = |tree: &mut Tree| {
            tree.reset(
                gossip,
                destination,
                amount_msat,
                limits(amount_msat),
                Some(sender),
            );
            if let Some(p) = floors
                && let Guide::Floor { exact, beyond } =
                    p.guide(gossip, &scorer, sender, destination, amount_msat)
            {
                tree.set_floors(exact, beyond);
            }
        };
        start(tree);
        let mut resumed = false;
        if let Some(snapshot) = &snapshot {
            resumed = tree.resume(gossip, &scorer, Some(&local), snapshot, |e| {
                left_out.contains(&e)
            });
        }
        tree.run(gossip, &scorer, Some(&local), |v| v == sender);
        if tree.aborted() {
            // Past the snapshot's horizon: as the router does, start over.
            start(tree);
            tree.run(gossip, &scorer, Some(&local), |v| v == sender);
            resumed = false;
        }
        if let Some(snapshot) = snapshot {
            tree.save(snapshot);
        }
        (
            tree.path_edges(gossip, sender),
            tree.distance(sender).map(f64::to_bits),
            resumed,
        )
    }

    /// Retry after retry, each leaving out one more edge of the last route (or a random
    /// one), a resumed search finds exactly the route and distance a fresh one does, with
    /// and without floors, and settles fewer nodes in total.
    #[test]
    fn a_resumed_search_equals_a_fresh_one() {
        let (network, gossip) = network_for_tests(&GenerateParams {
            nodes: 600,
            channels: 1_800,
            model: GraphModel::MainnetLike,
            seed: 3,
        });
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let (mut fresh, mut resumed) = (Tree::new(), Tree::new());
        let (mut fresh_settled, mut resumed_settled, mut retries, mut resumes) = (0, 0, 0, 0);
        for payment in 0..120 {
            let sender = NodeId(rng.random_range(0..600));
            let destination = NodeId(rng.random_range(0..600));
            if sender == destination {
                continue;
            }
            let amount_msat = 10f64.powf(rng.random_range(5.0..8.5)) as u64;
            let query = (sender, destination, amount_msat);
            let mut floors = (payment % 2 == 0).then(|| Potentials::for_tests(64));
            let mut snapshot = Snapshot::default();
            let mut left_out: Vec<EdgeIdx> = Vec::new();
            let first = search(
                &mut resumed,
                (&network, &gossip),
                query,
                &left_out,
                &mut floors,
                None,
            );
            resumed.save(&mut snapshot);
            let mut route = first.0;
            for _ in 0..8 {
                // Leave out a hop the sender does not own (as a failure would), or a
                // random edge.
                let edge = match &route {
                    Some(edges) if edges.len() > 1 && rng.random_bool(0.8) => {
                        edges[rng.random_range(1..edges.len())]
                    }
                    _ => rng.random_range(0..gossip.edge_count() as u32),
                };
                left_out.push(edge);
                let a = search(
                    &mut fresh,
                    (&network, &gossip),
                    query,
                    &left_out,
                    &mut floors,
                    None,
                );
                fresh_settled += fresh.settled_count;
                let b = search(
                    &mut resumed,
                    (&network, &gossip),
                    query,
                    &left_out,
                    &mut floors,
                    Some(&mut snapshot),
                );
                resumed_settled += resumed.settled_count;
                retries += 1;
                resumes += usize::from(b.2);
                assert_eq!(
                    (&a.0, a.1),
                    (&b.0, b.1),
                    "payment {payment}, {} edges left out",
                    left_out.len()
                );
                route = a.0;
            }
        }
        // A snapshot of another search (here: another amount) is refused, and the tree
        // then searches afresh.
        let (sender, destination) = (NodeId(1), NodeId(2));
        let mut snapshot = Snapshot::default();
        let mut none = None;
        search(
            &mut resumed,
            (&network, &gossip),
            (sender, destination, 5_000_000),
            &[],
            &mut none,
            None,
        );
        resumed.save(&mut snapshot);
        let other = (sender, destination, 6_000_000);
        let b = search(
            &mut resumed,
            (&network, &gossip),
            other,
            &[],
            &mut none,
            Some(&mut snapshot),
        );
        let a = search(&mut fresh, (&network, &gossip), other, &[], &mut none, None);
        assert!(!b.2);
        assert_eq!((a.0, a.1), (b.0, b.1));
        assert!(retries > 500);
        // Most retries resume; the others found starting over cheaper.
        assert!(
            resumes * 3 > retries,
            "{resumes} of {retries} retries resumed"
        );
        assert!(
            resumed_settled * 2 < fresh_settled,
            "resumed searches settled {resumed_settled} nodes, fresh ones {fresh_settled}"
        );
    }
}
