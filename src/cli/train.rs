//! `lnlab train`: PPO training inside the Bevy ECS (headless), with a progress bar, a
//! checkpoint, a metrics CSV (one row per update), and an evaluation against the scene's
//! baseline at the end.

use crate::ecs::sim::{SimDriver, headless_app, run_headless};
use crate::routing::RouterKind;
use crate::session::{PolicyChoice, Report, RunOptions, Session, SessionOptions, run_scene};
use crate::sim::engine::{Engine, PaymentStatus};
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Scene with an `agents` section.
    pub scene: PathBuf,
    /// Payments to train on (each carries one or more agent decisions).
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: u64,
    #[arg(long)]
    pub seed: Option<u64>,
    /// Checkpoint to write (safetensors, plus a `.ron` sidecar).
    #[arg(long, default_value = "agent.safetensors")]
    pub out: PathBuf,
    /// Metrics CSV, one row per update.
    #[arg(long)]
    pub metrics: Option<PathBuf>,
    /// Start every group from this checkpoint (the optimiser's moments start afresh).
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Payments in the final evaluation.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub eval_payments: u64,
}

pub fn train(args: TrainArgs) -> anyhow::Result<()> {
    let scene = super::load_scene(&args.scene)?;
    if scene.agents.is_none() {
        anyhow::bail!(
            "{}: the scene has no `agents` section to train",
            args.scene.display()
        );
    }
    let scene_dir = args.scene.parent().map(PathBuf::from).unwrap_or_default();
    let seed = args.seed.unwrap_or(scene.seed);
    let options = SessionOptions {
        resume: args.resume.clone(),
        learning: Some(true),
        ..SessionOptions::new(seed, Some(args.steps))
    };
    let session = Session::from_scene(&scene, &scene_dir, &options).map_err(anyhow::Error::msg)?;

    let bar = ProgressBar::new(args.steps);
    bar.set_style(
        ProgressStyle::with_template("train [{bar:30}] {pos}/{len} payments  {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut last = (0.0f32, 0.0f32);
    let start = std::time::Instant::now();
    let driver = run_headless(headless_app(SimDriver::new(session)), |status| {
        if let Some(row) = status.new_rows.last() {
            last = (row.success_rate, row.episodic_reward);
        }
        if status.resolved % 64 == 0 || status.finished {
            bar.set_position(status.resolved);
            let sps = status.decisions as f64 / start.elapsed().as_secs_f64().max(1e-9);
            bar.set_message(format!(
                "{sps:.0} decisions/s  success {:.1}%  reward {:.3}  updates {}",
                last.0 * 100.0,
                last.1,
                status.rows_total
            ));
        }
    });
    bar.finish_and_clear();
    let (engine, agents, _) = driver.session.into_parts();
    let agents = agents.expect("the scene has agents");
    let decisions = agents.decisions;
    let wall = start.elapsed().as_secs_f64();
    println!(
        "trained {} payments, {decisions} decisions, {} updates in {wall:.1} s ({:.0} decisions/s)",
        args.steps,
        agents.rows.len(),
        decisions as f64 / wall.max(1e-9)
    );
    for (i, g) in agents.groups.iter().enumerate() {
        let path = if agents.groups.len() == 1 {
            args.out.clone()
        } else {
            with_suffix(&args.out, &g.name)
        };
        g.policy
            .save(&path, agents.config(i), decisions, &scene.name)
            .map_err(anyhow::Error::msg)?;
        println!("checkpoint for group `{}`: {}", g.name, path.display());
    }
    if let Some(path) = &args.metrics {
        let ppo = outcomes(&engine);
        let shadow = |kind| shadow_outcomes(&scene, &scene_dir, seed, args.steps, kind);
        let (lnd, oracle) = (shadow(RouterKind::Lnd)?, shadow(RouterKind::Oracle)?);
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record([
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
        ])?;
        // Each group's rows cover the payment ids started since its previous row.
        let mut window_start: HashMap<&str, u64> = HashMap::new();
        for r in &agents.rows {
            let from = window_start
                .insert(&r.group, r.payments_started)
                .unwrap_or(0);
            let ids = from as usize..r.payments_started as usize;
            let closed = headroom_closed(&ppo, &lnd, &oracle, ids)
                .map(|c| format!("{c:.4}"))
                .unwrap_or_default();
            w.write_record([
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
            ])?;
        }
        super::write_output(path, &w.into_inner().context("writing CSV")?)?;
    }
    evaluate(&args, &scene, &scene_dir, seed)
}

/// One figure of a report, for the evaluation table.
type Metric = fn(&Report) -> f64;

/// The trained agents (frozen) against the scene's baseline, on the same fresh workload.
fn evaluate(
    args: &TrainArgs,
    scene: &crate::scene::Scene,
    scene_dir: &std::path::Path,
    seed: u64,
) -> anyhow::Result<()> {
    let eval_seed = seed.wrapping_add(1_000);
    let mut eval_scene = scene.clone();
    if let Some(section) = &mut eval_scene.agents {
        let single = section.groups.len() == 1;
        for g in &mut section.groups {
            let path = if single {
                args.out.clone()
            } else {
                with_suffix(&args.out, &g.name)
            };
            g.checkpoint = Some(std::path::absolute(&path)?.display().to_string());
        }
    }
    let options = SessionOptions {
        learning: Some(false),
        ..SessionOptions::new(eval_seed, Some(args.eval_payments))
    };
    let mut session =
        Session::from_scene(&eval_scene, scene_dir, &options).map_err(anyhow::Error::msg)?;
    let start = std::time::Instant::now();
    session.run_to_completion(|_| {});
    let agents = Report::from_session(
        &session,
        &scene.name,
        eval_seed,
        start.elapsed().as_secs_f64(),
    );
    let baseline_kind = scene.routing.policy;
    let run = |kind| {
        let options = RunOptions {
            policy: PolicyChoice::Baseline(kind),
            seed: eval_seed,
            payments: args.eval_payments,
            record_payments: false,
            check_invariants: false,
        };
        run_scene(scene, &options, |_, _| {})
            .map(|out| out.report)
            .map_err(anyhow::Error::msg)
    };
    let baseline = run(baseline_kind)?;
    let oracle = run(RouterKind::Oracle)?;
    println!(
        "evaluation on {} fresh payments (seed {eval_seed}):",
        args.eval_payments
    );
    println!(
        "  {:<22}{:>14}{:>14}{:>14}",
        "",
        "agents",
        baseline_kind.as_str(),
        "oracle"
    );
    let reports = [&agents, &baseline, &oracle];
    let rows: [(&str, Metric); 7] = [
        ("success rate", |r| r.success_rate),
        ("volume success rate", |r| r.volume_success_rate),
        ("fees paid (sat)", |r| r.fees_paid_msat as f64 / 1000.0),
        ("mean hops", |r| r.mean_hops),
        ("attempts", |r| r.attempts_mean),
        ("latency p95 (ms)", |r| r.latency_ms_p95 as f64),
        ("hub gini", |r| r.hub_gini),
    ];
    for (name, metric) in rows {
        print!("  {name:<22}");
        for r in reports {
            print!("{:>14.3}", metric(r));
        }
        println!();
    }
    let headroom = oracle.success_rate - baseline.success_rate;
    if headroom >= 0.02 {
        println!(
            "  headroom ({} to oracle) closed: {:.1}%",
            baseline_kind.as_str(),
            100.0 * (agents.success_rate - baseline.success_rate) / headroom
        );
    }
    Ok(())
}

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
fn shadow_outcomes(
    scene: &crate::scene::Scene,
    scene_dir: &std::path::Path,
    seed: u64,
    payments: u64,
    kind: RouterKind,
) -> anyhow::Result<Vec<bool>> {
    let options = SessionOptions {
        policy: Some(PolicyChoice::Baseline(kind)),
        ..SessionOptions::new(seed, Some(payments))
    };
    let mut session =
        Session::from_scene(scene, scene_dir, &options).map_err(anyhow::Error::msg)?;
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
    (headroom >= 0.02).then(|| (rate(ppo) - rate(lnd)) / headroom)
}

fn with_suffix(path: &std::path::Path, group: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "safetensors".into());
    path.with_file_name(format!("{stem}-{group}.{ext}"))
}
