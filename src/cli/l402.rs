//! `lnlab l402 demo`: one complete paid API call through the network, as a transcript.

use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum L402Command {
    /// Run one paid call end to end and print it as an HTTP transcript.
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Scene (default: scenes/classroom.ron). The client is its first Client node and the
    /// service its first ApiService node.
    pub scene: Option<PathBuf>,
    /// Write the demo's fields as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Also show the root key and the preimage (teaching only).
    #[arg(long)]
    pub reveal_secrets: bool,
}

pub fn l402(cmd: L402Command) -> anyhow::Result<()> {
    match cmd {
        L402Command::Demo(args) => {
            let path = args
                .scene
                .unwrap_or_else(|| PathBuf::from("scenes/classroom.ron"));
            let scene = super::load_scene(&path)?;
            let report = crate::session::l402_demo(&scene, args.reveal_secrets)
                .map_err(anyhow::Error::msg)?;
            print!("{}", report.transcript);
            if let Some(out) = &args.json {
                super::write_output(out, &serde_json::to_vec_pretty(&report)?)?;
            }
            Ok(())
        }
    }
}
