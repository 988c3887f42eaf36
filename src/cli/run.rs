//! `lnlab run`: one scene, one policy, one seed; a summary table, and optional JSON report
//! and per-payment CSV.

use super::progress::LazyProgress;
use crate::session::{PolicyChoice, Report, RunOptions, run_scene};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scene file (RON).
    pub scene: PathBuf,
    /// Number of payments to simulate.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub payments: u64,
    /// Routing policy: random, shortest, cheapest, lnd, ldk, or ppo:CHECKPOINT (default:
    /// the scene's).
    #[arg(long)]
    pub policy: Option<PolicyChoice>,
    /// Seed (default: the scene's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write the JSON report here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write one CSV row per payment here.
    #[arg(long)]
    pub payments_csv: Option<PathBuf>,
}

pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let scene = super::load_scene(&args.scene)?;
    let policy = match args.policy {
        Some(p) => p,
        None => PolicyChoice::Baseline(scene.routing.policy),
    };
    let options = RunOptions {
        policy,
        seed: args.seed.unwrap_or(scene.seed),
        payments: args.payments,
        record_payments: args.payments_csv.is_some(),
        check_invariants: false,
    };
    let mut bar = LazyProgress::new(args.payments, &options.policy.to_string());
    let out = run_scene(&scene, &options, |done, _| bar.set(done)).map_err(anyhow::Error::msg)?;
    bar.finish();
    print_summary(&out.report);
    let stats = out.engine.router_stats();
    if !stats.is_empty() {
        println!("  router: {stats}");
    }
    if let Some(path) = &args.json {
        let json = serde_json::to_vec_pretty(&out.report).context("serialising the report")?;
        super::write_output(path, &json)?;
    }
    if let Some(path) = &args.payments_csv {
        let mut w = csv::Writer::from_writer(Vec::new());
        for r in &out.records {
            w.serialize(r).context("writing CSV")?;
        }
        let bytes = w.into_inner().context("writing CSV")?;
        super::write_output(path, &bytes)?;
    }
    Ok(())
}

fn print_summary(r: &Report) {
    println!("scene {}  policy {}  seed {}", r.scene, r.policy, r.seed);
    let mut rows: Vec<(&str, String)> = vec![
        ("payments", r.payments.to_string()),
        (
            "succeeded",
            format!("{} ({:.1}%)", r.succeeded, r.success_rate * 100.0),
        ),
        (
            "volume success",
            format!("{:.1}%", r.volume_success_rate * 100.0),
        ),
        ("fees paid", format!("{} msat", r.fees_paid_msat)),
        ("mean hops", format!("{:.2}", r.mean_hops)),
        (
            "latency p50 / p95",
            format!("{} / {} ms", r.latency_ms_p50, r.latency_ms_p95),
        ),
        ("attempts (mean)", format!("{:.2}", r.attempts_mean)),
    ];
    if r.local_retries_mean > 0.0 {
        rows.push((
            "local retries (mean)",
            format!("{:.2} per payment", r.local_retries_mean),
        ));
    }
    if let Some(mpp) = &r.mpp {
        rows.push((
            "multi-part",
            format!(
                "{} payments split, {:.2} parts per payment",
                mpp.mpp_payments, mpp.parts_mean
            ),
        ));
    }
    rows.extend([
        ("hub gini", format!("{:.3}", r.hub_gini)),
        ("simulated", format!("{:.1} s", r.simulated_seconds)),
        (
            "speed",
            format!(
                "{:.0} payments/s ({:.2} s wall)",
                r.payments_per_second, r.wall_seconds
            ),
        ),
    ]);
    for (k, v) in rows {
        println!("  {k:<20} {v}");
    }
    if !r.failure_reasons.is_empty() {
        println!("  failures:");
        for (reason, n) in &r.failure_reasons {
            println!("    {reason:<24} {n}");
        }
    }
    if let Some(u) = &r.unroutable {
        println!(
            "  unroutable (no path could carry it): {} (sender outbound {}, receiver inbound {}, cut {})",
            u.total(),
            u.sender_outbound,
            u.receiver_inbound,
            u.cut
        );
    }
}
