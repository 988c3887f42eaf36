//! Properties of the engine over random graphs, workloads, policies and scripted edits:
//! the channel invariant holds after every event (checked inside the engine), every slot
//! and lock is released at the end, fees paid equal fees earned, and the same seed gives an
//! identical report and payment log.

use lnlab::RouterKind;
use lnlab::Scene;
use lnlab::{AmountModel, EndpointModel};
use lnlab::{Command, TimedCommand};
use lnlab::{Direction, NodeId};
use lnlab::{GenerateParams, GraphModel, generate_scene as generate};
use lnlab::{PolicyChoice, RunOptions, run_scene};
use proptest::prelude::*;

fn scene_strategy() -> impl Strategy<Value = (Scene, RouterKind, u64)> {
    (
        6usize..28,
        0usize..3,
        any::<u64>(),
        prop::sample::select(RouterKind::ALL.to_vec()),
        prop::sample::select(vec![
            AmountModel::Fixed { msat: 20_000_000 },
            AmountModel::LogNormal {
                median_sat: 80_000.0,
                sigma: 1.0,
            },
            AmountModel::Pareto {
                scale_sat: 5_000.0,
                shape: 1.2,
                max_sat: 5_000_000.0,
            },
        ]),
        prop::sample::select(vec![
            EndpointModel::Uniform,
            EndpointModel::CapacityWeighted,
            EndpointModel::MerchantZipf { exponent: 1.0 },
        ]),
        prop::collection::vec((0u64..120_000, 0u8..12, any::<u32>()), 0..8),
        any::<bool>(),
    )
        .prop_map(
            |(nodes, extra, seed, router, amount, receivers, edits, cache)| {
                let model = match seed % 3 {
                    0 => GraphModel::BarabasiAlbert,
                    1 => GraphModel::WattsStrogatz,
                    _ => GraphModel::MainnetLike,
                };
                let channels = (nodes * (1 + extra)).min(nodes * (nodes - 1) / 2);
                let params = GenerateParams {
                    nodes,
                    channels,
                    model,
                    seed,
                };
                let mut scene = generate(&params).expect("valid parameters");
                scene.workload.amount = amount;
                scene.workload.receivers = receivers;
                scene.workload.rate_per_s = 5.0;
                scene.routing.max_attempts = 4;
                scene.routing.path_cache = cache;
                // Multi-part payments in half the cases (small parts, so splits happen).
                if (seed >> 8) % 2 == 0 {
                    scene.routing.mpp = Some((8, 1_000_000));
                }
                scene.sim.gossip_delay_ms = 5_000;
                let n = scene.nodes.len() as u32;
                let scids: Vec<_> = scene.channels.iter().map(|c| c.scid).collect();
                // One node removal at most: a graph of six nodes could lose all its payable
                // pairs (the run then ends early, which the count below would not expect).
                let mut removals = 0;
                scene.timeline = edits
                    .into_iter()
                    .map(|(at_ms, kind, pick)| {
                        let kind = if kind == 10 && removals > 0 { 2 } else { kind };
                        removals += usize::from(kind == 10);
                        let scid = scids[pick as usize % scids.len()];
                        let node = NodeId(pick % n);
                        let command = match kind {
                            0 => Command::JamChannel {
                                scid,
                                direction: None,
                                duration_ms: 20_000,
                            },
                            1 => Command::DrainChannel {
                                scid,
                                direction: Direction::Forward,
                                fraction: 0.8,
                            },
                            2 => Command::NodeOffline { node },
                            3 => Command::NodeOnline { node },
                            4 => Command::SetPolicy {
                                scid,
                                direction: Direction::Backward,
                                fee_base_msat: Some(5_000),
                                fee_rate_ppm: Some(3_000),
                                cltv_expiry_delta: Some(144),
                                htlc_minimum_msat: None,
                                htlc_maximum_msat: None,
                                disabled: None,
                            },
                            5 => Command::CloseChannel { scid },
                            6 => Command::OpenChannel {
                                node1: node,
                                node2: NodeId((pick / 7 + 1) % n),
                                capacity_sat: 3_000_000,
                                node1_balance_msat: None,
                                policy: None,
                                scid: None,
                            },
                            7 => Command::FastJam {
                                scid,
                                direction: Direction::Forward,
                                rate_per_s: 20.0,
                                amount_msat: 50_000_000,
                                hold_ms: 1_500,
                                duration_ms: 15_000,
                            },
                            8 => Command::SetRouter {
                                policy: RouterKind::ALL[pick as usize % RouterKind::ALL.len()],
                            },
                            9 => Command::DemandSpike {
                                node,
                                rate_per_s: 10.0,
                                duration_ms: 10_000,
                            },
                            10 => Command::RemoveNode { node },
                            _ => Command::AddNode {
                                alias: format!("added{pick}"),
                                role: lnlab::Role::Merchant,
                                pos: None,
                            },
                        };
                        TimedCommand { at_ms, command }
                    })
                    .collect();
                (scene, router, seed)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn engine_keeps_its_invariants((scene, policy, seed) in scene_strategy()) {
        let options = RunOptions { policy: PolicyChoice::Baseline(policy), seed, payments: 150, record_payments: true, check_invariants: true };
        let first = run_scene(&scene, &options, |_, _| {}).expect("runs");
        let m = first.engine.metrics();
        prop_assert_eq!(m.succeeded + m.failed, 150, "every payment resolved");
        prop_assert_eq!(first.engine.network().in_flight_totals(), (0, 0), "slots and locks released");
        prop_assert_eq!(m.fees_paid_msat, m.fees_earned_msat);
        let node_fees: u64 = m.nodes.iter().map(|n| n.fees_earned_msat).sum();
        prop_assert_eq!(node_fees, m.fees_earned_msat);
        first.engine.network().check_invariants().map_err(TestCaseError::fail)?;

        let second = run_scene(&scene, &options, |_, _| {}).expect("runs");
        prop_assert_eq!(first.report.without_timing(), second.report.without_timing());
        prop_assert_eq!(&first.records, &second.records);
        let a = serde_json::to_string(&first.report.without_timing()).unwrap();
        let b = serde_json::to_string(&second.report.without_timing()).unwrap();
        prop_assert_eq!(a, b, "byte-identical reports");
    }
}

/// Shared path trees must not change any decision: with amounts that sit exactly on a
/// bucket's representative value, a run with the cache and one without agree on every
/// payment.
#[test]
fn path_cache_matches_exact_search() {
    use lnlab::{amount_bucket, bucket_amount_msat};
    let params = GenerateParams {
        nodes: 300,
        channels: 1_200,
        model: GraphModel::BarabasiAlbert,
        seed: 11,
    };
    let mut scene = generate(&params).unwrap();
    scene.workload.amount = AmountModel::Fixed {
        msat: bucket_amount_msat(amount_bucket(30_000_000)),
    };
    scene.workload.receivers = EndpointModel::MerchantZipf { exponent: 1.2 };
    for policy in [
        RouterKind::Shortest,
        RouterKind::Cheapest,
        RouterKind::Lnd,
        RouterKind::Ldk,
    ] {
        let run = |cache: bool| {
            let mut s = scene.clone();
            s.routing.path_cache = cache;
            let options = RunOptions {
                policy: PolicyChoice::Baseline(policy),
                seed: 5,
                payments: 600,
                record_payments: true,
                check_invariants: false,
            };
            let out = run_scene(&s, &options, |_, _| {}).unwrap();
            (out.records, out.engine.router_stats())
        };
        let (cached, stats) = run(true);
        let (exact, _) = run(false);
        let trees = stats.split(';').next().unwrap_or_default();
        assert!(
            trees.contains("reused") && !trees.contains(" 0 reused"),
            "{policy}: cache unused: {stats}"
        );
        assert_eq!(cached.len(), exact.len());
        if let Some(i) = (0..cached.len()).find(|&i| cached[i] != exact[i]) {
            panic!(
                "{policy}: payment {i} differs:\n cached {:?}\n exact  {:?}",
                cached[i], exact[i]
            );
        }
    }
}

/// Drawing arrivals ahead of the clock (as the ECS spawner does) gives the same run as
/// drawing them lazily.
#[test]
fn drawing_arrivals_ahead_changes_nothing() {
    let scene = lnlab::load_scene(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenes/congestion.ron"
    )))
    .unwrap();
    let options = RunOptions {
        policy: PolicyChoice::Baseline(RouterKind::Lnd),
        seed: 9,
        payments: 800,
        record_payments: true,
        check_invariants: false,
    };
    let session = run_scene(&scene, &options, |_, _| {}).unwrap();
    let engine = || {
        let router = lnlab::build_router(RouterKind::Lnd, 9);
        let mut engine = lnlab::build_engine(&scene, 9, router).unwrap();
        engine.set_payment_limit(Some(800));
        engine.record_payments(true);
        engine
    };
    let mut lazy = engine();
    while lazy.step() {}
    let mut ahead = engine();
    let mut steps = 0u64;
    loop {
        if steps.is_multiple_of(17) {
            ahead.draw_arrivals_until(ahead.now_ms() + 5_000);
        }
        steps += 1;
        if !ahead.step() {
            break;
        }
    }
    assert_eq!(lazy.records().len(), 800);
    assert_eq!(ahead.records(), lazy.records());
    assert_eq!(&session.records[..], lazy.records());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, ..ProptestConfig::default() })]

    /// The same checks with every node a learning PPO agent that budgets its attempts (fees,
    /// and hops in a third of the cases) and retries locally (`PpoConfig::local_retries`),
    /// over the same random graphs and edits: dropping a failed branch and deciding again
    /// keeps every channel's invariant, releases what the branch locked, and charges only
    /// the hops that settled.
    #[test]
    fn agents_retrying_locally_keep_the_invariants((scene, policy, seed) in scene_strategy()) {
        use lnlab::{AgentGroup, AgentsSection, Credit, FeeBudget, PpoConfig, Session, SessionOptions};
        let mut scene = scene;
        scene.routing.policy = policy;
        let limit = 1 + (seed % 4) as u32;
        scene.agents = Some(AgentsSection {
            groups: vec![AgentGroup {
                name: "all".into(),
                nodes: (0..scene.nodes.len() as u32).collect(),
                ppo: PpoConfig {
                    rollout_steps: 64,
                    credit: Credit::Route,
                    fee_budget: FeeBudget::Escalate(4.0),
                    max_fee_ppm: Some(10_000),
                    local_retries: limit,
                    max_extra_hops: (seed % 3 == 0).then_some(2),
                    ..PpoConfig::default()
                },
                checkpoint: None,
            }],
            rewards: lnlab::RewardWeights {
                mode: lnlab::RewardMode::Welfare,
                ..Default::default()
            },
            continual: true,
        });
        let options = SessionOptions {
            check_invariants: true,
            ..SessionOptions::new(seed, Some(120))
        };
        let run = || {
            let mut t = Session::from_scene(&scene, std::path::Path::new("."), &options).expect("builds");
            t.run_to_completion(|_| {});
            t
        };
        let first = run();
        let e = first.engine();
        let m = e.metrics();
        prop_assert_eq!(m.succeeded + m.failed, 120, "every payment resolved");
        prop_assert_eq!(e.network().in_flight_totals(), (0, 0), "slots and locks released");
        prop_assert_eq!(m.fees_paid_msat, m.fees_earned_msat);
        e.network().check_invariants().map_err(TestCaseError::fail)?;
        let mut retries = 0;
        for a in (0..m.attempts as u32).filter_map(|i| e.attempt(lnlab::AttemptId(i))) {
            prop_assert!(a.local_retries() <= limit);
            prop_assert_eq!(a.local_retries() as usize, a.abandoned.len());
            retries += u64::from(a.local_retries());
            // What is left of the attempt is one path from its sender.
            prop_assert_eq!(a.nodes.len(), a.hops.len() + 1);
            for (k, h) in a.hops.iter().enumerate() {
                prop_assert_eq!((h.from, h.to), (a.nodes[k], a.nodes[k + 1]));
            }
        }
        prop_assert_eq!(retries, m.local_retries);
        let second = run();
        let m2 = second.engine().metrics();
        prop_assert_eq!(
            (m.succeeded, m.fees_paid_msat, m.attempts, m.local_retries),
            (m2.succeeded, m2.fees_paid_msat, m2.attempts, m2.local_retries)
        );
    }
}
