//! The scene file schema (RON, versioned by `format_version`). A scene holds everything a
//! run needs: topology with balances and layout, the liquidity model, the workload, scripted
//! events, routing and simulation settings, and the seed. Later sections (agents, L402
//! services, lesson steps) are added as optional fields so older files keep loading.

use crate::network::delay::DelayModel;
use crate::network::{ChannelPolicy, LiquidityModel, PubKey, Role, ShortChannelId};
use crate::sim::command::{Command, TimedCommand};
use crate::sim::workload::Workload;
use serde::{Deserialize, Serialize};

/// The schema version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scene {
    pub format_version: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Seeds the workload, delays, routers and synthetic keys.
    #[serde(default)]
    pub seed: u64,
    pub nodes: Vec<SceneNode>,
    pub channels: Vec<SceneChannel>,
    #[serde(default)]
    pub liquidity: LiquidityModel,
    #[serde(default)]
    pub workload: Workload,
    #[serde(default)]
    pub timeline: Vec<TimedCommand>,
    #[serde(default)]
    pub routing: crate::routing::RoutingSettings,
    #[serde(default)]
    pub sim: crate::sim::SimSettings,
    /// PPO agent groups (nodes in no group route with `routing.policy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<crate::rl::config::AgentsSection>,
    /// Paid APIs (L402 services) and the agent clients that call them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l402: Option<crate::l402::market::L402Section>,
}

impl Scene {
    /// A scene of this format version with every setting at its default.
    pub fn new(
        name: String,
        description: String,
        seed: u64,
        nodes: Vec<SceneNode>,
        channels: Vec<SceneChannel>,
    ) -> Self {
        Scene {
            format_version: FORMAT_VERSION,
            name,
            description,
            seed,
            nodes,
            channels,
            liquidity: LiquidityModel::default(),
            workload: Workload::default(),
            timeline: Vec::new(),
            routing: Default::default(),
            sim: Default::default(),
            agents: None,
            l402: None,
        }
    }

    /// The timeline's `AddNode` entries in the order the engine applies them (time, then
    /// file order): the i-th adds node `nodes.len() + i`.
    fn added_nodes(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.timeline.len())
            .filter(|&i| matches!(self.timeline[i].command, Command::AddNode { .. }))
            .collect();
        order.sort_by_key(|&i| (self.timeline[i].at_ms, i));
        order
    }

    /// How many node ids the run can name: the scene's nodes and those its timeline adds.
    pub fn node_ids(&self) -> u32 {
        (self.nodes.len() + self.added_nodes().len()) as u32
    }

    /// Where node `id` is laid out: a scene node's position, or for a node the timeline
    /// adds, its `AddNode` entry's (which is what a drag edits).
    pub fn node_pos_mut(&mut self, id: usize) -> Option<&mut Option<(f32, f32)>> {
        if id < self.nodes.len() {
            return Some(&mut self.nodes[id].pos);
        }
        let entry = *self.added_nodes().get(id - self.nodes.len())?;
        match &mut self.timeline[entry].command {
            Command::AddNode { pos, .. } => Some(pos),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneNode {
    pub alias: String,
    /// The node's public key; derived from the seed and index when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pubkey: Option<PubKey>,
    #[serde(default)]
    pub role: Role,
    /// Layout position; a force-directed layout fills in missing ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos: Option<(f32, f32)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processing_delay: Option<DelayModel>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneChannel {
    pub scid: ShortChannelId,
    /// Index into `nodes`.
    pub node1: u32,
    /// Index into `nodes`.
    pub node2: u32,
    pub capacity_sat: u64,
    /// node1's starting balance; required with the `Explicit` liquidity model, and it
    /// overrides the model when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node1_balance_msat: Option<u64>,
    /// Policy announced by node1 for forwarding toward node2; `None` (a null policy in
    /// describegraph) makes that direction unusable.
    pub node1_policy: Option<ChannelPolicy>,
    pub node2_policy: Option<ChannelPolicy>,
}
