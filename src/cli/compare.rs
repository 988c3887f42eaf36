//! `lnlab compare`: every policy on the same seeded workloads, runs spread over the cores,
//! and a table of mean and 95% CI per metric, with the share of payments that failed for
//! each reason (`failed_<reason>`). With lnd among the policies, also each
//! policy's fees on the payments lnd delivered too, so that routing more (and harder)
//! payments does not read as routing dearly; with lnd and the oracle, the headroom.

use super::stats::{Estimate, estimate};
use crate::network::NodeId;
use crate::routing::{RouterKind, UnroutableCounts};
use crate::session::{PolicyChoice, Report, RunOptions, run_scene};
use crate::sim::engine::{Engine, PaymentStatus};
use crate::sim::metrics::ratio;
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
    /// Number of seeds (runs per policy), starting from `--seed`.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub seeds: u64,
    /// The first seed (default: the scene's). Evaluate a trained policy on seeds it was
    /// not trained on.
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// The metrics named this, then a failure reason, are the share of a run's payments that
/// failed for that reason (the reason its last attempt ended with).
pub const FAILED_PREFIX: &str = "failed_";

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
    /// The runs use seeds `first_seed .. first_seed + seeds`.
    pub first_seed: u64,
    pub seeds: u64,
    pub results: Vec<PolicyResult>,
    /// How much better than lnd routing could do, when lnd and oracle both ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headroom: Option<Headroom>,
    /// Per policy other than lnd, when lnd ran: its fees over lnd's on the payments both
    /// delivered (per seed, then mean and CI).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub fees_vs_lnd_on_shared: BTreeMap<String, SharedFees>,
}

/// Fees on the payments a policy and lnd both delivered.
#[derive(Debug, Serialize)]
pub struct SharedFees {
    /// Σ policy's fees / Σ lnd's fees over those payments.
    pub ratio: Estimate,
    /// Share of the run's payments both delivered.
    pub share_of_payments: Estimate,
}

/// One payment of a run as `compare` matches it across policies: the request (when it
/// arrived, who pays whom how much) and, if it succeeded, the fees it paid.
pub type Delivery = ((u64, NodeId, NodeId, u64), Option<u64>);

/// A run's payments, sorted by request.
pub fn deliveries(engine: &Engine) -> Vec<Delivery> {
    let payments = engine.payments();
    let mut out: Vec<Delivery> = (payments.first_id()..payments.len())
        .filter_map(|id| payments.get(id))
        .map(|p| {
            let r = p.request;
            let fees = match p.status {
                PaymentStatus::Succeeded { fees_msat, .. } => Some(fees_msat),
                _ => None,
            };
            ((p.started_ms, r.sender, r.receiver, r.amount_msat), fees)
        })
        .collect();
    out.sort_unstable();
    out
}

/// Over the requests both runs delivered (both sorted by request): Σ `a`'s fees / Σ `b`'s
/// fees, and how many payments that is. `None` when they share no delivered payment or `b`
/// paid nothing on them.
pub fn shared_fee_ratio(a: &[Delivery], b: &[Delivery]) -> Option<(f64, u64)> {
    let (mut i, mut j) = (0, 0);
    let (mut fees_a, mut fees_b, mut shared) = (0u64, 0u64, 0u64);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                if let (Some(fa), Some(fb)) = (a[i].1, b[j].1) {
                    fees_a += fa;
                    fees_b += fb;
                    shared += 1;
                }
                i += 1;
                j += 1;
            }
        }
    }
    (shared > 0 && fees_b > 0).then(|| (fees_a as f64 / fees_b as f64, shared))
}

/// Headroom = success(oracle) − success(lnd); headroom closed = (success(policy) −
/// success(lnd)) / headroom. Both are computed per seed (the runs share the seed's
/// workload) and then averaged; seeds where the oracle beats lnd by less than 2 points say
/// nothing about closing and are left out of `closed`.
#[derive(Debug, Serialize)]
pub struct Headroom {
    pub oracle_minus_lnd: Estimate,
    /// Seeds with positive headroom, the ones `closed` is computed over.
    pub seeds_with_headroom: u64,
    /// Per policy other than lnd and the oracle.
    pub closed: BTreeMap<String, Estimate>,
    /// Share of payments the oracle found unroutable, by cause.
    pub unroutable_sender_outbound: Estimate,
    pub unroutable_receiver_inbound: Estimate,
    pub unroutable_cut: Estimate,
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
    let first_seed = args.seed.unwrap_or(scene.seed);
    let jobs: Vec<(PolicyChoice, u64)> = policies
        .iter()
        .flat_map(|p| (0..args.seeds).map(move |i| (p.clone(), first_seed.wrapping_add(i))))
        .collect();
    // Per job: its report and its payments, for matching across policies.
    type Run = (Report, Vec<Delivery>);
    let reports: Mutex<Vec<Option<Run>>> = Mutex::new(vec![None; jobs.len()]);
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
                        Ok(out) => {
                            let delivered = deliveries(&out.engine);
                            reports.lock().expect("no poisoned lock")[i] =
                                Some((out.report, delivered));
                        }
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
    let (reports, delivered): (Vec<Report>, Vec<Vec<Delivery>>) = reports
        .into_inner()
        .expect("no poisoned lock")
        .into_iter()
        .flatten()
        .unzip();
    let mut comparison = summarise(
        &scene.name,
        args.payments,
        args.seeds,
        &policies,
        &reports,
        &delivered,
    );
    comparison.first_seed = first_seed;
    print_table(&comparison);
    print_shared_fees(&comparison.fees_vs_lnd_on_shared);
    if let Some(h) = &comparison.headroom {
        print_headroom(h);
    }
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
    delivered: &[Vec<Delivery>],
) -> Comparison {
    // Why payments failed: every reason any run ended a payment with, for every policy
    // (0 where a run has none of it), as a share of the run's payments.
    let reasons: std::collections::BTreeSet<&str> = reports
        .iter()
        .flat_map(|r| r.failure_reasons.keys().map(String::as_str))
        .collect();
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
                for reason in &reasons {
                    let samples: Vec<f64> = runs
                        .iter()
                        .map(|r| {
                            let n = r.failure_reasons.get(*reason).copied().unwrap_or(0);
                            ratio(n, r.payments)
                        })
                        .collect();
                    metrics.insert(format!("{FAILED_PREFIX}{reason}"), estimate(&samples));
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
        first_seed: reports.iter().map(|r| r.seed).min().unwrap_or(0),
        seeds,
        results,
        headroom: headroom(policies, reports),
        fees_vs_lnd_on_shared: fees_on_shared(policies, reports, delivered),
    }
}

/// Each policy's [`SharedFees`] against lnd, if lnd is among the policies. `delivered[i]`
/// is `reports[i]`'s payments.
fn fees_on_shared(
    policies: &[PolicyChoice],
    reports: &[Report],
    delivered: &[Vec<Delivery>],
) -> BTreeMap<String, SharedFees> {
    let lnd = PolicyChoice::Baseline(RouterKind::Lnd).to_string();
    let lnd_runs: BTreeMap<u64, usize> = reports
        .iter()
        .enumerate()
        .filter(|(_, r)| r.policy == lnd)
        .map(|(i, r)| (r.seed, i))
        .collect();
    if lnd_runs.is_empty() {
        return BTreeMap::new();
    }
    policies
        .iter()
        .map(ToString::to_string)
        .filter(|p| *p != lnd)
        .filter_map(|p| {
            let (ratios, shares): (Vec<f64>, Vec<f64>) = reports
                .iter()
                .enumerate()
                .filter(|(_, r)| r.policy == p)
                .filter_map(|(i, r)| {
                    let l = *lnd_runs.get(&r.seed)?;
                    let (fees, shared) = shared_fee_ratio(&delivered[i], &delivered[l])?;
                    Some((fees, ratio(shared, r.payments)))
                })
                .unzip();
            (!ratios.is_empty()).then(|| {
                let shared = SharedFees {
                    ratio: estimate(&ratios),
                    share_of_payments: estimate(&shares),
                };
                (p, shared)
            })
        })
        .collect()
}

fn print_shared_fees(shared: &BTreeMap<String, SharedFees>) {
    for (policy, s) in shared {
        println!(
            "fees on the payments lnd delivered too, {policy} / lnd: {:.2}x [{:.2}, {:.2}] ({:.0}% of payments)",
            s.ratio.mean,
            s.ratio.ci95_low,
            s.ratio.ci95_high,
            100.0 * s.share_of_payments.mean
        );
    }
}

/// Less headroom than this (2 points of success) is too little to say how much of it a
/// policy closes: compare leaves such seeds out, train leaves such windows empty.
pub(super) const MIN_HEADROOM: f64 = 0.02;

/// Headroom figures, if both `lnd` and `oracle` are among the policies.
fn headroom(policies: &[PolicyChoice], reports: &[Report]) -> Option<Headroom> {
    let lnd = PolicyChoice::Baseline(RouterKind::Lnd).to_string();
    let oracle = PolicyChoice::Baseline(RouterKind::Oracle).to_string();
    let by_seed = |policy: &str| -> BTreeMap<u64, &Report> {
        reports
            .iter()
            .filter(|r| r.policy == policy)
            .map(|r| (r.seed, r))
            .collect()
    };
    let (lnd_runs, oracle_runs) = (by_seed(&lnd), by_seed(&oracle));
    if lnd_runs.is_empty() || oracle_runs.is_empty() {
        return None;
    }
    let paired: Vec<(u64, f64, f64)> = lnd_runs
        .iter()
        .filter_map(|(seed, l)| {
            let o = oracle_runs.get(seed)?;
            Some((*seed, l.success_rate, o.success_rate))
        })
        .collect();
    let gaps: Vec<f64> = paired.iter().map(|(_, l, o)| o - l).collect();
    // A seed whose headroom is a payment or two says nothing about closing it: one
    // payment's difference would read as the whole headroom closed (train uses the same
    // 2-point floor).
    let open: Vec<&(u64, f64, f64)> = paired
        .iter()
        .filter(|(_, l, o)| o - l >= MIN_HEADROOM)
        .collect();
    let closed = policies
        .iter()
        .map(ToString::to_string)
        .filter(|p| *p != lnd && *p != oracle)
        .map(|p| {
            let runs = by_seed(&p);
            let samples: Vec<f64> = open
                .iter()
                .filter_map(|(seed, l, o)| Some((runs.get(seed)?.success_rate - l) / (o - l)))
                .collect();
            (p, estimate(&samples))
        })
        .collect();
    let share = |pick: fn(&UnroutableCounts) -> u64| {
        let samples: Vec<f64> = oracle_runs
            .values()
            .map(|r| {
                let n = r.unroutable.as_ref().map_or(0, pick);
                ratio(n, r.payments)
            })
            .collect();
        estimate(&samples)
    };
    Some(Headroom {
        oracle_minus_lnd: estimate(&gaps),
        seeds_with_headroom: open.len() as u64,
        closed,
        unroutable_sender_outbound: share(|u| u.sender_outbound),
        unroutable_receiver_inbound: share(|u| u.receiver_inbound),
        unroutable_cut: share(|u| u.cut),
    })
}

fn print_headroom(h: &Headroom) {
    let ci = |e: &Estimate| format!("{:.3} [{:.3}, {:.3}]", e.mean, e.ci95_low, e.ci95_high);
    println!(
        "headroom (oracle - lnd success): {}",
        ci(&h.oracle_minus_lnd)
    );
    if h.oracle_minus_lnd.mean < MIN_HEADROOM && h.seeds_with_headroom > 0 {
        println!("  (under 2 points of headroom: the shares closed below are mostly noise)");
    }
    for (policy, e) in &h.closed {
        if h.seeds_with_headroom == 0 {
            // No seed left the oracle 2 points ahead of lnd: no share to measure.
            println!(
                "headroom closed by {policy}: not measured (no seed has {} points of headroom)",
                MIN_HEADROOM * 100.0
            );
            continue;
        }
        println!(
            "headroom closed by {policy}: {} over {} seeds",
            ci(e),
            h.seeds_with_headroom
        );
    }
    println!(
        "unroutable under the oracle: sender outbound {}, receiver inbound {}, cut {}",
        ci(&h.unroutable_sender_outbound),
        ci(&h.unroutable_receiver_inbound),
        ci(&h.unroutable_cut)
    );
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
    let names = first
        .metrics
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(0)
        .max(22);
    print!("{:<names$}", "metric");
    for (r, w) in c.results.iter().zip(&widths) {
        print!("{:>w$}", r.policy);
    }
    println!();
    for name in first.metrics.keys() {
        print!("{name:<names$}");
        for (r, w) in c.results.iter().zip(&widths) {
            print!("{:>w$}", cell(&r.metrics[name]));
        }
        println!();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(at_ms: u64, fees: Option<u64>) -> Delivery {
        ((at_ms, NodeId(1), NodeId(2), 1_000_000), fees)
    }

    /// Only payments both runs delivered count, matched by request; a payment one side
    /// has and the other does not (or failed) is left out.
    #[test]
    fn shared_fees_count_only_the_payments_both_delivered() {
        let a = vec![
            delivery(1, Some(30)),
            delivery(2, Some(1_000)), // lnd failed it
            delivery(3, None),        // a failed it
            delivery(4, Some(10)),
            delivery(6, Some(500)), // not in lnd's run
        ];
        let b = vec![
            delivery(1, Some(10)),
            delivery(2, None),
            delivery(3, Some(7)),
            delivery(4, Some(10)),
            delivery(5, Some(99)),
        ];
        assert_eq!(shared_fee_ratio(&a, &b), Some((2.0, 2)));
        assert_eq!(shared_fee_ratio(&b, &a), Some((0.5, 2)));
        // Nothing shared, or nothing paid by the reference: no ratio.
        assert_eq!(shared_fee_ratio(&a[1..3], &b[1..3]), None);
        let free = vec![delivery(1, Some(0))];
        assert_eq!(shared_fee_ratio(&a[..1], &free), None);
    }
}
