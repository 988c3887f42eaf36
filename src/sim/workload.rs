//! The payment workload: Poisson arrivals, amount distributions and how senders and
//! receivers are drawn. Sampling draws only from the workload's own RNG stream, so every
//! routing policy sees exactly the same payments for the same seed.

use crate::network::{Network, NodeId, Role};
use rand::Rng;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand_distr::{Exp, LogNormal, Pareto};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum AmountModel {
    Fixed {
        msat: u64,
    },
    /// Log-normal with the given median (e^mu) and sigma (ln-jamming-simulator: 50k sat, 0.7).
    LogNormal {
        median_sat: f64,
        sigma: f64,
    },
    /// Pareto (heavy tail) with minimum `scale_sat` and tail index `shape`, capped at `max_sat`.
    Pareto {
        scale_sat: f64,
        shape: f64,
        max_sat: f64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum EndpointModel {
    Uniform,
    /// Weighted by total channel capacity (SimLN's destination choice).
    CapacityWeighted,
    /// Merchants and API services, ranked by capacity, with Zipf weights `1 / rank^exponent`.
    /// Falls back to all nodes when the scene has no merchants.
    MerchantZipf {
        exponent: f64,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Mean payment arrivals per simulated second.
    pub rate_per_s: f64,
    pub amount: AmountModel,
    pub senders: EndpointModel,
    pub receivers: EndpointModel,
}

impl Default for Workload {
    fn default() -> Self {
        Workload {
            rate_per_s: 10.0,
            amount: AmountModel::LogNormal {
                median_sat: 50_000.0,
                sigma: 0.7,
            },
            senders: EndpointModel::Uniform,
            receivers: EndpointModel::CapacityWeighted,
        }
    }
}

impl Workload {
    pub fn validate(&self) -> Result<(), String> {
        if !(self.rate_per_s.is_finite() && self.rate_per_s > 0.0) {
            return Err(format!(
                "workload.rate_per_s must be positive, got {}",
                self.rate_per_s
            ));
        }
        let amount: Result<(), String> = match self.amount {
            AmountModel::Fixed { msat: 0 } => Err("workload amount Fixed must be > 0 msat".into()),
            AmountModel::LogNormal { median_sat, sigma }
                if !(median_sat > 0.0 && sigma >= 0.0 && sigma.is_finite()) =>
            {
                Err("workload LogNormal needs median_sat > 0 and sigma >= 0".into())
            }
            AmountModel::Pareto {
                scale_sat,
                shape,
                max_sat,
            } if !(scale_sat > 0.0 && shape > 0.0 && max_sat >= scale_sat) => {
                Err("workload Pareto needs scale_sat > 0, shape > 0, max_sat >= scale_sat".into())
            }
            _ => Ok(()),
        };
        amount?;
        for m in [self.senders, self.receivers] {
            if let EndpointModel::MerchantZipf { exponent } = m
                && !(exponent.is_finite() && exponent >= 0.0)
            {
                return Err("MerchantZipf exponent must be >= 0".into());
            }
        }
        Ok(())
    }
}

/// A Poisson process's next gap in milliseconds, from its exponential inter-arrival
/// distribution (at least 1, so the clock always advances).
pub fn poisson_gap_ms(interarrival: &Exp<f64>, rng: &mut impl Rng) -> u64 {
    ((interarrival.sample(rng) * 1000.0).round() as u64).max(1)
}

/// A drawn payment request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PaymentRequest {
    pub sender: NodeId,
    pub receiver: NodeId,
    pub amount_msat: u64,
}

/// Ready-to-draw samplers for a workload over a given network.
#[derive(Clone, Debug)]
pub struct WorkloadSampler {
    interarrival: Exp<f64>,
    amount: AmountModel,
    senders: EndpointSampler,
    receivers: EndpointSampler,
}

#[derive(Clone, Debug)]
struct EndpointSampler {
    nodes: Vec<NodeId>,
    weights: Option<WeightedIndex<f64>>,
}

impl EndpointSampler {
    fn new(model: EndpointModel, network: &Network) -> Self {
        let all: Vec<NodeId> = network.nodes().map(|(id, _)| id).collect();
        let capacity = |n: NodeId| network.node_capacity_sat(n) as f64;
        let (nodes, weights): (Vec<NodeId>, Option<Vec<f64>>) = match model {
            EndpointModel::Uniform => (all, None),
            EndpointModel::CapacityWeighted => {
                let w: Vec<f64> = all.iter().map(|&n| capacity(n)).collect();
                (all, Some(w))
            }
            EndpointModel::MerchantZipf { exponent } => {
                let mut merchants: Vec<NodeId> = network
                    .nodes()
                    .filter(|(_, n)| matches!(n.role, Role::Merchant | Role::ApiService))
                    .map(|(id, _)| id)
                    .collect();
                if merchants.is_empty() {
                    merchants = all;
                }
                // Rank by capacity, largest first; ties by id, for determinism.
                merchants.sort_by(|&a, &b| capacity(b).total_cmp(&capacity(a)).then(a.cmp(&b)));
                let w = (1..=merchants.len())
                    .map(|r| 1.0 / (r as f64).powf(exponent))
                    .collect();
                (merchants, Some(w))
            }
        };
        let weights = weights.and_then(|w| WeightedIndex::new(w).ok());
        EndpointSampler { nodes, weights }
    }

    fn draw(&self, rng: &mut impl Rng) -> Option<NodeId> {
        if self.nodes.is_empty() {
            return None;
        }
        let i = match &self.weights {
            Some(w) => w.sample(rng),
            None => rng.random_range(0..self.nodes.len()),
        };
        Some(self.nodes[i])
    }
}

impl WorkloadSampler {
    pub fn new(workload: &Workload, network: &Network) -> Self {
        WorkloadSampler {
            interarrival: Exp::new(workload.rate_per_s.max(1e-9)).expect("positive rate"),
            amount: workload.amount,
            senders: EndpointSampler::new(workload.senders, network),
            receivers: EndpointSampler::new(workload.receivers, network),
        }
    }

    /// Every node this workload draws as sender or receiver, in id order.
    pub fn endpoint_nodes(&self) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = self
            .senders
            .nodes
            .iter()
            .chain(&self.receivers.nodes)
            .copied()
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    }

    /// Milliseconds until the next arrival (at least 1, so the clock always advances).
    pub fn next_gap_ms(&self, rng: &mut impl Rng) -> u64 {
        poisson_gap_ms(&self.interarrival, rng)
    }

    pub fn draw_amount_msat(&self, rng: &mut impl Rng) -> u64 {
        let sat = match self.amount {
            AmountModel::Fixed { msat } => return msat,
            AmountModel::LogNormal { median_sat, sigma } => LogNormal::new(median_sat.ln(), sigma)
                .expect("validated")
                .sample(rng),
            AmountModel::Pareto {
                scale_sat,
                shape,
                max_sat,
            } => Pareto::new(scale_sat, shape)
                .expect("validated")
                .sample(rng)
                .min(max_sat),
        };
        ((sat * 1000.0).round() as u64).max(1)
    }

    /// Draw a payment with sender != receiver; `receiver` is fixed for demand spikes.
    pub fn draw(&self, rng: &mut impl Rng, receiver: Option<NodeId>) -> Option<PaymentRequest> {
        let receiver = match receiver {
            Some(r) => r,
            None => self.receivers.draw(rng)?,
        };
        let amount_msat = self.draw_amount_msat(rng);
        for _ in 0..64 {
            let sender = self.senders.draw(rng)?;
            if sender != receiver {
                return Some(PaymentRequest {
                    sender,
                    receiver,
                    amount_msat,
                });
            }
        }
        // Degenerate weights (one node carries all of them): pick any other node.
        let sender = self
            .senders
            .nodes
            .iter()
            .copied()
            .find(|&n| n != receiver)?;
        Some(PaymentRequest {
            sender,
            receiver,
            amount_msat,
        })
    }
}
