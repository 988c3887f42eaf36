//! Initial liquidity models: how a channel's capacity is split between its two ends when a
//! scene does not give the split explicitly.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// How to split capacity between `node1` and `node2` at the start of a run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum LiquidityModel {
    /// 50/50, as SimLN starts its channels.
    Half,
    /// node1's share uniform in `[0, capacity]`.
    Uniform,
    /// lnd's bimodal prior: density ∝ `exp(-x/s) + exp(-(c-x)/s)`, so most channels sit near
    /// empty or near full. `scale_sat` is `s` (lnd's default is 300,000 sat).
    Bimodal { scale_sat: u64 },
    /// Every channel's split comes from the scene (`node1_balance_msat`).
    Explicit,
}

impl Default for LiquidityModel {
    fn default() -> Self {
        LiquidityModel::Bimodal { scale_sat: 300_000 }
    }
}

impl LiquidityModel {
    /// node1's balance in msat for a channel of `capacity_sat`, or `None` for `Explicit`
    /// (the scene must supply it).
    pub fn sample_node1_msat(&self, capacity_sat: u64, rng: &mut impl Rng) -> Option<u64> {
        let cap_msat = capacity_sat.saturating_mul(1000);
        match *self {
            LiquidityModel::Half => Some(cap_msat / 2),
            LiquidityModel::Uniform => Some(rng.random_range(0..=cap_msat)),
            LiquidityModel::Bimodal { scale_sat } => {
                let c = capacity_sat as f64;
                let s = (scale_sat.max(1)) as f64;
                // Inverse CDF of an exponential truncated to [0, c], then mirror half the time.
                let u: f64 = rng.random();
                let near_empty = -s * (1.0 - u * (1.0 - (-c / s).exp())).ln();
                let x = if rng.random_bool(0.5) {
                    near_empty
                } else {
                    c - near_empty
                };
                Some(((x.clamp(0.0, c)) * 1000.0) as u64)
            }
            LiquidityModel::Explicit => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn bimodal_puts_most_mass_near_the_ends() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let model = LiquidityModel::Bimodal { scale_sat: 300_000 };
        let cap = 10_000_000;
        let samples: Vec<u64> = (0..4000)
            .map(|_| model.sample_node1_msat(cap, &mut rng).unwrap())
            .collect();
        let cap_msat = cap * 1000;
        assert!(samples.iter().all(|&x| x <= cap_msat));
        let near_ends = samples
            .iter()
            .filter(|&&x| x < cap_msat / 10 || x > cap_msat * 9 / 10)
            .count();
        assert!(near_ends > 3600, "only {near_ends} of 4000 near the ends");
        let uniform = LiquidityModel::Uniform;
        let mid = (0..4000)
            .map(|_| uniform.sample_node1_msat(cap, &mut rng).unwrap())
            .filter(|&x| x > cap_msat / 10 && x < cap_msat * 9 / 10)
            .count();
        assert!(mid > 3000);
    }
}
