//! Running a scene headless to completion: a session for a policy and seed, a number of
//! payments, and the report (with optional per-payment records). `lnlab run`, `compare`,
//! `bench`, the training evaluation and the tests go through here. Also one payment on its
//! own, for the L402 walkthrough.

use super::Session;
use super::build::{PolicyChoice, SessionOptions};
use super::report::Report;
use crate::l402::demo::Paid;
use crate::routing::build_router;
use crate::scene::Scene;
use crate::scene::build::build_engine;
use crate::sim::engine::{Engine, PaymentStatus};
use crate::sim::metrics::PaymentRecord;
use crate::sim::workload::PaymentRequest;
use std::path::Path;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub policy: PolicyChoice,
    pub seed: u64,
    pub payments: u64,
    pub record_payments: bool,
    /// Check every channel invariant after every event (slow; for tests).
    pub check_invariants: bool,
}

pub struct RunOutput {
    pub report: Report,
    pub records: Vec<PaymentRecord>,
    pub engine: Engine,
}

/// Run to completion; `progress(resolved, total)` is called now and then.
pub fn run_scene(
    scene: &Scene,
    options: &RunOptions,
    mut progress: impl FnMut(u64, u64),
) -> Result<RunOutput, String> {
    let start = Instant::now();
    let session_options = SessionOptions {
        policy: Some(options.policy.clone()),
        learning: Some(false),
        record_payments: options.record_payments,
        check_invariants: options.check_invariants,
        ..SessionOptions::new(options.seed, Some(options.payments))
    };
    let mut session = Session::from_scene(scene, Path::new("."), &session_options)?;
    session.run_to_completion(|s| {
        let m = s.engine().metrics();
        progress(m.succeeded + m.failed, options.payments);
    });
    let wall = start.elapsed().as_secs_f64();
    progress(options.payments, options.payments);
    let mut report = Report::from_session(&session, &scene.name, options.seed, wall);
    report.policy = options.policy.to_string();
    let engine = session.into_engine();
    let records = engine.records().to_vec();
    Ok(RunOutput {
        report,
        records,
        engine,
    })
}

/// The L402 walkthrough (`lnlab l402 demo`) on `scene`, its invoice paid with
/// [`pay_once`].
pub fn l402_demo(
    scene: &Scene,
    reveal_secrets: bool,
) -> Result<crate::l402::demo::DemoReport, String> {
    let nodes: Vec<_> = scene
        .nodes
        .iter()
        .map(|n| (n.alias.clone(), n.role))
        .collect();
    crate::l402::demo::run(&nodes, scene.seed, reveal_secrets, |request| {
        pay_once(scene, request)
    })
}

/// Send one payment through `scene`'s network with its baseline router and seed, and
/// nothing else (the L402 walkthrough's payment of an invoice).
pub fn pay_once(scene: &Scene, request: PaymentRequest) -> Result<Paid, String> {
    let router = build_router(scene.routing.policy, scene.seed);
    let mut engine = build_engine(scene, scene.seed, router)?;
    engine.set_payment_limit(Some(1));
    // No agents and no market: the walkthrough shows the invoice's payment alone.
    let mut session = Session::new(engine, None, None);
    let pid = session.start_payment(request);
    session.run_to_completion(|_| {});
    let engine = session.engine();
    let payment = &engine.payments()[pid.index()];
    let fees_msat = match payment.status {
        PaymentStatus::Succeeded { fees_msat, .. } => fees_msat,
        PaymentStatus::Failed { reason, .. } => {
            return Err(format!("the payment failed: {reason}"));
        }
        PaymentStatus::InFlight => return Err("the payment did not resolve".into()),
    };
    let attempt = payment
        .last_attempt
        .and_then(|a| engine.attempt(a))
        .ok_or("the payment has no attempt")?;
    Ok(Paid {
        route: attempt.nodes.clone(),
        fees_msat,
        attempts: payment.attempts,
        at_ms: engine.now_ms(),
    })
}
