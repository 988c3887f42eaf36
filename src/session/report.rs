//! The run report (`lnlab run --json`): success and volume rates, fees, hops, latency,
//! attempts, failure reasons, hub concentration, speed and per-node statistics. Everything
//! but `wall_seconds` and `payments_per_second` is a pure function of scene, policy, seed
//! and payment count, so two runs give byte-identical reports once those two are zeroed.

use super::Session;
use crate::routing::UnroutableCounts;
use crate::sim::engine::Engine;
use crate::sim::metrics::{percentile, ratio};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeReport {
    pub alias: String,
    pub forwarded_msat: u64,
    pub fees_earned_msat: u64,
    pub failures_caused: u64,
}

/// How succeeded payments were split.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MppReport {
    /// Succeeded payments that were split into parts.
    pub mpp_payments: u64,
    /// Parts per succeeded payment, on average (1.0 when nothing was split).
    pub parts_mean: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub scene: String,
    pub policy: String,
    pub seed: u64,
    pub payments: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub success_rate: f64,
    pub volume_success_rate: f64,
    pub fees_paid_msat: u64,
    pub fees_earned_msat: u64,
    pub mean_hops: f64,
    pub latency_ms_p50: u64,
    pub latency_ms_p95: u64,
    pub attempts_mean: f64,
    /// Local retries per payment: failures a forwarding agent routed round instead of
    /// failing the attempt back (`PpoConfig::local_retries`), not counted in attempts.
    /// Left out of the JSON when there were none.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub local_retries_mean: f64,
    pub failure_reasons: BTreeMap<String, u64>,
    /// Payments no path could carry when sent, by cause; only the `oracle` can tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unroutable: Option<UnroutableCounts>,
    /// Multi-part payments, for scenes that allow them (`routing.mpp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mpp: Option<MppReport>,
    /// Gini coefficient of forwarded volume over nodes.
    pub hub_gini: f64,
    /// Share of forwarded volume carried by the top 5% of nodes.
    pub top5pct_share: f64,
    pub simulated_seconds: f64,
    pub wall_seconds: f64,
    pub payments_per_second: f64,
    pub nodes: Vec<NodeReport>,
    /// Paid-API counters, for scenes with an `l402` section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l402: Option<crate::l402::market::L402Report>,
}

impl Report {
    /// The report of a session: the engine's figures and the market's, if it has one.
    pub fn from_session(session: &Session, scene: &str, seed: u64, wall_seconds: f64) -> Report {
        let mut report = Report::from_engine(session.engine(), scene, seed, wall_seconds);
        report.l402 = session.market().map(|m| m.summary());
        report
    }

    fn from_engine(engine: &Engine, scene: &str, seed: u64, wall_seconds: f64) -> Report {
        let m = engine.metrics();
        let resolved = m.succeeded + m.failed;
        let network = engine.network();
        let nodes: Vec<NodeReport> = network
            .nodes()
            .map(|(id, n)| {
                let s = m.nodes.get(id.index()).copied().unwrap_or_default();
                NodeReport {
                    alias: n.alias.clone(),
                    forwarded_msat: s.forwarded_msat,
                    fees_earned_msat: s.fees_earned_msat,
                    failures_caused: s.failures_caused,
                }
            })
            .collect();
        let mut forwarded: Vec<u64> = nodes.iter().map(|n| n.forwarded_msat).collect();
        forwarded.sort_unstable_by(|a, b| b.cmp(a));
        let top = forwarded.len().div_ceil(20);
        let total: u64 = forwarded.iter().sum();
        let mut latencies = m.latencies_ms.clone();
        Report {
            scene: scene.to_string(),
            policy: engine.router_name().to_string(),
            seed,
            payments: resolved,
            succeeded: m.succeeded,
            failed: m.failed,
            success_rate: m.success_rate(),
            volume_success_rate: m.volume_success_rate(),
            fees_paid_msat: m.fees_paid_msat,
            fees_earned_msat: m.fees_earned_msat,
            mean_hops: ratio(m.hops_succeeded, m.succeeded),
            latency_ms_p50: percentile(&mut latencies, 50.0),
            latency_ms_p95: percentile(&mut latencies, 95.0),
            attempts_mean: ratio(m.attempts, resolved),
            local_retries_mean: ratio(m.local_retries, resolved),
            failure_reasons: m
                .failure_reasons
                .iter()
                .map(|(r, n)| (r.to_string(), *n))
                .collect(),
            unroutable: (engine.router_name() == "oracle" || m.unroutable.total() > 0)
                .then_some(m.unroutable),
            mpp: engine.routing_settings().mpp.map(|_| MppReport {
                mpp_payments: m.mpp_payments,
                parts_mean: ratio(m.parts_succeeded, m.succeeded),
            }),
            hub_gini: m.hub_gini(network.node_count()),
            top5pct_share: ratio(forwarded.iter().take(top).sum(), total),
            simulated_seconds: engine.now_ms() as f64 / 1000.0,
            wall_seconds,
            payments_per_second: if wall_seconds > 0.0 {
                resolved as f64 / wall_seconds
            } else {
                0.0
            },
            nodes,
            l402: None,
        }
    }

    /// The report with its wall-clock fields zeroed (what determinism is judged on).
    pub fn without_timing(&self) -> Report {
        Report {
            wall_seconds: 0.0,
            payments_per_second: 0.0,
            ..self.clone()
        }
    }

    /// The report's scalar metrics by name, for comparison tables.
    pub fn metrics(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("success_rate", self.success_rate),
            ("volume_success_rate", self.volume_success_rate),
            ("fees_paid_msat", self.fees_paid_msat as f64),
            ("mean_hops", self.mean_hops),
            ("latency_ms_p50", self.latency_ms_p50 as f64),
            ("latency_ms_p95", self.latency_ms_p95 as f64),
            ("attempts_mean", self.attempts_mean),
            ("local_retries_mean", self.local_retries_mean),
            ("hub_gini", self.hub_gini),
            ("top5pct_share", self.top5pct_share),
            ("payments_per_second", self.payments_per_second),
        ]
    }
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}
