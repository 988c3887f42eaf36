//! Running a sweep's jobs on this machine: at most N at once, each job's steps run in
//! order as child `lnlab` processes (the same commands `jobs.txt` holds), their output to
//! files in the job's folder, one progress line per finished job, and a summary naming the
//! jobs that failed. A job that already has its result is not run again, so running the
//! sweep again after a failure runs only what is missing.

use super::plan::{Job, Plan};
use super::schedulers::{STDERR_FILE, STDOUT_FILE};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// How one job ended.
enum Outcome {
    Done,
    Failed(String),
}

/// Run the jobs of `plan` (in `dir`, absolute) that have no result yet, with `exe` as
/// lnlab and at most `workers` at once. Errors if any job failed.
pub fn run(plan: &Plan, dir: &Path, exe: &Path, workers: usize) -> anyhow::Result<()> {
    let pending: Vec<&Job> = plan
        .jobs
        .iter()
        .filter(|j| !Plan::result_path(dir, j).exists())
        .collect();
    let kept = plan.jobs.len() - pending.len();
    if kept > 0 {
        println!(
            "{kept} of {} jobs already have a result and are not run again",
            plan.jobs.len()
        );
    }
    if pending.is_empty() {
        return Ok(());
    }
    let workers = workers.clamp(1, pending.len());
    println!(
        "running {}, at most {workers} at once (output in each job's {STDOUT_FILE} and \
         {STDERR_FILE})",
        super::count_jobs(pending.len())
    );
    let next = AtomicUsize::new(0);
    let finished = Mutex::new((0usize, Vec::<(&Job, String)>::new()));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = pending.get(i) else {
                        break;
                    };
                    let start = Instant::now();
                    let outcome = run_job(job, dir, exe);
                    let seconds = start.elapsed().as_secs_f64();
                    let mut finished = finished.lock().expect("no poisoned lock");
                    finished.0 += 1;
                    let count = format!("[{}/{}]", finished.0, pending.len());
                    match outcome {
                        Outcome::Done => println!(
                            "{count} job {} done in {seconds:.1} s: {}",
                            job.id,
                            job.describe()
                        ),
                        Outcome::Failed(why) => {
                            println!("{count} job {} FAILED: {}: {why}", job.id, job.describe());
                            finished.1.push((job, why));
                        }
                    }
                }
            });
        }
    });
    let (_, mut failed) = finished.into_inner().expect("no poisoned lock");
    if failed.is_empty() {
        return Ok(());
    }
    failed.sort_by_key(|(job, _)| job.id);
    let ids: Vec<String> = failed.iter().map(|(j, _)| j.id.to_string()).collect();
    let (first, why) = &failed[0];
    anyhow::bail!(
        "{} of {} jobs failed (job {}); job {}: {why}. What finished is kept: running the \
         same sweep again runs only the jobs without a result",
        failed.len(),
        pending.len(),
        ids.join(", "),
        first.id
    )
}

/// Run one job's steps in order, stopping at the first that fails.
fn run_job(job: &Job, dir: &Path, exe: &Path) -> Outcome {
    let folder = dir.join(&job.folder);
    let opened = std::fs::create_dir_all(&folder).and_then(|()| {
        Ok((
            File::create(folder.join(STDOUT_FILE))?,
            File::create(folder.join(STDERR_FILE))?,
        ))
    });
    let (stdout, stderr) = match opened {
        Ok(files) => files,
        Err(e) => return Outcome::Failed(format!("{}: cannot write: {e}", folder.display())),
    };
    let stderr_path = folder.join(STDERR_FILE);
    for (step, args) in job.commands.iter().enumerate() {
        let files = stdout
            .try_clone()
            .and_then(|o| Ok((o, stderr.try_clone()?)));
        let (out, err) = match files {
            Ok(f) => f,
            Err(e) => return Outcome::Failed(format!("{}: {e}", folder.display())),
        };
        let status = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .status();
        let what = format!(
            "step {} of {} (lnlab {})",
            step + 1,
            job.commands.len(),
            args.first().map_or("", String::as_str)
        );
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                let code = s
                    .code()
                    .map_or_else(|| "was killed".to_string(), |c| format!("exited with {c}"));
                return Outcome::Failed(format!(
                    "{what} {code}{}",
                    last_line(&stderr_path)
                        .map(|l| format!(": {l}"))
                        .unwrap_or_default()
                ));
            }
            Err(e) => {
                return Outcome::Failed(format!("{what} could not start {}: {e}", exe.display()));
            }
        }
    }
    let result: PathBuf = Plan::result_path(dir, job);
    if !result.exists() {
        return Outcome::Failed(format!(
            "finished without writing {} (see {})",
            result.display(),
            stderr_path.display()
        ));
    }
    Outcome::Done
}

/// The last non-empty line of a job's stderr, where lnlab's one-line errors end up.
fn last_line(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}
