//! The baseline routers. `random` forwards hop by hop over a random usable channel; the
//! others are source routers that compute the whole path at the sender with the backward
//! search, differing only in how they price an edge:
//! - `shortest`: fewest hops (ties broken by fee);
//! - `cheapest`: least fees plus lnd's timelock risk term (amount * cltv * 15e-9);
//! - `lnd`: lnd's probability-weighted distance with the apriori estimator and mission
//!   control (per sender);
//! - `ldk`: fees plus LDK-style penalties from liquidity bounds learnt per sender.
//!
//! Senders with nothing learnt share destination-rooted trees from `cache`; senders with
//! history of their own get an exact search, as do destinations not worth a tree. For
//! `shortest` and `cheapest` exact searches are guided by the payment's forward floors
//! from `potential` (its retries reuse them), and a retry resumes the payment's previous
//! search (`search::resume`) instead of starting over.

use super::cache::{DEFAULT_CAPACITY, TreeCache};
use super::dead_end;
use super::ldk::{LdkConfig, LdkKnowledge, LdkScorer};
use super::lru::Lru;
use super::mission_control::{LndScorer, MissionControl, MissionControlConfig};
use super::potential::{Guide, Potentials};
use super::search::{EdgeScorer, Limits, Snapshot, Tree, build_route};
use super::{AttemptOutcome, Decision, DecisionContext, Route, Router};
use crate::network::channel::forwarding_fee_msat;
use crate::network::failure::FailureReason;
use crate::network::gossip::{EdgeIdx, GossipPolicy, InEdge};
use crate::network::{ChannelId, Direction, NodeId};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap as HashMap;

/// Set (`on`) or clear the marks of `nodes` in a per-node mask of `bound` entries (the
/// masks stay all clear between decisions, so only the marked nodes are touched).
fn mark(mask: &mut Vec<bool>, bound: usize, nodes: &[NodeId], on: bool) {
    mask.resize(bound, false);
    for n in nodes {
        if let Some(m) = mask.get_mut(n.index()) {
            *m = on;
        }
    }
}

/// Forwards over a uniformly random usable channel that does not lead back into the route.
pub struct RandomRouter {
    rng: ChaCha8Rng,
}

impl RandomRouter {
    pub fn new(seed: u64) -> Self {
        RandomRouter {
            rng: crate::rng::rng_for(seed, crate::rng::stream::ROUTER),
        }
    }
}

impl Router for RandomRouter {
    fn name(&self) -> &str {
        "random"
    }

    fn decide(&mut self, ctx: &DecisionContext) -> Decision {
        let p = &ctx.payment;
        // The amount this node must forward: the payment plus what is left of the budget.
        let amount = p.amount_msat + p.fee_budget_msat;
        let options = ctx.local.usable_channels(amount, p.route_nodes);
        if let Some(direct) = options.iter().find(|c| c.peer == p.destination) {
            return Decision::Forward {
                channel: direct.channel,
                direction: direct.direction,
            };
        }
        if options.is_empty() {
            return Decision::Fail(if p.route_nodes.len() == 1 {
                FailureReason::NoRoute
            } else {
                FailureReason::InsufficientLiquidity
            });
        }
        let c = options[self.rng.random_range(0..options.len())];
        Decision::Forward {
            channel: c.channel,
            direction: c.direction,
        }
    }
}

/// How a source router prices edges.
pub enum Scoring {
    Shortest,
    Cheapest,
    Lnd(MissionControlConfig),
    Ldk(LdkConfig),
}

struct ShortestScorer;
impl ShortestScorer {
    #[inline]
    fn weight(fee_msat: u64) -> f64 {
        1.0 + fee_msat as f64 * 1e-15
    }
}
impl EdgeScorer for ShortestScorer {
    fn score(&self, _: &InEdge, _: u64, fee_msat: u64) -> Option<(f64, f64)> {
        Some((Self::weight(fee_msat), 1.0))
    }
    fn weight_floor(&self, policy: &GossipPolicy, amount_msat: u64) -> Option<f64> {
        Some(Self::weight(policy.fee_msat(amount_msat)))
    }
    fn weight_floor_by_rate(&self, fee_rate_ppm: u64, amount_msat: u64) -> f64 {
        Self::weight(forwarding_fee_msat(0, fee_rate_ppm, amount_msat))
    }
}

pub(super) struct CheapestScorer;
impl CheapestScorer {
    /// Fees plus lnd's timelock risk; grows with the amount, so its value at a payment's
    /// amount is a floor for every hop of the payment's routes.
    #[inline]
    fn weight(cltv_expiry_delta: u16, amount_msat: u64, fee_msat: u64) -> f64 {
        fee_msat as f64 + amount_msat as f64 * f64::from(cltv_expiry_delta) * 15e-9
    }
}
impl EdgeScorer for CheapestScorer {
    fn score(&self, edge: &InEdge, amount_msat: u64, fee_msat: u64) -> Option<(f64, f64)> {
        let weight = Self::weight(edge.policy.cltv_expiry_delta, amount_msat, fee_msat);
        Some((weight, 1.0))
    }
    fn weight_floor(&self, policy: &GossipPolicy, amount_msat: u64) -> Option<f64> {
        let fee_msat = policy.fee_msat(amount_msat);
        Some(Self::weight(
            policy.cltv_expiry_delta,
            amount_msat,
            fee_msat,
        ))
    }
    /// No base fee and no timelock: what is left grows with the rate.
    fn weight_floor_by_rate(&self, fee_rate_ppm: u64, amount_msat: u64) -> f64 {
        Self::weight(
            0,
            amount_msat,
            forwarding_fee_msat(0, fee_rate_ppm, amount_msat),
        )
    }
}

/// What `shortest` and `cheapest` remember: channels that just failed one of the sender's
/// payments are left out of its searches for a while (as every implementation at least
/// does within one payment), so a retry does not take the same failing path again.
#[derive(Debug, Default)]
struct Exclusions {
    senders: HashMap<NodeId, Vec<Excluded>>,
}

#[derive(Clone, Copy, Debug)]
struct Excluded {
    channel: ChannelId,
    direction: Direction,
    from: NodeId,
    until_ms: u64,
}

impl Exclusions {
    fn record(&mut self, outcome: &AttemptOutcome, for_ms: u64) {
        if let (Some(reason), Some(h)) = (outcome.failure, outcome.hops.last())
            && !matches!(
                reason,
                FailureReason::NoRoute | FailureReason::Timeout | FailureReason::MppTimeout
            )
            && outcome.hops.len() > 1
        {
            self.senders
                .entry(outcome.sender)
                .or_default()
                .push(Excluded {
                    channel: h.channel,
                    direction: h.direction,
                    from: h.from,
                    until_ms: outcome.now_ms + for_ms,
                });
        }
    }
    fn prune(&mut self, sender: NodeId, now_ms: u64) {
        if let Some(list) = self.senders.get_mut(&sender) {
            list.retain(|e| e.until_ms > now_ms);
            if list.is_empty() {
                self.senders.remove(&sender);
            }
        }
    }
    fn of(&self, sender: NodeId) -> &[Excluded] {
        self.senders.get(&sender).map_or(&[], Vec::as_slice)
    }
    fn nodes_of(&self, sender: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        self.of(sender).iter().map(|e| e.from)
    }
}

/// A scorer with some edges left out.
struct Excluding<'a, S> {
    inner: &'a S,
    excluded: &'a [Excluded],
    mask: &'a [bool],
}

impl<S: EdgeScorer> EdgeScorer for Excluding<'_, S> {
    fn score(&self, edge: &InEdge, amount_msat: u64, fee_msat: u64) -> Option<(f64, f64)> {
        if self.mask.get(edge.from as usize).copied().unwrap_or(false)
            && self
                .excluded
                .iter()
                .any(|e| e.channel == edge.channel && e.direction == edge.direction)
        {
            return None;
        }
        self.inner.score(edge, amount_msat, fee_msat)
    }
    /// Exclusions only take edges away, so the inner scorer's floor still holds.
    fn weight_floor(&self, policy: &GossipPolicy, amount_msat: u64) -> Option<f64> {
        self.inner.weight_floor(policy, amount_msat)
    }
    fn weight_floor_by_rate(&self, fee_rate_ppm: u64, amount_msat: u64) -> f64 {
        self.inner.weight_floor_by_rate(fee_rate_ppm, amount_msat)
    }
}

/// A source router: the whole path is computed at the sender.
pub struct SourceRouter {
    scoring: Scoring,
    searches: Searches,
    mission_control: MissionControl,
    ldk: LdkKnowledge,
    exclusions: Exclusions,
    /// How long shortest/cheapest avoid a channel that failed one of their payments.
    exclusion_ms: u64,
    mask: Vec<bool>,
    into_mask: Vec<bool>,
    /// Payments failed without a search: the channels that could carry the amount out of
    /// the node reach only a few nodes, none the destination (see `dead_end`).
    pub quick_no_route: u64,
}

/// The search state a source router keeps between payments: the shared trees and the
/// buffers of its exact search.
struct Searches {
    cache: TreeCache,
    exact: Tree,
    /// Forward floors that guide a payment's exact searches (its retries reuse them).
    potentials: Potentials,
    exact_searches: u64,
    /// Nodes the exact searches settled, in total (the work they did).
    exact_settled: u64,
    /// Exact searches that found no route, and the nodes they settled.
    exact_failed: u64,
    exact_failed_settled: u64,
    exact_scanned: u64,
    /// The last search of recent payments, for their retries to resume (see
    /// `search::resume`), with the edges it left out.
    resumable: Lru<Payment, (Snapshot, Vec<EdgeIdx>)>,
    /// Exact searches that resumed an earlier one, and those of them that had to start
    /// over (they went past what the snapshot knew).
    pub resumed: u64,
    pub resumes_abandoned: u64,
}

/// A payment's (sender, destination, amount_msat): what its attempts' searches share.
type Payment = (NodeId, NodeId, u64);

/// Payments whose last search is kept for their retries: about the payments in flight.
const RESUMABLE: usize = 64;

impl Searches {
    /// The best route for the payment under `scorer`: from a shared tree when the sender
    /// may use one and it answers exactly, else from an exact search. Additive scorers
    /// pass `left_out`, the edges they refuse (sorted): their exact searches are guided by
    /// the payment's forward floors, and a retry resumes the payment's previous search
    /// when it left out no edge that is usable again. Generic over the scorer so that
    /// scoring inlines into the search's inner loop.
    fn route<S: EdgeScorer>(
        &mut self,
        scorer: &S,
        ctx: &DecisionContext,
        limits: Limits,
        use_cache: bool,
        left_out: Option<&[EdgeIdx]>,
    ) -> Option<Route> {
        let p = &ctx.payment;
        if use_cache
            && let Some(route) = self.cache.route(
                ctx.gossip,
                scorer,
                &ctx.local,
                p.destination,
                p.amount_msat,
                limits,
            )
        {
            return Some(route);
        }
        self.exact_searches += 1;
        let guide = if left_out.is_some() {
            self.potentials
                .guide(ctx.gossip, scorer, ctx.node, p.destination, p.amount_msat)
        } else {
            Guide::None
        };
        let (floors, resumable) = match guide {
            Guide::None => (None, None),
            Guide::Floor { exact, beyond } => (Some((exact, beyond)), left_out),
            Guide::Unreachable => {
                self.exact_failed += 1;
                return None;
            }
        };
        let tree = &mut self.exact;
        let start = |tree: &mut Tree| {
            tree.reset(
                ctx.gossip,
                p.destination,
                p.amount_msat,
                limits,
                Some(ctx.node),
            );
            if let Some((exact, beyond)) = floors {
                tree.set_floors(exact, beyond);
            }
        };
        start(tree);
        let payment = (ctx.node, p.destination, p.amount_msat);
        if let Some(left_out) = resumable
            && let Some((snapshot, before)) = self.resumable.get(&payment)
            && before.iter().all(|e| left_out.binary_search(e).is_ok())
            && tree.resume(ctx.gossip, scorer, Some(&ctx.local), snapshot, |e| {
                left_out.binary_search(&e).is_ok()
            })
        {
            self.resumed += 1;
        }
        let mut found = tree
            .run(ctx.gossip, scorer, Some(&ctx.local), |v| v == ctx.node)
            .is_some();
        if tree.aborted() {
            // The resumed search went past what its snapshot knew: start over.
            self.exact_settled += tree.settled_count as u64;
            self.exact_scanned += tree.scanned_count as u64;
            self.resumes_abandoned += 1;
            start(tree);
            found = tree
                .run(ctx.gossip, scorer, Some(&ctx.local), |v| v == ctx.node)
                .is_some();
        }
        self.exact_settled += tree.settled_count as u64;
        self.exact_scanned += tree.scanned_count as u64;
        if let Some(left_out) = resumable {
            let slot = match self.resumable.get(&payment) {
                Some(slot) => slot,
                None => self.resumable.insert_with(payment, Default::default),
            };
            tree.save(&mut slot.0);
            slot.1.clear();
            slot.1.extend_from_slice(left_out);
        }
        if !found {
            self.exact_failed += 1;
            self.exact_failed_settled += tree.settled_count as u64;
            return None;
        }
        let edges = tree.path_edges(ctx.gossip, ctx.node)?;
        build_route(ctx.gossip, &edges, p.amount_msat, &limits, &ctx.local)
    }
}

impl SourceRouter {
    pub fn new(scoring: Scoring) -> Self {
        SourceRouter {
            scoring,
            searches: Searches {
                cache: TreeCache::new(DEFAULT_CAPACITY),
                exact: Tree::new(),
                potentials: Potentials::default(),
                exact_searches: 0,
                exact_settled: 0,
                exact_failed: 0,
                exact_failed_settled: 0,
                exact_scanned: 0,
                resumable: Lru::new(RESUMABLE),
                resumed: 0,
                resumes_abandoned: 0,
            },
            mission_control: MissionControl::default(),
            ldk: LdkKnowledge::default(),
            exclusions: Exclusions::default(),
            exclusion_ms: 60_000,
            mask: Vec::new(),
            into_mask: Vec::new(),
            quick_no_route: 0,
        }
    }
}

impl Router for SourceRouter {
    fn name(&self) -> &str {
        match self.scoring {
            Scoring::Shortest => "shortest",
            Scoring::Cheapest => "cheapest",
            Scoring::Lnd(_) => "lnd",
            Scoring::Ldk(_) => "ldk",
        }
    }

    fn decide(&mut self, ctx: &DecisionContext) -> Decision {
        let p = &ctx.payment;
        let node = ctx.node;
        let limits = Limits {
            fee_limit_msat: p.fee_budget_msat,
            ..Limits::new(ctx.settings, p.amount_msat)
        };
        // Every hop of a route carries at least the amount: when the channels that could
        // lead out of this node walled in a few nodes without the destination, no search is
        // needed to know there is no route (a search would walk every node it can reach
        // before giving up).
        let budget = dead_end::budget_nodes(ctx.gossip.node_bound());
        if dead_end::walled_in(ctx.gossip, &ctx.local, p.destination, p.amount_msat, budget) {
            self.quick_no_route += 1;
            return Decision::Fail(FailureReason::NoRoute);
        }
        // Mark the nodes this sender has learnt something about, so scorers only consult
        // their memory there.
        let learnt: Vec<NodeId> = match &self.scoring {
            Scoring::Lnd(_) => self.mission_control.nodes_of(node).collect(),
            Scoring::Ldk(_) => self.ldk.nodes_of(node).collect(),
            Scoring::Shortest | Scoring::Cheapest => {
                self.exclusions.prune(node, ctx.now_ms);
                self.exclusions.nodes_of(node).collect()
            }
        };
        let into: Vec<NodeId> = match &self.scoring {
            Scoring::Lnd(_) => self.mission_control.success_targets_of(node).collect(),
            _ => Vec::new(),
        };
        let bound = ctx.gossip.node_bound();
        mark(&mut self.mask, bound, &learnt, true);
        mark(&mut self.into_mask, bound, &into, true);
        // The edges shortest and cheapest leave out, sorted (their searches resume).
        let mut left_out: Vec<EdgeIdx> = self
            .exclusions
            .of(node)
            .iter()
            .filter_map(|e| ctx.gossip.edge(e.channel, e.direction))
            .collect();
        left_out.sort_unstable();
        left_out.dedup();
        let has_history = !learnt.is_empty();
        let use_cache = ctx.settings.path_cache && !has_history;
        let mask = &self.mask;
        let searches = &mut self.searches;
        let route = match &self.scoring {
            Scoring::Shortest => searches.route(
                &Excluding {
                    inner: &ShortestScorer,
                    excluded: self.exclusions.of(node),
                    mask,
                },
                ctx,
                limits,
                use_cache,
                Some(&left_out),
            ),
            Scoring::Cheapest => searches.route(
                &Excluding {
                    inner: &CheapestScorer,
                    excluded: self.exclusions.of(node),
                    mask,
                },
                ctx,
                limits,
                use_cache,
                Some(&left_out),
            ),
            Scoring::Lnd(config) => searches.route(
                &LndScorer {
                    config,
                    history: self.mission_control.history(node),
                    mask,
                    into_mask: &self.into_mask,
                    now_ms: ctx.now_ms,
                },
                ctx,
                limits,
                use_cache,
                None,
            ),
            Scoring::Ldk(config) => searches.route(
                &LdkScorer {
                    config,
                    bounds: self.ldk.bounds_of(node),
                    mask,
                    now_ms: ctx.now_ms,
                },
                ctx,
                limits,
                use_cache,
                None,
            ),
        };
        mark(&mut self.mask, bound, &learnt, false);
        mark(&mut self.into_mask, bound, &into, false);
        match route {
            // At the sender this is the onion; elsewhere (hop-by-hop use) only its first hop.
            Some(r) if node == p.sender => Decision::Route(r),
            Some(r) => Decision::Forward {
                channel: r.hops[0].channel,
                direction: r.hops[0].direction,
            },
            None => Decision::Fail(FailureReason::NoRoute),
        }
    }

    fn stats(&self) -> String {
        let c = &self.searches.cache;
        let f = &self.searches.potentials;
        // Only `shortest` and `cheapest` use floors, and only on large graphs.
        let floors = if f.built > 0 {
            format!(
                "forward floors: {} built, {} reused, {} nodes settled, {} edges scanned; ",
                f.built, f.reused, f.settled_nodes, f.scanned_edges
            )
        } else {
            String::new()
        };
        // Only `shortest` and `cheapest` resume their retries' searches.
        let resumed = match self.scoring {
            Scoring::Shortest | Scoring::Cheapest => format!(
                " ({} resumed the payment's previous one, {} of them started over)",
                self.searches.resumed, self.searches.resumes_abandoned
            ),
            Scoring::Lnd(_) | Scoring::Ldk(_) => String::new(),
        };
        format!(
            "path trees: {} built, {} reused, {} answers rejected, {} one-off, {} nodes settled; exact searches: {}{resumed}, {} nodes settled, {} edges scanned ({} found nothing, {} nodes settled); {floors}{} failed without a search",
            c.misses,
            c.hits,
            c.fallbacks,
            c.passed,
            c.settled_nodes,
            self.searches.exact_searches,
            self.searches.exact_settled,
            self.searches.exact_scanned,
            self.searches.exact_failed,
            self.searches.exact_failed_settled,
            self.quick_no_route
        )
    }

    fn learn(&mut self, outcome: &AttemptOutcome) {
        match self.scoring {
            Scoring::Lnd(_) => self.mission_control.record(outcome),
            Scoring::Ldk(_) => self.ldk.record(outcome),
            Scoring::Shortest | Scoring::Cheapest => {
                self.exclusions.record(outcome, self.exclusion_ms);
            }
        }
    }
}
