//! Building a [`Session`] from a scene: who routes (a baseline router everywhere, a PPO
//! checkpoint at every node, or the scene's own agent groups with its baseline elsewhere),
//! where the agents' policies come from (checkpoints or fresh), whether they learn, how
//! many payments run (or none: open-ended, as in the lab), and the scene's L402 market.

use super::Session;
use crate::l402::market::Market;
use crate::rl::agents::Agents;
use crate::rl::config::{AgentGroup, AgentsSection, PpoConfig};
use crate::rl::policy::Policy;
use crate::routing::{RouterKind, build_router};
use crate::scene::Scene;
use crate::scene::build::engine_setup;
use crate::sim::engine::Engine;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A policy to run everywhere: `random`, `shortest`, `cheapest`, `lnd`, `ldk`, or
/// `ppo:PATH` (a checkpoint at every node, frozen).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicyChoice {
    Baseline(RouterKind),
    Ppo(PathBuf),
}

impl FromStr for PolicyChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix("ppo:") {
            Some("") => Err("`ppo:` needs a checkpoint path, e.g. ppo:agent.safetensors".into()),
            Some(path) => Ok(PolicyChoice::Ppo(PathBuf::from(path))),
            None => RouterKind::parse(s)
                .map(PolicyChoice::Baseline)
                .map_err(|e| format!("{e}, or ppo:CHECKPOINT")),
        }
    }
}

impl fmt::Display for PolicyChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PolicyChoice::Baseline(k) => write!(f, "{k}"),
            PolicyChoice::Ppo(path) => write!(f, "ppo:{}", path.display()),
        }
    }
}

/// What to run.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    pub seed: u64,
    /// Payments to run to completion; `None` runs open-ended (the lab).
    pub payments: Option<u64>,
    /// One policy at every node; `None` runs the scene's own set-up: its agent groups if
    /// it has them, and `routing.policy` at every other node.
    pub policy: Option<PolicyChoice>,
    /// Start every group from this checkpoint instead of the scene's.
    pub resume: Option<PathBuf>,
    /// Agents learn (`Some(true)`), are frozen (`Some(false)`), or do as the scene's
    /// `continual` says (`None`).
    pub learning: Option<bool>,
    /// Keep one record per payment (`lnlab run --payments-csv`).
    pub record_payments: bool,
    /// Check every channel invariant after every event (slow; for tests).
    pub check_invariants: bool,
}

impl SessionOptions {
    /// The scene's own set-up for `payments` payments (or open-ended), nothing recorded.
    pub fn new(seed: u64, payments: Option<u64>) -> Self {
        SessionOptions {
            seed,
            payments,
            policy: None,
            resume: None,
            learning: None,
            record_payments: false,
            check_invariants: false,
        }
    }
}

impl Session {
    /// Build a session for `scene`. `scene_dir` resolves checkpoint paths named in the
    /// scene.
    pub fn from_scene(
        scene: &Scene,
        scene_dir: &Path,
        options: &SessionOptions,
    ) -> Result<Session, String> {
        let section = match &options.policy {
            Some(PolicyChoice::Baseline(_)) => None,
            Some(PolicyChoice::Ppo(_)) => Some(everywhere(scene)),
            None => scene.agents.clone(),
        };
        let kind = match &options.policy {
            Some(PolicyChoice::Baseline(kind)) => *kind,
            _ => scene.routing.policy,
        };
        let mut setup = engine_setup(scene, options.seed)?;
        // Agents decide hop by hop, so that every agent on the way gets to decide.
        setup.routing.hop_by_hop |= section.is_some();
        let mut engine = Engine::new(setup, options.seed, build_router(kind, options.seed));
        engine.set_payment_limit(options.payments);
        engine.record_payments(options.record_payments);
        engine.check_invariants_each_event(options.check_invariants);
        let agents = match section {
            Some(section) => Some(agents_for(&mut engine, &section, scene_dir, options)?),
            None => None,
        };
        let market = scene.l402.as_ref().map(|s| Market::new(s, options.seed));
        Ok(Session::new(engine, agents, market))
    }
}

/// One group holding every node, frozen (the `ppo:PATH` policy). Its `PpoConfig` is
/// replaced by the checkpoint's own when the policy loads (`agents_for`).
fn everywhere(scene: &Scene) -> AgentsSection {
    AgentsSection {
        groups: vec![AgentGroup {
            name: "ppo".into(),
            nodes: (0..scene.nodes.len() as u32).collect(),
            ppo: PpoConfig::default(),
            checkpoint: None,
        }],
        rewards: Default::default(),
        continual: false,
    }
}

/// The agents of `section` on `engine` (which hands their nodes' decisions over), with
/// policies from the `ppo:` checkpoint, `resume`, the groups' checkpoints, or fresh.
fn agents_for(
    engine: &mut Engine,
    section: &AgentsSection,
    scene_dir: &Path,
    options: &SessionOptions,
) -> Result<Agents, String> {
    let everywhere = match &options.policy {
        Some(PolicyChoice::Ppo(path)) => Some(path.clone()),
        _ => None,
    };
    let mut section = section.clone();
    let mut policies = Vec::new();
    for (i, g) in section.groups.iter_mut().enumerate() {
        let path = everywhere
            .clone()
            .or_else(|| options.resume.clone())
            .or_else(|| g.checkpoint.as_ref().map(|c| scene_dir.join(c)));
        let policy = match path {
            Some(p) => {
                let (policy, sidecar) =
                    Policy::load(&p, options.seed).map_err(|e| e.to_string())?;
                // A `ppo:` checkpoint picks its candidates as it was trained to (its
                // `max_candidates`), not as the defaults would.
                if everywhere.is_some() {
                    g.ppo = sidecar.ppo;
                }
                policy
            }
            None => Policy::new(options.seed.wrapping_add(i as u64)),
        };
        policies.push(policy);
    }
    let mut agents = Agents::new(engine, &section, policies, options.seed);
    if let Some(learning) = options.learning {
        agents.training = learning;
    }
    if everywhere.is_some() {
        agents.training = false;
    }
    Ok(agents)
}
