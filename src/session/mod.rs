//! A running session: the engine, the PPO agents if the run has any, and the L402 market if
//! the scene has one, advanced together by one loop. Everything that runs a scene drives a
//! [`Session`]: `lnlab run`, `compare`, `train`, `bench` and `l402 demo`, the lab (one
//! session per frame, under budgets), and the tests. So a scene with agents and a market
//! runs the same way headless and in the lab.
//!
//! One cycle has four stages, which the Bevy systems run one per system and headless code
//! runs in [`Session::tick`]: answer the agents' pending decisions with batched inference,
//! advance the engine (and the market's calls) within a [`Budget`], record resolved
//! attempts as rewards, and run PPO minibatches.
//!
//! Determinism: the engine stops before an agent node forwards, so decisions are batched at
//! points fixed by the simulation alone; updates start only at such points; and the engine
//! does not advance while an update is in progress. L402 payments count toward a run's
//! payment limit, and the engine checks that limit when an arrival starts, not when it is
//! drawn. How a run is sliced into budgets therefore never changes what it computes.

pub mod arena;
mod build;
mod report;
mod run;
mod view;

pub use build::{PolicyChoice, SessionOptions};
pub use report::{NodeReport, Report};
pub use run::{RunOptions, RunOutput, l402_demo, pay_once, run_scene};
pub use view::SessionView;

use crate::l402::market::Market;
use crate::rl::agents::{Agents, MetricsRow, PaymentWindow};
use crate::sim::command::Command;
use crate::sim::engine::{CommandError, Engine, SimEvent, Step};
use std::time::Instant;

/// How far one advance may go.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub max_events: usize,
    /// Do not move the clock past this simulated time.
    pub until_ms: Option<u64>,
    /// Stop once this wall-clock instant has passed (checked every few events).
    pub deadline: Option<Instant>,
}

impl Budget {
    /// At most `max_events` events, with no time bound.
    pub fn events(max_events: usize) -> Self {
        Budget {
            max_events,
            until_ms: None,
            deadline: None,
        }
    }
}

/// How far an advance got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Stopped for decisions, a bound, or the event budget.
    Running,
    /// Every requested payment resolved.
    Finished,
}

/// Events per slice when a session runs to completion (progress is reported between
/// slices; the slicing does not change the run).
const RUN_SLICE_EVENTS: usize = 4096;

pub struct Session {
    engine: Engine,
    agents: Option<Agents>,
    market: Option<Market>,
    started: Instant,
    /// Keep the engine's events for an observer (the lab draws them).
    keep_events: bool,
    events_processed: u64,
    /// Whether the last advance stopped at a point the simulation fixes (a decision or
    /// the end), rather than at a budget.
    at_decision_point: bool,
    /// Engine events drained during the advance, for the record stage.
    events: Vec<SimEvent>,
    observed: Vec<SimEvent>,
    /// The payment counters when the last metrics row was written (succeeded, failed,
    /// fees paid): the start of the next row's window.
    window_start: (u64, u64, u64),
    /// Agent decisions made before this session (carried over from earlier segments).
    decisions_at_start: u64,
}

impl Session {
    /// A session over a built engine, with agents (already attached to the engine) and a
    /// market if the run has them.
    pub fn new(mut engine: Engine, agents: Option<Agents>, market: Option<Market>) -> Self {
        if market.is_some() {
            // The market reacts to payment events as they happen.
            engine.enable_trace(true);
        }
        Session {
            engine,
            agents,
            market,
            started: Instant::now(),
            keep_events: false,
            events_processed: 0,
            at_decision_point: true,
            events: Vec::new(),
            observed: Vec::new(),
            window_start: (0, 0, 0),
            decisions_at_start: 0,
        }
    }

    /// A read-only view for observers (the lab's panels, reports).
    pub fn view(&self) -> SessionView<'_> {
        SessionView::new(self)
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn agents(&self) -> Option<&Agents> {
        self.agents.as_ref()
    }

    pub fn agents_mut(&mut self) -> Option<&mut Agents> {
        self.agents.as_mut()
    }

    /// Continue a training run from an earlier segment's agents (see
    /// [`Agents::carry_over`]). Returns the groups that found no match.
    pub fn carry_over(&mut self, previous: Agents) -> Vec<String> {
        match &mut self.agents {
            Some(agents) => {
                let unmatched = agents.carry_over(previous);
                self.decisions_at_start = agents.decisions;
                unmatched
            }
            None => Vec::new(),
        }
    }

    pub fn market(&self) -> Option<&Market> {
        self.market.as_ref()
    }

    /// The engine, taken apart from the session at the end of a run.
    pub fn into_engine(self) -> Engine {
        self.engine
    }

    /// The engine, agents and market, taken apart at the end of a run.
    pub fn into_parts(self) -> (Engine, Option<Agents>, Option<Market>) {
        (self.engine, self.agents, self.market)
    }

    /// Agent decisions made so far.
    pub fn decisions(&self) -> u64 {
        self.agents.as_ref().map_or(0, |a| a.decisions)
    }

    /// Events the engine has processed in this session.
    pub fn events_processed(&self) -> u64 {
        self.events_processed
    }

    /// Whether a PPO update is in progress (the engine waits for it).
    pub fn is_updating(&self) -> bool {
        self.agents.as_ref().is_some_and(Agents::is_updating)
    }

    /// Keep the engine's events for an observer; take them with [`Session::take_observed`].
    pub fn keep_events(&mut self, on: bool) {
        self.keep_events = on;
        if on {
            self.engine.enable_trace(true);
        }
    }

    /// The events recorded since the last call (only with [`Session::keep_events`]).
    pub fn take_observed(&mut self) -> Vec<SimEvent> {
        std::mem::take(&mut self.observed)
    }

    /// Change the running simulation (an injection or edit). The engine checks it and
    /// keeps its invariants.
    pub fn apply(&mut self, command: Command) -> Result<(), CommandError> {
        self.engine.apply(command)
    }

    /// Move a node on the layout (see `Engine::set_node_position`).
    pub fn set_node_position(&mut self, node: crate::network::NodeId, position: [f32; 2]) -> bool {
        self.engine.set_node_position(node, position)
    }

    /// Start a payment now, outside the workload (returns its id).
    pub fn start_payment(
        &mut self,
        request: crate::sim::workload::PaymentRequest,
    ) -> crate::sim::engine::PaymentId {
        self.engine.start_payment(request)
    }

    /// The market's events since the last call (the lab draws them as badges).
    pub fn take_l402_events(&mut self) -> Vec<crate::l402::market::L402Event> {
        self.market
            .as_mut()
            .map(|m| std::mem::take(&mut m.events))
            .unwrap_or_default()
    }

    /// Forget payments that ended before `cutoff_ms` (open-ended runs keep memory flat;
    /// the counters keep their totals and ids stay stable).
    pub fn forget_before(&mut self, cutoff_ms: u64) {
        self.engine.forget_before(cutoff_ms);
    }

    /// Stage 1: batched inference for the decisions the engine waits for.
    pub fn decide(&mut self) {
        // Only where the simulation stopped for decisions: answering pending decisions in
        // the middle of a budget-cut advance would see a different network state.
        if let Some(agents) = &mut self.agents
            && !agents.is_updating()
            && self.at_decision_point
        {
            agents.decide(&mut self.engine);
        }
    }

    /// Stage 2: advance the simulation until it needs decisions, finishes, or reaches a
    /// bound of `budget`: events, a simulated time (the lab's speed) or a wall-clock
    /// deadline (the lab's frame time). L402 calls fall due on the way. It does not move
    /// while an update is in progress.
    pub fn advance(&mut self, budget: Budget) -> Progress {
        if self.is_updating() {
            return Progress::Running;
        }
        self.at_decision_point = true;
        for i in 0..budget.max_events {
            if i % 64 == 63 && budget.deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            if let Some(until) = budget.until_ms {
                // Arrivals due by the bound must be in the queue before it is looked at.
                self.engine.draw_arrivals_until(until);
            }
            let next_event = self.engine.next_event_ms();
            let next_call = self.next_call_ms();
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
                Step::Advanced => {
                    self.events_processed += 1;
                    self.drain_for_market();
                }
                Step::Blocked => return Progress::Running,
                Step::Done => {
                    // The wind-down's settles and failures reach the market too.
                    self.drain_for_market();
                    return Progress::Finished;
                }
            }
        }
        // Stopped by the event budget, not by the simulation: updates wait for a decision
        // point, so the budget cannot change what is trained.
        self.at_decision_point = false;
        Progress::Running
    }

    /// When the market's next call is due: never once the run takes no new payments.
    fn next_call_ms(&self) -> u64 {
        let Some(m) = &self.market else {
            return u64::MAX;
        };
        let closed = self
            .engine
            .payment_limit()
            .is_some_and(|l| self.engine.metrics().payments >= l);
        if closed { u64::MAX } else { m.next_call_ms() }
    }

    /// Whether the simulation has done everything due by `at_ms` (and its clock is
    /// there): a lesson step waiting for that time may run.
    pub fn reached(&self, at_ms: u64) -> bool {
        self.engine.now_ms() >= at_ms
            && self.engine.next_event_ms().is_none_or(|t| t > at_ms)
            && self.next_call_ms() > at_ms
    }

    /// Whether the last advance stopped for agents' decisions (not at a budget or time
    /// bound, and not for an update).
    pub fn waits_for_decisions(&self) -> bool {
        self.at_decision_point && !self.is_updating() && !self.engine.pending_decisions().is_empty()
    }

    /// With a market, hand each event to it as it happens (it pays and retries at once).
    fn drain_for_market(&mut self) {
        if let Some(m) = &mut self.market {
            let new = self.engine.drain_trace();
            m.on_events(&mut self.engine, &new);
            self.events.extend(new);
        }
    }

    /// Stage 3: record resolved attempts as transitions and rewards.
    pub fn record(&mut self) {
        let mut events = std::mem::take(&mut self.events);
        events.extend(self.engine.drain_trace());
        if let Some(agents) = &mut self.agents {
            let m = self.engine.metrics();
            if let Some(limit) = self.engine.payment_limit() {
                agents.progress = (m.succeeded + m.failed) as f64 / limit.max(1) as f64;
            }
            agents.record(&mut self.engine, &events, self.at_decision_point);
        }
        if self.keep_events {
            self.observed.extend(events);
        }
    }

    /// Stage 4: run up to `max_minibatches` minibatches of the PPO updates in progress.
    /// Returns the metrics rows of updates that finished.
    pub fn update(&mut self, max_minibatches: usize) -> Vec<MetricsRow> {
        let Some(agents) = &mut self.agents else {
            return Vec::new();
        };
        // This session's own decisions (a training segment carries the earlier ones).
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let sps = agents.decisions.saturating_sub(self.decisions_at_start) as f64 / secs;
        let engine = &self.engine;
        let m = engine.metrics();
        let now = (m.succeeded, m.failed, m.fees_paid_msat);
        let (s0, f0, fees0) = self.window_start;
        let window = PaymentWindow {
            resolved: (now.0 - s0) + (now.1 - f0),
            succeeded: now.0 - s0,
            fees_paid_msat: now.2 - fees0,
            started: engine.payments().len() as u64,
        };
        let gini = || engine.metrics().hub_gini(engine.network().node_count());
        let rows = agents.update(max_minibatches, agents.decisions, sps, gini, window);
        if !rows.is_empty() {
            self.window_start = now;
        }
        rows
    }

    /// All stages once, the advance bounded by `budget`. Returns how far the advance got
    /// and the finished update rows.
    pub fn tick(&mut self, budget: Budget) -> (Progress, Vec<MetricsRow>) {
        self.decide();
        let progress = self.advance(budget);
        self.record();
        let rows = self.update(usize::MAX);
        (progress, rows)
    }

    /// Run until everything due by `at_ms` has happened, or the run ends (the lab's undo
    /// replays a run to where it was). Returns the update rows.
    pub fn run_until(&mut self, at_ms: u64) -> Vec<MetricsRow> {
        let mut rows = Vec::new();
        loop {
            let budget = Budget {
                until_ms: Some(at_ms),
                ..Budget::events(RUN_SLICE_EVENTS)
            };
            let (progress, new_rows) = self.tick(budget);
            rows.extend(new_rows);
            if self.reached(at_ms) || progress == Progress::Finished {
                return rows;
            }
        }
    }

    /// Run until every requested payment resolved and the last update finished.
    /// `on_slice` sees the session between slices (progress bars). Returns the update rows.
    pub fn run_to_completion(&mut self, mut on_slice: impl FnMut(&Session)) -> Vec<MetricsRow> {
        let mut rows = Vec::new();
        loop {
            let (progress, new_rows) = self.tick(Budget::events(RUN_SLICE_EVENTS));
            rows.extend(new_rows);
            on_slice(self);
            if progress == Progress::Finished && !self.is_updating() {
                return rows;
            }
        }
    }
}
