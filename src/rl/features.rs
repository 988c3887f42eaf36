//! What an agent sees at a decision: one row per candidate outgoing channel, each row the
//! candidate's own features followed by the payment's context. Amounts and capacities
//! enter as logs, everything is scaled to roughly unit range before the running
//! normalisation in `normalize`. The layout is versioned by [`FEATURE_SPEC`], which
//! checkpoints record so that a policy is never fed features it was not trained on.

use super::onward::Onward;
use crate::network::{ChannelId, Direction, FailureReason, NodeId};
use crate::routing::{DecisionContext, LocalChannel};
use rustc_hash::FxHashMap as HashMap;

/// Per-candidate features.
pub const CANDIDATE_FEATURES: [&str; 14] = [
    "ln_fee_msat",
    "cltv_delta",
    "ln_capacity_sat",
    "local_balance_ratio",
    "slot_occupancy",
    "hops_to_destination",
    "ln_fee_to_destination_msat",
    "onward_capacity_to_amount",
    "route_fee_ppm",
    "neighbour_failure_rate",
    "is_destination",
    "cheapest_route_fee_ppm",
    "cheapest_route_hops",
    "neighbour_failure_rate_to_destination",
];

/// Per-payment context features, repeated on every candidate row.
pub const CONTEXT_FEATURES: [&str; 4] = [
    "amount_to_capacity",
    "hops_so_far",
    "cltv_budget_left",
    "time_in_flight",
];

pub const FEATURES: usize = CANDIDATE_FEATURES.len() + CONTEXT_FEATURES.len();

/// Names and version of the feature layout, recorded in checkpoints.
pub const FEATURE_SPEC: &str = "lnlab-features-v8: ln_fee_msat, cltv_delta, ln_capacity_sat, \
local_balance_ratio, slot_occupancy, hops_to_destination, ln_fee_to_destination_msat, \
onward_capacity_to_amount, route_fee_ppm, neighbour_failure_rate, is_destination, \
cheapest_route_fee_ppm, cheapest_route_hops, neighbour_failure_rate_to_destination | \
amount_to_capacity, hops_so_far, cltv_budget_left, time_in_flight";

/// One candidate: the channel it would use and its raw (unnormalised) feature row.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub channel: ChannelId,
    pub direction: Direction,
    pub peer: NodeId,
    pub row: [f32; FEATURES],
}

/// What each agent node remembers about its neighbours: an exponentially weighted failure
/// rate of the payments it sent their way, over all destinations and per destination. A
/// node forwarding hop by hop knows where the payment is going (as a trampoline node
/// does), so it can tell a peer that fails everything from one whose way to one
/// destination has run dry (the drained channels into a sink, the jammed ones round a
/// merchant) while it still carries the rest: what a source router's mission control
/// learns per pair of nodes, as far as a node sees from where it stands.
#[derive(Clone, Debug, Default)]
pub struct NeighbourMemory {
    rates: HashMap<(NodeId, NodeId), f32>,
    toward: HashMap<(NodeId, NodeId, NodeId), f32>,
}

impl NeighbourMemory {
    const ALPHA: f32 = 0.1;
    /// Per destination there are fewer outcomes to learn from, and they age faster.
    const ALPHA_TOWARD: f32 = 0.3;
    /// Per-destination rates kept at most (about 30 MB); past it they are forgotten at
    /// once and the rates over all destinations stand in, so a lab left running on a
    /// large graph does not grow without bound.
    const MAX_TOWARD: usize = 1 << 20;

    pub fn rate(&self, node: NodeId, peer: NodeId) -> f32 {
        self.rates.get(&(node, peer)).copied().unwrap_or(0.0)
    }

    /// The failure rate toward `destination`; before any payment went that way, the rate
    /// over all destinations.
    pub fn rate_toward(&self, node: NodeId, peer: NodeId, destination: NodeId) -> f32 {
        self.toward
            .get(&(node, peer, destination))
            .copied()
            .unwrap_or_else(|| self.rate(node, peer))
    }

    pub fn record(&mut self, node: NodeId, peer: NodeId, destination: NodeId, failed: bool) {
        let outcome = f32::from(u8::from(failed));
        let r = self.rates.entry((node, peer)).or_insert(0.0);
        // A destination's first outcome starts from the overall rate before it.
        let overall_before = *r;
        *r += Self::ALPHA * (outcome - *r);
        let key = (node, peer, destination);
        if self.toward.len() >= Self::MAX_TOWARD && !self.toward.contains_key(&key) {
            self.toward.clear();
        }
        let t = self.toward.entry(key).or_insert(overall_before);
        *t += Self::ALPHA_TOWARD * (outcome - *t);
    }
}

/// Whether none of `locals` leads on: none is a channel to `destination`, and gossip shows
/// no way on from any of their peers (`ways_on`, per channel). Such a node is at a dead end,
/// whatever the hop and fee budgets would have allowed.
fn dead_end(
    locals: &[LocalChannel],
    destination: NodeId,
    ways_on: impl Iterator<Item = bool>,
) -> bool {
    !locals
        .iter()
        .zip(ways_on)
        .any(|(c, way_on)| c.peer == destination || way_on)
}

/// The items whose `fits` is true, in order.
fn fitting<T>(items: Vec<T>, fits: &[bool]) -> Vec<T> {
    items
        .into_iter()
        .zip(fits)
        .filter_map(|(item, &fits)| fits.then_some(item))
        .collect()
}

/// The valid candidates of a decision with their features, at most `max_candidates`
/// (the ones with the best way onward when there are more: fewest hops, then fees). Invalid channels —
/// disabled, short of balance for the amount, slots full, outside the HTLC limits, or
/// leading back into the route — are masked out by not being candidates at all. So are the
/// channels in `tried.0` (this node's failed attempts of this payment), unless nothing else
/// is left, those in `tried.1` (the ones it left in local retries of this attempt)
/// always, and, with `fees_within_budget`, the channels the HTLC's fee budget cannot pay
/// for (see [`crate::rl::config::PpoConfig::budgets_attempts`]): the node's own fee on the
/// channel (none for the sender), plus the fees of the cheapest way on from the peer as
/// gossip shows it ([`Onward::cheapest`]; none when the peer is the destination), must be
/// within what the budget has left. A peer from which gossip shows no way on at all is
/// left out too. The sender keeps its channels when none fits. With a `hop_limit` for the
/// attempt, so are the channels to peers from which gossip shows no way to the destination
/// within the hops left ([`crate::rl::config::PpoConfig::max_extra_hops`]).
///
/// With no candidate left, the reason a forwarding node fails the HTLC back with, from the
/// filter that left none: `InsufficientLiquidity` (`temporary_channel_failure`) when none
/// of its channels can take the HTLC (short of balance, slots full, disabled, outside the
/// HTLC limits, or already left in this attempt's local retries) or none leads on to the
/// destination at all as gossip shows it, `FeeInsufficient` when the fee budget pays for
/// none of the ways on (as a trampoline node answers `trampoline_fee_insufficient`), and
/// `TooManyHops` when none leads on within the attempt's hop limit.
pub fn candidates(
    ctx: &DecisionContext,
    onward: &mut Onward,
    memory: &NeighbourMemory,
    max_candidates: usize,
    (tried, abandoned): (&[ChannelId], &[ChannelId]),
    fees_within_budget: bool,
    hop_limit: Option<usize>,
) -> Result<Vec<Candidate>, FailureReason> {
    let p = &ctx.payment;
    let amount = p.amount_msat + p.fee_budget_msat;
    let mut locals = ctx.local.usable_channels(amount, p.route_nodes);
    locals.retain(|c| !abandoned.contains(&c.channel));
    if locals.iter().any(|c| !tried.contains(&c.channel)) {
        locals.retain(|c| !tried.contains(&c.channel));
    }
    if locals.is_empty() {
        return Err(FailureReason::InsufficientLiquidity);
    }
    if fees_within_budget && p.route_nodes.len() > 1 {
        // A forwarding node knows its own fee and what the HTLC leaves for fees: a
        // channel whose fee the budget cannot pay would fail at once. (The lookahead
        // below would drop it too; this spares the searches for it.)
        locals.retain(|c| {
            ctx.local
                .fee_msat(c.channel, p.amount_msat)
                .is_some_and(|fee_msat| fee_msat <= p.fee_budget_msat)
        });
        if locals.is_empty() {
            return Err(FailureReason::FeeInsufficient);
        }
    }
    let peers: Vec<NodeId> = locals.iter().map(|c| c.peer).collect();
    // Per peer: the fewest-hop routes on (hops, fees, widest).
    let mut shortest = onward.estimates(ctx.gossip, ctx.node, p.destination, p.amount_msat, &peers);
    if let Some(limit) = hop_limit {
        // Gossip's fewest hops on are a lower bound: a peer they do not fit cannot make it.
        let so_far = p.route_nodes.len() - 1;
        let stuck = dead_end(&locals, p.destination, shortest.iter().map(Option::is_some));
        (locals, shortest) = locals
            .into_iter()
            .zip(shortest)
            .filter(|(c, e)| {
                c.peer == p.destination
                    || e.is_some_and(|e| so_far + 1 + usize::from(e.hops) <= limit)
            })
            .unzip();
        if locals.is_empty() {
            return Err(if stuck {
                FailureReason::InsufficientLiquidity
            } else {
                FailureReason::TooManyHops
            });
        }
    }
    // Gossip's cheapest way on from each peer, when the budget needs it for every peer.
    let mut cheapest_all: Option<Vec<Option<(u8, u64)>>> = None;
    if fees_within_budget {
        // Gossip's cheapest way on from a peer is about the least its route would charge
        // (the path is chosen at the amount's power-of-two class, so at the amount itself
        // it can be a little dearer than the cheapest): a channel whose own fee and that
        // exceed what the budget has left is not expected to deliver within it. The
        // sender keeps its channels when none is left (the attempt fails on the way; the
        // next one's budget is larger unless it is at the cap).
        let peers: Vec<NodeId> = locals.iter().map(|c| c.peer).collect();
        let mut onward_fees = onward.cheapest(ctx.gossip, p.destination, p.amount_msat, &peers);
        let sender = p.route_nodes.len() == 1;
        let stuck = dead_end(
            &locals,
            p.destination,
            onward_fees.iter().map(Option::is_some),
        );
        let fits: Vec<bool> = locals
            .iter()
            .zip(&onward_fees)
            .map(|(c, on)| {
                let own_msat = if sender {
                    Some(0)
                } else {
                    ctx.local.fee_msat(c.channel, p.amount_msat)
                };
                let on_msat = if c.peer == p.destination {
                    Some(0)
                } else {
                    on.map(|(_, fee_msat)| fee_msat)
                };
                own_msat
                    .zip(on_msat)
                    .is_some_and(|(own, on)| own.saturating_add(on) <= p.fee_budget_msat)
            })
            .collect();
        if !sender || fits.contains(&true) {
            locals = fitting(locals, &fits);
            shortest = fitting(shortest, &fits);
            onward_fees = fitting(onward_fees, &fits);
        }
        cheapest_all = Some(onward_fees);
        if locals.is_empty() {
            return Err(if stuck {
                FailureReason::InsufficientLiquidity
            } else {
                FailureReason::FeeInsufficient
            });
        }
    }
    let max_capacity_msat = locals
        .iter()
        .map(|c| c.capacity_sat * 1000)
        .max()
        .unwrap_or(1)
        .max(1);
    let context = [
        (p.amount_msat as f32 / max_capacity_msat as f32).min(1.0),
        p.route_nodes.len().saturating_sub(1) as f32 / 20.0,
        p.cltv_budget as f32 / 2016.0,
        (p.elapsed_ms as f32 / ctx.settings.timeout_ms.max(1) as f32).min(2.0),
    ];
    // Keep the `max_candidates` with the best way onward (the destination itself first,
    // then fewest hops, then least fees), in channel order; features only for those. At
    // least one: a decision with channels left always has a candidate (scenes validate
    // this; a hand-edited checkpoint sidecar is not).
    let max_candidates = max_candidates.max(1);
    let mut keep: Vec<usize> = (0..locals.len()).collect();
    if keep.len() > max_candidates {
        let rank = |i: usize| match (locals[i].peer == p.destination, shortest[i]) {
            (true, _) => (0u16, 0u64),
            (false, Some(e)) => (1 + u16::from(e.hops), e.fee_msat),
            (false, None) => (u16::MAX, u64::MAX),
        };
        keep.select_nth_unstable_by_key(max_candidates - 1, |&i| (rank(i), i));
        keep.truncate(max_candidates);
        keep.sort_unstable();
    }
    // The cheapest route on, for the kept candidates: under a budget the lookahead above
    // found it for every peer; otherwise only for those (each answer is exact however far
    // the search has gone, and a hub's far peers would otherwise make it settle the graph).
    let cheapest = match cheapest_all {
        Some(all) => keep.iter().map(|&i| all[i]).collect(),
        None => {
            let kept_peers: Vec<NodeId> = keep.iter().map(|&i| locals[i].peer).collect();
            onward.cheapest(ctx.gossip, p.destination, p.amount_msat, &kept_peers)
        }
    };
    Ok(keep
        .into_iter()
        .zip(cheapest)
        .map(|(i, cheapest)| {
            let c = &locals[i];
            let policy = ctx
                .gossip
                .edge(c.channel, c.direction)
                .map(|e| ctx.gossip.policy[e as usize]);
            let (fee, cltv) = policy.map_or((0, 0), |pol| {
                (pol.fee_msat(p.amount_msat), pol.cltv_expiry_delta)
            });
            let own_hop_fee = if ctx.node == p.sender { 0 } else { fee };
            // What the rest of the route would cost through this candidate (its own hop and
            // the cheapest shortest way on), as a share of the amount: the fee the welfare
            // reward charges.
            let route_fee_msat =
                own_hop_fee + shortest[i].map_or(p.fee_budget_msat, |e| e.fee_msat);
            let ppm_of = |fee_msat: u64| {
                ((fee_msat as f32 * 1e6 / p.amount_msat.max(1) as f32) + 1.0).ln() / 10.0
            };
            let route_fee_ppm = ppm_of(route_fee_msat);
            let (cheapest_fee_ppm, cheapest_hops) = if c.peer == p.destination {
                (ppm_of(own_hop_fee), 0.0)
            } else {
                match cheapest {
                    Some((h, fee)) => (ppm_of(own_hop_fee + fee), f32::from(h) / 10.0),
                    None => (ppm_of(own_hop_fee + p.fee_budget_msat), 2.0),
                }
            };
            let (hops, onward_fee, onward_capacity) = match shortest[i] {
                Some(e) => (
                    f32::from(e.hops) / 10.0,
                    ((e.fee_msat as f32) + 1.0).ln() / 10.0,
                    // ln(bottleneck / amount), scaled: 0 where the widest shortest route is
                    // just as large as the payment, +-1 at e^+-4 times it.
                    ((e.widest_sat as f32 * 1000.0) / p.amount_msat.max(1) as f32)
                        .ln()
                        .clamp(-8.0, 8.0)
                        / 4.0,
                ),
                None => (2.0, 3.0, -2.0),
            };
            let row_candidate = [
                ((own_hop_fee as f32) + 1.0).ln() / 10.0,
                f32::from(cltv) / 144.0,
                (c.capacity_sat.max(1) as f32).ln() / 20.0,
                c.balance_msat as f32 / (c.capacity_sat.max(1) * 1000) as f32,
                c.slot_occupancy,
                hops,
                onward_fee,
                onward_capacity,
                route_fee_ppm,
                memory.rate(ctx.node, c.peer),
                f32::from(u8::from(c.peer == p.destination)),
                cheapest_fee_ppm,
                cheapest_hops,
                memory.rate_toward(ctx.node, c.peer, p.destination),
            ];
            let mut row = [0f32; FEATURES];
            row[..CANDIDATE_FEATURES.len()].copy_from_slice(&row_candidate);
            row[CANDIDATE_FEATURES.len()..].copy_from_slice(&context);
            Candidate {
                channel: c.channel,
                direction: c.direction,
                peer: c.peer,
                row,
            }
        })
        .collect())
}

/// Where [`rule_choice`] reads its features in a row (a test checks the names).
const HOPS: usize = 5;
const WIDEST: usize = 7;
const ROUTE_FEE: usize = 8;
const IS_DESTINATION: usize = 10;

/// The candidate a fixed rule picks, the teacher of `PpoConfig::imitation_coef`: the
/// destination itself, else the fewest hops onward; among those, the cheapest route whose
/// widest way on carries the amount, else the widest way on; then the first. It reads
/// only the candidates' raw features, so it knows what the agent knows.
pub fn rule_choice(candidates: &[Candidate]) -> usize {
    let key = |c: &Candidate| {
        // Whether the widest way on carries the amount (the feature is 0 where the
        // bottleneck equals it); among those, the cheapest.
        let carries = c.row[WIDEST] >= 0.0;
        (
            -c.row[IS_DESTINATION],
            c.row[HOPS],
            -f32::from(u8::from(carries)),
            if carries {
                c.row[ROUTE_FEE]
            } else {
                -c.row[WIDEST]
            },
            c.row[ROUTE_FEE],
        )
    };
    (0..candidates.len())
        .min_by(|&a, &b| {
            key(&candidates[a])
                .partial_cmp(&key(&candidates[b]))
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.cmp(&b))
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer whose way to one destination keeps failing is remembered as failing toward
    /// that destination, faster than over all of them; toward a destination it was never
    /// sent to, the rate over all destinations stands in.
    #[test]
    fn neighbour_memory_tells_one_destination_from_the_rest() {
        let (node, peer, other_peer) = (NodeId(0), NodeId(1), NodeId(2));
        let (sink, elsewhere, unseen) = (NodeId(7), NodeId(8), NodeId(9));
        let mut memory = NeighbourMemory::default();
        assert_eq!(memory.rate_toward(node, peer, sink), 0.0);
        for _ in 0..5 {
            memory.record(node, peer, sink, true);
            memory.record(node, peer, elsewhere, false);
        }
        let toward_sink = memory.rate_toward(node, peer, sink);
        let overall = memory.rate(node, peer);
        assert!(toward_sink > 0.8, "{toward_sink}");
        assert!(memory.rate_toward(node, peer, elsewhere) < 0.2);
        assert!(overall > 0.1 && overall < 0.5, "{overall}");
        assert_eq!(memory.rate_toward(node, peer, unseen), overall);
        assert_eq!(memory.rate_toward(node, other_peer, sink), 0.0);
        // A first outcome toward a new destination starts from the overall rate.
        memory.record(node, peer, unseen, false);
        let expected = overall * (1.0 - NeighbourMemory::ALPHA_TOWARD);
        assert!((memory.rate_toward(node, peer, unseen) - expected).abs() < 1e-6);
    }

    proptest::proptest! {
        /// Whatever the outcomes: every rate stays a rate; the overall rate is what it
        /// would be without destinations; a destination's own entry moves only with its
        /// own outcomes; and toward a destination never sent to, the overall rate stands in.
        #[test]
        fn neighbour_memory_keeps_its_rates_apart(
            outcomes in proptest::collection::vec(
                (0u32..3, 0u32..3, 0u32..4, proptest::bool::ANY),
                0..200,
            ),
        ) {
            let mut memory = NeighbourMemory::default();
            let mut overall_only = NeighbourMemory::default();
            let mut seen = std::collections::BTreeSet::new();
            for &(node, peer, destination, failed) in &outcomes {
                let (node, peer, destination) = (NodeId(node), NodeId(peer), NodeId(destination));
                let others: Vec<(NodeId, f32)> = (0..4)
                    .map(NodeId)
                    .filter(|&d| d != destination && seen.contains(&(node, peer, d)))
                    .map(|d| (d, memory.rate_toward(node, peer, d)))
                    .collect();
                memory.record(node, peer, destination, failed);
                overall_only.record(node, peer, NodeId(0), failed);
                seen.insert((node, peer, destination));
                for (d, before) in others {
                    proptest::prop_assert_eq!(memory.rate_toward(node, peer, d), before);
                }
            }
            for node in (0..3).map(NodeId) {
                for peer in (0..3).map(NodeId) {
                    let overall = memory.rate(node, peer);
                    proptest::prop_assert_eq!(overall, overall_only.rate(node, peer));
                    proptest::prop_assert!((0.0..=1.0).contains(&overall));
                    for destination in (0..4).map(NodeId) {
                        let toward = memory.rate_toward(node, peer, destination);
                        proptest::prop_assert!((0.0..=1.0).contains(&toward));
                        if !seen.contains(&(node, peer, destination)) {
                            proptest::prop_assert_eq!(toward, overall);
                        }
                    }
                }
            }
        }
    }

    /// The rule reads the features it names, and ranks the destination first, then fewer
    /// hops, then a way on that carries the amount, then the cheaper route, then the first
    /// candidate.
    #[test]
    fn the_rule_prefers_the_destination_then_fewest_hops_then_the_cheapest_that_carries() {
        assert_eq!(CANDIDATE_FEATURES[HOPS], "hops_to_destination");
        assert_eq!(CANDIDATE_FEATURES[WIDEST], "onward_capacity_to_amount");
        assert_eq!(CANDIDATE_FEATURES[ROUTE_FEE], "route_fee_ppm");
        assert_eq!(CANDIDATE_FEATURES[IS_DESTINATION], "is_destination");
        let candidate = |hops: f32, widest: f32, fee: f32, destination: bool| {
            let mut row = [0f32; FEATURES];
            row[HOPS] = hops;
            row[WIDEST] = widest;
            row[ROUTE_FEE] = fee;
            row[IS_DESTINATION] = f32::from(u8::from(destination));
            Candidate {
                channel: ChannelId(0),
                direction: Direction::Forward,
                peer: NodeId(0),
                row,
            }
        };
        let far = candidate(0.3, 1.0, 0.1, false);
        let near_narrow = candidate(0.2, -0.5, 0.1, false);
        let near_wide_dear = candidate(0.2, 0.5, 0.9, false);
        let near_wide_cheap = candidate(0.2, 0.5, 0.4, false);
        let destination = candidate(0.0, -2.0, 0.9, true);
        assert_eq!(rule_choice(&[far.clone(), near_narrow.clone()]), 1);
        assert_eq!(
            rule_choice(&[far.clone(), near_narrow.clone(), near_wide_dear.clone()]),
            2
        );
        assert_eq!(
            rule_choice(&[near_wide_dear.clone(), near_wide_cheap.clone(), far.clone()]),
            1
        );
        assert_eq!(
            rule_choice(&[near_wide_cheap.clone(), near_wide_cheap.clone()]),
            0
        );
        assert_eq!(rule_choice(&[far, near_wide_cheap, destination]), 2);
    }
}
