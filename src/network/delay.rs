//! Processing-delay distributions: how long a node takes before it forwards an HTLC or
//! relays a settle or failure upstream.

use rand::Rng;
use rand_distr::{Distribution, Exp};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum DelayModel {
    /// A fixed delay (CLoTH uses 100 ms per hop).
    Constant { ms: u64 },
    /// `base_ms` plus an exponential with mean `mean_ms` (ln-jamming-simulator: 1 s + Exp(3 s)).
    Exponential { base_ms: u64, mean_ms: u64 },
    /// Uniform in `[min_ms, max_ms]`.
    Uniform { min_ms: u64, max_ms: u64 },
}

impl Default for DelayModel {
    fn default() -> Self {
        DelayModel::Constant { ms: 100 }
    }
}

impl DelayModel {
    pub fn sample_ms(&self, rng: &mut impl Rng) -> u64 {
        match *self {
            DelayModel::Constant { ms } => ms,
            DelayModel::Exponential { base_ms, mean_ms } => {
                if mean_ms == 0 {
                    return base_ms;
                }
                let exp = Exp::new(1.0 / mean_ms as f64).expect("positive rate");
                base_ms + exp.sample(rng).round() as u64
            }
            DelayModel::Uniform { min_ms, max_ms } => rng.random_range(min_ms..=max_ms.max(min_ms)),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        match *self {
            DelayModel::Uniform { min_ms, max_ms } if min_ms > max_ms => Err(format!(
                "delay Uniform has min_ms {min_ms} > max_ms {max_ms}"
            )),
            _ => Ok(()),
        }
    }
}
