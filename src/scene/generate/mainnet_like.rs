//! The mainnet-like model: a topology and channel attributes shaped like the public Lightning
//! graph. This file owns the degree model (a third of nodes are leaves hanging off the core,
//! the core heavy-tailed) and the attribute distributions fitted to the real describegraph
//! excerpts (capacities, fee rates and base fees, CLTV deltas, HTLC limits, disabled and
//! absurd-fee directions).
//!
//! **Topology.** A weighted configuration model that is connected by construction:
//! 1. `leaves` nodes (about a third, as on mainnet) get degree one; every other node (the
//!    core) draws a weight from a Pareto law with tail index [`CORE_TAIL_INDEX`] (degree
//!    exponent about 2.3), capped so that no node holds more than [`MAX_HUB_SHARE`] of the
//!    core;
//! 2. a spanning tree: core nodes, heaviest first, each attach to an earlier core node drawn
//!    by weight; leaves attach to a core node drawn by weight (real leaves sit on big hubs and
//!    LSPs);
//! 3. the remaining channels join core pairs drawn by weight (Chung–Lu), with no duplicate
//!    pair and no self-loop.
//!
//! **Attributes** (fitted to `ln_50` and `ln_10`, 91 channels and 182 directions of the March
//! 2024 graph, see the README): capacity log-normal with median 2,000,000 sat and sigma 2.27;
//! 36% of directions charge 0 or 1 ppm, 61% a log-normal rate with median 260 ppm and sigma
//! 1.94, 2.7% an absurd 2,147,483,647 ppm; base fee 1,000 msat on 58% of directions; 12% of
//! directions disabled; CLTV deltas 40, 80 and 144 on most; `htlc_maximum_msat` 99% of capacity
//! on 80% of directions and 5–50% on the rest.

use crate::network::channel::{ChannelPolicy, DEFAULT_MAX_ACCEPTED_HTLCS};
use rand::Rng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::LogNormal;
use std::collections::HashSet;

/// Share of nodes that are leaves (one channel).
pub const LEAF_SHARE: f64 = 1.0 / 3.0;
/// Pareto tail index of core weights: P(weight > w) = w^-1.3.
pub const CORE_TAIL_INDEX: f64 = 1.1;
/// No core weight above this share of the core's total: the largest hub then holds about 3%
/// of the channels (a sixth of the nodes as peers), as the largest mainnet nodes do.
pub const MAX_HUB_SHARE: f64 = 0.015;

const CAPACITY_MEDIAN_SAT: f64 = 2_000_000.0;
const CAPACITY_SIGMA: f64 = 2.27;
const CAPACITY_MIN_SAT: u64 = 20_000;
const CAPACITY_MAX_SAT: u64 = 1_000_000_000;
/// Directions charging 0 or 1 ppm (one third 0, two thirds 1, as in the excerpts).
const FEE_RATE_NEAR_ZERO_SHARE: f64 = 0.36;
/// Directions announcing an absurd fee (i32::MAX ppm, a real "do not route" signal).
const FEE_RATE_ABSURD_SHARE: f64 = 0.027;
pub const FEE_RATE_ABSURD_PPM: u64 = 2_147_483_647;
const FEE_RATE_MEDIAN_PPM: f64 = 260.0;
const FEE_RATE_SIGMA: f64 = 1.94;
const FEE_RATE_MIN_PPM: u64 = 2;
const FEE_RATE_MAX_PPM: u64 = 50_000;
const FEE_BASES_MSAT: [u64; 5] = [0, 100, 500, 1_000, 2_000];
const FEE_BASE_WEIGHTS: [f64; 5] = [0.27, 0.05, 0.05, 0.58, 0.06];
pub const DISABLED_SHARE: f64 = 0.12;
const CLTV_DELTAS: [u16; 7] = [18, 34, 40, 80, 100, 144, 222];
const CLTV_WEIGHTS: [f64; 7] = [0.03, 0.03, 0.45, 0.27, 0.04, 0.14, 0.04];
/// Directions whose `htlc_maximum_msat` is below 99% of capacity, drawn from 5–50%.
const HTLC_MAXIMUM_LOW_SHARE: f64 = 0.2;
/// Directions accepting 1 msat HTLCs (the rest 1,000 msat).
const HTLC_MINIMUM_ONE_SHARE: f64 = 0.2;

/// The channel endpoints of a connected mainnet-like graph with exactly `n` nodes and `m`
/// channels (`n - 1 <= m <= n(n-1)/2`, checked by the caller). Node ids are shuffled so that
/// hubs are not the low ids.
pub fn topology(n: usize, m: usize, rng: &mut ChaCha8Rng) -> Vec<(u32, u32)> {
    let leaves = leaf_count(n, m);
    let core = n - leaves;
    // Core weights, heaviest first (node 0 the biggest hub before the shuffle).
    let mut weights: Vec<f64> = (0..core)
        .map(|_| {
            let u: f64 = rng.random();
            (1.0 - u).powf(-1.0 / CORE_TAIL_INDEX)
        })
        .collect();
    weights.sort_by(|a, b| b.total_cmp(a));
    // Cap the weights so that the largest holds MAX_HUB_SHARE of the capped total (the
    // fixed point of cap = share * sum(min(w, cap)), reached from above). Small cores, where
    // even equal weights would exceed the share, stay uncapped.
    if MAX_HUB_SHARE * core as f64 > 1.0 {
        let mut cap = MAX_HUB_SHARE * weights.iter().sum::<f64>();
        for _ in 0..100 {
            let next = MAX_HUB_SHARE * weights.iter().map(|w| w.min(cap)).sum::<f64>();
            if cap - next < 1e-9 * cap {
                break;
            }
            cap = next;
        }
        for w in &mut weights {
            *w = w.min(cap);
        }
    }

    let mut edges = Vec::with_capacity(m);
    let mut present: HashSet<(u32, u32)> = HashSet::with_capacity(m);
    let key = |a: usize, b: usize| (a.min(b) as u32, a.max(b) as u32);
    // Spanning tree over the core: node i attaches to an earlier node by weight. The prefix
    // sums make each draw a binary search.
    let mut prefix = Vec::with_capacity(core);
    let mut total = 0.0;
    for &w in &weights {
        total += w;
        prefix.push(total);
    }
    let draw_below = |rng: &mut ChaCha8Rng, end: usize| -> usize {
        let x = rng.random::<f64>() * prefix[end - 1];
        prefix[..end].partition_point(|&p| p <= x).min(end - 1)
    };
    for i in 1..core {
        let j = draw_below(rng, i);
        present.insert(key(i, j));
        edges.push(key(i, j));
    }
    for leaf in core..n {
        let j = draw_below(rng, core);
        present.insert(key(leaf, j));
        edges.push(key(leaf, j));
    }
    // Chung–Lu fill among core pairs.
    let extra = m - edges.len();
    let mut attempts = 0usize;
    while edges.len() < m && attempts < 64 * extra + 1024 {
        attempts += 1;
        let a = draw_below(rng, core);
        let b = draw_below(rng, core);
        if a != b && present.insert(key(a, b)) {
            edges.push(key(a, b));
        }
    }
    if edges.len() < m {
        // Dense corner: finish uniformly among the core pairs not yet joined.
        let mut rest: Vec<(u32, u32)> = (0..core)
            .flat_map(|a| (a + 1..core).map(move |b| (a as u32, b as u32)))
            .filter(|p| !present.contains(p))
            .collect();
        rest.shuffle(rng);
        edges.extend(rest.into_iter().take(m - edges.len()));
    }
    let mut ids: Vec<u32> = (0..n as u32).collect();
    ids.shuffle(rng);
    edges
        .into_iter()
        .map(|(a, b)| {
            let (a, b) = (ids[a as usize], ids[b as usize]);
            (a.min(b), a.max(b))
        })
        .collect()
}

/// The number of leaves: a third of the nodes, fewer when the core left over could not hold
/// the channels that do not touch a leaf.
fn leaf_count(n: usize, m: usize) -> usize {
    let mut leaves = ((n as f64 * LEAF_SHARE).round() as usize).min(n - 1);
    while leaves > 0 {
        let core = n - leaves;
        if core * (core - 1) / 2 >= m - leaves {
            break;
        }
        leaves -= 1;
    }
    leaves
}

/// Draws channel sizes and forwarding policies.
pub struct Attributes {
    capacity: LogNormal<f64>,
    fee_rate: LogNormal<f64>,
    fee_base: WeightedIndex<f64>,
    cltv: WeightedIndex<f64>,
}

impl Attributes {
    pub fn new() -> Result<Self, String> {
        Ok(Attributes {
            capacity: LogNormal::new(CAPACITY_MEDIAN_SAT.ln(), CAPACITY_SIGMA)
                .map_err(|e| format!("capacity distribution: {e}"))?,
            fee_rate: LogNormal::new(FEE_RATE_MEDIAN_PPM.ln(), FEE_RATE_SIGMA)
                .map_err(|e| format!("fee rate distribution: {e}"))?,
            fee_base: WeightedIndex::new(FEE_BASE_WEIGHTS)
                .map_err(|e| format!("base fee weights: {e}"))?,
            cltv: WeightedIndex::new(CLTV_WEIGHTS).map_err(|e| format!("cltv weights: {e}"))?,
        })
    }

    pub fn capacity_sat(&self, rng: &mut ChaCha8Rng) -> u64 {
        (self.capacity.sample(rng).round() as u64).clamp(CAPACITY_MIN_SAT, CAPACITY_MAX_SAT)
    }

    pub fn policy(&self, rng: &mut ChaCha8Rng, capacity_sat: u64) -> ChannelPolicy {
        let r: f64 = rng.random();
        let fee_rate_ppm = if r < FEE_RATE_ABSURD_SHARE {
            FEE_RATE_ABSURD_PPM
        } else if r < FEE_RATE_ABSURD_SHARE + FEE_RATE_NEAR_ZERO_SHARE {
            u64::from(rng.random_bool(2.0 / 3.0))
        } else {
            (self.fee_rate.sample(rng).round() as u64).clamp(FEE_RATE_MIN_PPM, FEE_RATE_MAX_PPM)
        };
        let htlc_maximum_msat = if rng.random_bool(HTLC_MAXIMUM_LOW_SHARE) {
            capacity_sat * rng.random_range(50..=500)
        } else {
            capacity_sat * 990
        };
        ChannelPolicy {
            fee_base_msat: FEE_BASES_MSAT[self.fee_base.sample(rng)],
            fee_rate_ppm,
            cltv_expiry_delta: CLTV_DELTAS[self.cltv.sample(rng)],
            htlc_minimum_msat: if rng.random_bool(HTLC_MINIMUM_ONE_SHARE) {
                1
            } else {
                1_000
            },
            htlc_maximum_msat,
            disabled: rng.random_bool(DISABLED_SHARE),
            max_accepted_htlcs: DEFAULT_MAX_ACCEPTED_HTLCS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn leaf_count_leaves_room_for_the_core() {
        assert_eq!(leaf_count(6000, 30_000), 2000);
        // 10 nodes, 40 channels: a core of 9 holds 36 pairs, too few for 40 - 1.
        for (n, m) in [(10, 40), (10, 45), (3, 3), (2, 1), (50, 78)] {
            let leaves = leaf_count(n, m);
            let core = n - leaves;
            assert!(
                core * (core - 1) / 2 >= m - leaves,
                "{n}/{m}: {leaves} leaves"
            );
        }
        assert_eq!(leaf_count(10, 45), 0);
        assert_eq!(leaf_count(4, 3), 1);
    }

    #[test]
    fn a_third_are_leaves_and_the_core_is_heavy_tailed() {
        for (n, m, seed) in [(6000, 30_000, 1), (15_000, 75_000, 2), (1000, 5000, 3)] {
            let edges = topology(n, m, &mut ChaCha8Rng::seed_from_u64(seed));
            assert_eq!(edges.len(), m);
            let mut d = vec![0usize; n];
            for &(a, b) in &edges {
                d[a as usize] += 1;
                d[b as usize] += 1;
            }
            d.sort_unstable();
            let leaves = d.iter().filter(|&&x| x == 1).count() as f64 / n as f64;
            let (median, max) = (d[n / 2], d[n - 1]);
            let top_share = d[n - n / 100..].iter().sum::<usize>() as f64 / (2 * m) as f64;
            assert!((0.3..0.4).contains(&leaves), "{n}: leaves {leaves}");
            assert!(max > 20 * median, "{n}: max {max}, median {median}");
            assert!(max < n / 5, "{n}: max {max}");
            assert!(top_share > 0.1, "{n}: top 1% hold {top_share}");
        }
    }

    #[test]
    fn absurd_and_disabled_directions_come_at_their_rates() {
        let a = Attributes::new().unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let draws = 20_000;
        let policies: Vec<ChannelPolicy> = (0..draws)
            .map(|_| {
                let cap = a.capacity_sat(&mut rng);
                a.policy(&mut rng, cap)
            })
            .collect();
        let share = |f: &dyn Fn(&ChannelPolicy) -> bool| {
            policies.iter().filter(|p| f(p)).count() as f64 / draws as f64
        };
        let absurd = share(&|p| p.fee_rate_ppm == FEE_RATE_ABSURD_PPM);
        let disabled = share(&|p| p.disabled);
        let near_zero = share(&|p| p.fee_rate_ppm <= 1);
        assert!((0.02..0.035).contains(&absurd), "absurd {absurd}");
        assert!((0.105..0.135).contains(&disabled), "disabled {disabled}");
        assert!((0.33..0.39).contains(&near_zero), "near zero {near_zero}");
    }
}
