//! The L402 market in a running network: clients with budgets buy tokens and reuse them,
//! and the counters add up.

use lnlab::RouterKind;
use lnlab::{PolicyChoice, RunOptions, Session, SessionOptions, run_scene};

#[test]
fn clients_buy_tokens_reuse_them_and_the_counters_add_up() {
    let path = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenes/l402_market.ron"
    ));
    let scene = lnlab::load_scene(path).unwrap();
    let options = RunOptions {
        policy: PolicyChoice::Baseline(RouterKind::Lnd),
        seed: 3,
        payments: 2_000,
        record_payments: false,
        check_invariants: true,
    };
    let out = run_scene(&scene, &options, |_, _| {}).unwrap();
    let l = out.report.l402.clone().expect("an l402 report");
    let rejected: u64 = l.rejected.values().sum();
    assert!(l.calls_requested > 100, "{l:?}");
    assert_eq!(
        l.calls_requested,
        l.served + rejected,
        "every call ends served or rejected: {l:?}"
    );
    assert!(l.paid <= l.challenged && l.paid > 0);
    assert!(l.served > l.paid, "tokens are reused: {l:?}");
    assert_eq!(l.clients_spent_msat, l.spent_price_msat + l.spent_fees_msat);
    let section = scene.l402.as_ref().unwrap();
    let priced: u64 = section
        .services
        .iter()
        .map(|s| l.services.get(&s.name).map_or(0, |c| c.paid) * s.price_msat)
        .sum();
    assert_eq!(
        priced, l.spent_price_msat,
        "spent on prices = tokens bought x their prices"
    );
    for s in &section.services {
        let c = l.services.get(&s.name).cloned().unwrap_or_default();
        if let Some(k) = s.calls_per_token {
            assert!(c.served <= c.paid * u64::from(k), "{}: {c:?}", s.name);
        }
    }
    for client in &section.clients {
        assert!(client.budget_msat > 0);
    }
    // Same seed, same market.
    let again = run_scene(&scene, &options, |_, _| {}).unwrap();
    assert_eq!(again.report.l402, out.report.l402);
    out.engine.network().check_invariants().unwrap();
}

/// The lab runs the market inside the session's budgeted advance: how the run is sliced
/// into frames (event budgets, time bounds) must not change what happens.
#[test]
fn the_lab_session_runs_the_market_the_same_whatever_the_frame_budget() {
    use lnlab::Budget;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes");
    let scene = lnlab::load_scene(&dir.join("l402_market.ron")).unwrap();
    let run = |max_events: usize, step_ms: u64| {
        let mut t = Session::from_scene(&scene, &dir, &SessionOptions::new(3, None)).unwrap();
        let mut until = 0;
        while t.engine().now_ms() < 60_000 {
            until = (until + step_ms).min(60_000);
            t.decide();
            t.advance(Budget {
                max_events,
                until_ms: Some(until),
                deadline: None,
            });
            t.record();
            t.update(usize::MAX);
        }
        let m = t.engine().metrics();
        let counts = (m.payments, m.succeeded, m.failed, m.fees_paid_msat);
        (t.market().unwrap().summary(), counts)
    };
    let (report, counts) = run(7, 250);
    assert!(report.paid > 0 && report.served > report.paid, "{report:?}");
    assert!(counts.1 > 0, "{counts:?}");
    assert_eq!((report.clone(), counts), run(100_000, 1_000));
    assert_eq!((report, counts), run(1, 17));
}

/// The inspector's question to an agent: a distribution over its usable channels.
#[test]
fn an_agent_explains_its_choice_as_probabilities_over_its_channels() {
    use lnlab::NodeId;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes");
    let scene = lnlab::load_scene(&dir.join("classroom.ron")).unwrap();
    let t = Session::from_scene(&scene, &dir, &SessionOptions::new(1, None)).unwrap();
    let t = t.view();
    let hub = NodeId(4);
    let shop = NodeId(7);
    let mut onward = lnlab::Onward::new(16);
    let e = t
        .explain(&mut onward, hub, shop, 50_000_000)
        .expect("HubNorth is an agent");
    assert!(e.len() >= 2, "{e:?}");
    let sum: f32 = e.iter().map(|c| c.probability).sum();
    assert!((sum - 1.0).abs() < 1e-4, "{sum}");
    assert!(e.windows(2).all(|w| w[0].probability >= w[1].probability));
    let own: Vec<_> = t
        .network()
        .channels_of(hub)
        .into_iter()
        .map(|(c, _, _)| c)
        .collect();
    assert!(e.iter().all(|c| own.contains(&c.channel)));
    let alice = t.explain(&mut onward, NodeId(0), shop, 50_000_000);
    assert!(alice.is_none(), "Alice is no agent");
    // Too large for any of its channels: nothing to choose from.
    let none = t.explain(&mut onward, hub, shop, 50_000_000_000).unwrap();
    assert!(none.is_empty(), "{none:?}");
}

/// A scene with both learning agents and an L402 market runs the same whoever drives the
/// session: the headless loop, the Bevy app with the CLI's budgets, and the Bevy app with
/// tiny frames and a paced clock as in the lab.
#[test]
fn agents_and_a_market_run_the_same_headless_and_in_bevy() {
    use lnlab::{AgentGroup, AgentsSection, PpoConfig, SimDriver, headless_app, run_headless};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes");
    let mut scene = lnlab::load_scene(&dir.join("l402_market.ron")).unwrap();
    scene.agents = Some(AgentsSection {
        groups: vec![AgentGroup {
            name: "core".into(),
            nodes: (0..8).collect(),
            ppo: PpoConfig {
                rollout_steps: 64,
                ..PpoConfig::default()
            },
            checkpoint: None,
        }],
        rewards: Default::default(),
        continual: true,
    });
    let options = SessionOptions::new(5, Some(600));
    let summary = |s: &Session| {
        let m = s.engine().metrics();
        let agents = s.agents().unwrap();
        (
            (m.payments, m.succeeded, m.failed, m.fees_paid_msat),
            agents.decisions,
            agents.rows.len(),
            lnlab::policy_parameters(&agents.groups[0].policy.net),
            s.market().unwrap().summary(),
        )
    };
    let mut plain = Session::from_scene(&scene, &dir, &options).unwrap();
    plain.run_to_completion(|_| {});
    let expected = summary(&plain);
    assert!(
        expected.1 > 0 && expected.2 > 0,
        "agents decided and learnt"
    );
    assert!(expected.4.paid > 0, "the market paid: {:?}", expected.4);
    let in_bevy = |configure: &dyn Fn(&mut SimDriver)| {
        let mut driver = SimDriver::new(Session::from_scene(&scene, &dir, &options).unwrap());
        configure(&mut driver);
        let driver = run_headless(headless_app(driver), |_| {});
        summary(&driver.session)
    };
    assert!(
        in_bevy(&|_| {}) == expected,
        "the CLI's budgets changed the run"
    );
    let lab_like = in_bevy(&|d| {
        d.events_per_frame = 13;
        d.minibatches_per_frame = 1;
        d.sim_ms_per_s = Some(50_000.0);
        d.frame_budget = Some(std::time::Duration::from_micros(400));
    });
    assert!(lab_like == expected, "the lab's pacing changed the run");
}
