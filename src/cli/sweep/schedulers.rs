//! The files an existing scheduler runs a sweep from, with no cluster code of ours:
//! `jobs.txt`, one POSIX shell command line per job (GNU parallel runs it as it is:
//! `parallel < jobs.txt`), and `slurm.sh`, a Slurm job-array script whose task N runs line
//! N+1 of `jobs.txt` with its output in job N's folder. This module owns their text and the
//! shell quoting in it.

use super::plan::{JobId, Plan, folder_digits};
use std::path::Path;

/// The job list, in the sweep's folder.
pub const JOBS_FILE: &str = "jobs.txt";
/// The Slurm script, in the sweep's folder.
pub const SLURM_FILE: &str = "slurm.sh";
/// Where a job's output goes, in its folder, under every runner.
pub const STDOUT_FILE: &str = "stdout.txt";
pub const STDERR_FILE: &str = "stderr.txt";

/// A word for a POSIX shell: as it is when it is made only of characters no shell treats
/// specially, else in single quotes (a quote inside as `'\''`). The words here never hold
/// a line break or NUL (the spec refuses them), so each command stays on one line.
pub fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-+=:,./@%".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Job `id`'s shell line: each step `lnlab ARGS`, joined with `&&`.
pub fn job_line(lnlab: &Path, commands: &[Vec<String>]) -> String {
    let exe = quote(&lnlab.display().to_string());
    commands
        .iter()
        .map(|args| {
            std::iter::once(exe.clone())
                .chain(args.iter().map(|a| quote(a)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(" && ")
}

/// `jobs.txt`: line N+1 is job N.
pub fn jobs_txt(plan: &Plan) -> String {
    let mut text = String::new();
    for job in &plan.jobs {
        text += &job_line(&plan.lnlab, &job.commands);
        text.push('\n');
    }
    text
}

/// `slurm.sh` for the sweep in `dir` (absolute): an array of one task per job, each running
/// its line of `jobs.txt` with stdout and stderr in the job's folder.
pub fn slurm_sh(plan: &Plan, dir: &Path) -> String {
    let last = JobId(plan.jobs.len().saturating_sub(1) as u32);
    let digits = folder_digits(plan.jobs.len());
    let dir = quote(&dir.display().to_string());
    format!(
        r#"#!/bin/bash
#SBATCH --job-name={name}
#SBATCH --array=0-{last}
#SBATCH --ntasks=1
# Written by `lnlab sweep` for the sweep "{name}": {count} jobs, task N runs line N+1 of
# jobs.txt. Submit with `sbatch slurm.sh`; add your cluster's options (partition, time,
# memory, cores) as #SBATCH lines above, or on sbatch's command line, which overrides
# them (`sbatch --array=0-{last}%10 slurm.sh` runs at most 10 at once). Each task's
# output goes to stdout.txt and stderr.txt in its job's folder.
set -euo pipefail
sweep={dir}
task=${{SLURM_ARRAY_TASK_ID:?run this script with sbatch, as an array job}}
line=$(sed -n "$((task + 1))p" "$sweep/{jobs}")
if [ -z "$line" ]; then
    echo "no job $task in $sweep/{jobs}" >&2
    exit 1
fi
job=$(printf '%s/jobs/%0{digits}d' "$sweep" "$task")
mkdir -p "$job"
bash -c "$line" >"$job/{stdout}" 2>"$job/{stderr}"
"#,
        name = plan.name,
        count = plan.jobs.len(),
        jobs = JOBS_FILE,
        stdout = STDOUT_FILE,
        stderr = STDERR_FILE,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_leaves_plain_words_and_quotes_the_rest() {
        assert_eq!(quote("/data/run-1/scene.ron"), "/data/run-1/scene.ron");
        assert_eq!(
            quote("lnd,ppo:/a/b.safetensors"),
            "lnd,ppo:/a/b.safetensors"
        );
        assert_eq!(quote("my scenes/a b.ron"), "'my scenes/a b.ron'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$HOME;rm *"), "'$HOME;rm *'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn steps_are_joined_so_that_a_failure_stops_the_job() {
        let line = job_line(
            Path::new("/opt/ln lab/lnlab"),
            &[
                vec!["train".into(), "a b.ron".into()],
                vec!["compare".into(), "x".into()],
            ],
        );
        assert_eq!(
            line,
            "'/opt/ln lab/lnlab' train 'a b.ron' && '/opt/ln lab/lnlab' compare x"
        );
    }
}
