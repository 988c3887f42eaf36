//! The L402 market in a running network: clients with budgets buy tokens and reuse them,
//! and the counters add up.

use lnlab::routing::RouterKind;
use lnlab::sim::run::{PolicyChoice, RunOptions, run_scene};

#[test]
fn clients_buy_tokens_reuse_them_and_the_counters_add_up() {
    let path = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenes/l402_market.ron"
    ));
    let scene = lnlab::scene::load(path).unwrap();
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
