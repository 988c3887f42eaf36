//! Onward estimates for agent features: from each neighbour, the fewest hops to the
//! destination as gossip shows it, and the fees along the cheapest of those shortest
//! routes. One tree per (destination, amount bucket), shared by every decision toward
//! that destination and extended only as far as the neighbours asked about.

use crate::network::gossip::InEdge;
use crate::network::{GossipView, NodeId};
use crate::routing::cache::{amount_bucket, bucket_amount_msat};
use crate::routing::search::{EdgeScorer, Limits, Tree};
use rustc_hash::FxHashMap as HashMap;

/// Fewest hops first, then least fees (a hop outweighs any fee a real route pays).
struct HopsThenFees;
impl EdgeScorer for HopsThenFees {
    fn score(&self, _: &InEdge, _: u64, fee_msat: u64) -> Option<(f64, f64)> {
        Some((1e13 + fee_msat as f64, 1.0))
    }
}

pub struct Oracle {
    trees: Vec<Tree>,
    keys: Vec<(NodeId, i32)>,
    last_used: Vec<u64>,
    index: HashMap<(NodeId, i32), usize>,
    tick: u64,
    epoch: u64,
    capacity: usize,
}

impl Oracle {
    pub fn new(capacity: usize) -> Self {
        Oracle {
            trees: Vec::new(),
            keys: Vec::new(),
            last_used: Vec::new(),
            index: HashMap::default(),
            tick: 0,
            epoch: u64::MAX,
            capacity: capacity.max(1),
        }
    }

    /// For each peer: `Some((hops, fee_msat))` of the cheapest route to `destination`, or
    /// `None` when gossip shows none.
    pub fn estimates(
        &mut self,
        gossip: &GossipView,
        destination: NodeId,
        amount_msat: u64,
        peers: &[NodeId],
    ) -> Vec<Option<(u8, u64)>> {
        if gossip.epoch != self.epoch {
            self.trees.clear();
            self.keys.clear();
            self.last_used.clear();
            self.index.clear();
            self.epoch = gossip.epoch;
        }
        self.tick += 1;
        let bucket = amount_bucket(amount_msat);
        let key = (destination, bucket);
        let slot = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                let i = if self.trees.len() < self.capacity {
                    self.trees.push(Tree::new());
                    self.keys.push(key);
                    self.last_used.push(0);
                    self.trees.len() - 1
                } else {
                    let lru = (0..self.trees.len())
                        .min_by_key(|&i| self.last_used[i])
                        .expect("non-empty");
                    self.index.remove(&self.keys[lru]);
                    self.keys[lru] = key;
                    lru
                };
                let limits = Limits {
                    max_hops: 20,
                    cltv_limit: u32::MAX,
                    final_cltv_delta: 0,
                    fee_limit_msat: u64::MAX,
                };
                self.trees[i].reset(
                    gossip,
                    destination,
                    bucket_amount_msat(bucket),
                    limits,
                    None,
                );
                self.index.insert(key, i);
                i
            }
        };
        self.last_used[slot] = self.tick;
        let tree = &mut self.trees[slot];
        let mut missing = peers.iter().filter(|&&p| !tree.is_settled(p)).count();
        if missing > 0 {
            tree.run(gossip, &HopsThenFees, None, |v| {
                if peers.contains(&v) {
                    missing -= 1;
                }
                missing == 0
            });
        }
        peers
            .iter()
            .map(|&p| tree.settled_hops_and_fee(p))
            .collect()
    }
}
