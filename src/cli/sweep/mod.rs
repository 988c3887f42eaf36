//! `lnlab sweep`: a grid of independent `compare` and `train` jobs from a RON spec
//! (`spec`), written as a plan (`plan`) and as files for an existing scheduler
//! (`schedulers`: a GNU parallel job list and a Slurm array script), run here at most N at
//! once (`local`), and merged into tables (`collect`). This file holds the arguments and
//! the sweep folder: what may be written where, and when a folder is refused.

mod collect;
mod local;
mod plan;
mod schedulers;
mod spec;

use anyhow::Context;
use clap::{Args, Subcommand};
use plan::{PLAN_FILE, PLAN_VERSION, Plan};
use schedulers::{JOBS_FILE, SLURM_FILE};
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Then `lnlab sweep collect DIR` merges the results into tables."
)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub command: Option<SweepCommand>,
    /// The sweep spec (RON): a name and grids of `compare` and `train` jobs.
    #[arg(required = true)]
    pub spec: Option<PathBuf>,
    /// The sweep's folder: the plan, jobs.txt, slurm.sh, and a folder per job. A new or
    /// empty folder, or one holding the plan of this same spec (then only the jobs without
    /// a result run).
    #[arg(long, required = true, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Jobs run at once (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub jobs: Option<u64>,
    /// Write the plan, jobs.txt and slurm.sh, and run nothing.
    #[arg(long)]
    pub emit_only: bool,
    /// The lnlab that jobs.txt and slurm.sh call (default: the one running). Local runs
    /// use the one running whatever this says.
    #[arg(long, value_name = "PATH")]
    pub lnlab: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum SweepCommand {
    /// Merge the jobs' results into one table (CSV and Markdown), with 95% CIs.
    Collect {
        /// The sweep's folder (`--out` of `lnlab sweep`).
        dir: PathBuf,
        /// Tabulate the jobs that have a result and leave the others out.
        #[arg(long)]
        allow_missing: bool,
    },
}

pub fn sweep(args: SweepArgs) -> anyhow::Result<()> {
    match args.command {
        Some(SweepCommand::Collect { dir, allow_missing }) => collect::collect(&dir, allow_missing),
        None => {
            let (Some(spec), Some(out)) = (&args.spec, &args.out) else {
                anyhow::bail!("give a spec and --out DIR, or `collect DIR`");
            };
            plan_and_run(spec, out, &args)
        }
    }
}

fn plan_and_run(spec_path: &Path, out: &Path, args: &SweepArgs) -> anyhow::Result<()> {
    let (spec, text) = spec::load(spec_path)?;
    let out = one_line_path(out, "--out")?;
    let jobs = spec::expand(&spec, &text, spec_path, &out)?;
    let exe = std::env::current_exe().context("cannot find this lnlab's own path")?;
    let lnlab = match &args.lnlab {
        Some(p) => one_line_path(p, "--lnlab")?,
        None => one_line_path(&exe, "this lnlab's path")?,
    };
    let plan = Plan {
        format_version: PLAN_VERSION,
        name: spec.name.clone(),
        spec: std::path::absolute(spec_path)?,
        lnlab,
        jobs,
    };
    prepare_folder(&out, &plan)?;
    let write = |name: &str, bytes: &[u8]| super::write_output(&out.join(name), bytes);
    write(PLAN_FILE, &plan.to_json())?;
    write(JOBS_FILE, schedulers::jobs_txt(&plan).as_bytes())?;
    write(SLURM_FILE, schedulers::slurm_sh(&plan, &out).as_bytes())?;
    for job in &plan.jobs {
        let dir = out.join(&job.folder);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    let trains = plan.jobs.iter().filter(|j| j.training.is_some()).count();
    println!(
        "sweep `{}`: {} ({} compare, {trains} train) planned in {}",
        plan.name,
        count_jobs(plan.jobs.len()),
        plan.jobs.len() - trains,
        out.display()
    );
    if args.emit_only {
        let shown = schedulers::quote(&out.display().to_string());
        println!("run them with GNU parallel:  parallel --jobs N < {shown}/{JOBS_FILE}");
        println!("or as a Slurm job array:     sbatch {shown}/{SLURM_FILE}");
        println!("then:                        lnlab sweep collect {shown}");
        return Ok(());
    }
    let workers = match args.jobs {
        Some(n) => n as usize,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    local::run(&plan, &out, &exe, workers)?;
    collect::collect(&out, false)
}

/// "1 job", "3 jobs".
fn count_jobs(n: usize) -> String {
    if n == 1 {
        "1 job".to_string()
    } else {
        format!("{n} jobs")
    }
}

/// An absolute path that fits on one line of jobs.txt.
fn one_line_path(path: &Path, what: &str) -> anyhow::Result<PathBuf> {
    let text = path.to_string_lossy();
    if text.contains(['\n', '\r', '\0']) {
        anyhow::bail!(
            "{what} {text:?}: a line break or NUL in a path cannot go on one line of jobs.txt"
        );
    }
    std::path::absolute(path).with_context(|| format!("{what} {}", path.display()))
}

/// The sweep folder may be new, empty, or hold the plan of the same sweep (a rerun, which
/// keeps the results there); anything else is refused rather than mixed with this sweep.
fn prepare_folder(out: &Path, plan: &Plan) -> anyhow::Result<()> {
    if out.exists() && !out.is_dir() {
        anyhow::bail!("--out {}: not a folder", out.display());
    }
    if out.is_dir() {
        match Plan::read(out)? {
            Some(old) if old.name == plan.name && old.jobs == plan.jobs => {}
            Some(old) => anyhow::bail!(
                "--out {}: holds the plan of another sweep (`{}`, {} jobs, from {}); its \
                 results would be mixed with this one's. Choose another folder, or delete \
                 this one to start over",
                out.display(),
                old.name,
                old.jobs.len(),
                old.spec.display()
            ),
            None => {
                let mut entries = std::fs::read_dir(out)
                    .with_context(|| format!("--out {}: cannot read", out.display()))?;
                if entries.next().is_some() {
                    anyhow::bail!(
                        "--out {}: not empty and holds no sweep plan; choose a new or empty \
                         folder",
                        out.display()
                    );
                }
            }
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("--out {}: cannot create", out.display()))
}
