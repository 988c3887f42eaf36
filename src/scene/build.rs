//! Turning a validated [`Scene`] into the engine's [`Network`]: node keys derived from the
//! seed where the scene has none, balances from the liquidity model, and a layout for nodes
//! without positions.

use super::schema::Scene;
use crate::network::{Channel, ChannelPolicy, HalfChannel, Network, Node, PubKey, layout};

use crate::rng::{rng_for, stream as streams};
use crate::routing::Router;
use crate::sim::engine::{Engine, Setup};

/// A null policy (describegraph `null`): the direction exists but cannot carry HTLCs.
pub fn unusable_policy(capacity_sat: u64) -> ChannelPolicy {
    ChannelPolicy {
        disabled: true,
        ..ChannelPolicy::lnd_default(capacity_sat)
    }
}

/// Build the network for `scene` (which must have passed validation). `seed` overrides the
/// scene's seed for liquidity sampling (a run's `--seed`).
pub fn build_network(scene: &Scene, seed: u64) -> Result<Network, String> {
    let mut keys = rng_for(scene.seed, streams::KEYS);
    let positions = fill_positions(scene);
    let mut network = Network::new();
    let mut ids = Vec::with_capacity(scene.nodes.len());
    for (i, n) in scene.nodes.iter().enumerate() {
        let derived = PubKey::synthetic(&mut keys);
        ids.push(network.add_node(Node {
            alias: n.alias.clone(),
            pubkey: n.pubkey.unwrap_or(derived),
            role: n.role,
            position: [positions[i].0, positions[i].1],
            processing_delay: n.processing_delay,
            online: true,
            removed: false,
        }));
    }
    let mut liquidity = rng_for(seed, streams::LIQUIDITY);
    for (i, ch) in scene.channels.iter().enumerate() {
        let cap_msat = ch.capacity_sat * 1000;
        let sampled = scene
            .liquidity
            .sample_node1_msat(ch.capacity_sat, &mut liquidity);
        let node1_msat = ch
            .node1_balance_msat
            .or(sampled)
            .ok_or_else(|| {
                format!(
                    "channels[{i}] ({}): no balance for Explicit liquidity",
                    ch.scid
                )
            })?
            .min(cap_msat);
        let policy =
            |p: &Option<ChannelPolicy>| p.unwrap_or_else(|| unusable_policy(ch.capacity_sat));
        let channel = Channel::new(
            ch.scid,
            ch.capacity_sat,
            [
                HalfChannel::new(policy(&ch.node1_policy), node1_msat),
                HalfChannel::new(policy(&ch.node2_policy), cap_msat - node1_msat),
            ],
        );
        network
            .add_channel(ids[ch.node1 as usize], ids[ch.node2 as usize], channel)
            .map_err(|e| format!("channels[{i}]: {e}"))?;
    }
    Ok(network)
}

/// Positions for every node: the scene's own, and a force-directed layout for the rest.
pub fn fill_positions(scene: &Scene) -> Vec<(f32, f32)> {
    let given: Vec<Option<(f32, f32)>> = scene.nodes.iter().map(|n| n.pos).collect();
    if given.iter().all(Option::is_some) {
        return given.into_iter().flatten().collect();
    }
    let edges: Vec<(u32, u32)> = scene.channels.iter().map(|c| (c.node1, c.node2)).collect();
    layout::force_directed(&given, &edges, scene.seed ^ streams::LAYOUT)
}

/// What an engine for `scene` runs: its network (balances drawn with `seed`) and sections.
pub fn engine_setup(scene: &Scene, seed: u64) -> Result<Setup, String> {
    Ok(Setup {
        network: build_network(scene, seed)?,
        workload: scene.workload.clone(),
        timeline: scene.timeline.clone(),
        routing: scene.routing.clone(),
        sim: scene.sim.clone(),
        liquidity: scene.liquidity,
    })
}

/// An engine for `scene` with `router` at every node. `seed` drives the liquidity draw, the
/// workload and the delays (a run's `--seed`; pass `scene.seed` for the scene's own).
pub fn build_engine(scene: &Scene, seed: u64, router: Box<dyn Router>) -> Result<Engine, String> {
    Ok(Engine::new(engine_setup(scene, seed)?, seed, router))
}
