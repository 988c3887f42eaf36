//! Turns each frame's engine events into what the lab shows: pulses that run along
//! channels (an HTLC offered, then its settle in green or its failure in red running
//! back), L402 badges at clients and services (402, paid, 200, 401) tagged with the
//! payment they caused, "retry" badges where an agent routes round a failure, and the
//! tallies the plots sample. Pulses are drawn here as gizmos.

use super::LabSet;
use super::state::{Lab, ViewCam, world_pos};
use super::theme::{self, Rgb};
use crate::ecs::sim::SimDriver;
use crate::l402::market::L402EventKind;
use crate::network::NodeId;
use crate::sim::engine::SimEvent;
use bevy::prelude::*;
use rustc_hash::FxHashSet;

/// Pulses alive at once; beyond this a frame's new pulses are thinned evenly.
const MAX_PULSES: usize = 300;
/// Seconds a pulse takes to cross a channel.
const PULSE_S: f32 = 0.45;
const BADGE_S: f32 = 2.2;
const MAX_BADGES: usize = 48;
/// "retry" badges shown at once, out of [`MAX_BADGES`].
const MAX_RETRY_BADGES: usize = 8;
/// Simulated time a finished payment stays in the engine's tables.
pub(super) const KEEP_HISTORY_MS: u64 = 120_000;

#[derive(Clone, Copy)]
pub struct Pulse {
    pub from: Vec2,
    pub to: Vec2,
    pub born_s: f32,
    pub color: Rgb,
}

pub struct Badge {
    pub node: NodeId,
    pub text: String,
    pub color: Rgb,
    pub born_s: f32,
    /// Local retries the badge counts (0: not a retry badge).
    pub retries: u32,
}

#[derive(Resource, Default)]
pub struct Flights {
    pub pulses: Vec<Pulse>,
    pub badges: Vec<Badge>,
    /// Payments made to buy L402 tokens (their pulses are violet).
    l402_payments: FxHashSet<u64>,
    generation: u64,
}

/// What happened since the plots last sampled that the engine's counters do not hold.
#[derive(Resource, Default, Debug)]
pub struct Tally {
    pub l402_served: u64,
}

pub struct FeedPlugin;

impl Plugin for FeedPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Flights>()
            .init_resource::<Tally>()
            .add_systems(Update, collect.in_set(LabSet::Collect))
            .add_systems(Update, draw_pulses.in_set(LabSet::Draw));
    }
}

fn collect(
    mut driver: NonSendMut<SimDriver>,
    mut lab: ResMut<Lab>,
    time: Res<Time<Real>>,
    mut flights: ResMut<Flights>,
    mut tally: ResMut<Tally>,
) {
    let now_s = time.elapsed_secs();
    if flights.generation != lab.generation {
        *flights = Flights {
            generation: lab.generation,
            ..default()
        };
        *tally = Tally::default();
    }
    let l402_events = driver.session.take_l402_events();
    for e in &l402_events {
        let (text, color, at) = match &e.kind {
            L402EventKind::Challenge => ("402".to_string(), theme::FAILURE, e.service),
            L402EventKind::InvoicePaid => ("paid".to_string(), theme::L402, e.client),
            L402EventKind::CredentialPresented => continue,
            L402EventKind::Served => {
                tally.l402_served += 1;
                ("200".to_string(), theme::SUCCESS, e.service)
            }
            L402EventKind::Rejected(why) => (format!("401 {why}"), theme::FAILURE, e.service),
        };
        if let Some(p) = e.payment {
            flights.l402_payments.insert(u64::from(p.0));
        }
        let text = match e.payment {
            Some(p) => format!("{text} #{p}"),
            None => text,
        };
        flights.badges.push(Badge {
            node: at,
            text,
            color,
            born_s: now_s,
            retries: 0,
        });
    }
    let events = driver.session.take_observed();
    let engine = driver.session.view();
    let net = engine.network();
    let pos = |n: NodeId| net.node(n).map(|n| world_pos(n.position));
    let mut fresh = Vec::new();
    for e in &events {
        match *e {
            SimEvent::HtlcAdded { attempt, hop, .. }
            | SimEvent::HtlcSettled { attempt, hop }
            | SimEvent::HtlcFailed { attempt, hop, .. } => {
                let Some(a) = engine.attempt(attempt) else {
                    continue;
                };
                // An added or failed hop may be gone from its attempt by now (a local retry
                // dropped its branch), and a closing channel once its HTLCs are done: those
                // events name the channel, and either source tells where it ran.
                let named = match *e {
                    SimEvent::HtlcAdded {
                        channel, direction, ..
                    }
                    | SimEvent::HtlcFailed {
                        channel, direction, ..
                    } => Some((channel, direction)),
                    _ => None,
                };
                let ends = match (a.hops.get(hop as usize), named) {
                    (Some(h), None) => Some((h.from, h.to)),
                    (Some(h), Some((channel, _))) if h.channel == channel => Some((h.from, h.to)),
                    (_, Some((channel, direction))) => net.direction_endpoints(channel, direction),
                    (None, None) => None,
                };
                let Some((from_node, to_node)) = ends else {
                    continue;
                };
                let (Some(from), Some(to)) = (pos(from_node), pos(to_node)) else {
                    continue;
                };
                if matches!(e, SimEvent::HtlcSettled { .. })
                    && let Some(h) = a.hops.get(hop as usize)
                {
                    lab.traffic
                        .record(engine.now_ms(), h.channel, h.amount_msat);
                }
                let l402 = flights.l402_payments.contains(&u64::from(a.payment.0));
                // The parts of a split payment leave the sender as separate pulses; a badge
                // names the payment they belong to.
                if matches!(e, SimEvent::HtlcAdded { hop: 0, .. })
                    && engine.payment(a.payment).is_some_and(|p| p.parts.split)
                {
                    flights.badges.push(Badge {
                        node: from_node,
                        text: format!("part of #{}", a.payment.0),
                        color: theme::IN_FLIGHT,
                        born_s: now_s,
                        retries: 0,
                    });
                }
                let (from, to, color) = match e {
                    SimEvent::HtlcAdded { .. } if l402 => (from, to, theme::L402),
                    SimEvent::HtlcAdded { .. } => (from, to, theme::IN_FLIGHT),
                    SimEvent::HtlcSettled { .. } => (to, from, theme::SUCCESS),
                    _ => (to, from, theme::FAILURE),
                };
                fresh.push(Pulse {
                    from,
                    to,
                    born_s: now_s,
                    color,
                });
            }
            SimEvent::PaymentSucceeded { payment, .. } => {
                if let Some(p) = engine.payment(payment)
                    && p.parts.settled.len() > 1
                {
                    flights.badges.push(Badge {
                        node: p.request.receiver,
                        text: format!("#{}: {} parts settled", payment.0, p.parts.settled.len()),
                        color: theme::SUCCESS,
                        born_s: now_s,
                        retries: 0,
                    });
                }
            }
            // A forwarding agent took a failure back and tries another way (local retry).
            SimEvent::RetriedLocally { node, .. } => note_retry(&mut flights.badges, node, now_s),
            // The scene's own timeline (a scripted jam, or edits saved from the lab and
            // replayed): a chart marker and a log line, as for a live injection.
            SimEvent::TimelineApplied { index, at_ms } => {
                if let Some(entry) = engine.timeline_entry(index) {
                    let label = super::state::describe(&entry.command, net);
                    lab.markers.push(super::state::Marker {
                        at_ms,
                        label: label.clone(),
                    });
                    lab.say(at_ms, format!("timeline: {label}"), false);
                }
            }
            _ => {}
        }
    }
    lab.traffic.expire(engine.now_ms());
    flights.pulses.retain(|p| now_s - p.born_s < PULSE_S);
    let room = MAX_PULSES
        .saturating_sub(flights.pulses.len())
        .max(MAX_PULSES / 4);
    if fresh.len() > room {
        // Keep an even sample: at high speed the picture stays representative.
        let stride = fresh.len() as f32 / room as f32;
        let sample: Vec<Pulse> = (0..room)
            .filter_map(|i| {
                let j = (i as f32 * stride) as usize;
                fresh.get(j).copied()
            })
            .collect();
        fresh = sample;
    }
    flights.pulses.extend(fresh);
    // What is drawn has been read: payments that ended minutes ago can go (memory stays
    // flat in long sessions; the counters keep their totals).
    let cutoff_ms = driver
        .session
        .view()
        .now_ms()
        .saturating_sub(KEEP_HISTORY_MS);
    driver.session.forget_before(cutoff_ms);
    let first = driver.session.view().first_kept_payment() as u64;
    flights.l402_payments.retain(|&p| p >= first);
    flights.badges.retain(|b| now_s - b.born_s < BADGE_S);
    let excess = flights.badges.len().saturating_sub(MAX_BADGES);
    flights.badges.drain(..excess);
}

/// A local retry at `node`. A node keeps one "retry" badge, counting its retries while it
/// shows, and at most [`MAX_RETRY_BADGES`] show at once (the newest), so that on a large
/// scene with agents still learning the retries do not bury the graph and every other
/// badge.
fn note_retry(badges: &mut Vec<Badge>, node: NodeId, now_s: f32) {
    let retries = match badges.iter().position(|b| b.node == node && b.retries > 0) {
        Some(i) => badges.remove(i).retries + 1,
        None => {
            if badges.iter().filter(|b| b.retries > 0).count() >= MAX_RETRY_BADGES
                && let Some(oldest) = badges.iter().position(|b| b.retries > 0)
            {
                badges.remove(oldest);
            }
            1
        }
    };
    badges.push(Badge {
        node,
        text: if retries == 1 {
            "retry".into()
        } else {
            format!("retry x{retries}")
        },
        color: theme::FAILURE,
        born_s: now_s,
        retries,
    });
}

/// A pulse is a bright dot with a short fading trail; its size follows the zoom.
fn draw_pulses(
    flights: Res<Flights>,
    time: Res<Time<Real>>,
    view: Res<ViewCam>,
    mut gizmos: Gizmos,
) {
    let now_s = time.elapsed_secs();
    let r = 3.5 * view.world_per_px;
    for p in &flights.pulses {
        let f = ((now_s - p.born_s) / PULSE_S).clamp(0.0, 1.0);
        let at = p.from.lerp(p.to, f);
        let tail = p.from.lerp(p.to, (f - 0.18).max(0.0));
        gizmos.line_2d(tail, at, theme::bevy_alpha(p.color, 0.55));
        gizmos.circle_2d(at, r, theme::bevy(p.color)).resolution(10);
    }
}

/// Seconds a badge has been shown, as a fraction of its life (for fading).
pub fn badge_age(b: &Badge, now_s: f32) -> f32 {
    ((now_s - b.born_s) / BADGE_S).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_keeps_one_retry_badge_counting_its_retries() {
        let mut badges = vec![Badge {
            node: NodeId(1),
            text: "402".into(),
            color: theme::L402,
            born_s: 0.0,
            retries: 0,
        }];
        note_retry(&mut badges, NodeId(1), 1.0);
        note_retry(&mut badges, NodeId(2), 1.5);
        note_retry(&mut badges, NodeId(1), 2.0);
        let shown: Vec<(u32, &str, u32)> = badges
            .iter()
            .map(|b| (b.node.0, b.text.as_str(), b.retries))
            .collect();
        // The L402 badge at the same node stays; node 1's retry badge is refreshed, counts
        // both retries and moves last, so it is the last to be thinned out.
        assert_eq!(
            shown,
            vec![(1, "402", 0), (2, "retry", 1), (1, "retry x2", 2)]
        );
        assert_eq!(badges[2].born_s, 2.0);
    }

    #[test]
    fn retry_badges_keep_to_their_share_and_the_newest_stay() {
        let mut badges = Vec::new();
        for node in 0..MAX_RETRY_BADGES as u32 + 3 {
            note_retry(&mut badges, NodeId(node), node as f32);
        }
        let nodes: Vec<u32> = badges.iter().map(|b| b.node.0).collect();
        assert_eq!(nodes, (3..MAX_RETRY_BADGES as u32 + 3).collect::<Vec<_>>());
    }
}
