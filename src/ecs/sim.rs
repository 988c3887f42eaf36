//! The simulation-and-training plugin. The engine stays plain Rust: a
//! [`Session`](crate::session::Session) lives in the [`SimDriver`] resource (non-send:
//! dfdx's optimiser is not `Send`) and four systems, ordered by [`SimSet`], run one cycle of
//! it per frame: batched inference for the decisions pending at agent nodes -> advance the
//! engine (arrivals are drawn as its clock reaches them) -> record transitions and rewards
//! -> PPO update.
//!
//! The PPO update is split across frames (at most `minibatches_per_frame` minibatch steps
//! per frame), not run on the async compute pool: dfdx's Adam holds a raw pointer and is
//! not `Send`, and splitting keeps every frame short while the engine waits for the new
//! weights, which is what keeps training deterministic whatever the frame rate.

use crate::rl::agents::MetricsRow;
use crate::session::{Budget, Progress, Session};
use bevy::prelude::*;
use std::time::{Duration, Instant};

/// The running session and how the frames drive it (budgets, pause, speed).
pub struct SimDriver {
    pub session: Session,
    /// Events the engine may process per frame (bounds frame time in the lab).
    pub events_per_frame: usize,
    /// PPO minibatch steps per frame.
    pub minibatches_per_frame: usize,
    pub paused: bool,
    /// The engine has resolved every requested payment.
    pub engine_done: bool,
    /// Simulated milliseconds per second of frame time (`Time`); `None` runs as fast as
    /// the budgets allow.
    pub sim_ms_per_s: Option<f64>,
    /// Wall-clock time the engine may take per frame (keeps the lab's frames short).
    pub frame_budget: Option<Duration>,
    /// The engine never moves past this simulated time (scripted lessons stop here to
    /// apply a command at an exact time).
    pub stop_at_ms: Option<u64>,
    /// Where the paced clock should be, with the fractions of a millisecond that slow
    /// speeds add up frame by frame.
    pub clock_ms: f64,
    /// The agents are a fixed checkpoint (`ppo:PATH`): they never learn, whatever the
    /// lab's agents mode says.
    pub frozen_checkpoint: bool,
}

impl SimDriver {
    /// A driver with the headless budgets: up to 20,000 events and 64 PPO minibatches per
    /// frame.
    pub fn new(session: Session) -> Self {
        SimDriver {
            session,
            events_per_frame: 20_000,
            minibatches_per_frame: 64,
            paused: false,
            engine_done: false,
            sim_ms_per_s: None,
            frame_budget: None,
            stop_at_ms: None,
            clock_ms: 0.0,
            frozen_checkpoint: false,
        }
    }
}

/// What the session reports to the rest of the app (progress bars, plots).
#[derive(Resource, Default, Debug, Clone)]
pub struct SimStatus {
    pub finished: bool,
    pub decisions: u64,
    pub resolved: u64,
    pub succeeded: u64,
    pub sim_ms: u64,
    /// Update rows not yet taken by a consumer.
    pub new_rows: Vec<MetricsRow>,
    pub rows_total: usize,
}

#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SimSet {
    Decide,
    Advance,
    Record,
    Learn,
}

pub struct SimPlugin;

impl Plugin for SimPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<SimStatus>()
            .configure_sets(
                Update,
                (
                    SimSet::Decide,
                    SimSet::Advance,
                    SimSet::Record,
                    SimSet::Learn,
                )
                    .chain(),
            )
            .add_systems(Update, decide.in_set(SimSet::Decide))
            .add_systems(Update, advance.in_set(SimSet::Advance))
            .add_systems(Update, record.in_set(SimSet::Record))
            .add_systems(Update, learn.in_set(SimSet::Learn));
    }
}

fn active(session: &Option<NonSendMut<SimDriver>>) -> bool {
    session.as_ref().is_some_and(|s| !s.paused)
}

fn decide(session: Option<NonSendMut<SimDriver>>) {
    if active(&session) {
        session.expect("checked").session.decide();
    }
}

fn advance(session: Option<NonSendMut<SimDriver>>, time: Res<Time>, mut status: ResMut<SimStatus>) {
    if !active(&session) {
        return;
    }
    let mut s = session.expect("checked");
    let now_ms = s.session.engine().now_ms() as f64;
    let paced = s.sim_ms_per_s.map(|rate| {
        // Never more than a quarter of a second (at this speed) ahead of the engine, so a
        // slow frame does not turn into a burst later.
        let target = s.clock_ms.max(now_ms) + rate * time.delta_secs_f64();
        s.clock_ms = target.min(now_ms + rate * 0.25 + 1.0);
        s.clock_ms as u64
    });
    let until_ms = match (paced, s.stop_at_ms) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let budget = Budget {
        max_events: s.events_per_frame,
        until_ms,
        deadline: s.frame_budget.map(|d| Instant::now() + d),
    };
    let mut progress = s.session.advance(budget);
    // With a wall-clock budget (the lab), keep cycling record -> decide -> advance within
    // the frame instead of waiting a frame per batch of decisions. The engine sees the
    // same sequence of stages either way, so what is trained does not change.
    if let Some(deadline) = budget.deadline {
        while progress == Progress::Running
            && s.session.waits_for_decisions()
            && Instant::now() < deadline
        {
            s.session.record();
            if s.session.is_updating() {
                break;
            }
            s.session.decide();
            progress = s.session.advance(budget);
        }
    }
    s.engine_done = progress == Progress::Finished;
    let view = s.session.view();
    let m = view.metrics();
    status.resolved = m.succeeded + m.failed;
    status.succeeded = m.succeeded;
    status.sim_ms = view.now_ms();
    status.decisions = view.decisions();
}

fn record(session: Option<NonSendMut<SimDriver>>) {
    if active(&session) {
        session.expect("checked").session.record();
    }
}

fn learn(session: Option<NonSendMut<SimDriver>>, mut status: ResMut<SimStatus>) {
    if !active(&session) {
        return;
    }
    let mut s = session.expect("checked");
    let n = s.minibatches_per_frame;
    let mut rows = s.session.update(n);
    // With a wall-clock budget (the lab), go on with minibatches while it lasts.
    if let Some(budget) = s.frame_budget {
        let deadline = Instant::now() + budget;
        while s.session.is_updating() && Instant::now() < deadline {
            rows.extend(s.session.update(1));
        }
    }
    status.rows_total += rows.len();
    status.new_rows.extend(rows);
    // Finished only once the last update has run too (its weights are the ones saved).
    status.finished = s.engine_done && !s.session.is_updating();
}

/// A headless app: `MinimalPlugins` plus [`SimPlugin`] around `session`.
pub fn headless_app(driver: SimDriver) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(SimPlugin)
        .insert_non_send(driver);
    app
}

/// Drive a headless app frame by frame until the session finishes; `on_frame` sees the
/// status after every frame (progress bars). Returns the driver.
pub fn run_headless(mut app: App, mut on_frame: impl FnMut(&mut SimStatus)) -> SimDriver {
    app.finish();
    app.cleanup();
    // Every system here runs on the main thread (the session is non-send), and frames are
    // tiny and many: the single-threaded executor saves the worker hand-offs.
    let mut schedules = app
        .world_mut()
        .resource_mut::<bevy::ecs::schedule::Schedules>();
    for (_, schedule) in schedules.iter_mut() {
        schedule.set_executor(bevy::ecs::schedule::SingleThreadedExecutor::new());
    }
    loop {
        app.update();
        let mut status = app.world_mut().resource_mut::<SimStatus>();
        on_frame(&mut status);
        if status.finished {
            break;
        }
    }
    app.world_mut()
        .remove_non_send::<SimDriver>()
        .expect("the session is inserted")
}
