//! Destination-rooted shortest-path trees shared across payments. One backward search
//! from a destination answers every sender that has no history of its own, so pathfinding
//! cost is paid once per (destination, amount bucket, gossip epoch) instead of once per
//! payment — and a search is only extended as far as the senders asking need.
//!
//! Approximation, stated: the tree is searched for the bucket's representative amount
//! (buckets are 1/8 of an octave, so within about 4.5% of the real amount). Fees, lnd's
//! capacity factor and htlc_maximum/capacity admission are therefore judged at that amount,
//! and a path can differ from what an exact search for the real amount would pick when
//! costs are that close. The route is always rebuilt for the real amount and checked
//! against every gossip limit, fee limit, CLTV limit and the sender's own channel; one
//! that does not check out, or whose tree path runs through the sender, falls back to an
//! exact search by the caller. For amounts on a bucket's representative value the cache
//! and the exact search agree exactly (tested). A gossip change (new epoch) empties it.
//! `path_cache: false` in a scene turns it off.
//!
//! Admission: a tree is only kept for a (destination, bucket) asked for at least twice
//! recently; one-off destinations go to the caller's exact search, whose buffers stay warm,
//! instead of evicting trees that are being reused.

use super::lru::Lru;
use super::search::{EdgeScorer, Limits, Tree, build_route};
use super::{LocalView, Route};
use crate::network::{GossipView, NodeId};
use rustc_hash::FxHashMap as HashMap;

/// Trees kept at once (each holds a few arrays of `node_bound` entries).
pub const DEFAULT_CAPACITY: usize = 96;

pub fn amount_bucket(amount_msat: u64) -> i32 {
    ((amount_msat.max(1) as f64).log2() * 8.0).round() as i32
}

pub fn bucket_amount_msat(bucket: i32) -> u64 {
    2f64.powf(f64::from(bucket) / 8.0).round().max(1.0) as u64
}

#[derive(Debug)]
pub struct TreeCache {
    epoch: u64,
    trees: Lru<(NodeId, i32), Tree>,
    /// Counts requests (the admission filter's clock).
    tick: u64,
    /// When each recently requested key was last asked for (admission filter).
    seen: HashMap<(NodeId, i32), u64>,
    pub hits: u64,
    pub misses: u64,
    pub fallbacks: u64,
    /// Requests for keys seen only once recently (answered by an exact search instead).
    pub passed: u64,
    /// Nodes settled by the trees' searches, in total (the work they did).
    pub settled_nodes: u64,
}

impl TreeCache {
    pub fn new(capacity: usize) -> Self {
        TreeCache {
            epoch: 0,
            trees: Lru::new(capacity),
            tick: 0,
            seen: HashMap::default(),
            hits: 0,
            misses: 0,
            fallbacks: 0,
            passed: 0,
            settled_nodes: 0,
        }
    }

    /// The tree for a key, or `None` when the key is not (yet) worth a tree of its own.
    fn tree_for(
        &mut self,
        gossip: &GossipView,
        destination: NodeId,
        bucket: i32,
        limits: Limits,
    ) -> Option<&mut Tree> {
        if gossip.epoch != self.epoch {
            self.trees.clear();
            self.seen.clear();
            self.epoch = gossip.epoch;
        }
        self.tick += 1;
        let key = (destination, bucket);
        if self.trees.contains(&key) {
            self.hits += 1;
            return self.trees.get(&key);
        }
        let capacity = self.trees.capacity();
        let window = 8 * capacity as u64;
        let recent = self
            .seen
            .insert(key, self.tick)
            .is_some_and(|t| self.tick - t <= window);
        if self.seen.len() > 64 * capacity {
            let tick = self.tick;
            self.seen.retain(|_, t| tick - *t <= window);
        }
        if !recent {
            self.passed += 1;
            return None;
        }
        self.misses += 1;
        let tree = self.trees.insert_with(key, Tree::new);
        tree.reset(
            gossip,
            destination,
            bucket_amount_msat(bucket),
            limits,
            None,
        );
        Some(tree)
    }

    /// The best route for a sender without history of its own, or `None` when the cache
    /// cannot answer exactly (the caller then runs an exact search).
    pub fn route<S: EdgeScorer + ?Sized>(
        &mut self,
        gossip: &GossipView,
        scorer: &S,
        local: &LocalView,
        destination: NodeId,
        amount_msat: u64,
        limits: Limits,
    ) -> Option<Route> {
        let sender = local.node();
        // The sender's usable first hops: per peer, the channel with the most balance.
        let mut first_hops: Vec<(NodeId, u32, u64)> = Vec::new();
        for c in local.channels() {
            if local.can_send(c.channel, amount_msat).is_err() {
                continue;
            }
            let Some(edge) = gossip.edge(c.channel, c.direction) else {
                continue;
            };
            match first_hops.iter_mut().find(|(p, _, _)| *p == c.peer) {
                Some(existing) if existing.2 >= c.balance_msat => {}
                Some(existing) => *existing = (c.peer, edge, c.balance_msat),
                None => first_hops.push((c.peer, edge, c.balance_msat)),
            }
        }
        if first_hops.is_empty() {
            return None;
        }
        let bucket = amount_bucket(amount_msat);
        let mut bucket_limits = limits;
        bucket_limits.fee_limit_msat = limits.fee_limit_msat.saturating_mul(2);
        let tree = self.tree_for(gossip, destination, bucket, bucket_limits)?;
        let settled_before = tree.settled_count;
        // Settled neighbours are final; otherwise extend the search to the first one.
        let settled_best = first_hops
            .iter()
            .filter_map(|&(p, e, _)| tree.distance(p).map(|d| (d, p, e)))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let first = match settled_best {
            Some((_, p, e)) => Some((p, e)),
            None => tree
                .run(gossip, scorer, None, |v| {
                    first_hops.iter().any(|(p, _, _)| *p == v)
                })
                .and_then(|peer| {
                    let hop = first_hops.iter().find(|(p, _, _)| *p == peer)?;
                    Some((peer, hop.1))
                }),
        };
        let path = first.and_then(|(peer, edge)| {
            let mut edges = vec![edge];
            edges.extend(tree.path_edges(gossip, peer)?);
            Some(edges)
        });
        let settled = (tree.settled_count - settled_before) as u64;
        self.settled_nodes += settled;
        let edges = path?;
        if edges
            .iter()
            .any(|&e| NodeId(gossip.to[e as usize]) == sender)
        {
            self.fallbacks += 1;
            return None;
        }
        let route = build_route(gossip, &edges, amount_msat, &limits, local);
        if route.is_none() {
            self.fallbacks += 1;
        }
        route
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_narrow_and_monotone() {
        for amount in [1_000u64, 50_000_000, 123_456_789, 4_000_000_000] {
            let rep = bucket_amount_msat(amount_bucket(amount)) as f64;
            let err = (rep - amount as f64).abs() / amount as f64;
            assert!(err < 0.05, "{amount}: representative {rep}");
        }
        assert!(amount_bucket(1_000_000) < amount_bucket(2_000_000));
    }
}
