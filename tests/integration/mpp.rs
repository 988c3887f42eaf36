//! Multi-part payments: a payment only a split can deliver, the receiver's timeout that
//! releases every part it holds when the rest cannot come, and that without `routing.mpp`
//! nothing splits.

use crate::support::{engine, line, pay, policy, scid};
use lnlab::{Engine, FailureReason, PaymentStatus, RouterKind, Scene, SceneChannel};

const SAT: u64 = 1_000;

/// Two disjoint paths n0 -> n1 -> n3 and n0 -> n2 -> n3, each able to carry 6M sat, except
/// that n2 holds only `n2_to_n3_sat` toward n3 (gossip cannot tell).
fn two_paths(n2_to_n3_sat: u64, mpp: bool) -> Scene {
    let mut scene = line(4);
    scene.channels = [
        (0, 0, 1, 6_000_000),
        (1, 1, 3, 6_000_000),
        (2, 0, 2, 6_000_000),
    ]
    .into_iter()
    .chain([(3, 2, 3, n2_to_n3_sat)])
    .map(|(i, a, b, balance_sat)| SceneChannel {
        scid: scid(i),
        node1: a,
        node2: b,
        capacity_sat: 10_000_000,
        node1_balance_msat: Some(balance_sat * SAT),
        node1_policy: Some(policy(1_000, 100, 40)),
        node2_policy: Some(policy(1_000, 100, 40)),
    })
    .collect();
    scene.routing.max_attempts = 4;
    scene.routing.mpp = mpp.then_some((16, 1_000_000 * SAT));
    scene
}

fn clean(e: &Engine) {
    e.network().check_invariants().unwrap();
    assert_eq!(e.network().in_flight_totals(), (0, 0), "locks left behind");
}

/// What n3 holds across its two channels.
fn receiver_msat(e: &Engine) -> u64 {
    [1, 3]
        .into_iter()
        .map(|i| {
            let ch = e.network().channel_by_scid(scid(i)).unwrap();
            e.network().channel(ch).unwrap().sides[1].balance_msat
        })
        .sum()
}

#[test]
fn only_a_split_delivers_a_payment_larger_than_any_path() {
    let amount_msat = 10_000_000 * SAT;
    for router in [
        RouterKind::Lnd,
        RouterKind::Ldk,
        RouterKind::Cheapest,
        RouterKind::Oracle,
    ] {
        let mut single = engine(&two_paths(6_000_000, false), router);
        let before = receiver_msat(&single);
        pay(&mut single, 0, 3, amount_msat);
        assert!(
            matches!(
                single.payments()[0].status,
                PaymentStatus::Failed {
                    reason: FailureReason::NoRoute,
                    ..
                }
            ),
            "{router}: one part cannot carry 10M sat"
        );
        assert_eq!(single.metrics().mpp_payments, 0);

        let mut split = engine(&two_paths(6_000_000, true), router);
        pay(&mut split, 0, 3, amount_msat);
        let p = &split.payments()[0];
        assert!(
            matches!(p.status, PaymentStatus::Succeeded { .. }),
            "{router}: {:?}",
            p.status
        );
        assert_eq!(p.parts.settled.len(), 2, "{router}: two halves");
        assert!(p.parts.split);
        let m = split.metrics();
        assert_eq!((m.mpp_payments, m.parts_succeeded), (1, 2));
        assert_eq!(m.fees_paid_msat, m.fees_earned_msat);
        assert_eq!(
            receiver_msat(&split) - before,
            amount_msat,
            "{router}: the receiver got exactly the amount"
        );
        clean(&split);
    }
}

#[test]
fn an_incomplete_payment_times_out_at_the_receiver_and_every_part_fails_back() {
    // n2 can pass only 1M sat to n3: one half arrives and is held; the other cannot come.
    let scene = two_paths(1_000_000, true);
    let mut e = engine(&scene, RouterKind::Lnd);
    let balances = |e: &Engine| -> Vec<u64> {
        (0..4)
            .flat_map(|i| {
                let ch = e.network().channel_by_scid(scid(i)).unwrap();
                let ch = e.network().channel(ch).unwrap();
                [ch.sides[0].balance_msat, ch.sides[1].balance_msat]
            })
            .collect()
    };
    let before = balances(&e);
    pay(&mut e, 0, 3, 10_000_000 * SAT);
    let p = &e.payments()[0];
    let PaymentStatus::Failed { at_ms, .. } = p.status else {
        panic!("expected a failure, got {:?}", p.status)
    };
    assert!(p.parts.split);
    let timed_out: Vec<_> = (0..)
        .map_while(|i| e.attempt(lnlab::AttemptId(i)))
        .filter(|a| matches!(a.failure, Some((_, FailureReason::MppTimeout))))
        .collect();
    assert!(!timed_out.is_empty(), "the held part timed out");
    for a in &timed_out {
        let held_ms = a.hops.last().unwrap().added_ms;
        assert!(
            at_ms >= held_ms + lnlab::MPP_TIMEOUT_MS,
            "held for the full wait"
        );
    }
    assert_eq!(balances(&e), before, "all or nothing: no part moved money");
    assert_eq!(e.metrics().fees_paid_msat, 0);
    clean(&e);
}

#[test]
fn parts_stay_above_the_minimum_and_within_the_limit() {
    // Parts of at least 6M sat cannot be made from 10M sat: the payment fails unsplit.
    let mut scene = two_paths(6_000_000, true);
    scene.routing.mpp = Some((16, 6_000_000 * SAT));
    let mut e = engine(&scene, RouterKind::Lnd);
    pay(&mut e, 0, 3, 10_000_000 * SAT);
    assert!(!e.payments()[0].parts.split);
    assert!(matches!(
        e.payments()[0].status,
        PaymentStatus::Failed { .. }
    ));
    clean(&e);
    // A sender whose channels hold 2.6M sat in all does not split 10M sat (lnd's
    // "insufficient local balance").
    let mut scene = two_paths(6_000_000, true);
    for c in &mut scene.channels {
        c.node1_balance_msat = Some(1_300_000 * SAT);
    }
    let mut e = engine(&scene, RouterKind::Lnd);
    pay(&mut e, 0, 3, 10_000_000 * SAT);
    assert!(!e.payments()[0].parts.split);
    assert_eq!(e.payments()[0].attempts, 1);
    clean(&e);
    // The sender could, but the paths beyond it carry 1.3M sat each: parts go out, at most
    // four at a time, and none can complete the payment.
    for i in [1, 3] {
        scene.channels[i].node1_balance_msat = Some(1_300_000 * SAT);
    }
    for i in [0, 2] {
        scene.channels[i].node1_balance_msat = Some(6_000_000 * SAT);
    }
    scene.routing.mpp = Some((4, 100_000 * SAT));
    let mut e = engine(&scene, RouterKind::Oracle);
    e.start_payment(lnlab::PaymentRequest {
        sender: lnlab::NodeId(0),
        receiver: lnlab::NodeId(3),
        amount_msat: 10_000_000 * SAT,
    });
    let mut most_in_flight = 0;
    while e.step() {
        most_in_flight = most_in_flight.max(e.payments()[0].parts.in_flight);
    }
    let p = &e.payments()[0];
    assert!(matches!(p.status, PaymentStatus::Failed { .. }));
    assert!(p.parts.split);
    assert_eq!(most_in_flight, 4, "as many parts as allowed, and no more");
    clean(&e);
}
