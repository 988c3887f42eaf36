//! Onward estimates for agent features: from each neighbour, the fewest hops to the
//! destination as gossip shows it, the fees along the cheapest of those shortest routes,
//! and the widest of them (the largest bottleneck capacity: what lnd's a-priori model
//! turns into a success probability). A breadth-first search backward from the destination, layer by layer (no heap:
//! hop counts are small integers), kept per destination and extended only as far as the
//! neighbours asked about. Fees are kept as base and proportional sums, so one search
//! answers every amount: `fee(amount) = base_sum + ppm_sum * amount / 1e6` along the path
//! (the path itself is chosen at a 100,000 sat reference amount). Beside it, per
//! destination and power-of-two amount class, the cheapest routes by fees over channels of
//! at least that class ([`Onward::cheapest`]): a source router's view, which may take more
//! hops for fewer fees.

use crate::network::{GossipView, NodeId};
use crate::routing::lru::Lru;
use crate::routing::radix_heap::RadixHeap;

const REFERENCE_MSAT: f64 = 100_000_000.0;
const UNSEEN: u8 = u8::MAX;

/// A path's fees for `amount_msat` from its base and proportional sums.
fn fee_msat(base_msat: u32, ppm: u32, amount_msat: u64) -> u64 {
    let ppm_part = u128::from(amount_msat) * u128::from(ppm) / 1_000_000;
    u64::from(base_msat).saturating_add(u64::try_from(ppm_part).unwrap_or(u64::MAX))
}

/// Incoming edges in a compact form (from, base fee, ppm, capacity in sat), grouped by
/// target node; built once per gossip epoch so the searches stream through 16-byte
/// records.
#[derive(Default)]
struct Compact {
    offsets: Vec<u32>,
    edges: Vec<(u32, u32, u32, u32)>,
}

/// What gossip says about one neighbour's way to the destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Estimate {
    pub hops: u8,
    /// Fees along the cheapest of the shortest routes, for the amount asked about.
    pub fee_msat: u64,
    /// The largest bottleneck capacity over the shortest routes (`u64::MAX` at the
    /// destination itself).
    pub widest_sat: u64,
}

impl Compact {
    fn build(gossip: &GossipView) -> Self {
        let n = gossip.node_bound();
        let mut c = Compact {
            offsets: Vec::with_capacity(n + 1),
            edges: Vec::with_capacity(gossip.edge_count()),
        };
        c.offsets.push(0);
        for u in 0..n {
            for e in gossip.incoming_data(NodeId(u as u32)) {
                if !e.policy.disabled {
                    let clamp = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
                    c.edges.push((
                        e.from,
                        clamp(e.policy.fee_base_msat),
                        clamp(e.policy.fee_rate_ppm),
                        clamp(e.capacity_msat / 1000),
                    ));
                }
            }
            c.offsets.push(c.edges.len() as u32);
        }
        c
    }

    fn incoming(&self, u: u32) -> &[(u32, u32, u32, u32)] {
        &self.edges[self.offsets[u as usize] as usize..self.offsets[u as usize + 1] as usize]
    }
}

/// One destination's search.
struct Layers {
    hops: Vec<u8>,
    base_msat: Vec<u32>,
    ppm: Vec<u32>,
    widest_sat: Vec<u32>,
    /// Nodes of the last finished layer, and its depth.
    frontier: Vec<u32>,
    depth: u8,
}

impl Layers {
    fn new(n: usize) -> Self {
        Layers {
            hops: vec![UNSEEN; n],
            base_msat: vec![0; n],
            ppm: vec![0; n],
            widest_sat: vec![0; n],
            frontier: Vec::new(),
            depth: 0,
        }
    }

    /// Start over toward `destination`, reusing the buffers.
    fn reset(&mut self, destination: NodeId) {
        self.hops.fill(UNSEEN);
        self.frontier.clear();
        self.depth = 0;
        if destination.index() < self.hops.len() {
            self.hops[destination.index()] = 0;
            self.base_msat[destination.index()] = 0;
            self.ppm[destination.index()] = 0;
            self.widest_sat[destination.index()] = u32::MAX;
            self.frontier.push(destination.0);
        }
    }

    /// Finish the next layer: every node one hop further, with the cheapest continuation.
    fn expand(&mut self, graph: &Compact) -> bool {
        if self.frontier.is_empty() || self.depth >= 20 {
            return false;
        }
        let next_depth = self.depth + 1;
        let mut next = Vec::new();
        for &u in &self.frontier {
            let (base_u, ppm_u) = (self.base_msat[u as usize], self.ppm[u as usize]);
            let widest_u = self.widest_sat[u as usize];
            for &(from, fee_base, fee_ppm, capacity_sat) in graph.incoming(u) {
                let v = from as usize;
                let base = base_u.saturating_add(fee_base);
                let ppm = ppm_u.saturating_add(fee_ppm);
                let widest = widest_u.min(capacity_sat);
                let cost = |b: u32, p: u32| f64::from(b) + f64::from(p) * REFERENCE_MSAT / 1e6;
                if self.hops[v] == UNSEEN {
                    self.hops[v] = next_depth;
                    self.base_msat[v] = base;
                    self.ppm[v] = ppm;
                    self.widest_sat[v] = widest;
                    next.push(v as u32);
                } else if self.hops[v] == next_depth {
                    if cost(base, ppm) < cost(self.base_msat[v], self.ppm[v]) {
                        self.base_msat[v] = base;
                        self.ppm[v] = ppm;
                    }
                    self.widest_sat[v] = self.widest_sat[v].max(widest);
                }
            }
        }
        self.frontier = next;
        self.depth = next_depth;
        true
    }

    /// Known only once the node's layer is finished.
    fn estimate(&self, v: NodeId, amount_msat: u64) -> Option<Estimate> {
        let h = *self.hops.get(v.index())?;
        if h == UNSEEN || h > self.depth {
            return None;
        }
        let widest = self.widest_sat[v.index()];
        Some(Estimate {
            hops: h,
            fee_msat: fee_msat(self.base_msat[v.index()], self.ppm[v.index()], amount_msat),
            widest_sat: if widest == u32::MAX {
                u64::MAX
            } else {
                u64::from(widest)
            },
        })
    }

    fn settled(&self, v: NodeId) -> bool {
        self.hops
            .get(v.index())
            .is_some_and(|&h| h != UNSEEN && h <= self.depth)
    }
}

/// One (destination, amount class) search for the cheapest routes: Dijkstra backward from
/// the destination over channels of at least the class's capacity, by fees at the class's
/// amount. Unlike [`Layers`] it may take more hops for fewer fees, as a source router would.
/// It settles nodes only until the ones asked about are settled, and goes on from there
/// when asked about more.
struct Cheapest {
    class_sat: u32,
    hops: Vec<u8>,
    base_msat: Vec<u32>,
    ppm: Vec<u32>,
    settled: Vec<bool>,
    /// Nodes by cost in µmsat, cheapest first (the largest node first among equals).
    heap: RadixHeap<u32>,
}

impl Cheapest {
    fn new(n: usize) -> Self {
        Cheapest {
            class_sat: 0,
            hops: vec![UNSEEN; n],
            base_msat: vec![0; n],
            ppm: vec![0; n],
            settled: vec![false; n],
            heap: RadixHeap::default(),
        }
    }

    /// Start over toward `destination` for the class, reusing the buffers.
    fn reset(&mut self, destination: NodeId, class_sat: u32) {
        self.class_sat = class_sat;
        self.hops.fill(UNSEEN);
        self.settled.fill(false);
        self.heap.clear();
        if let Some(h) = self.hops.get_mut(destination.index()) {
            *h = 0;
            self.base_msat[destination.index()] = 0;
            self.ppm[destination.index()] = 0;
            self.heap.push(0, destination.0);
        }
    }

    /// A route's fees at the class's amount, from its base and proportional sums.
    fn cost(&self, base_msat: u32, ppm: u32) -> f64 {
        let reference_msat = f64::from(self.class_sat) * 1000.0;
        f64::from(base_msat) + f64::from(ppm) * reference_msat / 1e6
    }

    /// Settle nodes until every one of `targets` is settled or nothing is left to settle.
    fn settle(&mut self, graph: &Compact, targets: &[NodeId]) {
        // Settling only adds: a target settled stays settled, so the scan moves forward.
        let mut next = 0;
        loop {
            while next < targets.len() && self.settled.get(targets[next].index()).is_none_or(|&s| s)
            {
                next += 1;
            }
            if next == targets.len() {
                return;
            }
            let Some((_, u)) = self.heap.pop() else {
                return;
            };
            let ui = u as usize;
            if self.settled[ui] {
                continue;
            }
            self.settled[ui] = true;
            if self.hops[ui] >= 20 {
                continue;
            }
            let (base_u, ppm_u, hops_u) = (self.base_msat[ui], self.ppm[ui], self.hops[ui]);
            for &(from, fee_base, fee_ppm, capacity_sat) in graph.incoming(u) {
                let v = from as usize;
                if self.settled[v] || capacity_sat < self.class_sat {
                    continue;
                }
                let base = base_u.saturating_add(fee_base);
                let ppm = ppm_u.saturating_add(fee_ppm);
                let new = self.cost(base, ppm);
                if self.hops[v] != UNSEEN && new >= self.cost(self.base_msat[v], self.ppm[v]) {
                    continue;
                }
                self.base_msat[v] = base;
                self.ppm[v] = ppm;
                self.hops[v] = hops_u + 1;
                self.heap.push((new * 1000.0) as u64, from);
            }
        }
    }

    /// Hops and fees of `v`'s cheapest route for `amount_msat`; `None` when it has none
    /// (call after [`Self::settle`] with `v` among the targets).
    fn estimate(&self, v: NodeId, amount_msat: u64) -> Option<(u8, u64)> {
        let i = v.index();
        if !self.settled.get(i).copied().unwrap_or(false) {
            return None;
        }
        Some((
            self.hops[i],
            fee_msat(self.base_msat[i], self.ppm[i], amount_msat),
        ))
    }
}

pub struct Onward {
    graph: Compact,
    /// One search per destination, least recently used evicted first.
    searches: Lru<NodeId, Layers>,
    cheapest: Lru<(NodeId, u8), Cheapest>,
    epoch: u64,
}

impl Onward {
    pub fn new(capacity: usize) -> Self {
        Onward {
            graph: Compact::default(),
            searches: Lru::new(capacity),
            // A payment's attempts share a search; a few hundred cover the payments in
            // flight.
            cheapest: Lru::new(capacity.div_ceil(4)),
            epoch: u64::MAX,
        }
    }

    /// For each peer of `node`: its `Estimate` toward `destination` for `amount_msat`,
    /// or `None` when gossip shows no route (within 20 hops).
    ///
    /// The search stops once `node` itself is reached at depth `d`: a peer not reached yet
    /// is then exactly `d + 1` hops away (through `node`), and gets `node`'s fee as its
    /// estimate. This spares the widest, last layers for hubs, whose neighbours reach far.
    pub fn estimates(
        &mut self,
        gossip: &GossipView,
        node: NodeId,
        destination: NodeId,
        amount_msat: u64,
        peers: &[NodeId],
    ) -> Vec<Option<Estimate>> {
        self.sync(gossip);
        let search = match self.searches.get(&destination) {
            Some(search) => search,
            None => {
                let search = self
                    .searches
                    .insert_with(destination, || Layers::new(gossip.node_bound()));
                search.reset(destination);
                search
            }
        };
        while !search.settled(node)
            && peers.iter().any(|&p| !search.settled(p))
            && search.expand(&self.graph)
        {}
        let via_node = search.estimate(node, amount_msat).map(|e| Estimate {
            hops: e.hops.saturating_add(1),
            ..e
        });
        peers
            .iter()
            .map(|&p| search.estimate(p, amount_msat).or(via_node))
            .collect()
    }
}

impl Onward {
    /// Drop every search made on an older gossip view, and rebuild the compact graph.
    fn sync(&mut self, gossip: &GossipView) {
        if gossip.epoch != self.epoch {
            self.searches.clear();
            self.cheapest.clear();
            self.epoch = gossip.epoch;
            self.graph = Compact::build(gossip);
        }
    }

    /// For each peer: the hops and fees of the cheapest route from it to `destination`
    /// over channels of at least `amount_msat`'s power-of-two class, as gossip shows them.
    pub fn cheapest(
        &mut self,
        gossip: &GossipView,
        destination: NodeId,
        amount_msat: u64,
        peers: &[NodeId],
    ) -> Vec<Option<(u8, u64)>> {
        self.sync(gossip);
        let class = (amount_msat / 1000).max(1).ilog2().min(31) as u8;
        let n = gossip.node_bound();
        let search = match self.cheapest.get(&(destination, class)) {
            Some(search) => search,
            None => {
                // A fresh search, or the least recently used one's buffers.
                let search = self
                    .cheapest
                    .insert_with((destination, class), || Cheapest::new(n));
                search.reset(destination, 1u32 << class);
                search
            }
        };
        search.settle(&self.graph, peers);
        peers
            .iter()
            .map(|&p| search.estimate(p, amount_msat))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::search::{EdgeScorer, Limits, Tree};
    use crate::scene::generate::{GenerateParams, GraphModel, network_for_tests};

    struct Hops;
    impl EdgeScorer for Hops {
        fn score(&self, _: &crate::network::gossip::InEdge, _: u64, _: u64) -> Option<(f64, f64)> {
            Some((1.0, 1.0))
        }
    }

    #[test]
    fn hop_counts_match_a_shortest_path_search() {
        let params = GenerateParams {
            nodes: 150,
            channels: 400,
            model: GraphModel::WattsStrogatz,
            seed: 2,
        };
        let (_network, gossip) = network_for_tests(&params);
        let destination = NodeId(7);
        let mut tree = Tree::new();
        let limits = Limits {
            max_hops: 20,
            cltv_limit: u32::MAX,
            final_cltv_delta: 0,
            fee_limit_msat: u64::MAX,
        };
        tree.reset(&gossip, destination, 1_000, limits, None);
        tree.run(&gossip, &Hops, None, |_| false);
        let truth = |v: NodeId| tree.settled_hops_and_fee(v).map(|(h, _)| h);
        // Asked from each node's point of view (the search stops early), every peer's hop
        // count is still exact.
        let mut onward = Onward::new(2);
        for node in (0..150).map(NodeId).filter(|&n| n != destination) {
            let peers: Vec<NodeId> = gossip
                .outgoing(node)
                .iter()
                .map(|&e| NodeId(gossip.to[e as usize]))
                .collect();
            let got = onward.estimates(&gossip, node, destination, 1_000, &peers);
            for (p, est) in peers.iter().zip(&got) {
                assert_eq!(est.map(|e| e.hops), truth(*p), "peer {p} of {node}");
            }
        }
    }

    /// The cheapest routes are the cheapest: the same fees as Bellman-Ford over the same
    /// channels (those of at least the amount's class), and none where only smaller
    /// channels lead on.
    #[test]
    fn cheapest_fees_match_bellman_ford_over_large_enough_channels() {
        let params = GenerateParams {
            nodes: 120,
            channels: 300,
            model: GraphModel::BarabasiAlbert,
            seed: 5,
        };
        let (_network, gossip) = network_for_tests(&params);
        // One cheapest search kept at a time: the second amount class evicts the first,
        // whose buffers it then reuses.
        let mut onward = Onward::new(4);
        let all: Vec<NodeId> = (0..120).map(NodeId).collect();
        let mut reached_per_amount = Vec::new();
        for amount_msat in [20_000_000u64, 4_000_000_000] {
            let destination = NodeId(3);
            let got = onward.cheapest(&gossip, destination, amount_msat, &all);
            let class_sat = 1u64 << (amount_msat / 1000).ilog2();
            let reference_msat = (class_sat * 1000) as f64;
            // Bellman-Ford on the same per-edge costs.
            let mut cost = vec![f64::INFINITY; 120];
            cost[destination.index()] = 0.0;
            for _ in 0..120 {
                for u in 0..120u32 {
                    for e in gossip.incoming_data(NodeId(u)) {
                        if e.policy.disabled || e.capacity_msat / 1000 < class_sat {
                            continue;
                        }
                        let c = cost[u as usize]
                            + e.policy.fee_base_msat as f64
                            + e.policy.fee_rate_ppm as f64 * reference_msat / 1e6;
                        if c < cost[e.from as usize] {
                            cost[e.from as usize] = c;
                        }
                    }
                }
            }
            // Asked about a few nodes first and the rest later, the search answers the same.
            let mut lazy = Onward::new(4);
            lazy.cheapest(&gossip, destination, amount_msat, &[NodeId(5), NodeId(9)]);
            assert_eq!(lazy.cheapest(&gossip, destination, amount_msat, &all), got);
            let mut reached = 0;
            for v in &all {
                match got[v.index()] {
                    None => assert!(cost[v.index()].is_infinite(), "{v}: missed"),
                    Some((hops, _)) => {
                        reached += 1;
                        assert!(hops > 0 || *v == destination);
                        // The estimate's fee at the class amount is the optimum.
                        let at_class =
                            onward.cheapest(&gossip, destination, class_sat * 1000, &[*v])[0]
                                .unwrap()
                                .1 as f64;
                        assert!(
                            (at_class - cost[v.index()]).abs() <= 1.0 + 1e-9 * cost[v.index()],
                            "{v}: {at_class} against {}",
                            cost[v.index()]
                        );
                    }
                }
            }
            reached_per_amount.push(reached);
        }
        // The small payment reaches every node of the connected graph; the large one
        // leaves some without a large enough way on.
        assert_eq!(reached_per_amount[0], 120, "{reached_per_amount:?}");
        assert!(reached_per_amount[1] < 120, "{reached_per_amount:?}");
    }
}
