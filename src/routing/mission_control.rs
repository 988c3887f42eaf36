//! lnd-style mission control and its apriori probability estimator: each sender remembers
//! per node pair the last failure (amount, time) and last success (amount), and turns that
//! into a hop success probability — 0.6 a priori, 0.95 after a success at this amount or
//! more, and a penalty after a failure that fades with a one-hour half-life. lnd's capacity
//! factor lowers the probability of amounts close to a channel's capacity.
//!
//! Simplification: lnd also mixes in the results of other channels of the same node with
//! `AprioriWeight`; this estimator is pair-level only.

use super::per_sender::PerSender;
use super::search::{EdgeScorer, HopBound};
use super::{AttemptOutcome, HopRecord};
use crate::network::NodeId;
use crate::network::failure::FailureReason;
use crate::network::gossip::InEdge;
use rustc_hash::FxHashMap as HashMap;

/// lnd's defaults (routerrpc / apriori estimator).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MissionControlConfig {
    pub apriori_hop_probability: f64,
    pub prev_success_probability: f64,
    pub penalty_half_life_ms: u64,
    /// Fixed part of the attempt cost (lnd: 100 sat).
    pub attempt_cost_msat: f64,
    /// Proportional part of the attempt cost (lnd: 1,000 ppm).
    pub attempt_cost_ppm: f64,
    /// lnd's timelock risk factor, in billionths: weight += amount * cltv * 15e-9.
    pub risk_factor_billionths: f64,
    pub min_probability: f64,
    /// Capacity factor: amounts above this fraction of capacity are less likely.
    pub capacity_fraction: f64,
}

impl Default for MissionControlConfig {
    fn default() -> Self {
        MissionControlConfig {
            apriori_hop_probability: 0.6,
            prev_success_probability: 0.95,
            penalty_half_life_ms: 3_600_000,
            attempt_cost_msat: 100_000.0,
            attempt_cost_ppm: 1_000.0,
            risk_factor_billionths: 15.0,
            min_probability: 0.01,
            capacity_fraction: 0.9999,
        }
    }
}

/// What a sender remembers about one node pair.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PairResult {
    pub fail_amount_msat: Option<u64>,
    pub fail_time_ms: u64,
    pub success_amount_msat: Option<u64>,
}

/// A directed node pair: the node a hop leaves and the node it reaches.
pub type NodePair = (NodeId, NodeId);

/// Per-sender memory.
#[derive(Clone, Debug, Default)]
pub struct MissionControl {
    senders: PerSender<NodePair, PairResult>,
}

impl MissionControl {
    pub fn history(&self, sender: NodeId) -> Option<&HashMap<NodePair, PairResult>> {
        self.senders.of(sender)
    }

    /// Nodes that some remembered pair of `sender` starts at.
    pub fn nodes_of(&self, sender: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.senders.entries(sender).map(|(&(from, _), _)| from)
    }

    /// Nodes that some remembered success of `sender` ends at.
    pub fn success_targets_of(&self, sender: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.senders
            .entries(sender)
            .filter(|(_, r)| r.success_amount_msat.is_some())
            .map(|(&(_, to), _)| to)
    }

    /// Record an attempt: hops before the failing one forwarded fine (a success at their
    /// amount); the failing pair gets a failure at the amount for liquidity failures, or
    /// for any amount when the channel or node could not be used at all.
    pub fn record(&mut self, outcome: &AttemptOutcome) {
        let history = self.senders.of_mut(outcome.sender);
        let failing = match outcome.failure {
            // An MPP timeout is the receiver's doing: every hop carried the part.
            None | Some(FailureReason::MppTimeout) => None,
            Some(FailureReason::NoRoute | FailureReason::Timeout) => return,
            Some(reason) => outcome.hops.len().checked_sub(1).map(|i| (i, reason)),
        };
        let success_hops = failing.map_or(outcome.hops.len(), |(i, _)| i);
        // The sender's own channel teaches nothing (it knows its balances exactly).
        for h in outcome.hops.iter().take(success_hops).skip(1) {
            let r = history.entry(pair(h)).or_default();
            r.success_amount_msat = Some(r.success_amount_msat.unwrap_or(0).max(h.amount_msat));
            // As lnd keeps it: a failure amount is always above the success amount.
            if r.fail_amount_msat.is_some_and(|f| f <= h.amount_msat) {
                r.fail_amount_msat = Some(h.amount_msat + 1);
            }
        }
        if let Some((i, reason)) = failing
            && i > 0
        {
            let h = &outcome.hops[i];
            let r = history.entry(pair(h)).or_default();
            let amount = if reason.is_liquidity() {
                h.amount_msat
            } else {
                0
            };
            r.fail_amount_msat = Some(amount);
            r.fail_time_ms = outcome.now_ms;
            if r.success_amount_msat.is_some_and(|s| s >= amount) {
                r.success_amount_msat = amount.checked_sub(1);
            }
        }
    }
}

fn pair(h: &HopRecord) -> NodePair {
    (h.from, h.to)
}

/// lnd's scorer for one search: apriori probabilities with the sender's history.
pub struct LndScorer<'a> {
    pub config: &'a MissionControlConfig,
    pub history: Option<&'a HashMap<NodePair, PairResult>>,
    /// Set for nodes some remembered pair starts at (empty: look everything up), so the
    /// search only hashes where the sender has learnt something.
    pub mask: &'a [bool],
    /// Set for nodes some remembered success ends at: only hops into them can be more
    /// likely than the a-priori probability (empty: any node may be).
    pub into_mask: &'a [bool],
    pub now_ms: u64,
}

impl LndScorer<'_> {
    fn capacity_factor(&self, amount_msat: u64, capacity_msat: u64) -> f64 {
        const SMEARING_FRACTION: f64 = 0.025;
        const MIN_FACTOR: f64 = 0.5;
        if capacity_msat == 0 {
            return 1.0;
        }
        let (amt, cap) = (amount_msat as f64, capacity_msat as f64);
        if amt > cap {
            return 0.0;
        }
        let cutoff = self.config.capacity_fraction * cap;
        let smearing = SMEARING_FRACTION * cap;
        let exponent = -(amt - cutoff) / smearing;
        if exponent > 36.0 {
            return 1.0; // e^-36 < 1e-15: the logistic term is below f64 resolution here
        }
        1.0 - (1.0 - MIN_FACTOR) / (1.0 + exponent.exp())
    }

    pub fn probability(
        &self,
        from: NodeId,
        to: NodeId,
        amount_msat: u64,
        capacity_msat: u64,
    ) -> f64 {
        let prior =
            self.config.apriori_hop_probability * self.capacity_factor(amount_msat, capacity_msat);
        let learnt = self.mask.is_empty() || self.mask.get(from.index()).copied().unwrap_or(false);
        let Some(r) = self
            .history
            .filter(|_| learnt)
            .and_then(|h| h.get(&(from, to)))
        else {
            return prior;
        };
        if let Some(fail) = r.fail_amount_msat
            && amount_msat >= fail
        {
            let age = self.now_ms.saturating_sub(r.fail_time_ms) as f64;
            let recovered = 1.0 - 0.5f64.powf(age / self.config.penalty_half_life_ms as f64);
            return prior * recovered;
        }
        if r.success_amount_msat.is_some_and(|s| amount_msat <= s) {
            return self.config.prev_success_probability;
        }
        prior
    }
}

impl EdgeScorer for LndScorer<'_> {
    fn score(&self, edge: &InEdge, amount_msat: u64, fee_msat: u64) -> Option<(f64, f64)> {
        let cltv = f64::from(edge.policy.cltv_expiry_delta);
        let risk = amount_msat as f64 * cltv * self.config.risk_factor_billionths / 1e9;
        let (from, to) = (NodeId(edge.from), NodeId(edge.to));
        let p = self.probability(from, to, amount_msat, edge.capacity_msat);
        Some((fee_msat as f64 + risk, p))
    }
    fn attempt_penalty_msat(&self, amount_msat: u64) -> f64 {
        self.config.attempt_cost_msat + amount_msat as f64 * self.config.attempt_cost_ppm / 1e6
    }
    fn min_probability(&self) -> f64 {
        self.config.min_probability
    }
    /// Only a remembered success makes a hop more likely than the a-priori probability
    /// (failures and the capacity factor only lower it).
    fn hop_into_bound(&self, node: u32, _amount_msat: u64) -> HopBound {
        let c = self.config;
        let remembered = self.history.is_some()
            && (self.into_mask.is_empty()
                || self.into_mask.get(node as usize).copied().unwrap_or(false));
        let max = if remembered {
            c.prev_success_probability.max(c.apriori_hop_probability)
        } else {
            c.apriori_hop_probability
        };
        HopBound {
            max_probability: max.clamp(f64::MIN_POSITIVE, 1.0),
            min_weight: 0.0,
        }
    }
}
