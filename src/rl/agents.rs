//! Agents in the running network. [`Agents`] connects the engine to the PPO groups:
//! it answers the engine's pending decisions at agent nodes with one batched inference per
//! group, keeps each decision open until its payment attempt resolves, then turns the
//! outcome into rewards, completed trajectories and, when a group's rollout is full, an
//! update. The session (`crate::session`) calls it between the engine's advances.
//!
//! Determinism: the engine stops before an agent node forwards, so decisions are batched at
//! points fixed by the simulation alone; sampling draws from one seeded stream in the
//! engine's pending order; and the engine does not advance while an update is in progress.

use super::config::{AgentsSection, Credit, PpoConfig, RewardWeights};
use super::features::{Candidate, NeighbourMemory, candidates, rule_choice};
use super::normalize::RunningMeanStd;
use super::onward::Onward;
use super::policy::Policy;
use super::ppo::{Learner, Sample, Step, Update, UpdateStats, gae};
use crate::network::failure::FailureReason;
use crate::network::{ChannelId, NodeId};
use crate::routing::Decision;
use crate::sim::engine::{AttemptId, Engine, PaymentId, SimEvent};
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap as HashMap;

/// A decision to infer: attempt, node, hop index and its candidates.
type Item = (AttemptId, NodeId, usize, Vec<Candidate>);

/// One PPO group at run time.
pub struct Group {
    pub name: String,
    pub nodes: Vec<NodeId>,
    pub policy: Policy,
    pub learner: Learner,
    rollout: Vec<Sample>,
    update: Option<Update>,
    /// Since the last update: completed trajectories' returns and outcomes.
    returns: Vec<f32>,
    /// Running statistics of this group's rewards, for scaling (training only).
    reward_norm: RunningMeanStd,
    successes: u64,
    resolved: u64,
}

impl Group {
    /// The factor rewards are scaled by: one over their spread once there is enough to
    /// estimate it, never amplifying more than tenfold.
    fn reward_scale(&self) -> f32 {
        if self.reward_norm.count < 64.0 {
            1.0
        } else {
            (1.0 / self.reward_norm.var[0].sqrt().max(0.1)) as f32
        }
    }
}

/// Route credit ([`Credit::Route`]): each decision's part of an attempt's welfare.
/// `charged_msat[j]` is the fee hop `j`'s node charged (all zero for a failed attempt, which
/// pays none), `decided` one group's decisions in the order they were made, each as the hop
/// it chose and whether its branch was abandoned (failed back to a node that retried
/// locally), and `terminal` the outcome less the latency. A decision still on the route is
/// charged the fees from its hop up to the group's next decision on the route (its own
/// node's, and those of nodes outside the group after it), per 1,000 ppm of the amount; an
/// abandoned one nothing, since its hops charged none. The last decision made, which ended
/// the attempt, also gets `terminal`. So the parts sum to the welfare every decision gets
/// under [`Credit::Decision`] (less the fees charged before the group's first decision,
/// when the sender is not in the group).
fn welfare_parts(
    charged_msat: &[u64],
    decided: &[(usize, bool)],
    amount_msat: f32,
    fee_weight: f32,
    terminal: f32,
) -> Vec<f32> {
    let fees_between = |from: usize, to: usize| -> u64 {
        charged_msat
            .get(from.min(charged_msat.len())..to.min(charged_msat.len()))
            .map_or(0, |hops| hops.iter().sum())
    };
    let on_route: Vec<usize> = decided
        .iter()
        .filter(|(_, abandoned)| !abandoned)
        .map(|&(hop, _)| hop)
        .collect();
    let mut next_on_route = 0;
    let mut parts: Vec<f32> = decided
        .iter()
        .map(|&(hop, abandoned)| {
            if abandoned {
                return 0.0;
            }
            next_on_route += 1;
            let until = on_route
                .get(next_on_route)
                .copied()
                .unwrap_or(charged_msat.len());
            -fee_weight * fees_between(hop, until) as f32 / amount_msat * 1000.0
        })
        .collect();
    if let Some(last) = parts.last_mut() {
        *last += terminal;
    }
    parts
}

/// The channels of `node` in a list of (node, channel) pairs.
fn channels_of(list: &[(NodeId, ChannelId)], node: NodeId) -> Vec<ChannelId> {
    list.iter()
        .filter(|(n, _)| *n == node)
        .map(|&(_, channel)| channel)
        .collect()
}

/// A decision waiting for its attempt to resolve.
struct Open {
    group: usize,
    node: NodeId,
    channel: ChannelId,
    peer: NodeId,
    /// Index of the hop this decision forwards over.
    hop: usize,
    /// Its branch failed back to a node upstream that retried locally: this decision's
    /// hop is no longer part of the attempt.
    abandoned: bool,
    step: Step,
}

/// What the whole network's payments did since the previous metrics row (the session
/// counts it; the agents only see their own attempts).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PaymentWindow {
    /// Payments resolved in the window, and how many of them succeeded.
    pub resolved: u64,
    pub succeeded: u64,
    /// Fees the succeeded ones paid.
    pub fees_paid_msat: u64,
    /// Payments started since the run began (ids below this have started), at the end of
    /// the window: the window covers ids from the previous row's value up to this one.
    pub started: u64,
}

/// A row of the training metrics (`lnlab train --metrics`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MetricsRow {
    pub group: String,
    pub step: u64,
    pub episodic_reward: f32,
    /// Payment success over the window since the previous row (whole network).
    pub success_rate: f32,
    /// Success of this group's attempts (one payment may take several) over the window.
    pub attempt_success_rate: f32,
    /// Fees per succeeded payment over the window.
    pub fees_paid_per_payment_msat: f64,
    /// Payments started by the end of the window (see [`PaymentWindow::started`]).
    pub payments_started: u64,
    pub policy_loss: f32,
    pub value_loss: f32,
    pub entropy: f32,
    pub approx_kl: f32,
    pub clipfrac: f32,
    pub explained_variance: f32,
    pub learning_rate: f64,
    pub sps: f64,
    pub hub_gini: f64,
}

/// One candidate channel of an agent's decision, for the inspector.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Explained {
    pub channel: ChannelId,
    pub peer: NodeId,
    pub probability: f32,
    /// How often payments this node sent that peer's way toward this destination failed
    /// lately (the over-all rate before any went that way).
    pub failure_rate_toward: f32,
}

pub struct Agents {
    pub groups: Vec<Group>,
    node_group: Vec<Option<usize>>,
    onward: Onward,
    memory: NeighbourMemory,
    rewards: RewardWeights,
    /// Learning on (continual) or frozen (evaluation: most likely candidate, no updates).
    pub training: bool,
    /// With learning off, still sample actions (learning paused) instead of taking the
    /// most likely one (frozen).
    pub explore: bool,
    open: HashMap<AttemptId, Vec<Open>>,
    /// Per payment in flight: the channels each node already forwarded one of its failed
    /// attempts over. A node that saw an attempt fail back through it knows that (the
    /// payment hash is the same), and, like every wallet's retry loop, tries another
    /// channel next time while it has one: those are masked out of its candidates.
    tried: HashMap<PaymentId, Vec<(NodeId, ChannelId)>>,
    /// Per attempt in flight with [`PpoConfig::max_extra_hops`]: the most hops it may take.
    hop_limits: HashMap<AttemptId, usize>,
    rng: ChaCha8Rng,
    /// Decisions made so far.
    pub decisions: u64,
    /// Fraction of the run's payments resolved (drives learning-rate annealing).
    pub progress: f64,
    /// Where this session sits in a longer training run of several segments: progress is
    /// `base + share * (this session's fraction)`. `(0, 1)` for a single session.
    pub progress_span: (f64, f64),
    pub rows: Vec<MetricsRow>,
}

impl Agents {
    /// Agents for `section` on `engine` (which is told to hand these nodes' decisions
    /// over). `policies` gives each group its starting policy (a checkpoint or fresh).
    pub fn new(
        engine: &mut Engine,
        section: &AgentsSection,
        policies: Vec<Policy>,
        seed: u64,
    ) -> Self {
        let mut node_group = vec![None; engine.network().node_bound()];
        let mut groups = Vec::new();
        for (i, (g, policy)) in section.groups.iter().zip(policies).enumerate() {
            let nodes: Vec<NodeId> = g.nodes.iter().map(|&n| NodeId(n)).collect();
            for n in &nodes {
                if let Some(slot) = node_group.get_mut(n.index()) {
                    *slot = Some(i);
                }
            }
            engine.set_external(&nodes);
            engine.set_local_retries(&nodes, g.ppo.local_retries);
            let learner = Learner::new(g.ppo.clone(), policy.net.clone(), policy.dev.clone());
            groups.push(Group {
                name: g.name.clone(),
                nodes,
                policy,
                learner,
                rollout: Vec::new(),
                update: None,
                returns: Vec::new(),
                reward_norm: RunningMeanStd::new(1),
                successes: 0,
                resolved: 0,
            });
        }
        engine.enable_trace(true);
        Agents {
            groups,
            node_group,
            onward: Onward::new(1024),
            memory: NeighbourMemory::default(),
            rewards: section.rewards.clone(),
            training: section.continual,
            explore: false,
            open: HashMap::default(),
            tried: HashMap::default(),
            hop_limits: HashMap::default(),
            rng: crate::rng::rng_for(seed, crate::rng::stream::AGENTS),
            decisions: 0,
            progress: 0.0,
            progress_span: (0.0, 1.0),
            rows: Vec::new(),
        }
    }

    /// Continue a training run in a new session (the next segment of a multi-scene run):
    /// each group takes over the policy, learner (weights and optimiser moments) and
    /// reward scaling of `previous`'s group of the same name, or of its only group when
    /// each has one. Decision counts and metrics rows carry on too. Returns the groups that
    /// found no match (they start fresh).
    pub fn carry_over(&mut self, previous: Agents) -> Vec<String> {
        let single = self.groups.len() == 1 && previous.groups.len() == 1;
        let mut old: Vec<Option<Group>> = previous.groups.into_iter().map(Some).collect();
        let mut unmatched = Vec::new();
        for g in &mut self.groups {
            let found = old
                .iter()
                .position(|o| o.as_ref().is_some_and(|o| single || o.name == g.name));
            match found.and_then(|i| old[i].take()) {
                Some(o) => {
                    let config = g.learner.config.clone();
                    g.policy = o.policy;
                    g.learner = o.learner;
                    g.learner.config = config;
                    g.reward_norm = o.reward_norm;
                }
                None => unmatched.push(g.name.clone()),
            }
        }
        self.decisions += previous.decisions;
        self.rows.splice(0..0, previous.rows);
        unmatched
    }

    pub fn is_updating(&self) -> bool {
        self.groups.iter().any(|g| g.update.is_some())
    }

    /// Answer every pending decision with one batched inference per group.
    pub fn decide(&mut self, engine: &mut Engine) {
        let pending: Vec<_> = engine.pending_decisions().to_vec();
        if pending.is_empty() {
            return;
        }
        let mut per_group: Vec<Vec<Item>> = vec![Vec::new(); self.groups.len()];
        let mut answers: Vec<(AttemptId, Decision)> = Vec::new();
        for p in &pending {
            let Some(group) = self.node_group.get(p.node.index()).copied().flatten() else {
                answers.push((p.attempt, Decision::Fail(FailureReason::NoRoute)));
                continue;
            };
            let config = &self.groups[group].learner.config;
            let (fee_budget, budgeted) = (config.fee_budget, config.budgets_attempts());
            let max_extra_hops = config.max_extra_hops;
            if (budgeted || max_extra_hops.is_some())
                && let Some(a) = engine.attempt(p.attempt)
                && a.nodes.len() == 1
            {
                // The sender sets this attempt's budget before its first hop.
                let payment = &engine.payments()[a.payment.index()];
                let (destination, amount_msat) = (payment.request.receiver, a.amount_msat);
                let attempt = payment.attempts;
                let cheapest = if fee_budget.escalates() || max_extra_hops.is_some() {
                    self.onward
                        .cheapest(engine.gossip(), destination, amount_msat, &[p.node])[0]
                } else {
                    None
                };
                let cheapest_msat = cheapest.map(|(_, fee_msat)| fee_msat);
                if let (Some((hops, _)), Some(extra)) = (cheapest, max_extra_hops) {
                    self.hop_limits
                        .insert(p.attempt, usize::from(hops) + extra as usize);
                }
                let floor_msat = engine.routing_settings().fee_limit_floor_msat;
                let scheduled_msat =
                    fee_budget.attempt_budget_msat(cheapest_msat, floor_msat, attempt);
                let cap_msat = config.fee_cap_msat(amount_msat, floor_msat);
                if let Some(budget_msat) = scheduled_msat.into_iter().chain(cap_msat).min() {
                    engine.tighten_fee_budget(p.attempt, budget_msat);
                }
            }
            let ctx = engine.decision_context(p);
            let max = self.groups[group].learner.config.max_candidates;
            let attempt = engine.attempt(p.attempt);
            // This node's channels that its failed attempts of this payment took, and those
            // it left in local retries of this attempt (never again).
            let tried = attempt
                .and_then(|a| self.tried.get(&a.payment))
                .map_or_else(Vec::new, |list| channels_of(list, p.node));
            let abandoned = attempt.map_or_else(Vec::new, |a| channels_of(&a.abandoned, p.node));
            let cands = candidates(
                &ctx,
                &mut self.onward,
                &self.memory,
                max,
                (&tried, &abandoned),
                budgeted,
                self.hop_limits.get(&p.attempt).copied(),
            );
            let cands = match cands {
                Ok(cands) => cands,
                // The sender with no channel for the payment gives it up; a forwarding node
                // fails the HTLC back with what stopped it.
                Err(_) if ctx.payment.route_nodes.len() == 1 => {
                    answers.push((p.attempt, Decision::Fail(FailureReason::NoRoute)));
                    continue;
                }
                Err(reason) => {
                    answers.push((p.attempt, Decision::Fail(reason)));
                    continue;
                }
            };
            let hop = ctx.payment.route_nodes.len() - 1;
            per_group[group].push((p.attempt, p.node, hop, cands));
        }
        for (gi, items) in per_group.into_iter().enumerate() {
            if items.is_empty() {
                continue;
            }
            let g = &mut self.groups[gi];
            if self.training {
                let rows: Vec<&[f32]> = items
                    .iter()
                    .flat_map(|(_, _, _, c)| c.iter().map(|c| &c.row[..]))
                    .collect();
                g.policy.obs_norm.update(&rows);
            }
            let blocks: Vec<Vec<f32>> = items
                .iter()
                .map(|(_, _, _, c)| g.policy.observe(c))
                .collect();
            let refs: Vec<(&[f32], usize)> = blocks
                .iter()
                .zip(&items)
                .map(|(x, it)| (&x[..], it.3.len()))
                .collect();
            let choices = if self.training || self.explore {
                g.policy.decide(&refs, Some(&mut self.rng))
            } else {
                g.policy.decide(&refs, None::<&mut ChaCha8Rng>)
            };
            for ((item, x), choice) in items.into_iter().zip(blocks).zip(choices) {
                let (attempt, node, hop, cands) = item;
                let c = &cands[choice.action];
                answers.push((
                    attempt,
                    Decision::Forward {
                        channel: c.channel,
                        direction: c.direction,
                    },
                ));
                self.decisions += 1;
                // Kept open even when frozen: the node still learns its neighbours' failure
                // rates (runtime state, a feature), though no transition is trained on.
                let step = Step {
                    x,
                    k: cands.len(),
                    action: choice.action,
                    teacher: rule_choice(&cands),
                    log_prob: choice.log_prob,
                    value: choice.value,
                    reward: 0.0,
                };
                self.open.entry(attempt).or_default().push(Open {
                    group: gi,
                    node,
                    channel: c.channel,
                    peer: c.peer,
                    hop,
                    abandoned: false,
                    step,
                });
            }
        }
        for (attempt, decision) in answers {
            engine.resolve_decision(attempt, decision);
        }
    }

    /// Credit resolved attempts: rewards, trajectories, rollouts; start updates when full.
    pub fn record(&mut self, engine: &mut Engine, events: &[SimEvent], may_start_updates: bool) {
        for &event in events {
            let (attempt, succeeded, at_ms) = match event {
                SimEvent::AttemptResolved {
                    attempt,
                    succeeded,
                    at_ms,
                } => (attempt, succeeded, at_ms),
                SimEvent::PaymentSucceeded { payment, .. }
                | SimEvent::PaymentFailed { payment, .. } => {
                    self.tried.remove(&payment);
                    continue;
                }
                SimEvent::RetriedLocally { attempt, hop, .. } => {
                    self.abandon_branch(engine, attempt, hop as usize);
                    continue;
                }
                _ => continue,
            };
            self.hop_limits.remove(&attempt);
            let Some(open) = self.open.remove(&attempt) else {
                continue;
            };
            let a = engine.attempt(attempt).expect("resolved attempts exist");
            let request = &engine.payments()[a.payment.index()].request;
            let (amount, destination) = (request.amount_msat.max(1) as f32, request.receiver);
            // When the attempt resolved, not when this stage runs (which depends on frame
            // budgets): rewards must not depend on how the run was sliced.
            let now = at_ms;
            let w = &self.rewards;
            let share = w.mode.welfare_share();
            let started_ms = a.hops.first().map_or(now, |h| h.added_ms);
            let route_latency_ms = now.saturating_sub(started_ms) as f32;
            // The sender's view of this attempt, the same for every agent on the route.
            let welfare = if share > 0.0 {
                let outcome = if succeeded {
                    let fees: u64 = a.hops.iter().map(|h| h.fee_msat).sum();
                    w.success - w.fee * fees as f32 / amount * 1000.0
                } else {
                    -w.failure
                };
                outcome - w.latency_per_ms * route_latency_ms
            } else {
                0.0
            };
            let mut trajectories: Vec<Vec<Step>> = vec![Vec::new(); self.groups.len()];
            let mut decided_at: Vec<Vec<(usize, bool)>> = vec![Vec::new(); self.groups.len()];
            for mut o in open {
                if o.abandoned {
                    // Its branch failed back: a failed attempt of its own (its node and the
                    // tried list learnt so when the branch was abandoned).
                    o.step.reward = -w.failure;
                    trajectories[o.group].push(o.step);
                    decided_at[o.group].push((o.hop, true));
                    continue;
                }
                let hop = a.hops.get(o.hop);
                let latency_ms = match (hop, a.hops.get(o.hop + 1)) {
                    (Some(h), Some(next)) => next.added_ms.saturating_sub(h.added_ms),
                    (Some(h), None) => now.saturating_sub(h.added_ms) / 2,
                    _ => 0,
                } as f32;
                let fee = if succeeded {
                    hop.map_or(0, |h| h.fee_msat) as f32
                } else {
                    0.0
                };
                let remaining = a.hops.len().saturating_sub(o.hop).max(1) as i32;
                let outcome = if succeeded {
                    w.success * w.hop_discount.powi(remaining - 1)
                } else {
                    -w.failure
                };
                let profit =
                    w.fee * fee / amount * 1000.0 + outcome - w.latency_per_ms * latency_ms;
                o.step.reward = if share > 0.0 {
                    (1.0 - share) * profit + share * welfare
                } else {
                    profit
                };
                self.memory.record(o.node, o.peer, destination, !succeeded);
                if !succeeded {
                    let tried = self.tried.entry(a.payment).or_default();
                    if !tried.contains(&(o.node, o.channel)) {
                        tried.push((o.node, o.channel));
                    }
                }
                trajectories[o.group].push(o.step);
                decided_at[o.group].push((o.hop, false));
            }
            for (gi, (mut steps, hops)) in trajectories.into_iter().zip(decided_at).enumerate() {
                if steps.is_empty() || !self.training {
                    continue;
                }
                let g = &mut self.groups[gi];
                g.resolved += 1;
                g.successes += u64::from(succeeded);
                let (gamma, lambda) = (g.learner.config.gamma, g.learner.config.gae_lambda);
                if g.learner.config.credit == Credit::Route {
                    // One trajectory along the route (validation ensures welfare mode):
                    // each decision's part is the fees its hops charge, and the last one's
                    // also the outcome less the latency (`terminal`). Rewards are scaled by
                    // the spread of what each decision has to go (its return), as one-step
                    // episodes' are by their rewards'.
                    let terminal = if succeeded { w.success } else { -w.failure }
                        - w.latency_per_ms * route_latency_ms;
                    let charged_msat: Vec<u64> = a
                        .hops
                        .iter()
                        .map(|h| if succeeded { h.fee_msat } else { 0 })
                        .collect();
                    let parts = welfare_parts(&charged_msat, &hops, amount, w.fee, terminal);
                    for (step, part) in steps.iter_mut().zip(parts) {
                        step.reward = part;
                    }
                    let mut to_go = 0.0;
                    let mut returns = vec![0f32; steps.len()];
                    for (k, step) in steps.iter().enumerate().rev() {
                        to_go += step.reward;
                        returns[k] = to_go;
                    }
                    for r in &returns {
                        g.returns.push(*r);
                        g.reward_norm.update(&[&[*r]]);
                    }
                    let scale = g.reward_scale();
                    let scaled = steps
                        .into_iter()
                        .map(|step| Step {
                            reward: step.reward * scale,
                            ..step
                        })
                        .collect();
                    g.rollout.extend(gae(scaled, gamma, lambda));
                    continue;
                }
                // Credit: every decision is its own (delayed, one-step) episode, rewarded with
                // what its node gets from the payment's fate. Summing the downstream nodes'
                // rewards into upstream returns (one trajectory per route) paid for long
                // routes, since each extra hop adds a fee and a bonus: trained on `hubs` that
                // way, agents routed over 4.6 hops where lnd takes 2.6.
                for step in steps {
                    g.returns.push(step.reward);
                    g.reward_norm.update(&[&[step.reward]]);
                    let scale = g.reward_scale();
                    let scaled = Step {
                        reward: step.reward * scale,
                        ..step
                    };
                    g.rollout.extend(gae(vec![scaled], gamma, lambda));
                }
            }
        }
        if self.training && may_start_updates {
            for g in &mut self.groups {
                if g.update.is_none() && g.rollout.len() >= g.learner.config.rollout_steps.max(1) {
                    let samples = std::mem::take(&mut g.rollout);
                    let (base, share) = self.progress_span;
                    g.learner.progress = base + share * self.progress;
                    g.update = Some(g.learner.begin_update(samples, &mut self.rng));
                }
            }
        }
    }

    /// A failure came back to the node that chose `hop` of `attempt`, which retries
    /// locally: that decision and the ones after it are abandoned. Their nodes learn that
    /// their peers failed, and the retrying node will not take that channel for this
    /// payment again while it has another (as after a failed attempt).
    fn abandon_branch(&mut self, engine: &Engine, attempt: AttemptId, hop: usize) {
        let Some(open) = self.open.get_mut(&attempt) else {
            return;
        };
        let Some(payment) = engine.attempt(attempt).map(|a| a.payment) else {
            return;
        };
        let destination = engine.payments()[payment.index()].request.receiver;
        let tried = self.tried.entry(payment).or_default();
        for o in open.iter_mut().filter(|o| o.hop >= hop && !o.abandoned) {
            o.abandoned = true;
            self.memory.record(o.node, o.peer, destination, true);
            if !tried.contains(&(o.node, o.channel)) {
                tried.push((o.node, o.channel));
            }
        }
    }

    /// Run up to `max_minibatches` minibatch steps of the updates in progress. Returns the
    /// metrics rows of updates that finished.
    pub fn update(
        &mut self,
        max_minibatches: usize,
        step: u64,
        sps: f64,
        hub_gini: impl Fn() -> f64,
        window: PaymentWindow,
    ) -> Vec<MetricsRow> {
        let mut finished = Vec::new();
        let mut budget = max_minibatches;
        for g in &mut self.groups {
            let Some(update) = &mut g.update else {
                continue;
            };
            while budget > 0 && update.step(&mut g.learner) {
                budget -= 1;
            }
            if !update.is_done() {
                continue;
            }
            let stats: UpdateStats = g.update.take().expect("in progress").finish(&mut g.learner);
            g.policy.net = g.learner.net.clone();
            let n = g.returns.len().max(1) as f32;
            let row = MetricsRow {
                group: g.name.clone(),
                step,
                episodic_reward: g.returns.iter().sum::<f32>() / n,
                success_rate: window.succeeded as f32 / window.resolved.max(1) as f32,
                attempt_success_rate: g.successes as f32 / g.resolved.max(1) as f32,
                fees_paid_per_payment_msat: window.fees_paid_msat as f64
                    / window.succeeded.max(1) as f64,
                payments_started: window.started,
                policy_loss: stats.policy_loss,
                value_loss: stats.value_loss,
                entropy: stats.entropy,
                approx_kl: stats.approx_kl,
                clipfrac: stats.clipfrac,
                explained_variance: stats.explained_variance,
                learning_rate: stats.learning_rate,
                sps,
                hub_gini: hub_gini(),
            };
            g.returns.clear();
            g.successes = 0;
            g.resolved = 0;
            finished.push(row.clone());
            self.rows.push(row);
        }
        finished
    }

    /// The group whose agent decides at `node`, if any.
    pub fn group_of(&self, node: NodeId) -> Option<usize> {
        self.node_group.get(node.index()).copied().flatten()
    }

    /// What the agent at `node` would do with a payment of `amount_msat` to `destination`
    /// arriving from nowhere (the node as sender): each candidate channel with its policy
    /// probability, most likely first. `None` if `node` is not an agent. For the lab's
    /// inspector: it reads only, with a search cache of the caller's (the agents' own
    /// cache must not see the inspector's questions).
    pub fn explain(
        &self,
        engine: &Engine,
        onward: &mut Onward,
        node: NodeId,
        destination: NodeId,
        amount_msat: u64,
    ) -> Option<Vec<Explained>> {
        let group = self.group_of(node)?;
        let route = [node];
        let ctx = engine.probe_context(node, destination, amount_msat, &route);
        let config = &self.groups[group].learner.config;
        let cands = candidates(
            &ctx,
            onward,
            &self.memory,
            config.max_candidates,
            (&[], &[]),
            config.budgets_attempts(),
            None,
        )
        .unwrap_or_default();
        if cands.is_empty() {
            return Some(Vec::new());
        }
        let g = &self.groups[group];
        let x = g.policy.observe(&cands);
        let choice = g
            .policy
            .decide(&[(&x[..], cands.len())], None::<&mut ChaCha8Rng>)
            .pop()?;
        let mut out: Vec<Explained> = cands
            .iter()
            .zip(choice.probabilities)
            .map(|(c, probability)| Explained {
                channel: c.channel,
                peer: c.peer,
                probability,
                failure_rate_toward: self.memory.rate_toward(node, c.peer, destination),
            })
            .collect();
        out.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        Some(out)
    }

    /// The hyperparameters of a group.
    pub fn config(&self, group: usize) -> &PpoConfig {
        &self.groups[group].learner.config
    }

    /// Write every group's current policy (weights and sidecar) to `path_for(group name)`,
    /// atomically. Returns each group's name and file. Two groups given the same file are
    /// refused before anything is written.
    pub fn save_policies(
        &self,
        scene: &str,
        path_for: impl Fn(&str) -> std::path::PathBuf,
    ) -> Result<Vec<(String, std::path::PathBuf)>, String> {
        let planned: Vec<(String, std::path::PathBuf)> = self
            .groups
            .iter()
            .map(|g| (g.name.clone(), path_for(&g.name)))
            .collect();
        let mut paths: Vec<&std::path::PathBuf> = planned.iter().map(|(_, p)| p).collect();
        paths.sort();
        if let Some(w) = paths.windows(2).find(|w| w[0] == w[1]) {
            return Err(format!(
                "two agent groups would save their weights to the same file {}; rename one",
                w[0].display()
            ));
        }
        for (i, (_, path)) in planned.iter().enumerate() {
            self.groups[i]
                .policy
                .save(path, self.config(i), self.decisions, scene)
                .map_err(|e| e.to_string())?;
        }
        Ok(planned)
    }
}

#[cfg(test)]
mod tests {
    use super::welfare_parts;

    #[test]
    fn route_credit_parts_are_each_decisions_fees_and_sum_to_the_welfare() {
        // Hops 0..4 charge 0 (the sender), 300, 100 and 600 msat on 1,000,000 msat: 300,
        // 100 and 600 ppm, so 0.3, 0.1 and 0.6 at fee weight 1.
        let charged = [0, 300, 100, 600];
        let amount = 1_000_000.0;
        let on_route = |hops: &[usize]| hops.iter().map(|&h| (h, false)).collect::<Vec<_>>();
        let every = welfare_parts(&charged, &on_route(&[0, 1, 2, 3]), amount, 1.0, 1.0);
        let expected = [0.0, -0.3, -0.1, 1.0 - 0.6];
        for (got, want) in every.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{every:?}");
        }
        let welfare = 1.0 - 1.0 * (300.0 + 100.0 + 600.0) / amount * 1000.0;
        assert!((every.iter().sum::<f32>() - welfare).abs() < 1e-6);

        // Hop 2's node is outside the group: its fee is the cost of the decision before it.
        let some = welfare_parts(&charged, &on_route(&[0, 1, 3]), amount, 2.0, -0.5);
        let expected = [0.0, -2.0 * 0.4, -2.0 * 0.6 - 0.5];
        for (got, want) in some.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{some:?}");
        }

        // A failed attempt charges nothing: the last decision takes the whole outcome.
        let failed = welfare_parts(&[0; 4], &on_route(&[0, 1]), amount, 1.0, -1.0);
        assert_eq!(failed, vec![0.0, -1.0]);

        // Hop 1's node first chose a branch whose next decision (hop 2) failed back, then
        // retried locally; the branch's decisions charge nothing, and the route's fees
        // are counted from each decision on the route to the next one on it.
        let retried = [
            (0, false),
            (1, true),
            (2, true),
            (1, false),
            (2, false),
            (3, false),
        ];
        let parts = welfare_parts(&charged, &retried, amount, 1.0, 1.0);
        let expected = [0.0, 0.0, 0.0, -0.3, -0.1, 1.0 - 0.6];
        for (got, want) in parts.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{parts:?}");
        }
        assert!((parts.iter().sum::<f32>() - welfare).abs() < 1e-6);

        // A failed attempt whose last decision was abandoned: that one takes the outcome.
        let dead_end = welfare_parts(&[0; 2], &[(0, false), (1, true)], amount, 1.0, -1.0);
        assert_eq!(dead_end, vec![0.0, -1.0]);
    }
}
