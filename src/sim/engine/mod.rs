//! The discrete-event engine. It owns the network, the gossip view, the virtual clock and
//! the event queue, and runs the HTLC lifecycle hop by hop: add (lock amount and fees, take
//! a slot), forward after the next node's processing delay, settle back hop by hop (balances
//! move, forwarding nodes earn their fees) or fail back from the failing hop (locks
//! released, nothing moves). Senders retry within `max_attempts` and the payment timeout,
//! and their routers learn from every attempt.
//!
//! Determinism: events are ordered by `(time, sequence number)`, every random draw comes
//! from a seeded ChaCha stream owned by one consumer, and nothing iterates a hash map.

use super::command::{Command, TimedCommand};
use super::delay::DelayModel;
use super::failure::FailureReason;
use super::ledger::Ledger;
use super::metrics::{Metrics, PaymentRecord};
use super::workload::{PaymentRequest, WorkloadSampler};
use crate::network::{
    Channel, ChannelId, ChannelPolicy, Direction, GossipPolicy, GossipView, HalfChannel,
    LiquidityModel, Network, NodeId, ShortChannelId,
};
use crate::routing::{
    AttemptOutcome, Decision, DecisionContext, HopRecord, LocalView, PaymentView, Route, Router,
};
use crate::scene::build::{rng_for, streams};
use crate::scene::{RoutingSettings, Scene, SimSettings};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

pub type PaymentId = u32;
pub type AttemptId = u32;

/// Something that happens at a point of simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Event {
    /// A drawn payment starts (index into `starts`).
    Start { request: u32 },
    /// The node at the head of an attempt (the sender, or the node its last HTLC reached)
    /// has processed it and decides where to forward now.
    Decide { attempt: AttemptId },
    /// `hops[hop].to` settles that hop's HTLC now.
    Settle { attempt: AttemptId, hop: u32 },
    /// `hops[hop].to` fails that hop's HTLC back now.
    Fail { attempt: AttemptId, hop: u32 },
    /// A timeline command comes due.
    Timeline { index: u32 },
    /// A jam's HTLCs are released.
    JamEnd { jam: u32 },
    /// A queued gossip change reaches every node.
    Gossip { update: u32 },
}

/// Queue order: time, then lane (payment starts first, ordered by stream and arrival
/// index; everything else in insertion order). Starts are keyed by what they are, not by
/// when they were drawn, so drawing arrivals ahead (as the ECS spawner does) or lazily
/// gives the same order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Scheduled {
    at_ms: u64,
    lane: u8,
    seq: u64,
}

/// A Poisson stream of payments: the scene's workload (stream 0) or a demand spike.
#[derive(Clone, Debug)]
struct ArrivalStream {
    /// Spikes send every payment to one node.
    target: Option<NodeId>,
    /// Spikes stop sending at this time.
    until_ms: Option<u64>,
    next_ms: u64,
    index: u64,
    rng: ChaCha8Rng,
    sampler: WorkloadSampler,
}

/// Outcome of [`Engine::step_event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// An event was processed.
    Advanced,
    /// The next event needs a decision from outside (an agent) that has not been given.
    Blocked,
    /// Every requested payment resolved (or nothing is left to do).
    Done,
}

/// A forwarding decision the engine waits for, at a node whose decisions come from
/// outside (PPO agents). Resolve it with [`Engine::resolve_decision`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingDecision {
    pub attempt: AttemptId,
    pub node: NodeId,
    /// When the node will forward (the decision must be in by then).
    pub due_ms: u64,
}

/// A payment's life.
#[derive(Clone, Debug)]
pub struct Payment {
    pub request: PaymentRequest,
    pub started_ms: u64,
    pub attempts: u32,
    pub status: PaymentStatus,
    /// The attempt now in flight, or the last one.
    pub last_attempt: Option<AttemptId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    InFlight,
    Succeeded { at_ms: u64, fees_msat: u64 },
    Failed { at_ms: u64, reason: FailureReason },
}

/// One HTLC of an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hop {
    pub channel: ChannelId,
    pub direction: Direction,
    pub scid: ShortChannelId,
    pub from: NodeId,
    pub to: NodeId,
    /// Locked on this hop's channel.
    pub amount_msat: u64,
    pub cltv: u32,
    pub htlc_id: u64,
    /// Fee `from` charges for this hop (0 for the sender's own hop).
    pub fee_msat: u64,
    /// When the HTLC was offered.
    pub added_ms: u64,
}

/// One try at delivering a payment.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub payment: PaymentId,
    pub hops: Vec<Hop>,
    /// Visited nodes, the sender first.
    pub nodes: Vec<NodeId>,
    /// The onion, for source-routed attempts.
    route: Option<Route>,
    /// Hop-by-hop attempts: fees and CLTV still available.
    fee_budget_msat: u64,
    cltv_budget: u32,
    /// Where and why it failed: the hop index whose channel failed (may equal `hops.len()`
    /// when the HTLC was never added) and the reason.
    pub failure: Option<(Option<usize>, FailureReason)>,
    pub resolved: bool,
}

/// What the engine reports as it runs, for drawing and for L402 and training layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimEvent {
    PaymentStarted {
        payment: PaymentId,
    },
    HtlcAdded {
        attempt: AttemptId,
        hop: u32,
        channel: ChannelId,
        direction: Direction,
    },
    HtlcSettled {
        attempt: AttemptId,
        hop: u32,
    },
    HtlcFailed {
        attempt: AttemptId,
        hop: u32,
    },
    AttemptFailed {
        attempt: AttemptId,
        reason: FailureReason,
        failing_node: Option<NodeId>,
    },
    /// The sender learnt how an attempt ended (after the settle or failure came back).
    AttemptResolved {
        attempt: AttemptId,
        succeeded: bool,
        at_ms: u64,
    },
    PaymentSucceeded {
        payment: PaymentId,
        fees_msat: u64,
    },
    PaymentFailed {
        payment: PaymentId,
        reason: FailureReason,
    },
    CommandApplied {
        at_ms: u64,
    },
}

#[derive(Clone, Debug)]
struct Jam {
    channel: ChannelId,
    scid: ShortChannelId,
    htlcs: Vec<(Direction, u64)>,
    released: bool,
}

#[derive(Clone, Debug)]
enum GossipUpdate {
    Policy {
        channel: ChannelId,
        scid: ShortChannelId,
        direction: Direction,
        policy: GossipPolicy,
    },
    /// A new channel's announcement.
    Announce { scid: ShortChannelId },
    /// A closed channel's spend seen on chain.
    Forget { scid: ShortChannelId },
}

/// Errors applying a command (the engine state is unchanged when one is returned).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("no channel {0}")]
    UnknownChannel(ShortChannelId),
    #[error("no node {0}")]
    UnknownNode(NodeId),
    #[error("{0}")]
    Invalid(String),
}

pub struct Engine {
    network: Network,
    gossip: GossipView,
    routing: RoutingSettings,
    sim: SimSettings,
    liquidity: LiquidityModel,
    now_ms: u64,
    /// Time of the last event processed (or clock move that made calls due): what nodes
    /// see as "now" when they decide. A paced clock (`idle_until`) moves `now_ms` only, so
    /// how a run is sliced into frames cannot change a decision.
    event_ms: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(Scheduled, EventSlot)>>,
    /// Events for offline nodes, replayed when the node comes back.
    deferred: Vec<(NodeId, Event)>,
    routers: Vec<Box<dyn Router>>,
    /// Nodes whose decisions come from outside, and the decisions waiting for them.
    external: Vec<bool>,
    pending: Vec<PendingDecision>,
    resolved: Vec<(AttemptId, Decision)>,
    /// Which router each node uses (index into `routers`).
    node_router: Vec<u16>,
    streams: Vec<ArrivalStream>,
    /// Drawn arrivals; each is taken when its payment starts.
    starts: Ledger<Option<PaymentRequest>>,
    drawn: u64,
    delay_rng: ChaCha8Rng,
    liquidity_rng: ChaCha8Rng,
    timeline: Vec<TimedCommand>,
    payment_limit: Option<u64>,
    payments: Ledger<Payment>,
    attempts: Ledger<Attempt>,
    jams: Vec<Jam>,
    gossip_updates: Vec<GossipUpdate>,
    next_htlc_id: u64,
    metrics: Metrics,
    records: Option<Vec<PaymentRecord>>,
    trace: Option<Vec<SimEvent>>,
    command_errors: Vec<(u64, String)>,
    check_invariants: bool,
    /// Channels opened whose announcement has not reached the other nodes yet, and closed
    /// channels the other nodes know are gone.
    unannounced: std::collections::BTreeSet<ShortChannelId>,
    forgotten: std::collections::BTreeSet<ShortChannelId>,
    seed: u64,
    workload: crate::sim::workload::Workload,
}

/// Events are small; this wrapper gives them an order for the heap without comparing them.
#[derive(Clone, Copy, Debug)]
struct EventSlot(Event);
impl PartialEq for EventSlot {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for EventSlot {}
impl PartialOrd for EventSlot {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for EventSlot {
    fn cmp(&self, _: &Self) -> std::cmp::Ordering {
        std::cmp::Ordering::Equal
    }
}

impl Engine {
    /// Build an engine for `scene` with `router` at every node. `seed` drives the workload,
    /// delays and liquidity (a run's `--seed`; pass `scene.seed` for the scene's own).
    pub fn new(scene: &Scene, seed: u64, router: Box<dyn Router>) -> Result<Self, String> {
        let network = crate::scene::build::build_network(scene, seed)?;
        let gossip = GossipView::build(&network, 0);
        let sampler = WorkloadSampler::new(&scene.workload, &network);
        let node_router = vec![0; network.node_bound()];
        let mut workload_rng = rng_for(seed, streams::WORKLOAD);
        let first = sampler.next_gap_ms(&mut workload_rng);
        let workload = ArrivalStream {
            target: None,
            until_ms: None,
            next_ms: first,
            index: 0,
            rng: workload_rng,
            sampler,
        };
        let external = vec![false; network.node_bound()];
        let mut engine = Engine {
            network,
            gossip,
            routing: scene.routing.clone(),
            sim: scene.sim.clone(),
            liquidity: scene.liquidity,
            now_ms: 0,
            event_ms: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            deferred: Vec::new(),
            routers: vec![router],
            external,
            pending: Vec::new(),
            resolved: Vec::new(),
            node_router,
            streams: vec![workload],
            starts: Ledger::default(),
            drawn: 0,
            delay_rng: rng_for(seed, streams::DELAYS),
            liquidity_rng: rng_for(seed ^ 0x5eed, streams::LIQUIDITY),
            timeline: scene.timeline.clone(),
            payment_limit: None,
            payments: Ledger::default(),
            attempts: Ledger::default(),
            jams: Vec::new(),
            gossip_updates: Vec::new(),
            next_htlc_id: 1,
            metrics: Metrics::default(),
            records: None,
            trace: None,
            command_errors: Vec::new(),
            check_invariants: false,
            unannounced: Default::default(),
            forgotten: Default::default(),
            seed,
            workload: scene.workload.clone(),
        };
        engine
            .metrics
            .node_mut(NodeId(engine.network.node_bound().saturating_sub(1) as u32));
        for index in 0..engine.timeline.len() {
            let at = engine.timeline[index].at_ms;
            engine.schedule_at(
                at,
                Event::Timeline {
                    index: index as u32,
                },
            );
        }
        Ok(engine)
    }

    /// Stop generating payments after `limit` (None: forever, as the live lab runs).
    pub fn set_payment_limit(&mut self, limit: Option<u64>) {
        self.payment_limit = limit;
    }

    pub fn payment_limit(&self) -> Option<u64> {
        self.payment_limit
    }

    /// Keep one [`PaymentRecord`] per resolved payment (for `--payments-csv`).
    pub fn record_payments(&mut self, on: bool) {
        self.records = on.then(Vec::new);
    }

    /// Keep a stream of [`SimEvent`]s; take it with [`Engine::drain_trace`].
    pub fn enable_trace(&mut self, on: bool) {
        self.trace = on.then(Vec::new);
    }

    /// Check every channel's invariant after every event (tests); panics on a violation.
    pub fn check_invariants_each_event(&mut self, on: bool) {
        self.check_invariants = on;
    }

    /// Give `node` its own router (the others keep theirs).
    pub fn set_router_for(&mut self, nodes: &[NodeId], router: Box<dyn Router>) {
        let slot = self.routers.len() as u16;
        self.routers.push(router);
        for n in nodes {
            if let Some(r) = self.node_router.get_mut(n.index()) {
                *r = slot;
            }
        }
        // Routers no node uses any more are dropped (the lab switches policies live).
        let mut used = vec![false; self.routers.len()];
        for &r in &self.node_router {
            used[r as usize] = true;
        }
        used[0] = true; // the scene's router names the run
        let mut remap = vec![0u16; self.routers.len()];
        let mut kept = 0u16;
        for (i, u) in used.iter().enumerate() {
            remap[i] = kept;
            kept += u16::from(*u);
        }
        let mut i = 0;
        self.routers.retain(|_| {
            i += 1;
            used[i - 1]
        });
        for r in &mut self.node_router {
            *r = remap[*r as usize];
        }
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }
    pub fn network(&self) -> &Network {
        &self.network
    }
    pub fn gossip(&self) -> &GossipView {
        &self.gossip
    }
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
    /// In a run without a payment limit (the lab), forget payments that ended before
    /// `cutoff_ms`, their attempts, and arrivals already started, so memory stays flat.
    /// Runs with a limit keep everything: their reports and records need it.
    pub fn forget_before(&mut self, cutoff_ms: u64) {
        if self.payment_limit.is_some() {
            return;
        }
        self.starts.drop_front_while(Option::is_none);
        let ended = |p: &Payment| match p.status {
            PaymentStatus::InFlight => false,
            PaymentStatus::Succeeded { at_ms, .. } | PaymentStatus::Failed { at_ms, .. } => {
                at_ms < cutoff_ms
            }
        };
        let old = |p: &Payment| p.started_ms < cutoff_ms;
        // Attempts first (they name their payment); a payment already gone is old and
        // ended. A payment held at an offline node stays, and holds back nothing else.
        let payments = &self.payments;
        self.attempts.sweep(
            |a| payments.get(a.payment as usize).is_none_or(old),
            |a| a.resolved && payments.get(a.payment as usize).is_none_or(ended),
        );
        let attempts = &self.attempts;
        self.payments.sweep(old, |p| {
            ended(p)
                && p.last_attempt
                    .is_none_or(|a| attempts.get(a as usize).is_none())
        });
    }

    /// Payments by id (open-ended runs keep only recent ones: see `forget_before`).
    pub fn payments(&self) -> &Ledger<Payment> {
        &self.payments
    }
    pub fn attempt(&self, id: AttemptId) -> Option<&Attempt> {
        self.attempts.get(id as usize)
    }
    pub fn records(&self) -> &[PaymentRecord] {
        self.records.as_deref().unwrap_or(&[])
    }
    pub fn command_errors(&self) -> &[(u64, String)] {
        &self.command_errors
    }
    pub fn routing_settings(&self) -> &RoutingSettings {
        &self.routing
    }
    pub fn router_name(&self) -> &str {
        self.routers[0].name()
    }
    pub fn router_stats(&self) -> String {
        self.routers[0].stats()
    }
    pub fn drain_trace(&mut self) -> Vec<SimEvent> {
        self.trace.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Whether every requested payment has resolved (only with a payment limit).
    pub fn is_finished(&self) -> bool {
        match self.payment_limit {
            Some(limit) => {
                self.metrics.payments >= limit
                    && self.metrics.succeeded + self.metrics.failed >= limit
            }
            None => false,
        }
    }

    /// Time of the next event, if any.
    pub fn next_event_ms(&self) -> Option<u64> {
        self.queue.peek().map(|Reverse((s, _))| s.at_ms)
    }

    /// Process one event. Returns false when there is nothing left to do or the engine
    /// waits for an outside decision.
    pub fn step(&mut self) -> bool {
        self.step_event() == Step::Advanced
    }

    /// Process one event, unless the next one needs an outside decision not given yet.
    pub fn step_event(&mut self) -> Step {
        if self.is_finished() {
            self.wind_down();
            return Step::Done;
        }
        let horizon = match self.queue.peek() {
            Some(Reverse((top, _))) => top.at_ms,
            None => self
                .streams
                .iter()
                .filter(|s| s.until_ms.is_none_or(|u| s.next_ms < u))
                .map(|s| s.next_ms)
                .min()
                .unwrap_or(u64::MAX),
        };
        self.draw_arrivals_until(horizon);
        if let Some(Reverse((_, EventSlot(Event::Decide { attempt })))) = self.queue.peek()
            && self.waits_for_outside(*attempt)
        {
            return Step::Blocked;
        }
        let Some(Reverse((at, EventSlot(event)))) = self.queue.pop() else {
            // An open-ended run (the lab) with nothing to do keeps its state: users' edits
            // (a node taken offline) must not be undone by an end-of-run clean-up.
            if self.payment_limit.is_some() {
                self.wind_down();
            }
            return Step::Done;
        };
        debug_assert!(at.at_ms >= self.now_ms);
        self.now_ms = at.at_ms;
        self.event_ms = at.at_ms;
        self.handle(event);
        if self.check_invariants
            && let Err(e) = self.network.check_invariants()
        {
            panic!(
                "invariant broken at {} ms after {event:?}: {e}",
                self.now_ms
            );
        }
        Step::Advanced
    }

    /// Draw every workload and spike arrival due by `horizon_ms` into the queue, in time
    /// order across streams, up to the payment limit. The ECS spawner calls this ahead of
    /// the clock; `step_event` calls it lazily; both give the same run.
    pub fn draw_arrivals_until(&mut self, horizon_ms: u64) {
        loop {
            if self.payment_limit.is_some_and(|limit| self.drawn >= limit) {
                return;
            }
            let next = (0..self.streams.len())
                .filter(|&i| {
                    self.streams[i]
                        .until_ms
                        .is_none_or(|u| self.streams[i].next_ms < u)
                })
                .min_by_key(|&i| (self.streams[i].next_ms, i));
            let Some(i) = next else { return };
            let stream = &mut self.streams[i];
            if stream.next_ms > horizon_ms {
                return;
            }
            let at_ms = stream.next_ms;
            let request = stream.sampler.draw(&mut stream.rng, stream.target);
            stream.next_ms += stream.sampler.next_gap_ms(&mut stream.rng);
            let key = ((i as u64) << 40) | stream.index;
            stream.index += 1;
            if let Some(request) = request {
                self.drawn += 1;
                let index = self.starts.len() as u32;
                self.starts.push(Some(request));
                self.queue.push(Reverse((
                    Scheduled {
                        at_ms,
                        lane: 0,
                        seq: key,
                    },
                    EventSlot(Event::Start { request: index }),
                )));
            }
        }
    }

    /// Hand the decisions of `nodes` to an outside decider (PPO agents): the engine stops
    /// before such a node forwards until [`Engine::resolve_decision`] gives its choice.
    pub fn set_external(&mut self, nodes: &[NodeId]) {
        for n in nodes {
            if let Some(e) = self.external.get_mut(n.index()) {
                *e = true;
            }
        }
    }

    pub fn is_external(&self, node: NodeId) -> bool {
        self.external.get(node.index()).copied().unwrap_or(false)
    }

    /// Decisions the engine is waiting for (oldest first).
    pub fn pending_decisions(&self) -> &[PendingDecision] {
        &self.pending
    }

    /// What the deciding node of a pending decision can know, for computing features.
    pub fn decision_context(&self, pending: &PendingDecision) -> DecisionContext<'_> {
        let a = &self.attempts[pending.attempt as usize];
        let payment = &self.payments[a.payment as usize];
        DecisionContext {
            now_ms: self.event_ms,
            node: pending.node,
            gossip: &self.gossip,
            local: LocalView::new(&self.network, pending.node),
            payment: PaymentView {
                sender: payment.request.sender,
                destination: payment.request.receiver,
                amount_msat: payment.request.amount_msat,
                fee_budget_msat: a.fee_budget_msat,
                cltv_budget: a.cltv_budget,
                route_nodes: &a.nodes,
                attempt: payment.attempts,
                elapsed_ms: self.event_ms.saturating_sub(payment.started_ms),
            },
            settings: &self.routing,
        }
    }

    /// What `node` would know deciding a fresh payment of `amount_msat` to `destination`
    /// that it sends itself (`route_nodes` is `[node]`), with the sender's fee and CLTV
    /// budgets. For explaining a policy in the lab; no payment is created.
    pub fn probe_context<'a>(
        &'a self,
        node: NodeId,
        destination: NodeId,
        amount_msat: u64,
        route_nodes: &'a [NodeId],
    ) -> DecisionContext<'a> {
        let r = &self.routing;
        DecisionContext {
            now_ms: self.now_ms,
            node,
            gossip: &self.gossip,
            local: LocalView::new(&self.network, node),
            payment: PaymentView {
                sender: node,
                destination,
                amount_msat,
                fee_budget_msat: r.fee_limit_msat(amount_msat),
                cltv_budget: r.cltv_limit.saturating_sub(r.final_cltv_delta),
                route_nodes,
                attempt: 1,
                elapsed_ms: 0,
            },
            settings: &self.routing,
        }
    }

    /// Give the decision for a pending attempt; it takes effect when the node forwards.
    pub fn resolve_decision(&mut self, attempt: AttemptId, decision: Decision) {
        if let Some(i) = self.pending.iter().position(|p| p.attempt == attempt) {
            self.pending.remove(i);
            self.resolved.push((attempt, decision));
        }
    }

    fn waits_for_outside(&self, attempt: AttemptId) -> bool {
        self.pending.iter().any(|p| p.attempt == attempt)
    }

    /// Schedule the head node of `attempt` to decide after its processing delay; at an
    /// outside-decided node this also registers the pending decision.
    fn schedule_decide(&mut self, attempt: AttemptId, node: NodeId) {
        let delay = self.delay_of(node);
        let receiver = self.payments[self.attempts[attempt as usize].payment as usize]
            .request
            .receiver;
        let follows_onion = self.attempts[attempt as usize].route.is_some();
        if self.is_external(node) && node != receiver && !follows_onion {
            self.pending.push(PendingDecision {
                attempt,
                node,
                due_ms: self.now_ms + delay,
            });
        }
        self.schedule(delay, Event::Decide { attempt });
    }

    /// Process events up to and including `until_ms` (the clock ends at `until_ms`).
    /// Stops early if the engine waits for an outside decision.
    pub fn run_until(&mut self, until_ms: u64) {
        self.draw_arrivals_until(until_ms);
        while let Some(t) = self.next_event_ms() {
            if t > until_ms || self.is_finished() {
                break;
            }
            if self.step_event() != Step::Advanced {
                return; // waiting for a decision: the clock stays where it is
            }
        }
        self.now_ms = self.now_ms.max(until_ms);
        self.event_ms = self.now_ms;
    }

    /// Move the clock to `until_ms` without processing anything (a paced display clock).
    /// Arrivals due by then are drawn first; nothing may be due before `until_ms`.
    pub fn idle_until(&mut self, until_ms: u64) {
        self.draw_arrivals_until(until_ms);
        debug_assert!(self.next_event_ms().is_none_or(|t| t > until_ms));
        self.now_ms = self.now_ms.max(until_ms);
    }

    /// Run until every requested payment resolved, then release what is still held.
    pub fn run_to_completion(&mut self) {
        while self.step() {}
    }

    /// After the last payment resolves: release jams and bring deferred work home, so that
    /// no slot or lock outlives the run.
    fn wind_down(&mut self) {
        for jam in 0..self.jams.len() {
            self.release_jam(jam);
        }
        // Every node comes back, so nothing held at an offline node stays stuck.
        let nodes: Vec<NodeId> = self.network.nodes().map(|(id, _)| id).collect();
        for n in nodes {
            self.set_online(n, true);
        }
        while let Some(Reverse((at, EventSlot(event)))) = self.queue.pop() {
            // Only HTLC work still matters; new arrivals and scripted events are dropped.
            if matches!(
                event,
                Event::Settle { .. } | Event::Fail { .. } | Event::Decide { .. }
            ) {
                self.now_ms = self.now_ms.max(at.at_ms);
                self.handle(event);
            }
        }
        self.pending.clear();
        self.resolved.clear();
    }

    fn schedule(&mut self, delay_ms: u64, event: Event) {
        self.schedule_at(self.now_ms.saturating_add(delay_ms), event);
    }

    fn schedule_at(&mut self, at_ms: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Reverse((
            Scheduled {
                at_ms,
                lane: 1,
                seq: self.seq,
            },
            EventSlot(event),
        )));
    }

    fn emit(&mut self, e: SimEvent) {
        if let Some(t) = &mut self.trace {
            t.push(e);
        }
    }

    fn delay_of(&mut self, node: NodeId) -> u64 {
        let model: DelayModel = self
            .network
            .node(node)
            .and_then(|n| n.processing_delay)
            .unwrap_or(self.sim.processing_delay);
        model.sample_ms(&mut self.delay_rng)
    }

    fn is_online(&self, node: NodeId) -> bool {
        self.network.node(node).is_some_and(|n| n.online)
    }

    fn handle(&mut self, event: Event) {
        // HTLC work waits while the node that must do it is offline.
        let actor = match event {
            Event::Decide { attempt } => self.attempts[attempt as usize].nodes.last().copied(),
            Event::Settle { attempt, hop } | Event::Fail { attempt, hop } => {
                Some(self.attempts[attempt as usize].hops[hop as usize].to)
            }
            _ => None,
        };
        if let Some(node) = actor
            && !self.is_online(node)
        {
            self.deferred.push((node, event));
            return;
        }
        match event {
            Event::Start { request } => {
                let request = self.starts[request as usize]
                    .take()
                    .expect("each arrival starts once");
                self.begin_payment(request);
            }
            Event::Decide { attempt } => {
                let node = *self.attempts[attempt as usize]
                    .nodes
                    .last()
                    .expect("a sender");
                self.forward_from(attempt, node);
            }
            Event::Settle { attempt, hop } => self.on_settle(attempt, hop as usize),
            Event::Fail { attempt, hop } => self.on_fail(attempt, hop as usize),
            Event::Timeline { index } => {
                let cmd = self.timeline[index as usize].command.clone();
                if let Err(e) = self.apply(cmd) {
                    self.command_errors.push((self.now_ms, e.to_string()));
                }
            }
            Event::JamEnd { jam } => self.release_jam(jam as usize),
            Event::Gossip { update } => self.on_gossip(update as usize),
        }
    }

    // ---- payments -------------------------------------------------------------------

    /// Start a payment now, outside the workload (L402 clients, the UI, tests). It counts
    /// toward the payment limit like a workload payment.
    pub fn start_payment(&mut self, request: PaymentRequest) -> PaymentId {
        self.drawn += 1;
        self.begin_payment(request)
    }

    fn begin_payment(&mut self, request: PaymentRequest) -> PaymentId {
        let id = self.payments.len() as PaymentId;
        self.payments.push(Payment {
            request,
            started_ms: self.now_ms,
            attempts: 0,
            status: PaymentStatus::InFlight,
            last_attempt: None,
        });
        self.metrics.payments += 1;
        self.metrics.volume_msat += request.amount_msat;
        self.emit(SimEvent::PaymentStarted { payment: id });
        self.start_attempt(id);
        id
    }

    fn start_attempt(&mut self, payment: PaymentId) {
        let p = &mut self.payments[payment as usize];
        p.attempts += 1;
        let req = p.request;
        let attempt = self.attempts.len() as AttemptId;
        p.last_attempt = Some(attempt);
        let cltv_budget = self
            .routing
            .cltv_limit
            .saturating_sub(self.routing.final_cltv_delta);
        self.attempts.push(Attempt {
            payment,
            hops: Vec::new(),
            nodes: vec![req.sender],
            route: None,
            fee_budget_msat: self.routing.fee_limit_msat(req.amount_msat),
            cltv_budget,
            failure: None,
            resolved: false,
        });
        self.schedule_decide(attempt, req.sender);
    }

    /// The node at the head of `attempt` decides and, if it can, offers the next HTLC.
    fn forward_from(&mut self, attempt_id: AttemptId, node: NodeId) {
        let a = &self.attempts[attempt_id as usize];
        let payment = &self.payments[a.payment as usize];
        let req = payment.request;
        if node == req.receiver {
            // The destination claims the payment: settle the last hop now.
            match a.hops.len().checked_sub(1) {
                Some(last) => self.on_settle(attempt_id, last),
                None => self.fail_at(attempt_id, None, FailureReason::NoRoute),
            }
            return;
        }
        let hop_index = a.hops.len();
        // Source-routed attempts follow their onion; others ask this node's router.
        let decision = match &a.route {
            Some(route) => match route.hops.get(hop_index) {
                Some(h) => Decision::Forward {
                    channel: h.channel,
                    direction: h.direction,
                },
                None => Decision::Fail(FailureReason::NoRoute),
            },
            None if self.is_external(node) => {
                // Only reachable without an answer while winding down.
                self.pending.retain(|p| p.attempt != attempt_id);
                match self.resolved.iter().position(|(id, _)| *id == attempt_id) {
                    Some(i) => self.resolved.swap_remove(i).1,
                    None => Decision::Fail(FailureReason::NoRoute),
                }
            }
            None => {
                let view = PaymentView {
                    sender: req.sender,
                    destination: req.receiver,
                    amount_msat: req.amount_msat,
                    fee_budget_msat: a.fee_budget_msat,
                    cltv_budget: a.cltv_budget,
                    route_nodes: &a.nodes,
                    attempt: payment.attempts,
                    elapsed_ms: self.now_ms - payment.started_ms,
                };
                let ctx = DecisionContext {
                    now_ms: self.now_ms,
                    node,
                    gossip: &self.gossip,
                    local: LocalView::new(&self.network, node),
                    payment: view,
                    settings: &self.routing,
                };
                let router = self.node_router.get(node.index()).copied().unwrap_or(0) as usize;
                self.routers[router].decide(&ctx)
            }
        };
        let (channel, direction) = match decision {
            Decision::Forward { channel, direction } => (channel, direction),
            Decision::Route(route)
                if hop_index == 0 && !route.hops.is_empty() && !self.routing.hop_by_hop =>
            {
                let first = route.hops[0];
                self.attempts[attempt_id as usize].route = Some(route);
                (first.channel, first.direction)
            }
            Decision::Route(route) => match route.hops.first() {
                Some(h) => (h.channel, h.direction),
                None => {
                    let at = (hop_index > 0).then_some(hop_index);
                    return self.fail_at(attempt_id, at, FailureReason::NoRoute);
                }
            },
            Decision::Fail(reason) => {
                let at = if hop_index == 0 {
                    None
                } else {
                    Some(hop_index)
                };
                return self.fail_at(attempt_id, at, reason);
            }
        };
        if let Err(reason) = self.try_add(attempt_id, node, channel, direction) {
            self.fail_at(attempt_id, Some(hop_index), reason);
        }
    }

    /// Checks a real forwarding node makes, in order, then the HTLC add itself.
    fn try_add(
        &mut self,
        attempt_id: AttemptId,
        node: NodeId,
        channel: ChannelId,
        direction: Direction,
    ) -> Result<(), FailureReason> {
        let a = &self.attempts[attempt_id as usize];
        let hop_index = a.hops.len();
        let req = self.payments[a.payment as usize].request;
        let (from, to) = self
            .network
            .direction_endpoints(channel, direction)
            .ok_or(FailureReason::ChannelDisabled)?;
        if from != node {
            return Err(FailureReason::ChannelDisabled);
        }
        if hop_index as u32 >= self.routing.max_hops || a.nodes.contains(&to) {
            return Err(FailureReason::TooManyHops);
        }
        let ch = self
            .network
            .channel(channel)
            .ok_or(FailureReason::ChannelDisabled)?;
        let policy = ch.side(direction).policy;
        let is_sender = hop_index == 0;
        let (amount_msat, cltv, fee_msat, budget_after, cltv_after) = match &a.route {
            Some(route) => {
                let h = route.hops[hop_index];
                if h.scid != ch.scid {
                    return Err(FailureReason::ChannelDisabled);
                }
                if !is_sender {
                    // What arrived must pay this node's current fee and CLTV delta.
                    let incoming = a.hops[hop_index - 1];
                    let fee = policy.fee_msat(h.amount_msat);
                    if incoming.amount_msat < h.amount_msat.saturating_add(fee) {
                        return Err(FailureReason::FeeInsufficient);
                    }
                    if incoming.cltv < h.cltv + u32::from(policy.cltv_expiry_delta) {
                        return Err(FailureReason::CltvBudgetExhausted);
                    }
                }
                let fee = if is_sender {
                    0
                } else {
                    a.hops[hop_index - 1].amount_msat - h.amount_msat
                };
                (h.amount_msat, h.cltv, fee, a.fee_budget_msat, a.cltv_budget)
            }
            None => {
                // Hop by hop: each node takes its fee from the attempt's fee budget and its
                // CLTV delta from the CLTV budget; the HTLC reserves the rest of the budget.
                let fee = if is_sender {
                    0
                } else {
                    policy.fee_msat(req.amount_msat)
                };
                let delta = if is_sender {
                    0
                } else {
                    u32::from(policy.cltv_expiry_delta)
                };
                let budget = a
                    .fee_budget_msat
                    .checked_sub(fee)
                    .ok_or(FailureReason::FeeInsufficient)?;
                let cltv_left = a
                    .cltv_budget
                    .checked_sub(delta)
                    .ok_or(FailureReason::CltvBudgetExhausted)?;
                let amount = req.amount_msat + budget;
                (
                    amount,
                    self.routing.final_cltv_delta + cltv_left,
                    fee,
                    budget,
                    cltv_left,
                )
            }
        };
        if !self.is_online(to) {
            return Err(FailureReason::NodeOffline);
        }
        let htlc_id = self.next_htlc_id;
        self.network
            .channel_mut(channel)
            .expect("checked above")
            .add_htlc(direction, htlc_id, amount_msat)?;
        self.next_htlc_id += 1;
        let scid = self
            .network
            .channel(channel)
            .map(|c| c.scid)
            .unwrap_or(ShortChannelId(0));
        let now_ms = self.now_ms;
        let a = &mut self.attempts[attempt_id as usize];
        a.hops.push(Hop {
            channel,
            direction,
            scid,
            from,
            to,
            amount_msat,
            cltv,
            htlc_id,
            fee_msat,
            added_ms: now_ms,
        });
        a.nodes.push(to);
        a.fee_budget_msat = budget_after;
        a.cltv_budget = cltv_after;
        self.emit(SimEvent::HtlcAdded {
            attempt: attempt_id,
            hop: hop_index as u32,
            channel,
            direction,
        });
        self.schedule_decide(attempt_id, to);
        Ok(())
    }

    /// Settle `hop` now and pass the preimage upstream after the upstream node's delay.
    fn on_settle(&mut self, attempt_id: AttemptId, hop: usize) {
        let a = &self.attempts[attempt_id as usize];
        let h = a.hops[hop];
        // Hop-by-hop HTLCs reserve the unspent fee budget; only what downstream fees need
        // is paid, the rest returns to the offering node (a no-op for source routes).
        let amount = self.payments[a.payment as usize].request.amount_msat;
        let settled_msat = amount + a.hops[hop + 1..].iter().map(|d| d.fee_msat).sum::<u64>();
        let ch = self
            .network
            .channel_mut(h.channel)
            .expect("channels with HTLCs stay open");
        let locked = ch
            .settle_htlc(h.direction, h.htlc_id)
            .expect("HTLC in flight");
        let refund = locked - settled_msat.min(locked);
        ch.shift_balance(h.direction.reverse(), refund);
        self.after_resolution(h.channel);
        if hop > 0 {
            let stats = self.metrics.node_mut(h.from);
            stats.forwarded_msat += settled_msat;
            stats.fees_earned_msat += h.fee_msat;
            self.metrics.fees_earned_msat += h.fee_msat;
        }
        self.emit(SimEvent::HtlcSettled {
            attempt: attempt_id,
            hop: hop as u32,
        });
        if hop == 0 {
            self.attempt_succeeded(attempt_id);
        } else {
            let delay = self.delay_of(h.from);
            self.schedule(
                delay,
                Event::Settle {
                    attempt: attempt_id,
                    hop: hop as u32 - 1,
                },
            );
        }
    }

    /// The attempt fails at hop `at` (its channel could not be used); `None` means the
    /// sender failed before offering anything.
    fn fail_at(&mut self, attempt_id: AttemptId, at: Option<usize>, reason: FailureReason) {
        let a = &mut self.attempts[attempt_id as usize];
        a.failure = Some((at, reason));
        let failing_node = at.map(|i| a.nodes[i]);
        if let Some(n) = failing_node {
            self.metrics.node_mut(n).failures_caused += 1;
        }
        self.emit(SimEvent::AttemptFailed {
            attempt: attempt_id,
            reason,
            failing_node,
        });
        match at {
            Some(i) if i > 0 => self.on_fail(attempt_id, i - 1),
            _ => self.attempt_failed(attempt_id),
        }
    }

    fn on_fail(&mut self, attempt_id: AttemptId, hop: usize) {
        let h = self.attempts[attempt_id as usize].hops[hop];
        self.network
            .channel_mut(h.channel)
            .expect("channels with HTLCs stay open")
            .fail_htlc(h.direction, h.htlc_id)
            .expect("HTLC in flight");
        self.after_resolution(h.channel);
        self.emit(SimEvent::HtlcFailed {
            attempt: attempt_id,
            hop: hop as u32,
        });
        if hop == 0 {
            self.attempt_failed(attempt_id);
        } else {
            let delay = self.delay_of(h.from);
            self.schedule(
                delay,
                Event::Fail {
                    attempt: attempt_id,
                    hop: hop as u32 - 1,
                },
            );
        }
    }

    fn outcome_hops(&self, attempt_id: AttemptId) -> Vec<HopRecord> {
        let a = &self.attempts[attempt_id as usize];
        let mut hops: Vec<HopRecord> = a
            .hops
            .iter()
            .map(|h| HopRecord {
                channel: h.channel,
                direction: h.direction,
                from: h.from,
                to: h.to,
                amount_msat: h.amount_msat,
                capacity_msat: self
                    .network
                    .channel(h.channel)
                    .map_or(0, |c| c.capacity_msat()),
            })
            .collect();
        // A failure at a hop that was never added: report the channel that was tried.
        if let Some((Some(i), _)) = a.failure
            && i == a.hops.len()
            && let Some(route) = &a.route
            && let Some(rh) = route.hops.get(i)
        {
            hops.push(HopRecord {
                channel: rh.channel,
                direction: rh.direction,
                from: a.nodes[i],
                to: rh.to,
                amount_msat: rh.amount_msat,
                capacity_msat: self
                    .network
                    .channel(rh.channel)
                    .map_or(0, |c| c.capacity_msat()),
            });
        }
        hops
    }

    fn learn(&mut self, attempt_id: AttemptId, failure: Option<FailureReason>) {
        let hops = self.outcome_hops(attempt_id);
        let a = &self.attempts[attempt_id as usize];
        let req = self.payments[a.payment as usize].request;
        let outcome = AttemptOutcome {
            now_ms: self.now_ms,
            sender: req.sender,
            destination: req.receiver,
            amount_msat: req.amount_msat,
            hops: &hops,
            failure,
        };
        let router = self
            .node_router
            .get(req.sender.index())
            .copied()
            .unwrap_or(0) as usize;
        self.routers[router].learn(&outcome);
    }

    fn attempt_succeeded(&mut self, attempt_id: AttemptId) {
        self.attempts[attempt_id as usize].resolved = true;
        self.emit(SimEvent::AttemptResolved {
            attempt: attempt_id,
            succeeded: true,
            at_ms: self.now_ms,
        });
        self.learn(attempt_id, None);
        let a = &self.attempts[attempt_id as usize];
        let pid = a.payment;
        let fees_msat: u64 = a.hops.iter().map(|h| h.fee_msat).sum();
        let hops = a.hops.len() as u64;
        let p = &mut self.payments[pid as usize];
        p.status = PaymentStatus::Succeeded {
            at_ms: self.now_ms,
            fees_msat,
        };
        let m = &mut self.metrics;
        m.succeeded += 1;
        m.volume_succeeded_msat += p.request.amount_msat;
        m.fees_paid_msat += fees_msat;
        m.hops_succeeded += hops;
        m.attempts += u64::from(p.attempts);
        m.latencies_ms.push(self.now_ms - p.started_ms);
        self.emit(SimEvent::PaymentSucceeded {
            payment: pid,
            fees_msat,
        });
        self.record(pid);
    }

    fn attempt_failed(&mut self, attempt_id: AttemptId) {
        let a = &mut self.attempts[attempt_id as usize];
        a.resolved = true;
        let (failure_at, reason) = a.failure.expect("failed attempts carry a reason");
        let pid = a.payment;
        self.emit(SimEvent::AttemptResolved {
            attempt: attempt_id,
            succeeded: false,
            at_ms: self.now_ms,
        });
        self.learn(attempt_id, Some(reason));
        let p = &self.payments[pid as usize];
        let deadline = p.started_ms.saturating_add(self.routing.timeout_ms);
        // The sender finding no route ends the payment; an intermediate node finding none
        // (hop-by-hop routing) is one failed attempt like any other.
        let sender_gave_up = matches!(failure_at, None | Some(0));
        let final_reason = if reason == FailureReason::NoRoute && sender_gave_up {
            Some(reason)
        } else if self.now_ms >= deadline {
            Some(FailureReason::Timeout)
        } else if p.attempts >= self.routing.max_attempts {
            Some(reason)
        } else {
            None
        };
        match final_reason {
            None => self.start_attempt(pid),
            Some(reason) => {
                let p = &mut self.payments[pid as usize];
                p.status = PaymentStatus::Failed {
                    at_ms: self.now_ms,
                    reason,
                };
                self.metrics.failed += 1;
                self.metrics.attempts += u64::from(p.attempts);
                *self.metrics.failure_reasons.entry(reason).or_default() += 1;
                self.emit(SimEvent::PaymentFailed {
                    payment: pid,
                    reason,
                });
                self.record(pid);
            }
        }
    }

    fn record(&mut self, pid: PaymentId) {
        if self.records.is_none() {
            return;
        }
        let p = &self.payments[pid as usize];
        let alias = |n: NodeId| {
            self.network
                .node(n)
                .map(|n| n.alias.clone())
                .unwrap_or_default()
        };
        let a = p.last_attempt.map(|id| &self.attempts[id as usize]);
        let route = a
            .map(|a| {
                a.nodes
                    .iter()
                    .map(|&n| alias(n))
                    .collect::<Vec<_>>()
                    .join(">")
            })
            .unwrap_or_default();
        let failing_hop = a
            .and_then(|a| a.failure)
            .and_then(|(at, _)| at)
            .and_then(|i| a.map(|a| alias(a.nodes[i])))
            .unwrap_or_default();
        let (outcome, reason, fees, end) = match p.status {
            PaymentStatus::Succeeded { at_ms, fees_msat } => {
                ("succeeded", String::new(), fees_msat, at_ms)
            }
            PaymentStatus::Failed { at_ms, reason } => ("failed", reason.to_string(), 0, at_ms),
            PaymentStatus::InFlight => ("in_flight", String::new(), 0, self.now_ms),
        };
        let rec = PaymentRecord {
            time_ms: p.started_ms,
            sender: alias(p.request.sender),
            receiver: alias(p.request.receiver),
            amount_msat: p.request.amount_msat,
            outcome,
            failure_reason: reason,
            failing_hop,
            route,
            fees_msat: fees,
            latency_ms: end - p.started_ms,
            attempts: p.attempts,
        };
        if let Some(r) = &mut self.records {
            r.push(rec);
        }
    }

    /// A channel that was asked to close goes once its last HTLC resolves.
    fn after_resolution(&mut self, channel: ChannelId) {
        if let Some(ch) = self.network.channel(channel)
            && ch.closing
            && ch.in_flight_count() == 0
        {
            // Gossip learnt of the close when it was asked for (see CloseChannel).
            self.network.remove_channel(channel);
        }
    }

    // ---- commands -------------------------------------------------------------------

    /// Apply a command now (between events). Scripted timeline entries and live commands
    /// from the UI both come through here.
    pub fn apply(&mut self, command: Command) -> Result<(), CommandError> {
        let find = |net: &Network, scid| {
            net.channel_by_scid(scid)
                .ok_or(CommandError::UnknownChannel(scid))
        };
        let node_ok =
            |net: &Network, n: NodeId| net.node(n).map(|_| ()).ok_or(CommandError::UnknownNode(n));
        match command {
            Command::JamChannel {
                scid,
                direction,
                duration_ms,
            } => {
                let channel = find(&self.network, scid)?;
                let dirs: Vec<Direction> = match direction {
                    Some(d) => vec![d],
                    None => Direction::BOTH.to_vec(),
                };
                let mut htlcs = Vec::new();
                let ch = self.network.channel_mut(channel).expect("found");
                if ch.closing {
                    return Err(CommandError::Invalid(format!("channel {scid} is closing")));
                }
                for d in dirs {
                    let amount = ch.side(d).policy.htlc_minimum_msat.max(1);
                    while ch.side(d).slots_free() > 0 && ch.side(d).balance_msat >= amount {
                        ch.lock(d, self.next_htlc_id, amount);
                        htlcs.push((d, self.next_htlc_id));
                        self.next_htlc_id += 1;
                    }
                }
                let jam = self.jams.len() as u32;
                self.jams.push(Jam {
                    channel,
                    scid,
                    htlcs,
                    released: false,
                });
                self.schedule(duration_ms, Event::JamEnd { jam });
            }
            Command::DrainChannel {
                scid,
                direction,
                fraction,
            } => {
                if !(0.0..=1.0).contains(&fraction) {
                    return Err(CommandError::Invalid(format!(
                        "drain fraction {fraction} is not in 0..=1"
                    )));
                }
                let channel = find(&self.network, scid)?;
                let ch = self.network.channel_mut(channel).expect("found");
                let amount = (ch.side(direction).balance_msat as f64 * fraction) as u64;
                ch.shift_balance(direction, amount);
            }
            Command::DemandSpike {
                node,
                rate_per_s,
                duration_ms,
            } => {
                node_ok(&self.network, node)?;
                if !(rate_per_s.is_finite() && rate_per_s > 0.0) {
                    return Err(CommandError::Invalid(format!(
                        "spike rate {rate_per_s} must be positive"
                    )));
                }
                let workload = crate::sim::workload::Workload {
                    rate_per_s,
                    ..self.workload.clone()
                };
                let stream = self.streams.len() as u64;
                let sampler = WorkloadSampler::new(&workload, &self.network);
                let mut rng = rng_for(self.seed ^ (stream << 32), streams::SPIKES);
                let next_ms = self.now_ms + sampler.next_gap_ms(&mut rng);
                self.streams.push(ArrivalStream {
                    target: Some(node),
                    until_ms: Some(self.now_ms.saturating_add(duration_ms)),
                    next_ms,
                    index: 0,
                    rng,
                    sampler,
                });
            }
            Command::NodeOffline { node } => {
                node_ok(&self.network, node)?;
                self.set_online(node, false);
            }
            Command::NodeOnline { node } => {
                node_ok(&self.network, node)?;
                self.set_online(node, true);
            }
            Command::SetPolicy {
                scid,
                direction,
                fee_base_msat,
                fee_rate_ppm,
                cltv_expiry_delta,
                htlc_minimum_msat,
                htlc_maximum_msat,
                disabled,
            } => {
                let channel = find(&self.network, scid)?;
                let ch = self.network.channel_mut(channel).expect("found");
                let p = &mut ch.side_mut(direction).policy;
                if let Some(v) = fee_base_msat {
                    p.fee_base_msat = v;
                }
                if let Some(v) = fee_rate_ppm {
                    p.fee_rate_ppm = v;
                }
                if let Some(v) = cltv_expiry_delta {
                    p.cltv_expiry_delta = v;
                }
                if let Some(v) = htlc_minimum_msat {
                    p.htlc_minimum_msat = v;
                }
                if let Some(v) = htlc_maximum_msat {
                    p.htlc_maximum_msat = v;
                }
                if let Some(v) = disabled {
                    p.disabled = v;
                }
                let policy = GossipPolicy::from(&*p);
                self.queue_gossip(GossipUpdate::Policy {
                    channel,
                    scid,
                    direction,
                    policy,
                });
            }
            Command::OpenChannel {
                node1,
                node2,
                capacity_sat,
                node1_balance_msat,
                policy,
                scid,
            } => {
                node_ok(&self.network, node1)?;
                node_ok(&self.network, node2)?;
                if capacity_sat == 0 || capacity_sat > crate::scene::io::MAX_CAPACITY_SAT {
                    return Err(CommandError::Invalid(format!(
                        "capacity_sat {capacity_sat} is out of range"
                    )));
                }
                let cap_msat = capacity_sat * 1000;
                let node1_msat = match node1_balance_msat {
                    Some(b) if b > cap_msat => {
                        return Err(CommandError::Invalid(format!(
                            "balance {b} msat exceeds capacity"
                        )));
                    }
                    Some(b) => b,
                    None => self
                        .liquidity
                        .sample_node1_msat(capacity_sat, &mut self.liquidity_rng)
                        .unwrap_or(cap_msat / 2),
                };
                let scid = scid.unwrap_or_else(|| self.fresh_scid());
                let p = policy.unwrap_or_else(|| ChannelPolicy::lnd_default(capacity_sat));
                let channel = Channel::new(
                    scid,
                    capacity_sat,
                    [
                        HalfChannel::new(p, node1_msat),
                        HalfChannel::new(p, cap_msat - node1_msat),
                    ],
                );
                self.network
                    .add_channel(node1, node2, channel)
                    .map_err(CommandError::Invalid)?;
                self.forgotten.remove(&scid);
                self.unannounced.insert(scid);
                self.queue_gossip(GossipUpdate::Announce { scid });
            }
            Command::CloseChannel { scid } => {
                let channel = find(&self.network, scid)?;
                let ch = self.network.channel_mut(channel).expect("found");
                ch.closing = true;
                self.after_resolution(channel);
                // Peers see the close on chain only later; until then routes may still try it.
                self.queue_gossip(GossipUpdate::Forget { scid });
            }
        }
        self.emit(SimEvent::CommandApplied { at_ms: self.now_ms });
        Ok(())
    }

    fn fresh_scid(&self) -> ShortChannelId {
        let max = self
            .network
            .channels()
            .map(|(_, _, _, c)| c.scid.block())
            .max()
            .unwrap_or(800_000);
        let mut n = 0u32;
        loop {
            let scid = ShortChannelId::new(max + 1, n, 0);
            if self.network.channel_by_scid(scid).is_none() {
                return scid;
            }
            n += 1;
        }
    }

    fn set_online(&mut self, node: NodeId, online: bool) {
        if let Some(n) = self.network.node_mut(node) {
            n.online = online;
        }
        if online {
            let (ready, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.deferred)
                .into_iter()
                .partition(|(n, _)| *n == node);
            self.deferred = rest;
            for (_, event) in ready {
                self.schedule(0, event);
            }
        }
    }

    fn release_jam(&mut self, jam: usize) {
        let j = &mut self.jams[jam];
        if j.released {
            return;
        }
        j.released = true;
        let (channel, scid) = (j.channel, j.scid);
        let htlcs = std::mem::take(&mut j.htlcs);
        if let Some(ch) = self.network.channel_mut(channel)
            && ch.scid == scid
        {
            for (d, id) in htlcs {
                ch.fail_htlc(d, id);
            }
        }
        self.after_resolution(channel);
    }

    fn queue_gossip(&mut self, update: GossipUpdate) {
        let index = self.gossip_updates.len() as u32;
        self.gossip_updates.push(update);
        self.schedule(self.sim.gossip_delay_ms, Event::Gossip { update: index });
    }

    /// A new gossip view after a topology change: only announced, not-forgotten channels,
    /// with the policies the network knew so far.
    fn rebuild_gossip(&mut self) {
        let epoch = self.gossip.epoch + 1;
        let (hidden, gone) = (&self.unannounced, &self.forgotten);
        self.gossip = GossipView::rebuild(&self.network, epoch, Some(&self.gossip), |scid| {
            !hidden.contains(&scid) && !gone.contains(&scid)
        });
    }

    fn on_gossip(&mut self, update: usize) {
        match self.gossip_updates[update].clone() {
            GossipUpdate::Policy {
                channel,
                scid,
                direction,
                policy,
            } => {
                if self
                    .network
                    .channel(channel)
                    .is_some_and(|c| c.scid == scid)
                {
                    self.gossip.update_policy(channel, direction, policy);
                }
            }
            GossipUpdate::Announce { scid } => {
                self.unannounced.remove(&scid);
                self.rebuild_gossip();
            }
            GossipUpdate::Forget { scid } => {
                self.forgotten.insert(scid);
                self.rebuild_gossip();
            }
        }
        for r in &mut self.routers {
            r.gossip_changed(&self.gossip);
        }
    }
}
