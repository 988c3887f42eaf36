//! `lnlab compare`: every policy on the same seeded workloads, runs spread over the cores,
//! and a table of mean and 95% CI per metric.

use super::stats::{Estimate, estimate};
use crate::session::{PolicyChoice, Report, RunOptions, run_scene};
use anyhow::Context;
use clap::Args;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Args)]
pub struct CompareArgs {
    pub scene: PathBuf,
    /// Comma-separated policies, e.g. random,cheapest,lnd.
    #[arg(long, value_delimiter = ',', required = true)]
    pub policies: Vec<PolicyChoice>,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub payments: u64,
    /// Number of seeds (runs per policy), starting from the scene's seed.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub seeds: u64,
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Debug, Serialize)]
pub struct PolicyResult {
    pub policy: String,
    #[serde(flatten)]
    pub metrics: BTreeMap<String, Estimate>,
}

#[derive(Debug, Serialize)]
pub struct Comparison {
    pub scene: String,
    pub payments: u64,
    pub seeds: u64,
    pub results: Vec<PolicyResult>,
}

pub fn compare(args: CompareArgs) -> anyhow::Result<()> {
    let scene = super::load_scene(&args.scene)?;
    // Each policy once, in the order first named.
    let mut policies: Vec<PolicyChoice> = Vec::new();
    for p in &args.policies {
        if !policies.contains(p) {
            policies.push(p.clone());
        }
    }
    let jobs: Vec<(PolicyChoice, u64)> = policies
        .iter()
        .flat_map(|p| (0..args.seeds).map(move |i| (p.clone(), scene.seed.wrapping_add(i))))
        .collect();
    let reports: Mutex<Vec<Option<Report>>> = Mutex::new(vec![None; jobs.len()]);
    let errors: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(jobs.len());
    let bar = Mutex::new(super::progress::LazyProgress::new(
        jobs.len() as u64,
        "runs",
    ));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((policy, seed)) = jobs.get(i).cloned() else {
                        break;
                    };
                    let options = RunOptions {
                        policy,
                        seed,
                        payments: args.payments,
                        record_payments: false,
                        check_invariants: false,
                    };
                    match run_scene(&scene, &options, |_, _| {}) {
                        Ok(out) => reports.lock().expect("no poisoned lock")[i] = Some(out.report),
                        Err(e) => errors.lock().expect("no poisoned lock").push(e),
                    }
                    let done = reports
                        .lock()
                        .expect("no poisoned lock")
                        .iter()
                        .flatten()
                        .count();
                    bar.lock().expect("no poisoned lock").set(done as u64);
                }
            });
        }
    });
    bar.into_inner().expect("no poisoned lock").finish();
    if let Some(e) = errors
        .into_inner()
        .expect("no poisoned lock")
        .into_iter()
        .next()
    {
        anyhow::bail!(e);
    }
    let reports: Vec<Report> = reports
        .into_inner()
        .expect("no poisoned lock")
        .into_iter()
        .flatten()
        .collect();
    let comparison = summarise(&scene.name, args.payments, args.seeds, &policies, &reports);
    print_table(&comparison);
    if let Some(path) = &args.json {
        let json = serde_json::to_vec_pretty(&comparison).context("serialising the comparison")?;
        super::write_output(path, &json)?;
    }
    Ok(())
}

pub fn summarise(
    scene: &str,
    payments: u64,
    seeds: u64,
    policies: &[PolicyChoice],
    reports: &[Report],
) -> Comparison {
    let results = policies
        .iter()
        .map(|p| {
            let runs: Vec<&Report> = reports
                .iter()
                .filter(|r| r.policy == p.to_string())
                .collect();
            let mut metrics = BTreeMap::new();
            if let Some(first) = runs.first() {
                for (i, (name, _)) in first.metrics().into_iter().enumerate() {
                    let samples: Vec<f64> = runs.iter().map(|r| r.metrics()[i].1).collect();
                    metrics.insert(name.to_string(), estimate(&samples));
                }
            }
            PolicyResult {
                policy: p.to_string(),
                metrics,
            }
        })
        .collect();
    Comparison {
        scene: scene.to_string(),
        payments,
        seeds,
        results,
    }
}

fn print_table(c: &Comparison) {
    println!(
        "scene {}  payments {}  seeds {}  (mean [95% CI])",
        c.scene, c.payments, c.seeds
    );
    let Some(first) = c.results.first() else {
        return;
    };
    let cell = |e: &Estimate| {
        if e.mean.abs() >= 1000.0 {
            format!("{:.0} [{:.0}, {:.0}]", e.mean, e.ci95_low, e.ci95_high)
        } else {
            format!("{:.3} [{:.3}, {:.3}]", e.mean, e.ci95_low, e.ci95_high)
        }
    };
    // Each column as wide as its widest entry, two spaces apart.
    let widths: Vec<usize> = c
        .results
        .iter()
        .map(|r| {
            r.metrics
                .values()
                .map(|e| cell(e).len())
                .chain([r.policy.len()])
                .max()
                .unwrap_or(0)
                + 2
        })
        .collect();
    print!("{:<22}", "metric");
    for (r, w) in c.results.iter().zip(&widths) {
        print!("{:>w$}", r.policy);
    }
    println!();
    for name in first.metrics.keys() {
        print!("{name:<22}");
        for (r, w) in c.results.iter().zip(&widths) {
            print!("{:>w$}", cell(&r.metrics[name]));
        }
        println!();
    }
}
