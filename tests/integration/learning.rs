//! Proof that the agents learn: on a small network where the cheap-looking way to the
//! merchant is jammed and a dearer reliable way exists, a short PPO run makes the agent
//! prefer the reliable way and beat `random` by a wide margin; with a second merchant
//! that the jammed way still reaches, it takes the cheap way there and the reliable one to
//! the first, told apart only by its failure memory per destination. Also: training is
//! deterministic for a seed, and a short run on a small headroom scene (slow-jammed hubs)
//! closes a clear share of the gap between lnd and the oracle, where random routing loses
//! ground.

use crate::support::policy;
use lnlab::DelayModel;
use lnlab::RouterKind;
use lnlab::{AgentGroup, AgentsSection, PpoConfig};
use lnlab::{AmountModel, EndpointModel, Workload};
use lnlab::{Command, TimedCommand};
use lnlab::{Direction, LiquidityModel, NodeId, Role, ShortChannelId};
use lnlab::{FORMAT_VERSION, RoutingSettings, Scene, SceneChannel, SceneNode, SimSettings};
use lnlab::{PolicyChoice, RunOptions, Session, SessionOptions, run_scene};

const S: [u32; 3] = [0, 1, 2];
const A: u32 = 3;
const X: u32 = 4;
const Y: u32 = 5;
const D: u32 = 6;
/// The second merchant of [`two_merchant_scene`].
const D2: u32 = 7;

/// Senders reach the agent A; from A, X looks cheap but its channel to D is jammed for the
/// whole run, while Y is dearer and reliable.
pub fn detour_scene() -> Scene {
    let names = ["s0", "s1", "s2", "agent", "cheap", "reliable", "shop"];
    let nodes = names
        .iter()
        .enumerate()
        .map(|(i, n)| SceneNode {
            alias: n.to_string(),
            pubkey: None,
            role: if i as u32 == D {
                Role::Merchant
            } else {
                Role::Router
            },
            pos: Some((i as f32 * 100.0, 0.0)),
            processing_delay: None,
        })
        .collect();
    let mut channels = Vec::new();
    let mut add = |a: u32, b: u32, fee_ppm_a: u64, fee_ppm_b: u64| {
        let i = channels.len() as u32;
        channels.push(SceneChannel {
            scid: ShortChannelId::new(800_000, i, 0),
            node1: a,
            node2: b,
            capacity_sat: 200_000_000,
            node1_balance_msat: Some(100_000_000_000),
            node1_policy: Some(policy(0, fee_ppm_a, 40)),
            node2_policy: Some(policy(0, fee_ppm_b, 40)),
        });
    };
    for s in S {
        add(s, A, 0, 100);
    }
    add(A, X, 100, 0);
    add(X, D, 0, 0);
    add(A, Y, 100, 0);
    add(Y, D, 3_000, 0);
    let jam = TimedCommand {
        at_ms: 0,
        command: Command::JamChannel {
            scid: ShortChannelId::new(800_000, 4, 0),
            direction: Some(Direction::Forward),
            duration_ms: 365 * 24 * 3_600_000,
        },
    };
    Scene {
        format_version: FORMAT_VERSION,
        name: "detour".into(),
        description: String::new(),
        seed: 1,
        nodes,
        channels,
        liquidity: LiquidityModel::Explicit,
        workload: Workload {
            rate_per_s: 20.0,
            amount: AmountModel::Fixed { msat: 50_000_000 },
            senders: EndpointModel::Uniform,
            receivers: EndpointModel::MerchantZipf { exponent: 1.0 },
        },
        timeline: vec![jam],
        routing: RoutingSettings {
            policy: RouterKind::Cheapest,
            max_attempts: 1,
            ..RoutingSettings::default()
        },
        sim: SimSettings {
            processing_delay: DelayModel::Constant { ms: 50 },
            gossip_delay_ms: 60_000,
        },
        agents: Some(AgentsSection {
            groups: vec![AgentGroup {
                name: "hub".into(),
                nodes: vec![A],
                ppo: PpoConfig {
                    rollout_steps: 128,
                    learning_rate: 1e-3,
                    ..PpoConfig::default()
                },
                checkpoint: None,
            }],
            rewards: Default::default(),
            continual: true,
        }),
        l402: None,
    }
}

fn options(payments: u64) -> SessionOptions {
    SessionOptions::new(4, Some(payments))
}

fn session(scene: &Scene, options: &SessionOptions) -> Session {
    Session::from_scene(scene, std::path::Path::new("."), options).unwrap()
}

#[test]
fn agents_learn_to_avoid_the_jammed_cheap_route() {
    let scene = detour_scene();
    let mut t = session(&scene, &options(1_500));
    let rows = t.run_to_completion(|_| {});
    assert!(rows.len() >= 5, "only {} updates", rows.len());

    // Evaluate the trained policy, frozen, on fresh payments.
    let ckpt = tempfile::tempdir().unwrap();
    let path = ckpt.path().join("hub.safetensors");
    let agents = t.agents().unwrap();
    let g = &agents.groups[0];
    g.policy
        .save(&path, &g.learner.config, agents.decisions, "detour")
        .unwrap();
    let mut scene_eval = scene.clone();
    scene_eval.agents.as_mut().unwrap().groups[0].checkpoint = Some(path.display().to_string());
    let mut eval = session(
        &scene_eval,
        &SessionOptions {
            learning: Some(false),
            ..options(400)
        },
    );
    eval.run_to_completion(|_| {});
    let m = eval.engine().metrics();
    let ppo_rate = m.success_rate();
    let via_reliable = m.nodes[Y as usize].forwarded_msat;
    let via_cheap = m.nodes[X as usize].forwarded_msat;

    let random = run_scene(
        &scene,
        &RunOptions {
            policy: PolicyChoice::Baseline(RouterKind::Random),
            seed: 4,
            payments: 400,
            record_payments: false,
            check_invariants: false,
        },
        |_, _| {},
    )
    .unwrap();
    let random_rate = random.report.success_rate;
    let first = &rows[0];
    let last = rows.last().unwrap();
    assert!(
        ppo_rate >= 0.9 && ppo_rate > random_rate + 0.3,
        "PPO {ppo_rate:.2} vs random {random_rate:.2}; training went {:.2} -> {:.2}",
        first.success_rate,
        last.success_rate
    );
    assert!(
        via_reliable > 0 && via_cheap == 0,
        "agent still sends via the jammed route"
    );
    assert!(
        last.success_rate > first.success_rate,
        "{:.2} -> {:.2}",
        first.success_rate,
        last.success_rate
    );
}

/// The detour scene with a second merchant (7) that both "cheap" (X, free) and "reliable"
/// (Y, 500 ppm) reach; only X's channel to the first merchant is jammed, and the agent takes
/// the welfare reward, so the cheap way is right for the second merchant and wrong for the
/// first. What gossip shows of the two ways is the same toward either merchant: only how
/// often each failed toward that merchant tells the agent which to take.
fn two_merchant_scene() -> Scene {
    let mut scene = detour_scene();
    scene.nodes.push(SceneNode {
        alias: "shop2".into(),
        pubkey: None,
        role: Role::Merchant,
        pos: Some((600.0, 100.0)),
        processing_delay: None,
    });
    let template = scene.channels[6].clone();
    scene.channels[6].node1_policy = Some(policy(0, 500, 40));
    for (i, (from, fee_ppm)) in [(X, 0), (Y, 500)].into_iter().enumerate() {
        scene.channels.push(SceneChannel {
            scid: ShortChannelId::new(800_000, 7 + i as u32, 0),
            node1: from,
            node2: D2,
            node1_policy: Some(policy(0, fee_ppm, 40)),
            ..template.clone()
        });
    }
    // Small payments, so that nothing drains over the run.
    scene.workload.amount = AmountModel::Fixed { msat: 10_000_000 };
    let agents = scene.agents.as_mut().unwrap();
    agents.rewards = lnlab::RewardWeights {
        mode: lnlab::RewardMode::Welfare,
        latency_per_ms: 0.0001,
        ..Default::default()
    };
    scene
}

#[test]
fn an_agent_tells_a_way_blocked_toward_one_merchant_from_the_same_way_to_another() {
    use lnlab::PaymentStatus;
    let scene = two_merchant_scene();
    let mut t = session(&scene, &options(6_000));
    t.run_to_completion(|_| {});
    let engine = t.engine();
    // The last 2,000 payments, once the agent has learnt (still sampling its actions), from
    // the senders behind the agent, which it routes. With the rate over all destinations
    // alone, the agent learns to shun the cheap way for both merchants (measured: 2 of 306 of
    // the second's deliveries in the last 2,000 of 8,000 payments went the cheap way); with
    // the rate per destination, 95% of them do here (288 of 303).
    let (mut first, mut first_delivered, mut second_delivered, mut second_cheap) = (0, 0, 0, 0);
    let payments = engine.payments();
    let late = (4_000..payments.len()).filter_map(|id| payments.get(id));
    for p in late.filter(|p| S.contains(&p.request.sender.0)) {
        let delivered = matches!(p.status, PaymentStatus::Succeeded { .. });
        let via_cheap = p
            .last_attempt
            .and_then(|a| engine.attempt(a))
            .is_some_and(|a| a.nodes.contains(&NodeId(X)));
        if p.request.receiver == NodeId(D) {
            first += 1;
            first_delivered += u32::from(delivered);
        } else if delivered {
            second_delivered += 1;
            second_cheap += u32::from(via_cheap);
        }
    }
    let figures = format!(
        "first merchant: {first_delivered} of {first} delivered; second: {second_cheap} of \
         {second_delivered} deliveries the cheap way"
    );
    eprintln!("{figures}");
    // The inspector shows what the agent remembers of the cheap way toward each merchant.
    let mut onward = lnlab::Onward::new(4);
    let mut cheap_way_toward = |merchant: u32| {
        t.view()
            .explain(&mut onward, NodeId(A), NodeId(merchant), 10_000_000)
            .expect("the agent explains")
            .into_iter()
            .find(|e| e.peer == NodeId(X))
            .map(|e| e.failure_rate_toward)
    };
    let (jammed, open) = (cheap_way_toward(D), cheap_way_toward(D2));
    assert!(
        jammed.is_some_and(|r| r > 0.5) && open.is_some_and(|r| r < 0.2),
        "cheap way's failure rate toward the first merchant {jammed:?}, the second {open:?}"
    );
    assert!(first > 50 && second_delivered > 50, "{figures}");
    assert!(
        f64::from(first_delivered) >= 0.9 * f64::from(first),
        "{figures}"
    );
    assert!(
        f64::from(second_cheap) >= 0.8 * f64::from(second_delivered),
        "{figures}"
    );
}

#[test]
fn training_is_deterministic_for_a_seed() {
    let scene = detour_scene();
    let run = || {
        let mut t = session(&scene, &options(300));
        let rows = t.run_to_completion(|_| {});
        (
            rows,
            lnlab::policy_parameters(&t.agents().unwrap().groups[0].policy.net),
            t.engine().metrics().succeeded,
        )
    };
    let (rows_a, params_a, ok_a) = run();
    let (rows_b, params_b, ok_b) = run();
    assert_eq!(ok_a, ok_b);
    assert_eq!(params_a, params_b);
    let strip = |rows: &[lnlab::MetricsRow]| -> Vec<_> {
        rows.iter()
            .map(|r| (r.step, r.policy_loss.to_bits(), r.success_rate.to_bits()))
            .collect()
    };
    assert_eq!(strip(&rows_a), strip(&rows_b));
    let _ = NodeId(0);
}

/// Training inside the Bevy app learns the same weights whatever the frame budget — a
/// tiny one (7 events and 1 minibatch per frame), the CLI's (20,000 and 64), or the lab's
/// (a paced clock and wall-clock deadlines, so frames end at random points) — and the
/// same as the plain loop.
#[test]
fn training_in_bevy_does_not_depend_on_the_frame_budget() {
    use lnlab::{SimDriver, headless_app, run_headless};
    use std::time::Duration;
    let scene = detour_scene();
    let run = |configure: &dyn Fn(&mut SimDriver)| {
        let mut driver = SimDriver::new(session(&scene, &options(400)));
        configure(&mut driver);
        let mut frames = 0u64;
        let d = run_headless(headless_app(driver), |_| frames += 1);
        let agents = d.session.agents().unwrap();
        let params = lnlab::policy_parameters(&agents.groups[0].policy.net);
        (
            frames,
            params,
            agents.rows.len(),
            d.session.engine().metrics().succeeded,
        )
    };
    let (frames_small, params_small, rows_small, ok_small) = run(&|s| {
        s.events_per_frame = 7;
        s.minibatches_per_frame = 1;
    });
    let (frames_large, params_large, rows_large, ok_large) = run(&|_| {});
    let (frames_paced, params_paced, rows_paced, ok_paced) = run(&|s| {
        s.events_per_frame = 50;
        s.minibatches_per_frame = 1;
        s.sim_ms_per_s = Some(200_000.0);
        s.frame_budget = Some(Duration::from_micros(300));
    });
    assert!(
        frames_small > frames_large,
        "{frames_small} vs {frames_large} frames"
    );
    assert!(frames_paced > frames_large, "{frames_paced} paced frames");
    assert_eq!((rows_small, ok_small), (rows_large, ok_large));
    assert_eq!((rows_paced, ok_paced), (rows_large, ok_large));
    assert!(
        params_small == params_large,
        "the frame budget changed the trained weights"
    );
    assert!(
        params_paced == params_large,
        "the lab's pacing changed the trained weights"
    );
}

/// A small headroom scene: 100 nodes (Barabási–Albert), lnd's liquidity prior, and 60% of
/// the channels of the five best-connected hubs slow-jammed for the whole run. Source
/// routers learn of the jams only from failures; the oracle and the agents see them.
fn small_jamming_scene() -> Scene {
    let mut scene = lnlab::generate_scene(&lnlab::GenerateParams {
        nodes: 100,
        channels: 220,
        model: lnlab::GraphModel::BarabasiAlbert,
        seed: 7,
    })
    .unwrap();
    scene.liquidity = LiquidityModel::Bimodal { scale_sat: 300_000 };
    scene.workload = Workload {
        rate_per_s: 5.0,
        amount: AmountModel::LogNormal {
            median_sat: 100_000.0,
            sigma: 0.9,
        },
        senders: EndpointModel::Uniform,
        receivers: EndpointModel::CapacityWeighted,
    };
    let mut degree = vec![0usize; scene.nodes.len()];
    for c in &scene.channels {
        degree[c.node1 as usize] += 1;
        degree[c.node2 as usize] += 1;
    }
    let mut hubs: Vec<u32> = (0..scene.nodes.len() as u32).collect();
    hubs.sort_by_key(|&v| (std::cmp::Reverse(degree[v as usize]), v));
    let mut jammed = std::collections::HashSet::new();
    for &hub in &hubs[..5] {
        let mut mine: Vec<&SceneChannel> = scene
            .channels
            .iter()
            .filter(|c| (c.node1 == hub || c.node2 == hub) && !jammed.contains(&c.scid))
            .collect();
        mine.sort_by_key(|c| std::cmp::Reverse(c.capacity_sat));
        let take = mine.len() * 6 / 10;
        for c in &mine[..take] {
            jammed.insert(c.scid);
        }
    }
    let mut jammed: Vec<ShortChannelId> = jammed.into_iter().collect();
    jammed.sort();
    scene.timeline = jammed
        .into_iter()
        .map(|scid| TimedCommand {
            at_ms: 0,
            command: Command::JamChannel {
                scid,
                direction: None,
                duration_ms: 3_600_000,
            },
        })
        .collect();
    scene.agents = Some(AgentsSection {
        groups: vec![AgentGroup {
            name: "routers".into(),
            nodes: (0..scene.nodes.len() as u32).collect(),
            // As the headroom scenes ship: the outcome credited along the route.
            ppo: PpoConfig {
                credit: lnlab::Credit::Route,
                ..PpoConfig::default()
            },
            checkpoint: None,
        }],
        rewards: lnlab::RewardWeights {
            mode: lnlab::RewardMode::Welfare,
            latency_per_ms: 0.0001,
            ..Default::default()
        },
        continual: true,
    });
    scene
}

/// Mean success of `policy` over `seeds` runs of `payments` each.
fn mean_success(scene: &Scene, policy: PolicyChoice, seeds: std::ops::Range<u64>) -> f64 {
    let n = seeds.end - seeds.start;
    seeds
        .map(|seed| {
            let options = RunOptions {
                policy: policy.clone(),
                seed,
                payments: 600,
                record_payments: false,
                check_invariants: false,
            };
            run_scene(scene, &options, |_, _| {})
                .unwrap()
                .report
                .success_rate
        })
        .sum::<f64>()
        / n as f64
}

#[test]
fn trained_agents_close_headroom_that_random_routing_does_not() {
    let scene = small_jamming_scene();
    let mut t = session(&scene, &SessionOptions::new(7, Some(3_000)));
    t.run_to_completion(|_| {});
    let ckpt = tempfile::tempdir().unwrap();
    let path = ckpt.path().join("routers.safetensors");
    let agents = t.agents().unwrap();
    let g = &agents.groups[0];
    g.policy
        .save(&path, &g.learner.config, agents.decisions, "small-jamming")
        .unwrap();

    // Fresh workloads, none of them trained on.
    let seeds = 100..103;
    let baseline = |k| mean_success(&scene, PolicyChoice::Baseline(k), seeds.clone());
    let (lnd, oracle, random) = (
        baseline(RouterKind::Lnd),
        baseline(RouterKind::Oracle),
        baseline(RouterKind::Random),
    );
    let ppo = mean_success(&scene, PolicyChoice::Ppo(path), seeds.clone());
    let headroom = oracle - lnd;
    let closed = |s: f64| (s - lnd) / headroom;
    let figures = format!(
        "lnd {lnd:.3}, oracle {oracle:.3}, random {random:.3}, ppo {ppo:.3}: \
         ppo closes {:.2} of the headroom, random {:.2}",
        closed(ppo),
        closed(random)
    );
    eprintln!("{figures}");
    assert!(
        headroom >= 0.05,
        "the scene leaves routing too little: {figures}"
    );
    // Route credit closes 0.50 here.
    assert!(closed(ppo) >= 0.35, "{figures}");
    assert!(closed(random) < 0.0, "{figures}");
}

/// The diamond the budget and local-retry tests share: s (0) - a (1), a to b (2) and to c
/// (3), each of those to the merchant d (4); channel `i` is the `i`th of those five, in that
/// order, `fee_ppm[i]` its fee from the sender's side. Only the payment a test starts runs,
/// with `max_attempts` attempts.
fn diamond(fee_ppm: [u64; 5], max_attempts: u32) -> Scene {
    let mut scene = crate::support::line(5);
    scene.nodes[4].role = Role::Merchant;
    scene.workload.rate_per_s = 1e-9;
    scene.routing.max_attempts = max_attempts;
    let ends = [(0, 1), (1, 2), (1, 3), (2, 4), (3, 4)];
    scene.channels = ends
        .iter()
        .zip(fee_ppm)
        .enumerate()
        .map(|(i, (&(a, b), fee_ppm))| SceneChannel {
            scid: crate::support::scid(i as u32),
            node1: a,
            node2: b,
            capacity_sat: 200_000_000,
            node1_balance_msat: Some(100_000_000_000),
            node1_policy: Some(policy(0, fee_ppm, 40)),
            node2_policy: Some(policy(0, 0, 40)),
        })
        .collect();
    scene
}

/// A session of `scene` in which every node is an agent with `ppo` and a fresh, frozen
/// policy, checking the engine's invariants after every event, for one payment.
fn frozen_agents_everywhere(scene: &Scene, ppo: PpoConfig) -> Session {
    let mut scene = scene.clone();
    scene.agents = Some(AgentsSection {
        groups: vec![AgentGroup {
            name: "all".into(),
            nodes: (0..scene.nodes.len() as u32).collect(),
            ppo,
            checkpoint: None,
        }],
        rewards: Default::default(),
        continual: false,
    });
    session(
        &scene,
        &SessionOptions {
            learning: Some(false),
            check_invariants: true,
            ..options(1)
        },
    )
}

/// Jam the channels `jammed` (by scid index, forward, for an hour), send `amount_msat` from
/// node 0 to the last node (the diamond's s and d), and run until it resolves.
fn pay_past_jams(t: &mut Session, jammed: &[u32], amount_msat: u64) -> lnlab::PaymentId {
    for &channel in jammed {
        t.apply(Command::JamChannel {
            scid: crate::support::scid(channel),
            direction: Some(Direction::Forward),
            duration_ms: 3_600_000,
        })
        .unwrap();
    }
    let receiver = NodeId(t.engine().network().node_count() as u32 - 1);
    let id = t.start_payment(lnlab::PaymentRequest {
        sender: NodeId(0),
        receiver,
        amount_msat,
    });
    t.run_to_completion(|_| {});
    id
}

/// `FeeBudget::Escalate`: a sender's first attempts may spend only a little more than the
/// cheapest route gossip shows (s - a - b - d, free, but a's channel to b is jammed), so
/// the dear way round through c (3,000 ppm) waits until the budget has grown enough to
/// pay it. Until then a, seeing in gossip that c's way on costs more than the budget has
/// left, fails the attempt back itself (`fee_insufficient`) rather than pass the HTLC on to
/// fail at c. With the
/// payment's whole fee limit, the first attempt takes the dear way. Under a cap
/// (`max_fee_ppm`) below c's fee, no attempt takes it. Every node is an agent (a fresh,
/// frozen policy).
#[test]
fn an_escalating_fee_budget_takes_the_dear_way_only_once_the_cheap_budgets_failed() {
    use lnlab::{AttemptId, FailureReason, FeeBudget, PaymentStatus};
    const D: u32 = 4;
    // Only c charges: 3,000 ppm on its channel to d, and 10,000 ppm back to a (so gossip's
    // cheapest way on from c is its channel to d, not back round through a). A wallet's
    // retries.
    let mut scene = diamond([0, 0, 0, 0, 3_000], 10);
    scene.channels[2].node2_policy = Some(policy(0, 10_000, 40));
    let amount_msat = 50_000_000;
    let dear_fee_msat = amount_msat * 3_000 / 1_000_000;
    let run = |fee_budget: FeeBudget, max_fee_ppm: Option<u64>| {
        let ppo = PpoConfig {
            fee_budget,
            max_fee_ppm,
            ..PpoConfig::default()
        };
        let mut t = frozen_agents_everywhere(&scene, ppo);
        let id = pay_past_jams(&mut t, &[1], amount_msat);
        let p = &t.engine().payments()[id.index()];
        let fees_msat = match p.status {
            PaymentStatus::Succeeded { fees_msat, .. } => Some(fees_msat),
            PaymentStatus::Failed { .. } => None,
            ref other => panic!("{fee_budget:?}: {other:?}"),
        };
        let a = t.engine().attempt(p.last_attempt.unwrap()).unwrap();
        let route: Vec<u32> = a.nodes.iter().map(|n| n.0).collect();
        // The only payment: its attempts are the session's first ones.
        let failures: Vec<FailureReason> = (0..p.attempts)
            .filter_map(|i| t.engine().attempt(AttemptId(i))?.failure.map(|(_, r)| r))
            .collect();
        (p.attempts, fees_msat, route, failures)
    };
    // The whole limit: the first attempt goes round through c.
    let dear = Some(dear_fee_msat);
    assert_eq!(
        run(FeeBudget::Limit, None),
        (1, dear, vec![0, 1, 3, D], vec![])
    );
    // Budgets of 10, 40 and then 160 sat (the floor, escalated four times per retry): the
    // first two cannot pay c's 150 sat, so a fails them back as `fee_insufficient` (not for
    // want of liquidity: its channel to c has plenty), rather than offering c an HTLC that
    // could only fail further on.
    let floor_msat = RoutingSettings::default().fee_limit_floor_msat;
    assert_eq!(
        floor_msat, 10_000,
        "the budgets above assume the default floor"
    );
    let too_dear = FailureReason::FeeInsufficient;
    assert_eq!(
        run(FeeBudget::Escalate(4.0), None),
        (3, dear, vec![0, 1, 3, D], vec![too_dear, too_dear])
    );
    // Capped at 0.2% of the amount plus the floor (110 sat): every one of the ten attempts
    // fails back at a, and the payment fails without paying c's 150 sat. A cap of 0.4%
    // (210 sat) does not bind.
    assert_eq!(
        run(FeeBudget::Escalate(4.0), Some(2_000)),
        (10, None, vec![0, 1], vec![too_dear; 10])
    );
    assert_eq!(
        run(FeeBudget::Escalate(4.0), Some(4_000)),
        (3, dear, vec![0, 1, 3, D], vec![too_dear, too_dear])
    );
    // The cap holds under the whole limit too, and a keeps to it.
    assert_eq!(
        run(FeeBudget::Limit, Some(2_000)),
        (10, None, vec![0, 1], vec![too_dear; 10])
    );
    // Gossip lags: c's fee rises to 3,000 ppm after the graph was announced free. Then a
    // sees a free way on through c and passes the first attempts on, and c, which knows
    // its own fee, fails them back rather than offer d an HTLC whose fee the budget cannot
    // pay; the third attempt's budget pays it.
    let ppo = PpoConfig {
        fee_budget: FeeBudget::Escalate(4.0),
        ..PpoConfig::default()
    };
    let mut t = frozen_agents_everywhere(&diamond([0; 5], 10), ppo);
    t.apply(Command::SetPolicy {
        scid: crate::support::scid(4),
        direction: Direction::Forward,
        fee_base_msat: None,
        fee_rate_ppm: Some(3_000),
        cltv_expiry_delta: None,
        htlc_minimum_msat: None,
        htlc_maximum_msat: None,
        disabled: None,
    })
    .unwrap();
    let id = pay_past_jams(&mut t, &[1], amount_msat);
    let p = &t.engine().payments()[id.index()];
    assert!(
        matches!(p.status, PaymentStatus::Succeeded { fees_msat, .. } if fees_msat == dear_fee_msat),
        "{:?}",
        p.status
    );
    let routes: Vec<(Vec<u32>, Option<FailureReason>)> = (0..p.attempts)
        .map(|i| {
            let a = t.engine().attempt(AttemptId(i)).unwrap();
            (
                a.nodes.iter().map(|n| n.0).collect(),
                a.failure.map(|(_, r)| r),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [
            (vec![0, 1, 3], Some(too_dear)),
            (vec![0, 1, 3], Some(too_dear)),
            (vec![0, 1, 3, D], None),
        ]
    );
}

/// `PpoConfig::local_retries`: s - a, then a's peers p and q each reach d. The frozen
/// policy's first choice at a is found on the open graph; then that peer's channel to d is
/// jammed, so the attempt dead-ends there. Without local retries the payment (one attempt
/// allowed) fails; with one, a takes the failure back and goes round through the other
/// peer within the same attempt, and the abandoned branch leaves nothing locked. With both
/// ways jammed, a retries once and then fails the attempt back.
#[test]
fn a_forwarding_agent_retries_locally_round_a_dead_end() {
    use lnlab::{FailureReason, PaymentStatus};
    const D: u32 = 4;
    // Every hop charges 100 ppm; channel 1 + k joins a to peer 2 + k, and channel 3 + k
    // that peer to d. One attempt per payment.
    let scene = diamond([100; 5], 1);
    let amount_msat = 50_000_000;
    let run = |local_retries: u32, jammed: &[u32]| {
        let ppo = PpoConfig {
            local_retries,
            ..PpoConfig::default()
        };
        let mut t = frozen_agents_everywhere(&scene, ppo);
        let channels: Vec<u32> = jammed.iter().map(|peer| peer + 1).collect();
        let id = pay_past_jams(&mut t, &channels, amount_msat);
        let engine = t.engine();
        let p = &engine.payments()[id.index()];
        let a = engine.attempt(p.last_attempt.unwrap()).unwrap();
        let route: Vec<u32> = a.nodes.iter().map(|n| n.0).collect();
        let abandoned: Vec<(u32, u32)> = a
            .abandoned
            .iter()
            .map(|&(n, c)| (n.0, engine.network().channel(c).unwrap().scid.tx_index()))
            .collect();
        // Nothing stays locked on a's channels to its peers, abandoned branch or not.
        for k in 1..=2 {
            let c = engine.network().channel_by_scid(crate::support::scid(k));
            let ch = engine.network().channel(c.unwrap()).unwrap();
            assert_eq!(ch.in_flight_count(), 0, "channel {k}");
        }
        let delivered = matches!(p.status, PaymentStatus::Succeeded { .. });
        let failure = a.failure.map(|(_, r)| r);
        (
            p.attempts,
            delivered,
            route,
            a.local_retries(),
            abandoned,
            failure,
        )
    };
    // Where the policy goes first when every way is open.
    let (_, delivered, route, ..) = run(0, &[]);
    assert!(delivered);
    let first = route[2];
    let other = 5 - first;
    assert!([2, 3].contains(&first), "{route:?}");
    let no_way = Some(FailureReason::InsufficientLiquidity);
    // Its way on is jammed: without local retries the only attempt fails at that peer.
    assert_eq!(
        run(0, &[first]),
        (1, false, vec![0, 1, first], 0, vec![], no_way)
    );
    // With one, a goes round within the attempt, over the channel to the other peer.
    assert_eq!(
        run(1, &[first]),
        (1, true, vec![0, 1, other, D], 1, vec![(1, first - 1)], None)
    );
    // Both ways jammed: one local retry, then the failure goes back to the sender.
    assert_eq!(
        run(1, &[first, other]),
        (1, false, vec![0, 1, other], 1, vec![(1, first - 1)], no_way)
    );
}

/// `PpoConfig::max_extra_hops`: s - a - d is the cheapest route gossip shows (2 hops), but
/// a's channel to d is jammed; the only other way is the long one, a - x - y - z - d (5
/// hops). Allowed 3 hops more than the cheapest, the attempt goes the long way; allowed 2,
/// no agent offers a hop that gossip shows cannot reach d in time. The fewest hops a node
/// reckons from a peer are a lower bound (they may run back through the node itself), so
/// a still forwards to x, and x, which sees its only way on is too long, fails the
/// attempt as `too_many_hops`.
#[test]
fn an_attempt_takes_no_more_hops_than_the_cheapest_route_plus_the_extra_allowed() {
    use lnlab::{FailureReason, FeeBudget, PaymentStatus};
    const D: u32 = 6;
    let mut scene = crate::support::line(7);
    scene.nodes[D as usize].role = Role::Merchant;
    scene.workload.rate_per_s = 1e-9;
    scene.routing.max_attempts = 1;
    let ends = [(0, 1), (1, D), (1, 2), (2, 3), (3, 4), (4, D)];
    scene.channels = ends
        .iter()
        .enumerate()
        .map(|(i, &(a, b))| SceneChannel {
            scid: crate::support::scid(i as u32),
            node1: a,
            node2: b,
            capacity_sat: 200_000_000,
            node1_balance_msat: Some(100_000_000_000),
            node1_policy: Some(policy(0, 100, 40)),
            node2_policy: Some(policy(0, 0, 40)),
        })
        .collect();
    let run = |max_extra_hops: Option<u32>| {
        let ppo = PpoConfig {
            max_extra_hops,
            ..PpoConfig::default()
        };
        let mut t = frozen_agents_everywhere(&scene, ppo);
        // Channel 1 is the direct one, a - d.
        let id = pay_past_jams(&mut t, &[1], 50_000_000);
        let engine = t.engine();
        let p = &engine.payments()[id.index()];
        let a = engine.attempt(p.last_attempt.unwrap()).unwrap();
        let route: Vec<u32> = a.nodes.iter().map(|n| n.0).collect();
        let delivered = matches!(p.status, PaymentStatus::Succeeded { .. });
        (delivered, route, a.failure.map(|(_, r)| r))
    };
    let long_way = vec![0, 1, 2, 3, 4, D];
    assert_eq!(run(None), (true, long_way.clone(), None));
    assert_eq!(run(Some(3)), (true, long_way, None));
    assert_eq!(
        run(Some(2)),
        (false, vec![0, 1, 2], Some(FailureReason::TooManyHops))
    );
    // The bound holds under an escalating fee budget too (it works from the same route).
    let ppo = PpoConfig {
        fee_budget: FeeBudget::Escalate(4.0),
        max_extra_hops: Some(2),
        ..PpoConfig::default()
    };
    let mut t = frozen_agents_everywhere(&scene, ppo);
    let id = pay_past_jams(&mut t, &[1], 50_000_000);
    assert!(matches!(
        t.engine().payments()[id.index()].status,
        PaymentStatus::Failed { .. }
    ));
}
