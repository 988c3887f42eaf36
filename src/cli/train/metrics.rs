//! The training metrics CSV (`lnlab train --metrics`): one row per update, with payment
//! success, attempt success and fees over the update's window, and the headroom closed on
//! the latest payments against lnd and oracle shadow runs of the same workload.

use super::segments::Segment;
use crate::cli::compare::MIN_HEADROOM;
use crate::rl::agents::MetricsRow;
use crate::routing::RouterKind;
use crate::session::{PolicyChoice, Session, SessionOptions};
use crate::sim::engine::{Engine, PaymentStatus};

/// The CSV header.
pub const HEADER: [&str; 15] = [
    "step",
    "episodic_reward",
    "success_rate",
    "attempt_success_rate",
    "fees_paid_per_payment_msat",
    "headroom_closed",
    "policy_loss",
    "value_loss",
    "entropy",
    "approx_kl",
    "clipfrac",
    "explained_variance",
    "learning_rate",
    "sps",
    "hub_gini",
];

/// The CSV records of one segment's rows. `engine` is the segment's finished training
/// engine; lnd and the oracle run the same segment (scene, seed, payments) as shadows.
pub fn segment_records(
    segment: &Segment,
    engine: &Engine,
    rows: &[MetricsRow],
) -> anyhow::Result<Vec<[String; 15]>> {
    let ppo = outcomes(engine);
    let lnd = shadow_outcomes(segment, RouterKind::Lnd)?;
    let oracle = shadow_outcomes(segment, RouterKind::Oracle)?;
    Ok(rows
        .iter()
        .map(|r| {
            // The trailing payments up to this row: one row's window alone is too few
            // payments to tell a few points of headroom from noise.
            let to = r.payments_started as usize;
            let ids = to.saturating_sub(HEADROOM_WINDOW_PAYMENTS)..to;
            let closed = headroom_closed(&ppo, &lnd, &oracle, ids)
                .map(|c| format!("{c:.4}"))
                .unwrap_or_default();
            [
                r.step.to_string(),
                r.episodic_reward.to_string(),
                r.success_rate.to_string(),
                r.attempt_success_rate.to_string(),
                format!("{:.1}", r.fees_paid_per_payment_msat),
                closed,
                r.policy_loss.to_string(),
                r.value_loss.to_string(),
                r.entropy.to_string(),
                r.approx_kl.to_string(),
                r.clipfrac.to_string(),
                r.explained_variance.to_string(),
                r.learning_rate.to_string(),
                format!("{:.1}", r.sps),
                r.hub_gini.to_string(),
            ]
        })
        .collect())
}

/// How many payments (the latest started) each row's `headroom_closed` is measured on.
const HEADROOM_WINDOW_PAYMENTS: usize = 1_000;

/// Whether each payment (by id) succeeded, once the run is over.
fn outcomes(engine: &Engine) -> Vec<bool> {
    let payments = engine.payments();
    (0..payments.len())
        .map(|id| {
            payments
                .get(id)
                .is_some_and(|p| matches!(p.status, PaymentStatus::Succeeded { .. }))
        })
        .collect()
}

/// A shadow run: the training workload (same scene, seed and payments) routed by a
/// baseline everywhere, for the `headroom_closed` column.
fn shadow_outcomes(segment: &Segment, kind: RouterKind) -> anyhow::Result<Vec<bool>> {
    let options = SessionOptions {
        policy: Some(PolicyChoice::Baseline(kind)),
        ..SessionOptions::new(segment.seed, Some(segment.payments))
    };
    let mut session =
        Session::from_scene(&segment.scene, &segment.dir, &options).map_err(anyhow::Error::msg)?;
    session.run_to_completion(|_| {});
    Ok(outcomes(session.engine()))
}

/// Headroom closed on the payments `ids`: (ppo - lnd) / (oracle - lnd) in success, or
/// `None` where the oracle beats lnd by less than 2 points (too little to measure).
fn headroom_closed(
    ppo: &[bool],
    lnd: &[bool],
    oracle: &[bool],
    ids: std::ops::Range<usize>,
) -> Option<f64> {
    let rate = |v: &[bool]| {
        let window = v.get(ids.clone()).unwrap_or(&[]);
        window.iter().filter(|&&ok| ok).count() as f64 / window.len().max(1) as f64
    };
    let headroom = rate(oracle) - rate(lnd);
    (headroom >= MIN_HEADROOM).then(|| (rate(ppo) - rate(lnd)) / headroom)
}
