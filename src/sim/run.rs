//! Running a scene headless: build the engine for a policy and seed, run a number of
//! payments to completion, and produce the report (and optional per-payment records).
//! The CLI, the benchmark and the tests all go through here.

use super::engine::Engine;
use super::metrics::PaymentRecord;
use super::report::Report;
use crate::routing::{RouterKind, build_router};
use crate::scene::Scene;
use std::time::Instant;

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub policy: RouterKind,
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

/// Build an engine for a scene, policy and seed, with the payment limit set.
pub fn engine_for(scene: &Scene, options: &RunOptions) -> Result<Engine, String> {
    let router = build_router(options.policy, options.seed);
    let mut engine = Engine::new(scene, options.seed, router)?;
    engine.set_payment_limit(Some(options.payments));
    engine.record_payments(options.record_payments);
    engine.check_invariants_each_event(options.check_invariants);
    Ok(engine)
}

/// Run to completion; `progress(resolved, total)` is called now and then.
pub fn run_scene(
    scene: &Scene,
    options: &RunOptions,
    mut progress: impl FnMut(u64, u64),
) -> Result<RunOutput, String> {
    let mut engine = engine_for(scene, options)?;
    let start = Instant::now();
    let mut steps = 0u64;
    while engine.step() {
        steps += 1;
        if steps.is_multiple_of(4096) {
            let m = engine.metrics();
            progress(m.succeeded + m.failed, options.payments);
        }
    }
    let wall = start.elapsed().as_secs_f64();
    progress(options.payments, options.payments);
    let report = Report::from_engine(&engine, &scene.name, options.seed, wall);
    let records = engine.records().to_vec();
    Ok(RunOutput {
        report,
        records,
        engine,
    })
}
