//! The discrete-event engine. It owns the network, the gossip view, the virtual clock and
//! the event queue, and runs the HTLC lifecycle hop by hop: add (lock amount and fees, take
//! a slot), forward after the next node's processing delay, settle back hop by hop (balances
//! move, forwarding nodes earn their fees) or fail back from the failing hop (locks
//! released, nothing moves). Senders retry within `max_attempts` and the payment timeout,
//! and their routers learn from every attempt.
//!
//! Determinism: events are ordered by `(time, sequence number)`, every random draw comes
//! from a seeded ChaCha stream owned by one consumer, and nothing iterates a hash map.
//!
//! This file holds the [`Engine`] itself: its state, its construction, its settings and
//! what it lets others read. Each concern of the engine lives in a file of its own: the
//! clock and event queue (`queue`), HTLCs hop by hop (`htlc`) and the pure checks a node
//! makes before it offers one (`forward_check`), payments and retries (`payment`),
//! commands (`commands`), gossip (`gossip`), decisions from outside (`decisions`) and
//! what the engine reports as it runs (`events`); payment and attempt ids are newtypes
//! (`ids`).

mod commands;
mod decisions;
mod events;
mod forward_check;
mod gossip;
mod htlc;
mod ids;
mod payment;
mod queue;

pub use commands::CommandError;
pub use decisions::PendingDecision;
pub use events::{SimEvent, Step};
pub use ids::{AttemptId, PaymentId};
pub use payment::{Attempt, Hop, Parts, Payment, PaymentStatus};

use super::command::TimedCommand;
use super::ledger::Ledger;
use super::metrics::{Metrics, PaymentRecord};
use super::workload::{PaymentRequest, WorkloadSampler};
use crate::network::{GossipView, LiquidityModel, Network, NodeId, ShortChannelId};
use crate::rng::{rng_for, stream as streams};
use crate::routing::RoutingSettings;
use crate::routing::{Decision, Router};
use crate::sim::SimSettings;
use crate::sim::workload::Workload;
use commands::Jam;
use gossip::GossipUpdate;
use queue::{ArrivalStream, Event, EventSlot, Scheduled};
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// One simulated network in motion: its state, clock, event queue and RNG streams (see the
/// module documentation for how a run proceeds).
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
    /// Per outside-decided node: how many local retries an attempt may have in all for
    /// this node to retry locally (see [`Engine::set_local_retries`]); 0 for the rest.
    local_retry_limit: Vec<u32>,
    pending: Vec<PendingDecision>,
    resolved: Vec<(AttemptId, Decision)>,
    /// Which router each node uses (index into `routers`).
    node_router: Vec<u16>,
    streams: Vec<ArrivalStream>,
    /// Drawn arrivals, with their stream and the arrival's key; each is taken when its
    /// payment starts.
    starts: Ledger<Option<(PaymentRequest, usize, u64)>>,
    /// Arrivals drawn so far (at most the payment limit).
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

/// What an engine runs: a built network and the settings that drive it (a scene's
/// sections; `crate::scene::build::build_engine` makes one from a scene).
pub struct Setup {
    pub network: Network,
    pub workload: Workload,
    /// Scripted commands, applied at their times.
    pub timeline: Vec<TimedCommand>,
    pub routing: RoutingSettings,
    pub sim: SimSettings,
    /// Redraws balances for drain commands.
    pub liquidity: LiquidityModel,
}

impl Engine {
    /// An engine for `setup` with `router` at every node. `seed` drives the workload,
    /// delays and liquidity (a run's `--seed`).
    pub fn new(setup: Setup, seed: u64, router: Box<dyn Router>) -> Self {
        let Setup {
            network,
            workload: scene_workload,
            timeline,
            routing,
            sim,
            liquidity,
        } = setup;
        let gossip = GossipView::build(&network, 0);
        let sampler = WorkloadSampler::new(&scene_workload, &network);
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
            dropped_in_a_row: 0,
        };
        let external = vec![false; network.node_bound()];
        let mut engine = Engine {
            network,
            gossip,
            routing,
            sim,
            liquidity,
            now_ms: 0,
            event_ms: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            deferred: Vec::new(),
            routers: vec![router],
            external,
            local_retry_limit: Vec::new(),
            pending: Vec::new(),
            resolved: Vec::new(),
            node_router,
            streams: vec![workload],
            starts: Ledger::default(),
            drawn: 0,

            delay_rng: rng_for(seed, streams::DELAYS),
            liquidity_rng: rng_for(seed ^ 0x5eed, streams::LIQUIDITY),
            timeline,
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
            workload: scene_workload,
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
        engine
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
    /// Move a node on the layout (the lab's drag). Only drawing reads positions, so no
    /// invariant is involved. Returns whether the node exists.
    pub fn set_node_position(&mut self, node: NodeId, position: [f32; 2]) -> bool {
        match self.network.node_mut(node) {
            Some(n) => {
                n.position = position;
                true
            }
            None => false,
        }
    }
    pub fn gossip(&self) -> &GossipView {
        &self.gossip
    }
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Payments by id (open-ended runs keep only recent ones: see `forget_before`).
    pub fn payments(&self) -> &Ledger<Payment> {
        &self.payments
    }
    pub fn attempt(&self, id: AttemptId) -> Option<&Attempt> {
        self.attempts.get(id.index())
    }
    pub fn records(&self) -> &[PaymentRecord] {
        self.records.as_deref().unwrap_or(&[])
    }
    pub fn command_errors(&self) -> &[(u64, String)] {
        &self.command_errors
    }
    /// The scene's timeline, as the engine runs it.
    pub fn timeline(&self) -> &[TimedCommand] {
        &self.timeline
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

    fn is_online(&self, node: NodeId) -> bool {
        self.network.node(node).is_some_and(|n| n.online)
    }
}
