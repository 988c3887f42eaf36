//! The plan of a sweep: its jobs, each with the parameters it stands for and the `lnlab`
//! commands that produce its `result.json`, as written to `DIR/plan.json`. Every other part
//! of the sweep reads this: the local runner runs the commands, the scheduler files quote
//! them, and `collect` labels each result with its parameters.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// The plan file's version; `collect` refuses others.
pub const PLAN_VERSION: u32 = 1;
/// The plan, inside the sweep's folder.
pub const PLAN_FILE: &str = "plan.json";
/// What every job writes last, inside its own folder: the `lnlab compare --json` output.
pub const RESULT_FILE: &str = "result.json";
/// The trained checkpoint of a train job, inside its folder.
pub const CHECKPOINT_FILE: &str = "agent.safetensors";
/// The training metrics of a train job, inside its folder.
pub const METRICS_FILE: &str = "metrics.csv";
/// The policy label `collect` gives a train job's own checkpoint (its path differs from job
/// to job, so jobs that differ only in seed would not line up under it).
pub const TRAINED_LABEL: &str = "trained";

/// A job's number: its line in `jobs.txt` (from 0) and its Slurm array index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub u32);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Digits in job folder names for a sweep of `jobs` jobs: 4, or more for a larger sweep,
/// so that folders sort in job order.
pub fn folder_digits(jobs: usize) -> usize {
    jobs.saturating_sub(1).to_string().len().max(4)
}

/// The folder of job `id`, relative to the sweep's folder.
pub fn job_folder(id: JobId, digits: usize) -> String {
    format!("jobs/{:0digits$}", id.0)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    /// One `lnlab compare`.
    Compare,
    /// `lnlab train`, then `lnlab compare` of the checkpoint it wrote.
    Train,
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JobKind::Compare => "compare",
            JobKind::Train => "train",
        })
    }
}

/// What a train job trains.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// Payments trained on (`lnlab train --steps`).
    pub steps: u64,
    /// `lnlab train --seed`.
    pub seed: u64,
    /// `lnlab train --segment-payments`, if the spec gives it.
    pub segment_payments: Option<u64>,
    /// The checkpoint written, and compared as `ppo:PATH`.
    pub checkpoint: PathBuf,
}

/// One independent job. Every job ends with an `lnlab compare` whose parameters are
/// `payments`, `seeds`, `first_seed` and `policies`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    /// The scene as the spec names it (for tables), and the file it resolved to.
    pub scene: String,
    pub scene_path: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub training: Option<Training>,
    /// Payments per run of the comparison.
    pub payments: u64,
    /// Runs per policy: seeds `first_seed .. first_seed + seeds`.
    pub seeds: u64,
    pub first_seed: u64,
    /// The policies compared, as `--policies` gets them.
    pub policies: Vec<String>,
    /// The job's folder, relative to the sweep's.
    pub folder: String,
    /// `lnlab`'s arguments for each step, run in order, each only if the one before
    /// succeeded.
    pub commands: Vec<Vec<String>>,
}

impl Job {
    /// The short description in progress lines and errors.
    pub fn describe(&self) -> String {
        let mut s = format!("{} {}", self.kind, self.scene);
        if let Some(t) = &self.training {
            s += &format!(" steps {} seed {}", t.steps, t.seed);
            if let Some(n) = t.segment_payments {
                s += &format!(" segment-payments {n}");
            }
        }
        s += &format!(
            " payments {} seeds {} first-seed {}",
            self.payments, self.seeds, self.first_seed
        );
        s
    }

    /// The label a policy of this job gets in tables: [`TRAINED_LABEL`] for the job's own
    /// checkpoint, the policy itself otherwise.
    pub fn policy_label<'a>(&self, policy: &'a str) -> &'a str {
        match &self.training {
            Some(t) if policy.strip_prefix("ppo:") == t.checkpoint.to_str() => TRAINED_LABEL,
            _ => policy,
        }
    }
}

/// The parameters of a job's final comparison, and where it writes.
pub struct Comparison<'a> {
    pub scene: &'a Path,
    pub policies: &'a [String],
    pub payments: u64,
    pub seeds: u64,
    pub first_seed: u64,
    pub json: &'a Path,
}

impl Comparison<'_> {
    /// `lnlab compare`'s arguments.
    pub fn args(&self) -> Vec<String> {
        vec![
            "compare".into(),
            path_arg(self.scene),
            "--policies".into(),
            self.policies.join(","),
            "--payments".into(),
            self.payments.to_string(),
            "--seeds".into(),
            self.seeds.to_string(),
            "--seed".into(),
            self.first_seed.to_string(),
            "--json".into(),
            path_arg(self.json),
        ]
    }
}

/// `lnlab train`'s arguments for a train job: the checkpoint and metrics go into the job's
/// folder; the evaluation at the end of training runs on `eval_payments` payments.
pub fn train_args(scene: &Path, t: &Training, metrics: &Path, eval_payments: u64) -> Vec<String> {
    let mut args = vec![
        "train".into(),
        path_arg(scene),
        "--steps".into(),
        t.steps.to_string(),
        "--seed".into(),
        t.seed.to_string(),
    ];
    if let Some(n) = t.segment_payments {
        args.extend(["--segment-payments".into(), n.to_string()]);
    }
    args.extend([
        "--eval-payments".into(),
        eval_payments.to_string(),
        "--out".into(),
        path_arg(&t.checkpoint),
        "--metrics".into(),
        path_arg(metrics),
    ]);
    args
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

/// The plan file: the sweep's name, where it came from, the `lnlab` the scheduler files
/// call, and the jobs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub format_version: u32,
    pub name: String,
    /// The spec file, absolute.
    pub spec: PathBuf,
    /// The `lnlab` that `jobs.txt` and `slurm.sh` call.
    pub lnlab: PathBuf,
    pub jobs: Vec<Job>,
}

impl Plan {
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("plans always serialise");
        bytes.push(b'\n');
        bytes
    }

    /// Read `DIR/plan.json`; `Ok(None)` when there is none.
    pub fn read(dir: &Path) -> anyhow::Result<Option<Plan>> {
        let path = dir.join(PLAN_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => anyhow::bail!("{}: cannot read: {e}", path.display()),
        };
        let plan: Plan = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a sweep plan", path.display()))?;
        if plan.format_version != PLAN_VERSION {
            anyhow::bail!(
                "{}: plan format_version {} is not supported (this lnlab reads version \
                 {PLAN_VERSION})",
                path.display(),
                plan.format_version
            );
        }
        Ok(Some(plan))
    }

    /// Where job `job` writes its result.
    pub fn result_path(dir: &Path, job: &Job) -> PathBuf {
        dir.join(&job.folder).join(RESULT_FILE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_sort_in_job_order_at_any_size() {
        assert_eq!(job_folder(JobId(7), folder_digits(12)), "jobs/0007");
        assert_eq!(folder_digits(10_000), 4, "jobs 0..=9999 fit in four digits");
        assert_eq!(folder_digits(10_001), 5);
        assert_eq!(
            job_folder(JobId(10_000), folder_digits(10_001)),
            "jobs/10000"
        );
    }

    #[test]
    fn a_train_jobs_own_checkpoint_is_labelled_trained() {
        let job = Job {
            id: JobId(0),
            kind: JobKind::Train,
            scene: "s.ron".into(),
            scene_path: "/x/s.ron".into(),
            training: Some(Training {
                steps: 10,
                seed: 1,
                segment_payments: None,
                checkpoint: "/out/jobs/0000/agent.safetensors".into(),
            }),
            payments: 5,
            seeds: 1,
            first_seed: 1001,
            policies: vec!["ppo:/out/jobs/0000/agent.safetensors".into(), "lnd".into()],
            folder: "jobs/0000".into(),
            commands: vec![],
        };
        assert_eq!(job.policy_label(&job.policies[0]), TRAINED_LABEL);
        assert_eq!(job.policy_label("lnd"), "lnd");
        assert_eq!(
            job.policy_label("ppo:/other.safetensors"),
            "ppo:/other.safetensors"
        );
    }
}
