//! Scene builders shared by the integration tests.

use lnlab::DelayModel;
use lnlab::Engine;
use lnlab::{AmountModel, EndpointModel, PaymentRequest, Workload};
use lnlab::{ChannelPolicy, LiquidityModel, NodeId, Role, ShortChannelId};
use lnlab::{FORMAT_VERSION, RoutingSettings, Scene, SceneChannel, SceneNode, SimSettings};
use lnlab::{RouterKind, build_router};

pub fn policy(fee_base_msat: u64, fee_rate_ppm: u64, cltv: u16) -> ChannelPolicy {
    ChannelPolicy {
        fee_base_msat,
        fee_rate_ppm,
        cltv_expiry_delta: cltv,
        htlc_minimum_msat: 1_000,
        htlc_maximum_msat: 10_000_000_000,
        disabled: false,
        max_accepted_htlcs: 483,
    }
}

/// A line of `n` nodes (n0 - n1 - ... ), each channel 10M sat split evenly.
pub fn line(n: usize) -> Scene {
    let nodes = (0..n)
        .map(|i| SceneNode {
            alias: format!("n{i}"),
            pubkey: None,
            role: Role::Router,
            pos: Some((i as f32 * 100.0, 0.0)),
            processing_delay: None,
        })
        .collect();
    let channels = (0..n - 1)
        .map(|i| SceneChannel {
            scid: ShortChannelId::new(800_000, i as u32, 0),
            node1: i as u32,
            node2: i as u32 + 1,
            capacity_sat: 10_000_000,
            node1_balance_msat: Some(5_000_000_000),
            node1_policy: Some(policy(1_000, 100, 40)),
            node2_policy: Some(policy(1_000, 100, 40)),
        })
        .collect();
    Scene {
        format_version: FORMAT_VERSION,
        name: format!("line{n}"),
        description: String::new(),
        seed: 7,
        nodes,
        channels,
        liquidity: LiquidityModel::Explicit,
        workload: Workload {
            rate_per_s: 1.0,
            amount: AmountModel::Fixed { msat: 100_000_000 },
            senders: EndpointModel::Uniform,
            receivers: EndpointModel::Uniform,
        },
        timeline: Vec::new(),
        routing: RoutingSettings {
            policy: RouterKind::Cheapest,
            max_attempts: 1,
            ..RoutingSettings::default()
        },
        sim: SimSettings {
            processing_delay: DelayModel::Constant { ms: 100 },
            gossip_delay_ms: 600_000,
        },
        agents: None,
        l402: None,
    }
}

pub fn scid(i: u32) -> ShortChannelId {
    ShortChannelId::new(800_000, i, 0)
}

/// An engine for `scene` that will run exactly one payment, the one the test starts.
pub fn engine(scene: &Scene, router: RouterKind) -> Engine {
    let mut e =
        lnlab::build_engine(scene, scene.seed, build_router(router, 1)).expect("valid scene");
    e.set_payment_limit(Some(1));
    e.check_invariants_each_event(true);
    e
}

pub fn pay(engine: &mut Engine, from: u32, to: u32, amount_msat: u64) {
    engine.start_payment(PaymentRequest {
        sender: NodeId(from),
        receiver: NodeId(to),
        amount_msat,
    });
    engine.run_to_completion();
}
