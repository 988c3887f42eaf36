//! `lnlab import describegraph` and `lnlab generate`: real and synthetic graphs in, scenes
//! out (saved atomically), with a summary of what was kept and skipped.

use crate::network::generate::{GenerateParams, GraphModel, generate as generate_scene};
use crate::network::import::import_describegraph;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Subcommand)]
pub enum ImportFormat {
    /// `lncli describegraph` JSON.
    Describegraph {
        file: PathBuf,
        /// Scene file to write.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..=1_000_000))]
    pub nodes: u64,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub channels: u64,
    /// barabasi-albert or watts-strogatz.
    #[arg(long, default_value = "barabasi-albert")]
    pub model: GraphModel,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Scene file to write.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
}

pub fn import(format: ImportFormat) -> anyhow::Result<()> {
    match format {
        ImportFormat::Describegraph { file, out } => {
            let start = Instant::now();
            let (scene, summary) = import_describegraph(&file)?;
            crate::scene::save(&scene, &out)?;
            print!("{summary}");
            println!(
                "wrote {} in {:.2} s",
                out.display(),
                start.elapsed().as_secs_f64()
            );
            Ok(())
        }
    }
}

pub fn generate(args: GenerateArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let params = GenerateParams {
        nodes: args.nodes as usize,
        channels: args.channels as usize,
        model: args.model,
        seed: args.seed,
    };
    let scene = generate_scene(&params).map_err(anyhow::Error::msg)?;
    crate::scene::save(&scene, &args.out)?;
    println!(
        "generated {} nodes, {} channels ({}) -> {} in {:.2} s",
        scene.nodes.len(),
        scene.channels.len(),
        args.model,
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
