//! The scene file schema (RON, versioned by `format_version`). A scene holds everything a
//! run needs: topology with balances and layout, the liquidity model, the workload, scripted
//! events, routing and simulation settings, and the seed. Later sections (agents, L402
//! services, lesson steps) are added as optional fields so older files keep loading.

use crate::network::{ChannelPolicy, LiquidityModel, PubKey, Role, ShortChannelId};
use crate::sim::command::TimedCommand;
use crate::sim::delay::DelayModel;
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
    pub routing: RoutingSettings,
    #[serde(default)]
    pub sim: SimSettings,
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
            routing: RoutingSettings::default(),
            sim: SimSettings::default(),
            agents: None,
            l402: None,
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

/// How senders route and retry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingSettings {
    /// The baseline router: random, shortest, cheapest, lnd or ldk.
    pub policy: String,
    /// Attempts per payment, the first included.
    pub max_attempts: u32,
    /// A payment that has not succeeded by then stops retrying (lnd's default is 60 s).
    pub timeout_ms: u64,
    /// Routes longer than this fail with `too_many_hops` (lnd allows 20).
    pub max_hops: u32,
    /// Largest total CLTV a sender accepts (lnd's `CltvLimit` default is 2016).
    pub cltv_limit: u32,
    /// The receiver's `min_final_cltv_expiry_delta`.
    pub final_cltv_delta: u32,
    /// Fee limit as a fraction of the amount, in ppm (lncli's default is 5%).
    pub fee_limit_ppm: u64,
    /// Floor under the fee limit, for small payments.
    pub fee_limit_floor_msat: u64,
    /// Reuse destination-rooted shortest-path trees across payments (see `routing::cache`).
    pub path_cache: bool,
    /// Every node decides the next hop itself (routers' routes are cut to their first
    /// hop); fees come out of a budget the sender sets. Scenes with agents need this so
    /// that agent nodes on the way get to decide.
    pub hop_by_hop: bool,
}

impl Default for RoutingSettings {
    fn default() -> Self {
        RoutingSettings {
            policy: "lnd".into(),
            max_attempts: 10,
            timeout_ms: 60_000,
            max_hops: 20,
            cltv_limit: 2016,
            final_cltv_delta: 80,
            fee_limit_ppm: 50_000,
            fee_limit_floor_msat: 10_000,
            path_cache: true,
            hop_by_hop: false,
        }
    }
}

impl RoutingSettings {
    pub fn fee_limit_msat(&self, amount_msat: u64) -> u64 {
        let pct = u128::from(amount_msat) * u128::from(self.fee_limit_ppm) / 1_000_000;
        (pct as u64).max(self.fee_limit_floor_msat)
    }
}

/// Timing of the simulated network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimSettings {
    /// Default per-node processing delay before forwarding or relaying a resolution.
    pub processing_delay: DelayModel,
    /// How long a policy or topology change takes to reach the other nodes' gossip view.
    pub gossip_delay_ms: u64,
}

impl Default for SimSettings {
    fn default() -> Self {
        SimSettings {
            processing_delay: DelayModel::default(),
            gossip_delay_ms: 60_000,
        }
    }
}
