//! Running a scene headless: build the engine for a policy and seed, run a number of
//! payments to completion, and produce the report (and optional per-payment records).
//! The CLI, the benchmark and the tests all go through here. A policy is a baseline
//! router or a PPO checkpoint evaluated (frozen) at every node.

use super::engine::Engine;
use super::metrics::PaymentRecord;
use super::report::Report;
use crate::l402::market::{self, Market};
use crate::rl::session::{SessionOptions, trainer};
use crate::routing::{RouterKind, build_router};
use crate::scene::Scene;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Instant;

/// A policy to run: `random`, `shortest`, `cheapest`, `lnd`, `ldk`, or `ppo:PATH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyChoice {
    Baseline(RouterKind),
    Ppo(PathBuf),
}

impl FromStr for PolicyChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("ppo:") {
            Some("") => Err("`ppo:` needs a checkpoint path, e.g. ppo:agent.safetensors".into()),
            Some(path) => Ok(PolicyChoice::Ppo(PathBuf::from(path))),
            None => RouterKind::parse(s)
                .map(PolicyChoice::Baseline)
                .map_err(|e| format!("{e}, or ppo:CHECKPOINT")),
        }
    }
}

impl fmt::Display for PolicyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyChoice::Baseline(k) => write!(f, "{k}"),
            PolicyChoice::Ppo(path) => write!(f, "ppo:{}", path.display()),
        }
    }
}

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

/// Build an engine for a scene, baseline policy and seed, with the payment limit set.
pub fn engine_for(scene: &Scene, kind: RouterKind, options: &RunOptions) -> Result<Engine, String> {
    let mut engine = Engine::new(scene, options.seed, build_router(kind, options.seed))?;
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
    let start = Instant::now();
    let mut l402 = None;
    let engine = match &options.policy {
        PolicyChoice::Baseline(kind) if scene.l402.is_some() => {
            let mut engine = engine_for(scene, *kind, options)?;
            let mut m = Market::new(scene.l402.as_ref().expect("checked"), options.seed);
            market::run(&mut engine, &mut m);
            l402 = Some(m.finish());
            engine
        }
        PolicyChoice::Baseline(kind) => {
            let mut engine = engine_for(scene, *kind, options)?;
            let mut steps = 0u64;
            while engine.step() {
                steps += 1;
                if steps.is_multiple_of(4096) {
                    let m = engine.metrics();
                    progress(m.succeeded + m.failed, options.payments);
                }
            }
            engine
        }
        PolicyChoice::Ppo(path) => {
            let session = SessionOptions {
                seed: options.seed,
                payments: options.payments,
                everywhere: Some(path.clone()),
                resume: None,
                freeze: true,
            };
            let mut t = trainer(scene, std::path::Path::new("."), &session)?;
            t.engine.record_payments(options.record_payments);
            t.engine
                .check_invariants_each_event(options.check_invariants);
            t.run_to_completion();
            t.engine
        }
    };
    let wall = start.elapsed().as_secs_f64();
    progress(options.payments, options.payments);
    let mut report = Report::from_engine(&engine, &scene.name, options.seed, wall);
    report.policy = options.policy.to_string();
    report.l402 = l402;
    let records = engine.records().to_vec();
    Ok(RunOutput {
        report,
        records,
        engine,
    })
}
