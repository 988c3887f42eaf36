//! Run metrics: counters the engine updates as payments resolve, per-node forwarding
//! statistics, and the per-payment records behind `--payments-csv`. Reports are computed
//! from these in `report`.

use crate::network::FailureReason;
use crate::network::NodeId;
use crate::routing::UnroutableCounts;
use serde::Serialize;
use std::collections::BTreeMap;

/// What one node did during a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct NodeStats {
    /// Settled amount this node forwarded out over its channels (as an intermediate hop).
    pub forwarded_msat: u64,
    pub fees_earned_msat: u64,
    /// Attempts that failed at one of this node's outgoing channels.
    pub failures_caused: u64,
}

/// One resolved payment, as written to `--payments-csv`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentRecord {
    pub time_ms: u64,
    pub sender: String,
    pub receiver: String,
    pub amount_msat: u64,
    pub outcome: &'static str,
    pub failure_reason: String,
    /// Alias of the node whose outgoing channel failed the last attempt (empty if none).
    pub failing_hop: String,
    /// Aliases along the last attempt's route, joined by `>`.
    pub route: String,
    pub fees_msat: u64,
    pub latency_ms: u64,
    pub attempts: u32,
}

#[derive(Clone, Debug, Default)]
pub struct Metrics {
    pub payments: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub volume_msat: u64,
    pub volume_succeeded_msat: u64,
    pub fees_paid_msat: u64,
    pub fees_earned_msat: u64,
    pub hops_succeeded: u64,
    pub attempts: u64,
    /// Local retries: failures a forwarding node took back and routed round instead of
    /// failing the attempt back (not counted in `attempts`).
    pub local_retries: u64,
    /// Parts the succeeded payments were settled in (one each without multi-part payments).
    pub parts_succeeded: u64,
    /// Succeeded payments that were split into parts.
    pub mpp_payments: u64,
    pub latencies_ms: Vec<u64>,
    pub failure_reasons: BTreeMap<FailureReason, u64>,
    /// Payments the `oracle` found no path for, by cause (zero under other routers).
    pub unroutable: UnroutableCounts,
    pub nodes: Vec<NodeStats>,
}

impl Metrics {
    pub fn node_mut(&mut self, node: NodeId) -> &mut NodeStats {
        if self.nodes.len() <= node.index() {
            self.nodes.resize(node.index() + 1, NodeStats::default());
        }
        &mut self.nodes[node.index()]
    }

    pub fn success_rate(&self) -> f64 {
        ratio(self.succeeded, self.succeeded + self.failed)
    }

    pub fn volume_success_rate(&self) -> f64 {
        ratio(self.volume_succeeded_msat, self.volume_msat)
    }

    /// Gini coefficient of forwarded volume over all nodes (0: even, 1: one hub carries all).
    pub fn hub_gini(&self, node_count: usize) -> f64 {
        let mut v: Vec<u64> = self.nodes.iter().map(|n| n.forwarded_msat).collect();
        v.resize(node_count.max(v.len()), 0);
        gini(&mut v)
    }
}

pub fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Gini coefficient of non-negative values (sorted in place).
pub fn gini(values: &mut [u64]) -> f64 {
    let n = values.len();
    let total: f64 = values.iter().map(|&x| x as f64).sum();
    if n == 0 || total == 0.0 {
        return 0.0;
    }
    values.sort_unstable();
    let weighted: f64 = values
        .iter()
        .enumerate()
        .map(|(i, &x)| (i as f64 + 1.0) * x as f64)
        .sum();
    (2.0 * weighted) / (n as f64 * total) - (n as f64 + 1.0) / n as f64
}

/// Nearest-rank percentile of unsorted samples (reordered in place, in linear time: the
/// lab's scoreboard asks it of every payment's latency twice a second); 0 when empty.
pub fn percentile(samples: &mut [u64], p: f64) -> u64 {
    if samples.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    *samples
        .select_nth_unstable(rank.clamp(1, samples.len()) - 1)
        .1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gini_of_even_and_concentrated_volume() {
        assert_eq!(gini(&mut [5, 5, 5, 5]), 0.0);
        let g = gini(&mut [0, 0, 0, 100]);
        assert!((g - 0.75).abs() < 1e-12, "{g}");
        assert_eq!(gini(&mut []), 0.0);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentile(&mut v, 50.0), 50);
        assert_eq!(percentile(&mut v, 95.0), 95);
        assert_eq!(percentile(&mut [7], 95.0), 7);
    }
}
