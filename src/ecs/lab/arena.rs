//! Arenas in the lab: 2 to 4 routing set-ups on the same scene and seeded workload, side
//! by side. The first arena is the lab's own driver (drawn by the graph's renderer, with
//! pulses, badges and the inspector); the others are [`Lane`]s kept here, which follow the
//! first one's simulated clock a slice per frame (within a wall-clock budget, catching up
//! over the next frames when they fall behind). A session computes the same run however
//! it is sliced, so every arena is `lnlab run` with its policy and seed.
//!
//! This file owns the other lanes (`Arenas`), the system that moves them, the scoreboard
//! rows (success, fees per payment, latency p95, attempts, hub gini, each against the first
//! arena), and the helpers `control` uses to rebuild lanes and to apply an edit to every
//! lane at the same simulated time. The charts sample lanes in `plots`; the viewports are
//! painted in `ui`.

use super::LabSet;
use super::state::{Lab, arena_label};
use crate::ecs::sim::SimDriver;
use crate::rl::agents::MetricsRow;
use crate::scene::Scene;
use crate::session::Report;
use crate::session::arena::{Lane, LaneSetup};
use crate::sim::command::Command;
use bevy::prelude::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// Wall-clock time each lane may take per frame.
const LANE_BUDGET: Duration = Duration::from_millis(4);
/// PPO minibatch steps per cycle for a lane that learns.
const LANE_MINIBATCHES: usize = 2;
/// Seconds between scoreboard refreshes.
const SCORE_S: f32 = 0.5;

/// A lane beside the lab's driver, and the update rows the charts have not taken yet.
pub struct ArenaLane {
    pub lane: Lane,
    pub new_rows: Vec<MetricsRow>,
}

/// The arenas after the first (which is the lab's driver), and the scoreboard.
#[derive(Default)]
pub struct Arenas {
    pub lanes: Vec<ArenaLane>,
    pub scores: Vec<ScoreRow>,
    scored_s: f32,
}

/// One arena's line on the scoreboard.
#[derive(Clone, Debug)]
pub struct ScoreRow {
    pub label: String,
    pub report: Report,
}

impl ScoreRow {
    /// Fees per succeeded payment, in sat (as the fees chart shows them).
    pub fn fees_per_payment_sat(&self) -> f64 {
        self.report.fees_paid_msat as f64 / 1000.0 / self.report.succeeded.max(1) as f64
    }

    /// The scoreboard's columns: (name, value, whether more is better; `None` where
    /// neither is, as for hub concentration).
    pub fn columns(&self) -> [(&'static str, f64, Option<bool>); 5] {
        let r = &self.report;
        [
            ("success", r.success_rate, Some(true)),
            (
                "fees sat / payment",
                self.fees_per_payment_sat(),
                Some(false),
            ),
            ("latency p95 ms", r.latency_ms_p95 as f64, Some(false)),
            ("attempts", r.attempts_mean, Some(false)),
            ("hub gini", r.hub_gini, None),
        ]
    }
}

impl Arenas {
    /// Lanes for every arena of `setups` after the first, built fresh for `scene` (at
    /// `path`) with a seed (default: the scene's) and payment limit; `configure` gives
    /// them the lab's agents mode.
    pub fn build(
        setups: &[LaneSetup],
        scene: &Scene,
        path: &Path,
        seed: Option<u64>,
        payments: Option<u64>,
    ) -> Result<Arenas, String> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let seed = seed.unwrap_or(scene.seed);
        let lanes = setups
            .iter()
            .skip(1)
            .enumerate()
            .map(|(i, setup)| {
                let mut lane = Lane::new(scene, dir, seed, payments, setup.clone())?;
                lane.label = arena_label(setups, scene, i + 1);
                Ok(ArenaLane {
                    lane,
                    new_rows: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Arenas {
            lanes,
            ..Arenas::default()
        })
    }

    /// Bring every lane to `at_ms` (or to its end, for `None`), however long it takes (an
    /// edit applies to all arenas at one time; the state dump shows them together).
    pub fn catch_up(&mut self, at_ms: Option<u64>) {
        for l in &mut self.lanes {
            let rows = l.lane.follow(at_ms, None, usize::MAX);
            l.new_rows.extend(rows);
        }
    }

    /// Apply `command` to every lane at `at_ms`, where the first arena applied it.
    /// Returns the lanes that refused it, with why.
    pub fn apply_all(&mut self, at_ms: u64, command: &Command) -> Vec<(String, String)> {
        self.catch_up(Some(at_ms));
        self.lanes
            .iter_mut()
            .filter_map(|l| {
                l.lane
                    .session
                    .apply(command.clone())
                    .err()
                    .map(|e| (l.lane.label.clone(), e.to_string()))
            })
            .collect()
    }

    /// Apply the lab's agents mode to every lane (checkpoint lanes stay frozen).
    pub fn configure(&mut self, lab: &Lab) {
        for l in &mut self.lanes {
            set_agents(&mut l.lane, lab);
        }
    }

    /// Whether every lane resolved the payments it was asked for.
    pub fn all_finished(&self) -> bool {
        self.lanes.iter().all(|l| l.lane.finished)
    }

    /// The scoreboard now: the first arena, then the lanes.
    pub fn score(&mut self, lab: &Lab, driver: &SimDriver) {
        let seed = lab.seed.unwrap_or(lab.scene.seed);
        let mut first = Report::from_session(&driver.session, &lab.scene.name, seed, 0.0);
        if let Some(LaneSetup::Policy(p)) = lab.arenas.first() {
            first.policy = p.to_string();
        }
        let label = lab.arena_label(0);
        self.scores = std::iter::once(ScoreRow {
            label,
            report: first,
        })
        .chain(self.lanes.iter().map(|l| ScoreRow {
            label: l.lane.label.clone(),
            report: l.lane.report(&lab.scene.name, seed),
        }))
        .collect();
    }
}

/// The lab's agents mode on one lane: learning, paused (sampling) or frozen; a
/// checkpoint lane is always frozen, as `lnlab run --policy ppo:...` runs it.
fn set_agents(lane: &mut Lane, lab: &Lab) {
    if lane.setup.is_frozen_checkpoint() {
        return;
    }
    if let Some(agents) = lane.session.agents_mut() {
        agents.training = lab.agents == super::state::AgentMode::Learning;
        agents.explore = lab.agents == super::state::AgentMode::Paused;
    }
}

pub struct ArenaPlugin;

impl Plugin for ArenaPlugin {
    fn build(&self, app: &mut App) {
        app.init_non_send::<Arenas>()
            .add_systems(Update, follow.in_set(LabSet::Collect));
    }
}

/// Move every lane toward the first arena's clock (to its end once a limited run's first
/// arena finished), a budget per lane per frame; refresh the scoreboard now and then.
fn follow(
    driver: NonSend<SimDriver>,
    mut arenas: NonSendMut<Arenas>,
    lab: Res<Lab>,
    time: Res<Time<Real>>,
) {
    if lab.arenas.is_empty() {
        return;
    }
    let target = (!driver.engine_done).then(|| driver.session.view().now_ms());
    let now_s = time.elapsed_secs();
    for l in &mut arenas.lanes {
        let deadline = Instant::now() + LANE_BUDGET;
        let rows = l.lane.follow(target, Some(deadline), LANE_MINIBATCHES);
        l.new_rows.extend(rows);
        // Memory stays flat in long sessions, as for the first arena.
        let now_ms = l.lane.session.view().now_ms();
        l.lane
            .session
            .forget_before(now_ms.saturating_sub(super::feed::KEEP_HISTORY_MS));
    }
    if now_s - arenas.scored_s >= SCORE_S || arenas.scores.len() != lab.arenas.len() {
        arenas.scored_s = now_s;
        arenas.score(&lab, &driver);
    }
}
