//! Forward floors that guide a payment's exact searches (A* potentials).
//!
//! A payment that fails is retried by the same sender, for the same amount, to the same
//! destination, with a few more channels left out each time. Every backward search of the
//! payment must still pay for the part of the route between the sender and the node it is
//! labelling, and that part can be bounded from below once per payment: a forward search
//! from the sender prices every edge at the payment's amount (amounts only grow toward the
//! sender, and an additive scorer's weight grows with the amount, see
//! [`EdgeScorer::weight_floor`]), ignoring balances and exclusions, which only take edges
//! away. Its distances are a consistent lower bound on the rest of any route, so the
//! backward search keyed by distance plus floor (`search`'s lookahead) settles only nodes
//! on nearly cheapest routes, while its labels, hence its routes, stay exactly those of
//! the plain search.
//!
//! The forward search stops at the destination, or once it has settled
//! [`FORWARD_BUDGET`] nodes: nodes it did not settle get the distance it had reached, which
//! none of them can undercut. The budget is a trade: a complete forward search costs about
//! as much as a backward one, while the floors of the sender's neighbourhood already save
//! most of the backward searches' work (measured on Barabási–Albert and mainnet-like
//! graphs). When the forward search runs out of nodes before the budget without reaching
//! the destination, no route exists and the router fails the payment without a backward
//! search. Floors are kept per (sender, destination, amount) for the payments in flight,
//! and dropped on a new gossip epoch. Graphs of fewer than [`MIN_NODES`] nodes get none.

use super::lru::Lru;
use super::search::{EdgeScorer, HeapItem, next_generation};
use crate::network::{GossipView, NodeId};
use std::collections::BinaryHeap;

/// Floors kept at once: about the payments a busy sender side has in flight.
const CAPACITY: usize = 64;

/// Nodes a forward search settles at most (see the module notes).
pub const FORWARD_BUDGET: usize = 256;

/// Graphs smaller than this get no floors: their backward searches are cheap, and a
/// forward search costs about as much as it saves (measured on `mainnet_50`).
const MIN_NODES: usize = 1024;

/// Floors are shrunk by this factor, so that rounding in the two searches' different
/// summation orders does not make a floor overstate: the margin is a billionth of the
/// floor, far above rounding unless a hop costs less than about a millionth of the route
/// before it (and then only distances within an ulp of each other could swap).
const SHRINK: f64 = 1.0 - 1e-9;

/// A payment's (sender, destination, amount_msat): what its searches share.
type Payment = (NodeId, NodeId, u64);

/// What the forward search says about one payment.
#[derive(Debug)]
enum Floor {
    /// A lower bound on the weight of the hops from the sender to a node: for the nodes
    /// the forward search settled, their own; for every other node, `beyond`.
    Weights { exact: Vec<(u32, f64)>, beyond: f64 },
    /// No route reaches the destination even with every edge free of balance limits.
    Unreachable,
}

/// What a router gets for one search.
pub enum Guide<'a> {
    /// The scorer has no floor: search without one.
    None,
    /// Floors for [`crate::routing::search::Tree::set_floors`].
    Floor {
        exact: &'a [(u32, f64)],
        beyond: f64,
    },
    Unreachable,
}

/// The floors of recent payments, and the forward search's buffers.
#[derive(Debug)]
pub struct Potentials {
    epoch: u64,
    table: Lru<Payment, Floor>,
    generation: u32,
    /// The forward search's labels, stamped with its generation.
    labels: Vec<Forward>,
    heap: BinaryHeap<HeapItem>,
    settled: Vec<u32>,
    /// Forward searches run, and floors reused by a later search of the same payment.
    pub built: u64,
    pub reused: u64,
    /// Nodes the forward searches settled, in total.
    pub settled_nodes: u64,
    pub scanned_edges: u64,
    /// Nodes a forward search may settle ([`FORWARD_BUDGET`]; tests vary it).
    budget: usize,
    /// [`MIN_NODES`] (tests lower it).
    min_nodes: usize,
}

impl Default for Potentials {
    fn default() -> Self {
        Potentials {
            epoch: 0,
            table: Lru::new(CAPACITY),
            generation: 0,
            labels: Vec::new(),
            heap: BinaryHeap::new(),
            settled: Vec::new(),
            built: 0,
            reused: 0,
            settled_nodes: 0,
            scanned_edges: 0,
            budget: FORWARD_BUDGET,
            min_nodes: MIN_NODES,
        }
    }
}

impl Potentials {
    /// Floors for graphs of any size, from forward searches of at most `budget` nodes.
    #[cfg(test)]
    pub fn for_tests(budget: usize) -> Self {
        Potentials {
            budget,
            min_nodes: 0,
            ..Potentials::default()
        }
    }

    /// The floor for a search from `sender` to `destination` for `amount_msat`, built by a
    /// forward search on first use.
    pub fn guide<S: EdgeScorer + ?Sized>(
        &mut self,
        gossip: &GossipView,
        scorer: &S,
        sender: NodeId,
        destination: NodeId,
        amount_msat: u64,
    ) -> Guide<'_> {
        if gossip.node_bound() < self.min_nodes {
            return Guide::None;
        }
        if gossip.epoch != self.epoch {
            self.table.clear();
            self.epoch = gossip.epoch;
        }
        let key = (sender, destination, amount_msat);
        if self.table.contains(&key) {
            self.reused += 1;
        } else {
            let Some(reached) = self.forward(gossip, scorer, key) else {
                return Guide::None;
            };
            self.built += 1;
            // An evicted payment's floors hand their buffer on.
            let slot = self.table.insert_with(key, || Floor::Unreachable);
            *slot = match (reached, std::mem::replace(slot, Floor::Unreachable)) {
                (None, _) => Floor::Unreachable,
                (Some(radius), old) => {
                    let mut exact = match old {
                        Floor::Weights { exact, .. } => exact,
                        Floor::Unreachable => Vec::new(),
                    };
                    exact.clear();
                    exact.extend(
                        self.settled
                            .iter()
                            .map(|&u| (u, self.labels[u as usize].dist * SHRINK)),
                    );
                    Floor::Weights {
                        exact,
                        beyond: radius * SHRINK,
                    }
                }
            };
        }
        match self.table.get(&key) {
            Some(Floor::Weights { exact, beyond }) => Guide::Floor {
                exact,
                beyond: *beyond,
            },
            Some(Floor::Unreachable) => Guide::Unreachable,
            None => Guide::None,
        }
    }

    /// Dijkstra from `sender` with every edge at its floor for `amount_msat` (the sender's
    /// own hop is free), until the destination is settled or the budget is spent, leaving
    /// the settled nodes in `settled`. Returns the distance reached, `Some(None)` when the
    /// destination is unreachable, and `None` when the scorer has no floor for some edge.
    ///
    /// A settled node's edges are relaxed lazily, cheapest rate first: an edge waits until
    /// the search reaches its rate's floor ([`EdgeScorer::weight_floor_by_rate`]), as a heap
    /// item of its node keyed by that floor, above the node's distance (so not plain, while
    /// a node's own item is), and each turn relaxes the edges up to twice as far past the
    /// node. A budgeted search stops long before most of a hub's edges
    /// could matter, and no label changes: a waiting edge's key never exceeds the labels it
    /// could offer, so the heap's minimum still bounds every node not yet settled.
    fn forward<S: EdgeScorer + ?Sized>(
        &mut self,
        gossip: &GossipView,
        scorer: &S,
        (sender, destination, amount_msat): Payment,
    ) -> Option<Option<f64>> {
        let n = gossip.node_bound();
        self.settled.clear();
        if sender.index() >= n || destination.index() >= n {
            return Some(None);
        }
        next_generation(&mut self.labels, &mut self.generation, n);
        let generation = self.generation;
        let budget = self.budget;
        self.heap.clear();
        self.labels[sender.index()] = Forward::new(generation, 0.0);
        self.heap.push(HeapItem::new(0.0, 0.0, sender.0));
        let mut radius = None;
        while let Some(item) = self.heap.pop() {
            let u = item.node();
            let here = self.labels[u as usize];
            let reach = if item.is_plain() {
                if here.settled || item.key != here.dist {
                    continue;
                }
                self.labels[u as usize].settled = true;
                self.settled.push(u);
                if u == destination.0 || self.settled.len() >= budget {
                    radius = Some(here.dist);
                    break;
                }
                // The sender's own hop is free: all its edges at once.
                if u == sender.0 {
                    f64::INFINITY
                } else {
                    here.dist
                }
            } else {
                // Twice as far past the node as this turn's key.
                item.key + (item.key - here.dist)
            };
            let out = gossip.outgoing_data(NodeId(u));
            let mut cursor = here.cursor as usize;
            while let Some(edge) = out.get(cursor) {
                let policy = &edge.policy;
                let weight = if u == sender.0 {
                    0.0
                } else {
                    let at_least =
                        here.dist + scorer.weight_floor_by_rate(policy.fee_rate_ppm, amount_msat);
                    if at_least > reach {
                        self.heap.push(HeapItem::new(at_least, here.dist, u));
                        break;
                    }
                    // Edges that cannot carry the amount (or any larger one) never will.
                    if policy.disabled
                        || amount_msat > policy.htlc_maximum_msat
                        || amount_msat > edge.capacity_msat
                    {
                        cursor += 1;
                        continue;
                    }
                    scorer.weight_floor(policy, amount_msat)?
                };
                cursor += 1;
                self.scanned_edges += 1;
                let v = edge.to;
                if v == sender.0 {
                    continue;
                }
                let dist_v = here.dist + weight;
                let there = self.labels[v as usize];
                if there.stamp != generation || (!there.settled && dist_v < there.dist) {
                    self.labels[v as usize] = Forward::new(generation, dist_v);
                    self.heap.push(HeapItem::new(dist_v, dist_v, v));
                }
            }
            self.labels[u as usize].cursor = cursor as u32;
        }
        self.settled_nodes += self.settled.len() as u64;
        Some(radius)
    }
}

/// A forward search's label: its generation, distance, whether it is settled, and how
/// many of the node's edges (in [`GossipView::outgoing_data`]'s order) it has relaxed.
#[derive(Clone, Copy, Debug, Default)]
struct Forward {
    stamp: u32,
    dist: f64,
    settled: bool,
    cursor: u32,
}

impl Forward {
    fn new(stamp: u32, dist: f64) -> Self {
        Forward {
            stamp,
            dist,
            settled: false,
            cursor: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::Network;
    use crate::network::gossip::{EdgeIdx, GossipPolicy, InEdge};
    use crate::routing::LocalView;
    use crate::routing::baselines::CheapestScorer;
    use crate::routing::search::{Limits, Tree};
    use crate::scene::generate::{GenerateParams, GraphModel, network_for_tests};
    use rand::{Rng, SeedableRng};
    use rustc_hash::FxHashSet as HashSet;

    /// `cheapest`'s pricing with some edges left out, as a retry sees it.
    struct FeesAndRisk<'a> {
        excluded: &'a HashSet<EdgeIdx>,
    }
    impl EdgeScorer for FeesAndRisk<'_> {
        fn score(&self, edge: &InEdge, amount_msat: u64, fee_msat: u64) -> Option<(f64, f64)> {
            if self.excluded.contains(&edge.edge) {
                return None;
            }
            CheapestScorer.score(edge, amount_msat, fee_msat)
        }
        fn weight_floor(&self, policy: &GossipPolicy, amount_msat: u64) -> Option<f64> {
            CheapestScorer.weight_floor(policy, amount_msat)
        }
        fn weight_floor_by_rate(&self, fee_rate_ppm: u64, amount_msat: u64) -> f64 {
            CheapestScorer.weight_floor_by_rate(fee_rate_ppm, amount_msat)
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

    /// Plain and guided searches of one query: (route, distance bits, nodes settled).
    type Outcome = (Option<Vec<EdgeIdx>>, Option<u64>, usize);

    fn search(
        network: &Network,
        gossip: &GossipView,
        scorer: &FeesAndRisk,
        potentials: Option<&mut Potentials>,
        (sender, destination, amount_msat): (NodeId, NodeId, u64),
    ) -> Outcome {
        let local = LocalView::new(network, sender);
        let mut tree = Tree::new();
        tree.reset(
            gossip,
            destination,
            amount_msat,
            limits(amount_msat),
            Some(sender),
        );
        let stop = |v| v == sender;
        let guide = match potentials {
            Some(p) => p.guide(gossip, scorer, sender, destination, amount_msat),
            None => Guide::None,
        };
        match guide {
            Guide::None => {}
            Guide::Floor { exact, beyond } => tree.set_floors(exact, beyond),
            Guide::Unreachable => return (None, None, 0),
        }
        let found = tree.run(gossip, scorer, Some(&local), stop);
        let route = found.and_then(|s| tree.path_edges(gossip, s));
        let dist = found.and_then(|s| tree.distance(s)).map(f64::to_bits);
        (route, dist, tree.settled_count)
    }

    /// Guided searches find exactly the plain search's routes, at bit-identical distances,
    /// through a payment's retries (each one leaving out an edge of the last route), with
    /// forward searches cut short early, at the default budget and never; and they settle
    /// fewer nodes.
    #[test]
    fn floors_change_no_route() {
        let (network, gossip) = network_for_tests(&GenerateParams {
            nodes: 400,
            channels: 1_600,
            model: GraphModel::MainnetLike,
            seed: 11,
        });
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let (mut plain_settled, mut guided_settled, mut routes) = (0, 0, 0);
        for budget in [8, FORWARD_BUDGET, usize::MAX] {
            let mut potentials = Potentials::for_tests(budget);
            for _ in 0..60 {
                let sender = NodeId(rng.random_range(0..400));
                let destination = NodeId(rng.random_range(0..400));
                if sender == destination {
                    continue;
                }
                let amount_msat = 10f64.powf(rng.random_range(4.0..9.0)) as u64;
                let query = (sender, destination, amount_msat);
                let mut excluded = HashSet::default();
                for _retry in 0..6 {
                    let scorer = FeesAndRisk {
                        excluded: &excluded,
                    };
                    let plain = search(&network, &gossip, &scorer, None, query);
                    let guided = search(&network, &gossip, &scorer, Some(&mut potentials), query);
                    assert_eq!(guided.0, plain.0, "{query:?} budget {budget}");
                    assert_eq!(guided.1, plain.1, "{query:?} budget {budget}");
                    plain_settled += plain.2;
                    guided_settled += guided.2;
                    let Some(route) = plain.0 else { break };
                    routes += 1;
                    excluded.insert(route[rng.random_range(0..route.len())]);
                }
            }
            assert!(potentials.reused > potentials.built, "retries reuse floors");
        }
        assert!(routes > 300, "only {routes} routes");
        assert!(
            guided_settled * 3 < plain_settled * 2,
            "guided searches settled {guided_settled} nodes, plain ones {plain_settled}"
        );
    }

    /// A destination no edge can reach with the amount is unreachable at once, and the
    /// plain search agrees that there is no route.
    #[test]
    fn a_cut_off_destination_is_known_without_a_backward_search() {
        use crate::network::node::Node;
        use crate::network::{Channel, ChannelPolicy, HalfChannel, ShortChannelId};
        let mut network = Network::new();
        for i in 0..4 {
            network.add_node(Node::router_for_tests(i));
        }
        // 0 - 1 - 2 carry 1,000 sat; 2 - 3 only 10 sat.
        for (i, (a, b, capacity_sat)) in [(0, 1, 1_000), (1, 2, 1_000), (2, 3, 10)]
            .into_iter()
            .enumerate()
        {
            let side = |sat: u64| HalfChannel::new(ChannelPolicy::lnd_default(1_000_000), sat);
            let channel = Channel::new(
                ShortChannelId::new(1, i as u32, 0),
                capacity_sat,
                [side(capacity_sat * 500), side(capacity_sat * 500)],
            );
            network.add_channel(NodeId(a), NodeId(b), channel).unwrap();
        }
        let gossip = GossipView::build(&network, 0);
        let excluded = HashSet::default();
        let scorer = FeesAndRisk {
            excluded: &excluded,
        };
        let mut potentials = Potentials::for_tests(FORWARD_BUDGET);
        for (destination, amount_msat, reachable) in
            [(3, 100_000, false), (3, 5_000, true), (2, 100_000, true)]
        {
            let query = (NodeId(0), NodeId(destination), amount_msat);
            let guide = potentials.guide(&gossip, &scorer, query.0, query.1, query.2);
            assert_eq!(matches!(guide, Guide::Unreachable), !reachable, "{query:?}");
            let plain = search(&network, &gossip, &scorer, None, query);
            assert_eq!(plain.0.is_some(), reachable, "{query:?}");
        }
    }
}
