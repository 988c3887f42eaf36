//! Agents in the running network. [`Agents`] connects the engine to the PPO groups:
//! it answers the engine's pending decisions at agent nodes with one batched inference per
//! group, keeps each decision open until its payment attempt resolves, then turns the
//! outcome into rewards, completed trajectories and, when a group's rollout is full, an
//! update. [`Trainer`] is the loop around it, split into the stages the Bevy systems run
//! (spawn payments, decide, advance, record, update); headless code calls the same stages.
//!
//! Determinism: the engine stops before an agent node forwards, so decisions are batched at
//! points fixed by the simulation alone; sampling draws from one seeded stream in the
//! engine's pending order; and the engine does not advance while an update is in progress.

use super::config::{AgentsSection, PpoConfig, RewardWeights};
use super::features::{Candidate, NeighbourMemory, candidates};
use super::normalize::RunningMeanStd;
use super::oracle::Oracle;
use super::policy::Policy;
use super::ppo::{Learner, Sample, Step, Update, UpdateStats, gae};
use crate::l402::market::Market;
use crate::network::{ChannelId, NodeId};
use crate::routing::Decision;
use crate::sim::engine::{AttemptId, Engine, SimEvent, Step as EngineStep};
use crate::sim::failure::FailureReason;
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

/// A decision waiting for its attempt to resolve.
struct Open {
    group: usize,
    node: NodeId,
    peer: NodeId,
    /// Index of the hop this decision forwards over.
    hop: usize,
    step: Step,
}

/// A row of the training metrics (`lnlab train --metrics`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct MetricsRow {
    pub group: String,
    pub step: u64,
    pub episodic_reward: f32,
    pub success_rate: f32,
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
}

pub struct Agents {
    pub groups: Vec<Group>,
    node_group: Vec<Option<usize>>,
    oracle: Oracle,
    memory: NeighbourMemory,
    rewards: RewardWeights,
    /// Learning on (continual) or frozen (evaluation: most likely candidate, no updates).
    pub training: bool,
    /// With learning off, still sample actions (learning paused) instead of taking the
    /// most likely one (frozen).
    pub explore: bool,
    open: HashMap<AttemptId, Vec<Open>>,
    rng: ChaCha8Rng,
    /// Decisions made so far.
    pub decisions: u64,
    /// Fraction of the run's payments resolved (drives learning-rate annealing).
    pub progress: f64,
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
            oracle: Oracle::new(1024),
            memory: NeighbourMemory::default(),
            rewards: section.rewards.clone(),
            training: section.continual,
            explore: false,
            open: HashMap::default(),
            rng: crate::scene::build::rng_for(seed, 0xa6e7),
            decisions: 0,
            progress: 0.0,
            rows: Vec::new(),
        }
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
            let ctx = engine.decision_context(p);
            let max = self.groups[group].learner.config.max_candidates;
            let cands = candidates(&ctx, &mut self.oracle, &self.memory, max);
            if cands.is_empty() {
                let reason = if ctx.payment.route_nodes.len() == 1 {
                    FailureReason::NoRoute
                } else {
                    FailureReason::InsufficientLiquidity
                };
                answers.push((p.attempt, Decision::Fail(reason)));
                continue;
            }
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
                    log_prob: choice.log_prob,
                    value: choice.value,
                    reward: 0.0,
                };
                self.open.entry(attempt).or_default().push(Open {
                    group: gi,
                    node,
                    peer: c.peer,
                    hop,
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
            let SimEvent::AttemptResolved {
                attempt,
                succeeded,
                at_ms,
            } = event
            else {
                continue;
            };
            let Some(open) = self.open.remove(&attempt) else {
                continue;
            };
            let a = engine.attempt(attempt).expect("resolved attempts exist");
            let amount = engine.payments()[a.payment.index()]
                .request
                .amount_msat
                .max(1) as f32;
            // When the attempt resolved, not when this stage runs (which depends on frame
            // budgets): rewards must not depend on how the run was sliced.
            let now = at_ms;
            let w = &self.rewards;
            let mut trajectories: Vec<Vec<Step>> = vec![Vec::new(); self.groups.len()];
            for mut o in open {
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
                o.step.reward =
                    w.fee * fee / amount * 1000.0 + outcome - w.latency_per_ms * latency_ms;
                self.memory.record(o.node, o.peer, !succeeded);
                trajectories[o.group].push(o.step);
            }
            for (gi, steps) in trajectories.into_iter().enumerate() {
                if steps.is_empty() || !self.training {
                    continue;
                }
                let g = &mut self.groups[gi];
                g.resolved += 1;
                g.successes += u64::from(succeeded);
                // Credit: every decision is its own (delayed, one-step) episode, rewarded with
                // what its node gets from the payment's fate. Summing the downstream nodes'
                // rewards into upstream returns (one trajectory per route) paid for long
                // routes, since each extra hop adds a fee and a bonus: trained on `hubs` that
                // way, agents routed over 4.6 hops where lnd takes 2.6.
                for step in steps {
                    g.returns.push(step.reward);
                    g.reward_norm.update(&[&[step.reward]]);
                    // Scale by the rewards' spread once there is enough to estimate it,
                    // never amplifying more than tenfold.
                    let std = g.reward_norm.var[0].sqrt().max(0.1);
                    let scale = if g.reward_norm.count < 64.0 {
                        1.0
                    } else {
                        (1.0 / std) as f32
                    };
                    let scaled = Step {
                        reward: step.reward * scale,
                        ..step
                    };
                    g.rollout.extend(gae(
                        vec![scaled],
                        g.learner.config.gamma,
                        g.learner.config.gae_lambda,
                    ));
                }
            }
        }
        if self.training && may_start_updates {
            for g in &mut self.groups {
                if g.update.is_none() && g.rollout.len() >= g.learner.config.rollout_steps.max(1) {
                    let samples = std::mem::take(&mut g.rollout);
                    g.learner.progress = self.progress;
                    g.update = Some(g.learner.begin_update(samples, &mut self.rng));
                }
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
                success_rate: g.successes as f32 / g.resolved.max(1) as f32,
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
        oracle: &mut Oracle,
        node: NodeId,
        destination: NodeId,
        amount_msat: u64,
    ) -> Option<Vec<Explained>> {
        let group = self.group_of(node)?;
        let route = [node];
        let ctx = engine.probe_context(node, destination, amount_msat, &route);
        let max = self.groups[group].learner.config.max_candidates;
        let cands = candidates(&ctx, oracle, &self.memory, max);
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
            })
            .collect();
        out.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        Some(out)
    }

    /// The hyperparameters of a group.
    pub fn config(&self, group: usize) -> &PpoConfig {
        &self.groups[group].learner.config
    }
}

/// The loop around the engine and the agents, in stages.
pub struct Trainer {
    pub engine: Engine,
    pub agents: Agents,
    /// Payments are drawn this far ahead of the clock by the spawn stage.
    pub spawn_horizon_ms: u64,
    pub started: std::time::Instant,
    /// Paid APIs calling over the network, if the scene has them.
    pub market: Option<Market>,
    /// Keep the engine's events for an observer (the lab draws them); take them with
    /// [`Trainer::take_observed`].
    pub keep_events: bool,
    /// Events processed so far.
    pub events_processed: u64,
    /// Whether the last advance stopped at a point the simulation fixes (a decision or
    /// the end), rather than at the event budget.
    at_decision_point: bool,
    /// Engine events drained during the advance, for the record stage.
    events: Vec<SimEvent>,
    observed: Vec<SimEvent>,
}

/// How far one advance may go.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub max_events: usize,
    /// Do not move the clock past this simulated time.
    pub until_ms: Option<u64>,
    /// Stop once this wall-clock instant has passed (checked every few events).
    pub deadline: Option<std::time::Instant>,
}

impl Budget {
    pub fn events(max_events: usize) -> Self {
        Budget {
            max_events,
            until_ms: None,
            deadline: None,
        }
    }
}

/// How far a stage got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Stopped for decisions (or the event budget ran out).
    Running,
    /// Every requested payment resolved.
    Finished,
}

impl Trainer {
    pub fn new(engine: Engine, agents: Agents) -> Self {
        Trainer {
            engine,
            agents,
            spawn_horizon_ms: 10_000,
            started: std::time::Instant::now(),
            market: None,
            keep_events: false,
            events_processed: 0,
            at_decision_point: true,
            events: Vec::new(),
            observed: Vec::new(),
        }
    }

    /// The events recorded since the last call (only with `keep_events`).
    pub fn take_observed(&mut self) -> Vec<SimEvent> {
        std::mem::take(&mut self.observed)
    }

    /// Stage 1: draw the workload's payments ahead of the clock.
    pub fn spawn_payments(&mut self) {
        let horizon = self.engine.now_ms().saturating_add(self.spawn_horizon_ms);
        self.engine.draw_arrivals_until(horizon);
    }

    /// Stage 2: batched inference for the decisions the engine waits for.
    pub fn decide(&mut self) {
        // Only where the simulation stopped for decisions: answering pending decisions in
        // the middle of a budget-cut advance would see a different network state.
        if !self.agents.is_updating() && self.at_decision_point {
            self.agents.decide(&mut self.engine);
        }
    }

    /// Stage 3: advance the simulation until it needs decisions, finishes, or has
    /// processed `max_events`. It does not move while an update is in progress.
    pub fn advance(&mut self, max_events: usize) -> Progress {
        self.advance_within(Budget::events(max_events))
    }

    /// Stage 3 with a full budget: events, a simulated-time bound (the lab's speed) and a
    /// wall-clock deadline (the lab's frame time). L402 calls fall due on the way.
    pub fn advance_within(&mut self, budget: Budget) -> Progress {
        if self.agents.is_updating() {
            return Progress::Running;
        }
        self.at_decision_point = true;
        for i in 0..budget.max_events {
            if i % 64 == 63
                && budget
                    .deadline
                    .is_some_and(|d| std::time::Instant::now() >= d)
            {
                break;
            }
            if let Some(until) = budget.until_ms {
                // Arrivals due by the bound must be in the queue before it is looked at.
                self.engine.draw_arrivals_until(until);
            }
            let next_event = self.engine.next_event_ms();
            let next_call = self.market.as_ref().map_or(u64::MAX, |m| m.next_call_ms());
            let next = next_event.unwrap_or(u64::MAX).min(next_call);
            if let Some(until) = budget.until_ms
                && next > until
                && !self.engine.is_finished()
            {
                // Nothing due before the bound: the clock moves up to it and stops there.
                self.engine.idle_until(until);
                self.at_decision_point = false;
                return Progress::Running;
            }
            if next_call != u64::MAX && next_event.is_none_or(|t| t > next_call) {
                self.engine.run_until(next_call);
                if let Some(m) = &mut self.market {
                    m.make_calls(&mut self.engine, true);
                }
                self.drain_for_market();
                continue;
            }
            match self.engine.step_event() {
                EngineStep::Advanced => {
                    self.events_processed += 1;
                    self.drain_for_market();
                }
                EngineStep::Blocked => return Progress::Running,
                EngineStep::Done => return Progress::Finished,
            }
        }
        // Stopped by the event budget, not by the simulation: updates wait for a decision
        // point, so the frame budget cannot change what is trained.
        self.at_decision_point = false;
        Progress::Running
    }

    /// Whether the simulation has done everything due by `at_ms` (and its clock is
    /// there): a lesson step waiting for that time may run.
    pub fn reached(&self, at_ms: u64) -> bool {
        self.engine.now_ms() >= at_ms
            && self.engine.next_event_ms().is_none_or(|t| t > at_ms)
            && self
                .market
                .as_ref()
                .is_none_or(|m| m.next_call_ms() > at_ms)
    }

    /// Whether the last advance stopped for agents' decisions (not at a budget or time
    /// bound, and not for an update).
    pub fn waits_for_decisions(&self) -> bool {
        self.at_decision_point
            && !self.agents.is_updating()
            && !self.engine.pending_decisions().is_empty()
    }

    /// With a market, hand each event to it as it happens (it pays and retries at once).
    fn drain_for_market(&mut self) {
        if let Some(m) = &mut self.market {
            let new = self.engine.drain_trace();
            m.on_events(&mut self.engine, &new);
            self.events.extend(new);
        }
    }

    /// Stage 4: record resolved attempts as transitions and rewards.
    pub fn record(&mut self) {
        let m = self.engine.metrics();
        if let Some(limit) = self.engine.payment_limit() {
            self.agents.progress = (m.succeeded + m.failed) as f64 / limit.max(1) as f64;
        }
        let mut events = std::mem::take(&mut self.events);
        events.extend(self.engine.drain_trace());
        self.agents
            .record(&mut self.engine, &events, self.at_decision_point);
        if self.keep_events {
            self.observed.extend(events);
        }
    }

    /// Stage 5: run some minibatches of a PPO update in progress.
    pub fn update(&mut self, max_minibatches: usize) -> Vec<MetricsRow> {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let sps = self.agents.decisions as f64 / secs;
        let engine = &self.engine;
        let gini = || engine.metrics().hub_gini(engine.network().node_count());
        self.agents
            .update(max_minibatches, self.agents.decisions, sps, gini)
    }

    /// All stages once, as a headless loop iteration. Returns the finished update rows.
    pub fn tick(&mut self) -> (Progress, Vec<MetricsRow>) {
        self.spawn_payments();
        self.decide();
        let progress = self.advance(usize::MAX);
        self.record();
        let rows = self.update(usize::MAX);
        (progress, rows)
    }

    /// Run until every requested payment resolved.
    pub fn run_to_completion(&mut self) -> Vec<MetricsRow> {
        let mut rows = Vec::new();
        loop {
            let (progress, mut new_rows) = self.tick();
            rows.append(&mut new_rows);
            if progress == Progress::Finished && !self.agents.is_updating() {
                return rows;
            }
        }
    }
}
