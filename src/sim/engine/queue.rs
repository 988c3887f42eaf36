//! The virtual clock and the event queue: what can happen ([`Event`]), the order events
//! are taken in, stepping and running the clock, the end-of-run wind-down, and drawing
//! the workload's and demand spikes' Poisson arrivals into the queue. `handle` dispatches
//! each event to the file that owns its concern.

use super::htlc::Resolution;
use super::{AttemptId, Engine, PaymentId, SimEvent, Step};
use crate::network::DelayModel;
use crate::network::NodeId;
use crate::sim::workload::{PaymentRequest, WorkloadSampler};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use std::cmp::Reverse;

/// Something that happens at a point of simulated time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Event {
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
    /// A fast jam sends its next attack HTLC.
    FastJamTick { jam: u32 },
    /// One attack HTLC of a fast jam fails back.
    FastJamRelease { jam: u32, htlc: u64 },
    /// A queued gossip change reaches every node.
    Gossip { update: u32 },
    /// The receiver of a multi-part payment stops waiting for the rest of its parts.
    MppTimeout { payment: PaymentId },
}

/// Queue order: time, then lane (payment starts first, ordered by stream and arrival
/// index; everything else in insertion order). Starts are keyed by what they are, not by
/// when they were drawn, so drawing arrivals ahead (as a time-bounded advance does) or
/// lazily gives the same order; and the payment limit is checked when an arrival starts,
/// so it gives the same payments too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Scheduled {
    at_ms: u64,
    lane: u8,
    seq: u64,
}

/// A Poisson stream of payments: the scene's workload (stream 0) or a demand spike.
#[derive(Clone, Debug)]
pub(super) struct ArrivalStream {
    /// Spikes send every payment to one node.
    pub(super) target: Option<NodeId>,
    /// Spikes stop sending at this time.
    pub(super) until_ms: Option<u64>,
    pub(super) next_ms: u64,
    pub(super) index: u64,
    pub(super) rng: ChaCha8Rng,
    pub(super) sampler: WorkloadSampler,
    /// Its arrivals dropped in a row at their start (every draw named a removed node).
    pub(super) dropped_in_a_row: u32,
}

/// Events are small; this wrapper gives them an order for the heap without comparing them.
#[derive(Clone, Copy, Debug)]
pub(super) struct EventSlot(Event);
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

/// Draws of endpoints for an arrival naming a removed node before it is dropped.
const REDRAWS: usize = 64;
/// Arrivals of one stream dropped in a row after which it draws no more.
const MAX_DROPPED_IN_A_ROW: u32 = 1_000;

impl Engine {
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
                self.starts.push(Some((request, i, key)));
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

    /// An arrival as it starts: a node that left the network neither pays nor is paid any
    /// more, so endpoints naming one are drawn again, from an RNG of the arrival's own
    /// (what is drawn then cannot depend on how far ahead arrivals were drawn). When every
    /// draw names a removed node, the model has no live node left on that side (the only
    /// merchant removed), and the dead endpoint is drawn from the live nodes the workload
    /// draws on either side instead, as a scene without merchants draws its receivers
    /// from every node. `None` for a spike toward a removed node, or with no such node.
    /// Runs without removals start exactly what was drawn.
    fn live_request(
        &self,
        request: PaymentRequest,
        stream: usize,
        key: u64,
    ) -> Option<PaymentRequest> {
        let is_live = |n: NodeId| self.network.is_live(n);
        let live = |r: &PaymentRequest| is_live(r.sender) && is_live(r.receiver);
        if live(&request) {
            return Some(request);
        }
        let s = &self.streams[stream];
        let mut rng = crate::rng::rng_for(self.seed ^ key, crate::rng::stream::REDRAW);
        if let Some(found) = (0..REDRAWS)
            .filter_map(|_| s.sampler.draw(&mut rng, s.target))
            .find(live)
        {
            return Some(found);
        }
        if s.target.is_some() {
            return None;
        }
        let endpoints = s.sampler.endpoint_nodes();
        let mut any_live_but = |other: NodeId| -> Option<NodeId> {
            let nodes: Vec<NodeId> = endpoints
                .iter()
                .copied()
                .filter(|&n| n != other && is_live(n))
                .collect();
            (!nodes.is_empty()).then(|| nodes[rng.random_range(0..nodes.len())])
        };
        let receiver = if is_live(request.receiver) {
            request.receiver
        } else {
            any_live_but(request.sender)?
        };
        let sender = if is_live(request.sender) && request.sender != receiver {
            request.sender
        } else {
            any_live_but(receiver)?
        };
        Some(PaymentRequest {
            sender,
            receiver,
            ..request
        })
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
                Event::Settle { .. }
                    | Event::Fail { .. }
                    | Event::Decide { .. }
                    | Event::MppTimeout { .. }
            ) {
                self.now_ms = self.now_ms.max(at.at_ms);
                self.handle(event);
            }
        }
        self.pending.clear();
        self.resolved.clear();
    }

    pub(super) fn schedule(&mut self, delay_ms: u64, event: Event) {
        self.schedule_at(self.now_ms.saturating_add(delay_ms), event);
    }

    pub(super) fn schedule_at(&mut self, at_ms: u64, event: Event) {
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

    pub(super) fn delay_of(&mut self, node: NodeId) -> u64 {
        let model: DelayModel = self
            .network
            .node(node)
            .and_then(|n| n.processing_delay)
            .unwrap_or(self.sim.processing_delay);
        model.sample_ms(&mut self.delay_rng)
    }

    fn handle(&mut self, event: Event) {
        // HTLC work waits while the node that must do it is offline.
        let actor = match event {
            Event::Decide { attempt } => self.attempts[attempt.index()].nodes.last().copied(),
            Event::Settle { attempt, hop } | Event::Fail { attempt, hop } => {
                Some(self.attempts[attempt.index()].hops[hop as usize].to)
            }
            // A payment forgotten since (it completed long ago) has nothing left to time out.
            Event::MppTimeout { payment } => {
                let Some(p) = self.payments.get(payment.index()) else {
                    return;
                };
                Some(p.request.receiver)
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
                let (request, stream, key) = self.starts[request as usize]
                    .take()
                    .expect("each arrival starts once");
                // The limit is checked when an arrival starts, not when it is drawn: payments
                // from outside (L402) count toward it, and when arrivals are drawn must not
                // decide which of them fit.
                if self
                    .payment_limit
                    .is_none_or(|limit| self.metrics.payments < limit)
                {
                    match self.live_request(request, stream, key) {
                        Some(request) => {
                            self.streams[stream].dropped_in_a_row = 0;
                            self.begin_payment(request);
                        }
                        // Its slot goes to a later arrival, unless this stream has had no
                        // payable arrival for a long while (its nodes left): then it stops
                        // (starts come in simulated order, so this does not depend on how
                        // the run is sliced either).
                        None => {
                            self.drawn -= 1;
                            let now = self.now_ms;
                            let s = &mut self.streams[stream];
                            s.dropped_in_a_row += 1;
                            if s.dropped_in_a_row >= MAX_DROPPED_IN_A_ROW {
                                s.until_ms = Some(now);
                            }
                        }
                    }
                }
            }
            Event::Decide { attempt } => {
                let node = *self.attempts[attempt.index()]
                    .nodes
                    .last()
                    .expect("a sender");
                self.forward_from(attempt, node);
            }
            Event::Settle { attempt, hop } => {
                self.walk_back(attempt, hop as usize, Resolution::Settle)
            }
            Event::Fail { attempt, hop } => self.walk_back(attempt, hop as usize, Resolution::Fail),
            Event::MppTimeout { payment } => self.mpp_timeout(payment),
            Event::Timeline { index } => {
                let cmd = self.timeline[index as usize].command.clone();
                match self.apply(cmd) {
                    Ok(()) => self.emit(SimEvent::TimelineApplied {
                        index,
                        at_ms: self.now_ms,
                    }),
                    Err(e) => self.command_errors.push((self.now_ms, e.to_string())),
                }
            }
            Event::JamEnd { jam } => self.release_jam(jam as usize),
            Event::FastJamTick { jam } => self.fast_jam_tick(jam as usize),
            Event::FastJamRelease { jam, htlc } => self.release_fast_jam_htlc(jam as usize, htlc),
            Event::Gossip { update } => self.on_gossip(update as usize),
        }
    }
}
