//! `lnlab sweep collect DIR`: every job's `result.json` (the `lnlab compare --json`
//! output) merged with the job's parameters from the plan into one table, a row per job
//! and policy with each metric's mean and 95% CI over the job's seeds; and, for jobs that
//! differ only in seed, a table across them: each job's mean is one sample, and the
//! interval is over jobs. Written as CSV (full precision) and Markdown (rounded).
//! Wall-clock figures are left out, so the same results give the same tables byte for byte.

use super::plan::{Job, JobKind, Plan};
use crate::cli::compare::FAILED_PREFIX;
use crate::cli::stats::{Estimate, estimate};
use anyhow::Context;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One row per job and policy.
pub const RESULTS_CSV: &str = "results.csv";
/// One row per group of jobs that differ only in seed, and policy.
pub const ACROSS_SEEDS_CSV: &str = "across_seeds.csv";
/// Both tables, rounded.
pub const RESULTS_MD: &str = "results.md";

/// Metrics measured in wall-clock time: they differ from run to run, so they stay out of
/// the tables.
const WALL_CLOCK: &[&str] = &["payments_per_second"];
/// The share of lnd's headroom to the oracle a policy closed (from the comparison's
/// `headroom.closed`), as one more metric column.
const HEADROOM_CLOSED: &str = "headroom_closed";
/// Metrics shown first, in this order; any others follow alphabetically.
const FIRST: &[&str] = &[
    "success_rate",
    "volume_success_rate",
    HEADROOM_CLOSED,
    "fees_paid_msat",
    "attempts_mean",
    "mean_hops",
    "latency_ms_p50",
    "latency_ms_p95",
];

/// What collect reads of a `lnlab compare --json` file.
#[derive(Debug, Deserialize)]
struct ResultFile {
    payments: u64,
    first_seed: u64,
    seeds: u64,
    results: Vec<PolicyResult>,
    #[serde(default)]
    headroom: Option<HeadroomPart>,
}

#[derive(Debug, Deserialize)]
struct PolicyResult {
    policy: String,
    #[serde(flatten)]
    metrics: BTreeMap<String, Estimate>,
}

#[derive(Debug, Deserialize)]
struct HeadroomPart {
    seeds_with_headroom: u64,
    closed: BTreeMap<String, Estimate>,
}

/// One job's figures for one policy.
struct Row<'a> {
    job: &'a Job,
    policy: String,
    metrics: BTreeMap<String, Estimate>,
}

/// Jobs that differ only in seed, for one policy: the first job stands for the parameters.
struct Group<'a> {
    rows: Vec<&'a Row<'a>>,
}

/// What a job is apart from its seeds: jobs with equal keys are grouped.
type GroupKey<'a> = (
    JobKind,
    &'a Path,
    Option<(u64, Option<u64>)>,
    u64,
    u64,
    Vec<&'a str>,
    &'a str,
);

fn group_key<'a>(row: &'a Row<'a>) -> GroupKey<'a> {
    let job = row.job;
    (
        job.kind,
        &job.scene_path,
        job.training.as_ref().map(|t| (t.steps, t.segment_payments)),
        job.payments,
        job.seeds,
        job.policies.iter().map(|p| job.policy_label(p)).collect(),
        &row.policy,
    )
}

/// Read the results of the sweep in `dir` and write the tables. With `allow_missing`, jobs
/// without a result are left out (and counted); otherwise they are an error.
pub fn collect(dir: &Path, allow_missing: bool) -> anyhow::Result<()> {
    let plan = Plan::read(dir)?.ok_or_else(|| {
        anyhow::anyhow!(
            "{}: no {} here; collect reads the folder `lnlab sweep SPEC --out DIR` wrote",
            dir.display(),
            super::plan::PLAN_FILE
        )
    })?;
    let mut missing: Vec<PathBuf> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    for job in &plan.jobs {
        let path = Plan::result_path(dir, job);
        if !path.exists() {
            missing.push(path);
            continue;
        }
        rows.extend(read_rows(job, &path)?);
    }
    if !missing.is_empty() {
        let shown: Vec<String> = missing
            .iter()
            .take(3)
            .map(|p| p.display().to_string())
            .collect();
        let line = format!(
            "{} of {} jobs have no result yet: {}{}",
            missing.len(),
            plan.jobs.len(),
            shown.join(", "),
            if missing.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        );
        if !allow_missing {
            anyhow::bail!(
                "{line}; run them (`lnlab sweep SPEC --out {}` runs only what is missing), \
                 or collect the others with --allow-missing",
                dir.display()
            );
        }
        println!("{line}; left out");
    }
    let metrics = metric_names(&rows);
    // A job's compare lists only the failure reasons its own runs met: where another job
    // met one, this job's share of it is 0, not unknown.
    for row in &mut rows {
        for m in metrics.iter().filter(|m| m.starts_with(FAILED_PREFIX)) {
            row.metrics.entry(m.clone()).or_insert(Estimate {
                mean: 0.0,
                ci95_low: 0.0,
                ci95_high: 0.0,
            });
        }
    }
    let groups = groups(&rows);
    let write = |name: &str, bytes: Vec<u8>| super::super::write_output(&dir.join(name), &bytes);
    write(RESULTS_CSV, results_csv(&rows, &metrics)?)?;
    write(ACROSS_SEEDS_CSV, across_seeds_csv(&groups, &metrics)?)?;
    write(
        RESULTS_MD,
        markdown(&plan, &rows, &groups, &metrics, missing.len()).into_bytes(),
    )?;
    println!(
        "{} jobs, {} rows, {} groups across seeds: {}, {} and {} in {}",
        plan.jobs.len() - missing.len(),
        rows.len(),
        groups.len(),
        RESULTS_CSV,
        ACROSS_SEEDS_CSV,
        RESULTS_MD,
        dir.display()
    );
    Ok(())
}

/// A job's rows, after checking its result is the comparison the plan asked for.
fn read_rows<'a>(job: &'a Job, path: &Path) -> anyhow::Result<Vec<Row<'a>>> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let result: ResultFile = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not an `lnlab compare --json` result", path.display()))?;
    let policies: Vec<&str> = result.results.iter().map(|r| r.policy.as_str()).collect();
    let asked = (job.payments, job.seeds, job.first_seed, &job.policies);
    if (result.payments, result.seeds, result.first_seed) != (asked.0, asked.1, asked.2)
        || policies != *asked.3
    {
        anyhow::bail!(
            "{}: the result is for payments {} seeds {} first seed {} policies {}, but the \
             plan's job {} asks for payments {} seeds {} first seed {} policies {}; a result \
             from another sweep?",
            path.display(),
            result.payments,
            result.seeds,
            result.first_seed,
            policies.join(","),
            job.id,
            job.payments,
            job.seeds,
            job.first_seed,
            job.policies.join(",")
        );
    }
    let closed = result
        .headroom
        .filter(|h| h.seeds_with_headroom > 0)
        .map(|h| h.closed)
        .unwrap_or_default();
    Ok(result
        .results
        .into_iter()
        .map(|r| {
            let mut metrics: BTreeMap<String, Estimate> = r
                .metrics
                .into_iter()
                .filter(|(name, _)| !WALL_CLOCK.contains(&name.as_str()))
                .collect();
            if let Some(e) = closed.get(&r.policy) {
                metrics.insert(HEADROOM_CLOSED.to_string(), *e);
            }
            Row {
                job,
                policy: job.policy_label(&r.policy).to_string(),
                metrics,
            }
        })
        .collect())
}

/// Every metric in any row: [`FIRST`] in its order, then the rest alphabetically.
fn metric_names(rows: &[Row]) -> Vec<String> {
    let all: BTreeSet<&str> = rows
        .iter()
        .flat_map(|r| r.metrics.keys().map(String::as_str))
        .collect();
    FIRST
        .iter()
        .copied()
        .filter(|m| all.contains(m))
        .chain(all.iter().copied().filter(|m| !FIRST.contains(m)))
        .map(str::to_string)
        .collect()
}

/// Groups of two or more jobs that differ only in seed, per policy, in the order of their
/// first job.
fn groups<'a>(rows: &'a [Row<'a>]) -> Vec<Group<'a>> {
    let mut order: Vec<GroupKey> = Vec::new();
    let mut members: BTreeMap<GroupKey, Vec<&Row>> = BTreeMap::new();
    for row in rows {
        let key = group_key(row);
        if !members.contains_key(&key) {
            order.push(key.clone());
        }
        members.entry(key).or_default().push(row);
    }
    order
        .into_iter()
        .filter_map(|key| {
            let rows = members.remove(&key)?;
            (rows.len() >= 2).then_some(Group { rows })
        })
        .collect()
}

impl Group<'_> {
    /// The metric across the group's jobs: each job's mean one sample.
    fn estimate(&self, metric: &str) -> Option<Estimate> {
        let samples: Vec<f64> = self
            .rows
            .iter()
            .filter_map(|r| r.metrics.get(metric).map(|e| e.mean))
            .collect();
        // A metric some jobs lack (headroom too small to measure) is not averaged over
        // the others: that would be a different group.
        (samples.len() == self.rows.len()).then(|| estimate(&samples))
    }

    fn job_ids(&self) -> String {
        self.rows
            .iter()
            .map(|r| r.job.id.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn seeds(&self) -> String {
        self.rows
            .iter()
            .map(|r| match &r.job.training {
                Some(t) => t.seed.to_string(),
                None => r.job.first_seed.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or(String::new(), |v| v.to_string())
}

/// The parameter columns of a job's row.
const ROW_PARAMS: [&str; 10] = [
    "job",
    "kind",
    "scene",
    "steps",
    "train_seed",
    "segment_payments",
    "payments",
    "seeds",
    "first_seed",
    "policy",
];

fn row_params(row: &Row) -> [String; 10] {
    let job = row.job;
    let t = job.training.as_ref();
    [
        job.id.to_string(),
        job.kind.to_string(),
        job.scene.clone(),
        opt(t.map(|t| t.steps)),
        opt(t.map(|t| t.seed)),
        opt(t.and_then(|t| t.segment_payments)),
        job.payments.to_string(),
        job.seeds.to_string(),
        job.first_seed.to_string(),
        row.policy.clone(),
    ]
}

/// The parameter columns of a group's row: those its jobs share, then which jobs and seeds.
const GROUP_PARAMS: [&str; 10] = [
    "kind",
    "scene",
    "steps",
    "segment_payments",
    "payments",
    "seeds",
    "policy",
    "jobs",
    "job_ids",
    "varied_seeds",
];

fn group_params(g: &Group) -> [String; 10] {
    let first = g.rows[0];
    let job = first.job;
    let t = job.training.as_ref();
    [
        job.kind.to_string(),
        job.scene.clone(),
        opt(t.map(|t| t.steps)),
        opt(t.and_then(|t| t.segment_payments)),
        job.payments.to_string(),
        job.seeds.to_string(),
        first.policy.clone(),
        g.rows.len().to_string(),
        g.job_ids(),
        g.seeds(),
    ]
}

fn estimate_header(metrics: &[String]) -> Vec<String> {
    metrics
        .iter()
        .flat_map(|m| {
            ["mean", "ci95_low", "ci95_high"]
                .into_iter()
                .map(move |part| format!("{m}_{part}"))
        })
        .collect()
}

fn estimate_cells(e: Option<&Estimate>) -> [String; 3] {
    match e {
        Some(e) => [
            e.mean.to_string(),
            e.ci95_low.to_string(),
            e.ci95_high.to_string(),
        ],
        None => Default::default(),
    }
}

fn results_csv(rows: &[Row], metrics: &[String]) -> anyhow::Result<Vec<u8>> {
    estimates_csv(&ROW_PARAMS, metrics, rows, row_params, |row, m| {
        row.metrics.get(m).copied()
    })
}

fn across_seeds_csv(groups: &[Group], metrics: &[String]) -> anyhow::Result<Vec<u8>> {
    estimates_csv(
        &GROUP_PARAMS,
        metrics,
        groups,
        group_params,
        Group::estimate,
    )
}

/// A CSV with the given parameter columns, then mean and CI bounds of every metric: one
/// record per item.
fn estimates_csv<T>(
    params: &[&str],
    metrics: &[String],
    items: &[T],
    item_params: impl Fn(&T) -> [String; 10],
    estimate: impl Fn(&T, &str) -> Option<Estimate>,
) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<String> = params
        .iter()
        .map(|s| s.to_string())
        .chain(estimate_header(metrics))
        .collect();
    w.write_record(&header)?;
    for item in items {
        let mut record: Vec<String> = item_params(item).into();
        for m in metrics {
            record.extend(estimate_cells(estimate(item, m).as_ref()));
        }
        w.write_record(&record)?;
    }
    w.into_inner().context("writing CSV")
}

/// `mean [low, high]`, to three decimals (none from 1,000 on), as `lnlab compare` prints.
fn cell(e: Option<&Estimate>) -> String {
    match e {
        Some(e) if e.mean.abs() >= 1000.0 => {
            format!("{:.0} [{:.0}, {:.0}]", e.mean, e.ci95_low, e.ci95_high)
        }
        Some(e) => format!("{:.3} [{:.3}, {:.3}]", e.mean, e.ci95_low, e.ci95_high),
        None => String::new(),
    }
}

/// A Markdown table, leaving out parameter columns that are empty in every row.
fn md_table(params: &[&str], rows: &[Vec<String>], metrics: &[String]) -> String {
    let used: Vec<bool> = (0..params.len())
        .map(|c| rows.iter().any(|r| !r[c].is_empty()))
        .collect();
    let escape = |s: &str| s.replace('|', r"\|");
    let mut header: Vec<String> = params
        .iter()
        .zip(&used)
        .filter(|(_, u)| **u)
        .map(|(p, _)| p.to_string())
        .collect();
    header.extend(metrics.iter().cloned());
    let mut text = format!("| {} |\n", header.join(" | "));
    text += &format!("|{}\n", "---|".repeat(header.len()));
    for r in rows {
        let cells: Vec<String> = r
            .iter()
            .enumerate()
            .filter(|(c, _)| *c >= params.len() || used[*c])
            .map(|(_, s)| escape(s))
            .collect();
        text += &format!("| {} |\n", cells.join(" | "));
    }
    text
}

fn markdown(
    plan: &Plan,
    rows: &[Row],
    groups: &[Group],
    metrics: &[String],
    missing: usize,
) -> String {
    let mut text = format!("# Sweep `{}`\n\n", plan.name);
    text += &format!(
        "{} jobs{}. Each cell is the mean [95% CI] over the job's seeds (`seeds` runs per \
         policy, from `first_seed`). `trained` is the checkpoint the job trained.\n\n",
        plan.jobs.len() - missing,
        if missing > 0 {
            format!(" ({missing} more without a result, left out)")
        } else {
            String::new()
        }
    );
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut cells: Vec<String> = row_params(r).into();
            cells.extend(metrics.iter().map(|m| cell(r.metrics.get(m))));
            cells
        })
        .collect();
    text += &md_table(&ROW_PARAMS, &table, metrics);
    if !groups.is_empty() {
        text += "\n## Across seeds\n\nJobs that differ only in seed: each job's mean is one \
                 sample, and each cell is the mean [95% CI] over the jobs.\n\n";
        let table: Vec<Vec<String>> = groups
            .iter()
            .map(|g| {
                let mut cells: Vec<String> = group_params(g).into();
                cells.extend(metrics.iter().map(|m| cell(g.estimate(m).as_ref())));
                cells
            })
            .collect();
        text += &md_table(&GROUP_PARAMS, &table, metrics);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::sweep::plan::{JobId, Training};

    fn job(id: u32, first_seed: u64, training: Option<Training>) -> Job {
        let policies = match &training {
            Some(t) => vec![format!("ppo:{}", t.checkpoint.display()), "lnd".into()],
            None => vec!["lnd".into(), "oracle".into()],
        };
        Job {
            id: JobId(id),
            kind: if training.is_some() {
                JobKind::Train
            } else {
                JobKind::Compare
            },
            scene: "s.ron".into(),
            scene_path: "/s.ron".into(),
            training,
            payments: 100,
            seeds: 2,
            first_seed,
            policies,
            folder: format!("jobs/{id:04}"),
            commands: vec![],
        }
    }

    fn row<'a>(job: &'a Job, policy: &str, success: f64) -> Row<'a> {
        let e = Estimate {
            mean: success,
            ci95_low: success - 0.1,
            ci95_high: success + 0.1,
        };
        Row {
            job,
            policy: job.policy_label(policy).to_string(),
            metrics: BTreeMap::from([("success_rate".to_string(), e)]),
        }
    }

    #[test]
    fn jobs_differing_only_in_seed_are_grouped_and_averaged_over_jobs() {
        let training = |seed: u64| Training {
            steps: 10,
            seed,
            segment_payments: None,
            checkpoint: format!("/out/jobs/{seed:04}/agent.safetensors").into(),
        };
        let jobs = [
            job(0, 100, None),
            job(1, 200, None),
            job(2, 300, None),
            job(3, 1001, Some(training(1))),
            job(4, 1002, Some(training(2))),
        ];
        let mut rows = Vec::new();
        for (j, s) in jobs[..3].iter().zip([0.5, 0.6, 0.7]) {
            rows.push(row(j, "lnd", s));
            rows.push(row(j, "oracle", s + 0.2));
        }
        for (j, s) in jobs[3..].iter().zip([0.8, 0.9]) {
            rows.push(row(j, &j.policies[0].clone(), s));
        }
        let groups = groups(&rows);
        let described: Vec<(String, String, String)> = groups
            .iter()
            .map(|g| (group_params(g)[6].clone(), g.job_ids(), g.seeds()))
            .collect();
        assert_eq!(
            described,
            [
                ("lnd".into(), "0 1 2".into(), "100 200 300".into()),
                ("oracle".into(), "0 1 2".into(), "100 200 300".into()),
                ("trained".into(), "3 4".into(), "1 2".into()),
            ]
        );
        let lnd = groups[0].estimate("success_rate").unwrap();
        assert_eq!(lnd, estimate(&[0.5, 0.6, 0.7]));
        assert!(groups[0].estimate("fees_paid_msat").is_none());
    }

    #[test]
    fn wall_clock_metrics_stay_out_and_headroom_closed_comes_in() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("result.json");
        let j = job(0, 100, None);
        let e = r#"{"mean": 0.5, "ci95_low": 0.4, "ci95_high": 0.6}"#;
        std::fs::write(
            &path,
            format!(
                r#"{{"scene": "s", "payments": 100, "first_seed": 100, "seeds": 2,
                "results": [{{"policy": "lnd", "success_rate": {e}, "payments_per_second": {e}}},
                            {{"policy": "oracle", "success_rate": {e}}}],
                "headroom": {{"oracle_minus_lnd": {e}, "seeds_with_headroom": 2,
                              "closed": {{"oracle": {e}}}}}}}"#
            ),
        )
        .unwrap();
        let rows = read_rows(&j, &path).unwrap();
        let names: Vec<Vec<&String>> = rows.iter().map(|r| r.metrics.keys().collect()).collect();
        assert_eq!(
            names,
            [vec!["success_rate"], vec![HEADROOM_CLOSED, "success_rate"]]
        );
        assert_eq!(
            metric_names(&rows),
            ["success_rate", HEADROOM_CLOSED],
            "in the order of FIRST"
        );

        // A result for other parameters is refused, naming the file.
        let other = job(0, 999, None);
        let e = read_rows(&other, &path).err().unwrap().to_string();
        assert!(e.starts_with(&path.display().to_string()), "{e}");
        assert!(
            e.contains("first seed 100") && e.contains("first seed 999"),
            "{e}"
        );
        std::fs::write(&path, "{ not json").unwrap();
        let e = format!("{:#}", read_rows(&j, &path).err().unwrap());
        assert!(e.contains("not an `lnlab compare --json` result"), "{e}");
    }
}
