//! `lnlab import describegraph` and `lnlab generate`: real and synthetic graphs in, scenes
//! out (saved atomically), with a summary of what was kept and skipped.

use crate::scene::generate::{GenerateParams, GraphModel, generate as generate_scene};
use crate::scene::import::import_describegraph;
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
        /// Make every node an agent, set up like this scene's first agent group (its PPO
        /// settings and rewards): a real graph to train on, e.g. with
        /// `scenes/jamming_mainnet_like.ron`.
        #[arg(long, value_name = "SCENE.ron")]
        agents_like: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..=1_000_000))]
    pub nodes: u64,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub channels: u64,
    /// barabasi-albert, watts-strogatz or mainnet-like.
    #[arg(long, default_value = "barabasi-albert")]
    pub model: GraphModel,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Scene file to write.
    #[arg(short = 'o', long = "out")]
    pub out: PathBuf,
    /// Make the N best-connected nodes one PPO agent group (a scene to train on).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub agent_hubs: usize,
    /// Make every node an agent, set up like this scene's first agent group.
    #[arg(long, value_name = "SCENE.ron", conflicts_with = "agent_hubs")]
    pub agents_like: Option<PathBuf>,
}

/// The agents of `template` (read from `path`) at every one of `nodes` nodes (see
/// `--agents-like`).
fn agents_like(
    path: &std::path::Path,
    template: &crate::scene::Scene,
    nodes: usize,
) -> anyhow::Result<crate::rl::config::AgentsSection> {
    template
        .agents
        .as_ref()
        .and_then(|a| a.at_every_node(nodes))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "{}: the scene has no agent group to copy (--agents-like)",
                path.display()
            )
        })
}

pub fn import(format: ImportFormat) -> anyhow::Result<()> {
    match format {
        ImportFormat::Describegraph {
            file,
            out,
            agents_like: template,
        } => {
            let start = Instant::now();
            // The template first: a mistyped path fails before a long import.
            let template = template.map(|t| super::load_scene(&t).map(|s| (t, s)));
            let template = template.transpose()?;
            let (mut scene, summary) = import_describegraph(&file)?;
            if let Some((path, template)) = &template {
                scene.agents = Some(agents_like(path, template, scene.nodes.len())?);
            }
            crate::scene::save(&scene, &out)?;
            println!("{summary}");
            if let Some((path, _)) = &template {
                println!(
                    "every node an agent, set up like {}'s first group",
                    path.display()
                );
            }
            if let Some((parts, min_msat)) = scene.routing.mpp {
                println!(
                    "multi-part payments on, as in real wallets (routing.mpp: up to {parts} parts of at least {} sat)",
                    min_msat / 1000
                );
            }
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
    let template = args
        .agents_like
        .as_ref()
        .map(|t| super::load_scene(t).map(|s| (t, s)))
        .transpose()?;
    let params = GenerateParams {
        nodes: args.nodes as usize,
        channels: args.channels as usize,
        model: args.model,
        seed: args.seed,
    };
    let mut scene = generate_scene(&params).map_err(anyhow::Error::msg)?;
    if args.agent_hubs > 0 {
        scene.agents = Some(hub_agents(&scene, args.agent_hubs));
    }
    if let Some((path, template)) = &template {
        scene.agents = Some(agents_like(path, template, scene.nodes.len())?);
    }
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

/// One agent group of the `n` nodes with the most channels (ties by index).
fn hub_agents(scene: &crate::scene::Scene, n: usize) -> crate::rl::config::AgentsSection {
    let mut degree = vec![0u32; scene.nodes.len()];
    for c in &scene.channels {
        degree[c.node1 as usize] += 1;
        degree[c.node2 as usize] += 1;
    }
    let mut order: Vec<u32> = (0..scene.nodes.len() as u32).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(degree[i as usize]), i));
    order.truncate(n);
    order.sort_unstable();
    crate::rl::config::AgentsSection {
        groups: vec![crate::rl::config::AgentGroup {
            name: "hubs".into(),
            nodes: order,
            ppo: Default::default(),
            checkpoint: None,
        }],
        rewards: Default::default(),
        continual: true,
    }
}
