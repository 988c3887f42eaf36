//! An LDK-style probabilistic scorer: each sender keeps, per channel direction, a lower and
//! an upper bound on the liquidity it believes is there, learnt from its own payments, and
//! prices an edge by the negative log of the success probability under a uniform prior
//! between those bounds (LDK's `ProbabilisticScorer` with its published default
//! penalties). Bounds fade back toward "anything is possible" with a six-hour half-life.
//!
//! Simplification: LDK's historical buckets are not modelled; the live bounds are.

use super::AttemptOutcome;
use super::per_sender::PerSender;
use super::search::{EdgeScorer, HopBound};
use crate::network::failure::FailureReason;
use crate::network::gossip::InEdge;
use crate::network::{ChannelId, Direction, NodeId};
use rustc_hash::FxHashMap as HashMap;

/// LDK's penalties: the base penalties are LDK 0.2's defaults (1,024 msat per hop plus
/// 131,072 msat per 2^30 msat of amount); the live-bounds liquidity penalties use the
/// defaults LDK had while live bounds were its main model (30,000 msat and 192 msat per
/// 2^20 msat, times -log10 of the success probability), since historical buckets are not
/// modelled here.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LdkConfig {
    pub base_penalty_msat: f64,
    pub base_penalty_amount_multiplier_msat: f64,
    pub liquidity_penalty_multiplier_msat: f64,
    pub liquidity_penalty_amount_multiplier_msat: f64,
    pub liquidity_offset_half_life_ms: u64,
    /// LDK's default: 100,000 sat to use a channel believed unable to carry the amount.
    pub considered_impossible_penalty_msat: f64,
}

impl Default for LdkConfig {
    fn default() -> Self {
        LdkConfig {
            base_penalty_msat: 1024.0,
            base_penalty_amount_multiplier_msat: 131_072.0,
            liquidity_penalty_multiplier_msat: 30_000.0,
            liquidity_penalty_amount_multiplier_msat: 192.0,
            liquidity_offset_half_life_ms: 6 * 3_600_000,
            considered_impossible_penalty_msat: 100_000_000.0,
        }
    }
}

/// Learnt liquidity bounds of one channel direction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bounds {
    /// The node this direction leaves (for the scorer's quick pre-check).
    pub from: NodeId,
    pub min_msat: u64,
    pub max_msat: u64,
    pub updated_ms: u64,
}

#[derive(Clone, Debug, Default)]
pub struct LdkKnowledge {
    senders: PerSender<(ChannelId, Direction), Bounds>,
}

impl LdkKnowledge {
    pub fn bounds_of(&self, sender: NodeId) -> Option<&HashMap<(ChannelId, Direction), Bounds>> {
        self.senders.of(sender)
    }

    /// Nodes that some learnt bound of `sender` starts at.
    pub fn nodes_of(&self, sender: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.senders.entries(sender).map(|(_, b)| b.from)
    }

    /// LDK's updates: the failing channel holds less than the amount; channels before it
    /// held at least the amount; after a success every channel of the path has the amount
    /// less than before.
    pub fn record(&mut self, outcome: &AttemptOutcome) {
        if matches!(
            outcome.failure,
            Some(FailureReason::NoRoute | FailureReason::Timeout)
        ) {
            return;
        }
        let known = self.senders.of_mut(outcome.sender);
        // An MPP timeout is the receiver's doing: every hop carried the part.
        let failing = outcome.failure.map(|reason| match reason {
            FailureReason::MppTimeout => outcome.hops.len(),
            _ => outcome.hops.len().saturating_sub(1),
        });
        for (i, h) in outcome.hops.iter().enumerate().skip(1) {
            let cap = h.capacity_msat;
            let b = known.entry((h.channel, h.direction)).or_insert(Bounds {
                from: h.from,
                min_msat: 0,
                max_msat: cap,
                updated_ms: outcome.now_ms,
            });
            b.updated_ms = outcome.now_ms;
            match failing {
                None => {
                    b.max_msat = b.max_msat.saturating_sub(h.amount_msat);
                    b.min_msat = b.min_msat.saturating_sub(h.amount_msat);
                }
                Some(f) if i < f => b.min_msat = b.min_msat.max(h.amount_msat).min(b.max_msat),
                Some(f) if i == f => {
                    b.max_msat = b.max_msat.min(h.amount_msat.saturating_sub(1));
                    b.min_msat = b.min_msat.min(b.max_msat);
                }
                Some(_) => {}
            }
        }
    }
}

pub struct LdkScorer<'a> {
    pub config: &'a LdkConfig,
    pub bounds: Option<&'a HashMap<(ChannelId, Direction), Bounds>>,
    /// Set for nodes some learnt bound starts at (empty: look everything up).
    pub mask: &'a [bool],
    pub now_ms: u64,
}

impl LdkScorer<'_> {
    /// Success probability of `amount_msat` given (decayed) bounds.
    pub fn success_probability(
        &self,
        bounds: Option<&Bounds>,
        amount_msat: u64,
        capacity_msat: u64,
    ) -> f64 {
        let (min, max) = match bounds {
            Some(b) => {
                let age = self.now_ms.saturating_sub(b.updated_ms) as f64;
                let decay = 0.5f64.powf(age / self.config.liquidity_offset_half_life_ms as f64);
                let min = b.min_msat as f64 * decay;
                let max = capacity_msat as f64
                    - (capacity_msat.saturating_sub(b.max_msat)) as f64 * decay;
                (min, max)
            }
            None => (0.0, capacity_msat as f64),
        };
        let a = amount_msat as f64;
        if a <= min {
            1.0
        } else if a >= max {
            0.0
        } else {
            (max - a) / (max - min)
        }
    }
}

impl EdgeScorer for LdkScorer<'_> {
    fn score(&self, edge: &InEdge, amount_msat: u64, fee_msat: u64) -> Option<(f64, f64)> {
        let learnt =
            self.mask.is_empty() || self.mask.get(edge.from as usize).copied().unwrap_or(false);
        let bounds = if learnt {
            self.bounds
                .and_then(|b| b.get(&(edge.channel, edge.direction)))
        } else {
            None
        };
        let p = self.success_probability(bounds, amount_msat, edge.capacity_msat);
        // LDK caps -log10(p) at 2 (p = 1%), and prices amounts it believes impossible with
        // its `considered_impossible_penalty_msat` instead.
        if p <= 0.0 {
            return Some((
                fee_msat as f64 + self.config.considered_impossible_penalty_msat,
                1.0,
            ));
        }
        let neg_log10 = if p <= 0.01 { 2.0 } else { -p.log10() };
        let amount = amount_msat as f64;
        let c = self.config;
        let penalty = c.base_penalty_msat
            + c.base_penalty_amount_multiplier_msat * amount / (1u64 << 30) as f64
            + c.liquidity_penalty_multiplier_msat * neg_log10
            + c.liquidity_penalty_amount_multiplier_msat * amount / (1u64 << 20) as f64 * neg_log10;
        Some((fee_msat as f64 + penalty, 1.0))
    }

    /// Every hop pays at least the base penalties (or, if cheaper, the penalty for an
    /// amount believed impossible); fees and liquidity penalties only add.
    fn hop_into_bound(&self, _node: u32, amount_msat: u64) -> HopBound {
        let c = self.config;
        let base = c.base_penalty_msat
            + c.base_penalty_amount_multiplier_msat * amount_msat as f64 / (1u64 << 30) as f64;
        HopBound {
            max_probability: 1.0,
            min_weight: base.min(c.considered_impossible_penalty_msat).max(0.0),
        }
    }
}
