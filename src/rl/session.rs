//! Setting up a run with agents: which nodes are agents (the scene's groups, or every node
//! for `--policy ppo:PATH`), where their policies come from (checkpoints or fresh), and
//! hop-by-hop routing so that agents on the way get to decide.

use super::agents::{Agents, Trainer};
use super::config::{AgentGroup, AgentsSection, PpoConfig};
use super::policy::{CheckpointError, Policy};
use crate::routing::{RouterKind, build_router};
use crate::scene::Scene;
use crate::sim::engine::Engine;
use std::path::{Path, PathBuf};

/// What to run.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    pub seed: u64,
    pub payments: u64,
    /// Evaluate one checkpoint at every node, frozen (the `ppo:PATH` policy).
    pub everywhere: Option<PathBuf>,
    /// Resume every group from this checkpoint instead of the scene's.
    pub resume: Option<PathBuf>,
    /// Learn (scene's `continual`) or force frozen evaluation.
    pub freeze: bool,
}

/// Build a trainer for a scene; `scene_dir` resolves checkpoint paths named in the scene.
pub fn trainer(
    scene: &Scene,
    scene_dir: &Path,
    options: &SessionOptions,
) -> Result<Trainer, String> {
    let mut scene = scene.clone();
    let section = match &options.everywhere {
        Some(_) => AgentsSection {
            groups: vec![AgentGroup {
                name: "ppo".into(),
                nodes: (0..scene.nodes.len() as u32).collect(),
                ppo: PpoConfig::default(),
                checkpoint: None,
            }],
            rewards: Default::default(),
            continual: false,
        },
        None => scene
            .agents
            .clone()
            .ok_or_else(|| format!("scene `{}` has no agents section", scene.name))?,
    };
    scene.routing.hop_by_hop = true;
    let baseline = RouterKind::parse(&scene.routing.policy)?;
    let mut engine = Engine::new(&scene, options.seed, build_router(baseline, options.seed))?;
    engine.set_payment_limit(Some(options.payments));
    let mut policies = Vec::new();
    for (i, g) in section.groups.iter().enumerate() {
        let path = options
            .everywhere
            .clone()
            .or_else(|| options.resume.clone())
            .or_else(|| g.checkpoint.as_ref().map(|c| scene_dir.join(c)));
        let policy = match path {
            Some(p) => {
                Policy::load(&p, options.seed)
                    .map_err(|e: CheckpointError| e.to_string())?
                    .0
            }
            None => Policy::new(options.seed.wrapping_add(i as u64)),
        };
        policies.push(policy);
    }
    let mut agents = Agents::new(&mut engine, &section, policies, options.seed);
    if options.freeze {
        agents.training = false;
    }
    Ok(Trainer::new(engine, agents))
}

/// A trainer for the lab: open-ended (no payment limit), with the scene's agents learning
/// if it has them (otherwise every node routes with the scene's policy), and its L402
/// market if it has one. `scene_dir` resolves checkpoint paths named in the scene.
pub fn open_ended(scene: &Scene, scene_dir: &Path, seed: u64) -> Result<Trainer, String> {
    let mut t = if scene.agents.is_some() {
        let options = SessionOptions {
            seed,
            payments: u64::MAX,
            everywhere: None,
            resume: None,
            freeze: false,
        };
        trainer(scene, scene_dir, &options)?
    } else {
        let baseline = RouterKind::parse(&scene.routing.policy)?;
        let mut engine = Engine::new(scene, seed, build_router(baseline, seed))?;
        let none = AgentsSection {
            groups: Vec::new(),
            rewards: Default::default(),
            continual: false,
        };
        let agents = Agents::new(&mut engine, &none, Vec::new(), seed);
        Trainer::new(engine, agents)
    };
    t.engine.set_payment_limit(None);
    if let Some(section) = &scene.l402 {
        t.market = Some(crate::l402::market::Market::new(section, seed));
    }
    Ok(t)
}
