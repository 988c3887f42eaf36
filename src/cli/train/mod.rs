//! `lnlab train`: PPO training inside the Bevy ECS (headless), with a progress bar, a
//! checkpoint, a metrics CSV (one row per update), and an evaluation against the scene's
//! baseline and the oracle at the end. Training runs on one scene, or in segments over
//! several scenes or generated graphs (`segments`), carrying the agents across.

mod metrics;
mod segments;

use crate::ecs::sim::{SimDriver, headless_app, run_headless};
use crate::rl::agents::Agents;
use crate::routing::RouterKind;
use crate::scene::generate::GraphModel;
use crate::session::{PolicyChoice, Report, RunOptions, Session, SessionOptions, run_scene};
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use segments::{Source, dir_of, parse_nodes};
use std::ops::RangeInclusive;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Scene with an `agents` section; with several, training takes them in turn, one
    /// segment each (the first one is the scene evaluated at the end), and a later scene
    /// without agents of its own is trained with the first one's at every node.
    #[arg(required = true)]
    pub scenes: Vec<PathBuf>,
    /// Payments to train on (each carries one or more agent decisions).
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: u64,
    /// Payments per segment: each segment starts its scene afresh (timeline included) with
    /// its own seed, redrawing liquidity and workload. Default: 2,000 with several scenes
    /// or generated graphs, else one segment of `--steps` (the scene runs on and on, and
    /// a scripted stress that ends early is then seen only early).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub segment_payments: Option<u64>,
    /// Train on a fresh graph per segment (of `--generated-model`), with MIN-MAX nodes, set
    /// up like the (first) scene: its channels per node, liquidity, workload, routing and
    /// rewards.
    #[arg(long, value_name = "MIN-MAX", value_parser = parse_nodes)]
    pub generated: Option<RangeInclusive<usize>>,
    /// The model of `--generated` graphs: barabasi-albert, watts-strogatz or mainnet-like
    /// (a third of the nodes single-channel leaves, as on mainnet).
    #[arg(
        long,
        value_name = "MODEL",
        default_value = "barabasi-albert",
        requires = "generated"
    )]
    pub generated_model: GraphModel,
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
    /// Also write a scene that opens the trained agents: the (first) scene with each
    /// group's checkpoint set to what was just written, and the agents frozen.
    #[arg(long, value_name = "OUT.ron")]
    pub save_scene: Option<PathBuf>,
    /// Payments in the final evaluation.
    #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub eval_payments: u64,
}

/// Payments per segment when a run has several and `--segment-payments` is not given.
const DEFAULT_SEGMENT_PAYMENTS: u64 = 2_000;

pub fn train(args: TrainArgs) -> anyhow::Result<()> {
    let mut scenes: Vec<(crate::scene::Scene, PathBuf)> = Vec::new();
    for path in &args.scenes {
        let mut scene = super::load_scene(path)?;
        if scene.agents.is_none() {
            // A later scene without agents of its own (an imported graph, say) is trained
            // on with the first scene's: every node an agent of its first group.
            let Some(first) = scenes.first() else {
                anyhow::bail!(
                    "{}: the scene has no `agents` section to train",
                    path.display()
                );
            };
            let groups = first.0.agents.as_ref().map_or(0, |a| a.groups.len());
            if groups > 1 {
                anyhow::bail!(
                    "{}: no `agents` section, and {}'s agents come in {groups} groups: only a single group can be lent to a scene without agents (give this one an `agents` section with the same groups)",
                    path.display(),
                    args.scenes[0].display()
                );
            }
            scene.agents = first
                .0
                .agents
                .as_ref()
                .and_then(|a| a.at_every_node(scene.nodes.len()));
            if scene.agents.is_none() {
                anyhow::bail!(
                    "{}: no `agents` section, and the first scene has no agent group to lend it",
                    path.display()
                );
            }
            eprintln!(
                "{}: no `agents` section; every node an agent, set up like {}'s first group",
                path.display(),
                args.scenes[0].display()
            );
        }
        scenes.push((scene, dir_of(path)));
    }
    // Segments carry each group over by name, so every scene needs the same groups (or
    // every one a single group), or a group's training would be lost between segments.
    let groups = |s: &crate::scene::Scene| -> Vec<String> {
        let mut names: Vec<String> = s
            .agents
            .iter()
            .flat_map(|a| a.groups.iter().map(|g| g.name.clone()))
            .collect();
        names.sort();
        names
    };
    let first_groups = groups(&scenes[0].0);
    for (path, (s, _)) in args.scenes.iter().zip(&scenes).skip(1) {
        let these = groups(s);
        if these != first_groups && !(these.len() == 1 && first_groups.len() == 1) {
            anyhow::bail!(
                "{}: agent groups {these:?} differ from the first scene's {first_groups:?}; \
                 scenes trained together need the same groups (or one group each)",
                path.display()
            );
        }
    }
    let (scene, scene_dir) = scenes[0].clone();
    let seed = args.seed.unwrap_or(scene.seed);
    let segmented = scenes.len() > 1 || args.generated.is_some() || args.segment_payments.is_some();
    let per_segment = match (segmented, args.segment_payments) {
        (false, _) => args.steps,
        (true, n) => n.unwrap_or(DEFAULT_SEGMENT_PAYMENTS).min(args.steps),
    };
    let source = match &args.generated {
        Some(nodes) => Source::Generated {
            template: Box::new(scene.clone()),
            dir: scene_dir.clone(),
            nodes: nodes.clone(),
            model: args.generated_model,
        },
        None => Source::Scenes(scenes),
    };

    let bar = ProgressBar::new(args.steps);
    bar.set_style(
        ProgressStyle::with_template("train [{bar:30}] {pos}/{len} payments  {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut last = (0.0f32, 0.0f32);
    let start = std::time::Instant::now();
    let mut records = Vec::new();
    let mut agents: Option<Agents> = None;
    let mut done = 0;
    let mut index = 0;
    while done < args.steps {
        let payments = per_segment.min(args.steps - done);
        let segment = source
            .segment(index, seed, payments)
            .map_err(anyhow::Error::msg)?;
        let options = SessionOptions {
            resume: if index == 0 {
                args.resume.clone()
            } else {
                None
            },
            learning: Some(true),
            ..SessionOptions::new(segment.seed, Some(payments))
        };
        let mut session = Session::from_scene(&segment.scene, &segment.dir, &options)
            .map_err(|e| anyhow::anyhow!("segment {index} ({}): {e}", segment.scene.name))?;
        session
            .agents_mut()
            .expect("the scene has agents")
            .progress_span = (
            done as f64 / args.steps as f64,
            payments as f64 / args.steps as f64,
        );
        let rows_before = match agents.take() {
            Some(previous) => {
                let rows = previous.rows.len();
                for group in session.carry_over(previous) {
                    println!("segment {index}: group `{group}` has no match and starts fresh");
                }
                rows
            }
            None => 0,
        };
        let driver = run_headless(headless_app(SimDriver::new(session)), |status| {
            if let Some(row) = status.new_rows.last() {
                last = (row.success_rate, row.episodic_reward);
            }
            if status.resolved % 64 == 0 || status.finished {
                bar.set_position(done + status.resolved);
                let sps = status.decisions as f64 / start.elapsed().as_secs_f64().max(1e-9);
                bar.set_message(format!(
                    "{sps:.0} decisions/s  success {:.1}%  reward {:.3}  updates {}",
                    last.0 * 100.0,
                    last.1,
                    status.rows_total
                ));
            }
        });
        let (engine, trained, _) = driver.session.into_parts();
        let trained = trained.expect("the scene has agents");
        if args.metrics.is_some() {
            records.extend(metrics::segment_records(
                &segment,
                &engine,
                &trained.rows[rows_before..],
            )?);
        }
        agents = Some(trained);
        done += payments;
        index += 1;
    }
    bar.finish_and_clear();
    let agents = agents.expect("at least one segment ran");
    let decisions = agents.decisions;
    let wall = start.elapsed().as_secs_f64();
    println!(
        "trained {} payments{}, {decisions} decisions, {} updates in {wall:.1} s ({:.0} decisions/s)",
        args.steps,
        if index > 1 {
            format!(" in {index} segments")
        } else {
            String::new()
        },
        agents.rows.len(),
        decisions as f64 / wall.max(1e-9)
    );
    let single = agents.groups.len() == 1;
    let written = agents
        .save_policies(&scene.name, |group| {
            if single {
                args.out.clone()
            } else {
                crate::rl::policy::group_checkpoint_path(&args.out, group)
            }
        })
        .map_err(anyhow::Error::msg)?;
    for (group, path) in &written {
        println!("checkpoint for group `{group}`: {}", path.display());
    }
    if let Some(path) = &args.metrics {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(metrics::HEADER)?;
        for r in &records {
            w.write_record(r)?;
        }
        super::write_output(path, &w.into_inner().context("writing CSV")?)?;
    }
    if let Some(out) = &args.save_scene {
        save_trained_scene(&scene, &written, out)?;
        println!("scene that opens the trained agents: {}", out.display());
    }
    evaluate(&args, &scene, &scene_dir, &written, seed)
}

/// The checkpoint written for a group: the one of the same name, or the only one.
fn checkpoint_for<'a>(
    written: &'a [(String, PathBuf)],
    group: &str,
) -> anyhow::Result<&'a PathBuf> {
    written
        .iter()
        .find(|(name, _)| name == group)
        .or(if written.len() == 1 {
            written.first()
        } else {
            None
        })
        .map(|(_, path)| path)
        .ok_or_else(|| anyhow::anyhow!("no checkpoint was written for group `{group}`"))
}

/// The trained scene: each group's checkpoint is the one written for the group of that
/// name (or the only one), relative to the scene file when it sits beside it; the agents
/// open frozen (`continual: false`), showing what was learnt.
fn save_trained_scene(
    scene: &crate::scene::Scene,
    written: &[(String, PathBuf)],
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let mut trained = scene.clone();
    // A bare file name lives in the current directory (`absolute("")` is an error).
    let dir = dir_of(out);
    let out_dir = std::path::absolute(if dir.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        dir.as_path()
    })?;
    if let Some(section) = &mut trained.agents {
        section.continual = false;
        for g in &mut section.groups {
            let path = std::path::absolute(checkpoint_for(written, &g.name)?)?;
            let shown = match path.strip_prefix(&out_dir) {
                Ok(relative) => relative.to_path_buf(),
                Err(_) => path,
            };
            g.checkpoint = Some(shown.display().to_string());
        }
    }
    crate::scene::save(&trained, out)?;
    Ok(())
}

/// One figure of a report, for the evaluation table.
type Metric = fn(&Report) -> f64;

/// The trained agents (frozen) against the scene's baseline, on the same fresh workload.
fn evaluate(
    args: &TrainArgs,
    scene: &crate::scene::Scene,
    scene_dir: &std::path::Path,
    written: &[(String, PathBuf)],
    seed: u64,
) -> anyhow::Result<()> {
    let eval_seed = seed.wrapping_add(1_000);
    let mut eval_scene = scene.clone();
    if let Some(section) = &mut eval_scene.agents {
        for g in &mut section.groups {
            let path = checkpoint_for(written, &g.name)?;
            g.checkpoint = Some(std::path::absolute(path)?.display().to_string());
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
    let mut rows: Vec<(&str, Metric)> = vec![
        ("success rate", |r| r.success_rate),
        ("volume success rate", |r| r.volume_success_rate),
        ("fees paid (sat)", |r| r.fees_paid_msat as f64 / 1000.0),
        ("mean hops", |r| r.mean_hops),
        ("attempts", |r| r.attempts_mean),
        ("latency p95 (ms)", |r| r.latency_ms_p95 as f64),
        ("hub gini", |r| r.hub_gini),
    ];
    // Only agents with `local_retries` make them: the row shows when they did.
    if reports.iter().any(|r| r.local_retries_mean > 0.0) {
        rows.insert(5, ("local retries", |r| r.local_retries_mean));
    }
    for (name, metric) in rows {
        print!("  {name:<22}");
        for r in reports {
            print!("{:>14.3}", metric(r));
        }
        println!();
    }
    let headroom = oracle.success_rate - baseline.success_rate;
    if headroom >= crate::cli::compare::MIN_HEADROOM {
        println!(
            "  headroom ({} to oracle) closed: {:.1}%",
            baseline_kind.as_str(),
            100.0 * (agents.success_rate - baseline.success_rate) / headroom
        );
    }
    Ok(())
}
