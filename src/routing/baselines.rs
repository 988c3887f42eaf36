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
//! history of their own get an exact search.

use super::cache::{DEFAULT_CAPACITY, TreeCache};
use super::ldk::{LdkConfig, LdkKnowledge, LdkScorer};
use super::mission_control::{LndScorer, MissionControl, MissionControlConfig};
use super::search::{EdgeScorer, Limits, Tree, build_route};
use super::{AttemptOutcome, Decision, DecisionContext, GossipView, Router};
use crate::network::gossip::EdgeIdx;
use crate::sim::failure::FailureReason;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Forwards over a uniformly random usable channel that does not lead back into the route.
pub struct RandomRouter {
    rng: ChaCha8Rng,
}

impl RandomRouter {
    pub fn new(seed: u64) -> Self {
        RandomRouter {
            rng: crate::scene::build::rng_for(seed, crate::scene::build::streams::ROUTER),
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
        let options: Vec<_> = ctx
            .local
            .channels()
            .into_iter()
            .filter(|c| !p.route_nodes.contains(&c.peer))
            .filter(|c| ctx.local.can_send(c.channel, amount).is_ok())
            .collect();
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
impl EdgeScorer for ShortestScorer {
    fn score(&self, _: &GossipView, _: EdgeIdx, _: u64, fee_msat: u64) -> Option<(f64, f64)> {
        Some((1.0 + fee_msat as f64 * 1e-15, 1.0))
    }
}

struct CheapestScorer;
impl EdgeScorer for CheapestScorer {
    fn score(
        &self,
        gossip: &GossipView,
        edge: EdgeIdx,
        amount_msat: u64,
        fee_msat: u64,
    ) -> Option<(f64, f64)> {
        let cltv = f64::from(gossip.policy[edge as usize].cltv_expiry_delta);
        Some((fee_msat as f64 + amount_msat as f64 * cltv * 15e-9, 1.0))
    }
}

/// A source router: the whole path is computed at the sender.
pub struct SourceRouter {
    scoring: Scoring,
    cache: TreeCache,
    exact: Tree,
    mission_control: MissionControl,
    ldk: LdkKnowledge,
    pub exact_searches: u64,
}

impl SourceRouter {
    pub fn new(scoring: Scoring) -> Self {
        SourceRouter {
            scoring,
            cache: TreeCache::new(DEFAULT_CAPACITY),
            exact: Tree::new(),
            mission_control: MissionControl::default(),
            ldk: LdkKnowledge::default(),
            exact_searches: 0,
        }
    }

    pub fn cache(&self) -> &TreeCache {
        &self.cache
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
        let (lnd_scorer, ldk_scorer);
        let (scorer, has_history): (&dyn EdgeScorer, bool) = match &self.scoring {
            Scoring::Shortest => (&ShortestScorer, false),
            Scoring::Cheapest => (&CheapestScorer, false),
            Scoring::Lnd(config) => {
                let history = self.mission_control.history(node);
                lnd_scorer = LndScorer {
                    config,
                    history,
                    now_ms: ctx.now_ms,
                };
                (&lnd_scorer, history.is_some())
            }
            Scoring::Ldk(config) => {
                let bounds = self.ldk.bounds_of(node);
                ldk_scorer = LdkScorer {
                    config,
                    bounds,
                    now_ms: ctx.now_ms,
                };
                (&ldk_scorer, bounds.is_some())
            }
        };
        let mut route = None;
        if ctx.settings.path_cache && !has_history {
            route = self.cache.route(
                ctx.gossip,
                scorer,
                &ctx.local,
                p.destination,
                p.amount_msat,
                limits,
            );
        }
        if route.is_none() {
            self.exact_searches += 1;
            let tree = &mut self.exact;
            tree.reset(ctx.gossip, p.destination, p.amount_msat, limits, Some(node));
            if tree
                .run(ctx.gossip, scorer, Some(&ctx.local), |_, v| v == node)
                .is_some()
            {
                route = tree.path_edges(ctx.gossip, node).and_then(|edges| {
                    build_route(ctx.gossip, &edges, p.amount_msat, &limits, &ctx.local)
                });
            }
        }
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

    fn learn(&mut self, outcome: &AttemptOutcome) {
        match self.scoring {
            Scoring::Lnd(_) => self.mission_control.record(outcome),
            Scoring::Ldk(_) => self.ldk.record(outcome),
            _ => {}
        }
    }
}
