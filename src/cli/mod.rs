//! The headless command line: argument parsing (clap) and one thin function per command
//! over the engine. Errors end as one line on stderr and a non-zero exit code; nothing
//! here panics on user input.

mod bench;
mod compare;
mod import;
mod l402;
mod lab;
mod progress;
mod run;
pub mod stats;
mod sweep;
mod train;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "lnlab",
    version,
    about = "A lab where agents learn to route Lightning payments",
    long_about = "A lab where agents learn to route Lightning payments.\n\n\
        `lnlab [SCENE]` opens the desktop lab (default scene: scenes/classroom.ron); the \
        subcommands do the same work headless.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub lab: lab::LabArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scene headless and print a summary.
    Run(run::RunArgs),
    /// Run several policies on the same seeded workload and compare them.
    Compare(compare::CompareArgs),
    /// Train the scene's PPO agents (headless, inside Bevy ECS).
    Train(train::TrainArgs),
    /// Run the standard benchmark and print its figures.
    Bench(bench::BenchArgs),
    /// Import a real graph into a scene.
    Import {
        #[command(subcommand)]
        format: import::ImportFormat,
    },
    /// Paid APIs over the network (L402).
    L402 {
        #[command(subcommand)]
        command: l402::L402Command,
    },
    /// Generate a synthetic graph as a scene.
    Generate(import::GenerateArgs),
    /// Expand a grid of compare and train jobs: run them here, or write them for GNU
    /// parallel and Slurm; `sweep collect` merges the results.
    Sweep(sweep::SweepArgs),
}

/// Parse arguments, run the command, and return the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        None => crate::ecs::lab::run(cli.lab.into()),
        Some(Command::Run(args)) => run::run(args),
        Some(Command::Compare(args)) => compare::compare(args),
        Some(Command::Train(args)) => train::train(args),
        Some(Command::Bench(args)) => bench::bench(args),
        Some(Command::Import { format }) => import::import(format),
        Some(Command::Generate(args)) => import::generate(args),
        Some(Command::L402 { command }) => l402::l402(command),
        Some(Command::Sweep(args)) => sweep::sweep(args),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    }
}

/// Load a scene for a command, with the file's own error message.
pub(crate) fn load_scene(path: &std::path::Path) -> anyhow::Result<crate::scene::Scene> {
    Ok(crate::scene::load(path)?)
}

/// Write bytes to a user-named output file atomically, naming the file on error.
pub(crate) fn write_output(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    crate::files::write_atomically(path, bytes)
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", path.display()))
}
