//! Arenas: one scene, one seed, several routing set-ups side by side. Each lane is its own
//! [`Session`] built from the same scene and seed (so the same seeded workload), with the
//! scene's own set-up (its agents, learning if the scene says `continual`) or one policy
//! everywhere: a baseline, the `oracle`, or a PPO checkpoint, frozen. Lanes follow a
//! leading clock (the lab's first arena) in slices, and a session computes the same run
//! however it is sliced, so each lane is exactly `lnlab run` with its policy and seed.
//!
//! This file owns what a lane is, how a list of set-ups is parsed and checked, and how a
//! lane catches up with a clock. The lab draws lanes and applies edits to all of them.

use super::{Budget, PolicyChoice, Progress, Session, SessionOptions};
use crate::rl::agents::MetricsRow;
use crate::scene::Scene;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

/// Arenas compare this many set-ups at most (four viewports fit a projector).
pub const MAX_LANES: usize = 4;

/// Events per slice while a lane catches up.
const SLICE_EVENTS: usize = 4096;

/// Who routes in one lane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LaneSetup {
    /// The scene as it is: its agent groups (learning if it says `continual`) and its
    /// routing policy everywhere else.
    Scene,
    /// One policy at every node.
    Policy(PolicyChoice),
}

impl FromStr for LaneSetup {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "scene" {
            return Ok(LaneSetup::Scene);
        }
        s.parse::<PolicyChoice>()
            .map(LaneSetup::Policy)
            .map_err(|e| format!("{e}, or `scene` (the scene's own agents)"))
    }
}

impl fmt::Display for LaneSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaneSetup::Scene => write!(f, "scene"),
            LaneSetup::Policy(p) => write!(f, "{p}"),
        }
    }
}

impl LaneSetup {
    /// The session options of this set-up.
    pub fn options(&self, seed: u64, payments: Option<u64>) -> SessionOptions {
        SessionOptions {
            policy: match self {
                LaneSetup::Scene => None,
                LaneSetup::Policy(p) => Some(p.clone()),
            },
            ..SessionOptions::new(seed, payments)
        }
    }

    /// Whether the lane's agents are a fixed checkpoint (never learning, whatever the
    /// lab's agents mode says).
    pub fn is_frozen_checkpoint(&self) -> bool {
        matches!(self, LaneSetup::Policy(PolicyChoice::Ppo(_)))
    }

    /// A short name for charts and the scoreboard: what routes in the lane, on `scene`.
    pub fn label(&self, scene: &Scene) -> String {
        match self {
            LaneSetup::Scene if scene.agents.is_some() => {
                let learning = scene.agents.as_ref().is_some_and(|a| a.continual);
                format!("PPO ({})", if learning { "learning" } else { "frozen" })
            }
            LaneSetup::Scene => scene.routing.policy.to_string(),
            LaneSetup::Policy(PolicyChoice::Baseline(kind)) => kind.to_string(),
            LaneSetup::Policy(PolicyChoice::Ppo(path)) => format!(
                "PPO {}",
                path.file_stem().map_or_else(
                    || path.display().to_string(),
                    |s| s.to_string_lossy().into()
                )
            ),
        }
    }
}

/// Parse an arena list (`lnd,cheapest,ppo:agent.safetensors`): 2 to [`MAX_LANES`] set-ups.
pub fn parse_lanes(list: &str) -> Result<Vec<LaneSetup>, String> {
    let lanes = list
        .split(',')
        .map(|s| {
            s.parse::<LaneSetup>()
                .map_err(|e| format!("arena `{}`: {e}", s.trim()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_count(lanes.len())?;
    Ok(lanes)
}

/// Arenas compare 2 to [`MAX_LANES`] set-ups.
pub fn check_count(n: usize) -> Result<(), String> {
    if (2..=MAX_LANES).contains(&n) {
        Ok(())
    } else {
        Err(format!(
            "arenas compare 2 to {MAX_LANES} policies, got {n} (e.g. `lnd,cheapest`)"
        ))
    }
}

/// One lane: its set-up, its session, and whether it resolved every payment it was asked
/// for (runs with a payment limit).
pub struct Lane {
    pub setup: LaneSetup,
    pub label: String,
    pub session: Session,
    pub finished: bool,
}

impl Lane {
    /// A lane for `scene` (checkpoints resolved against `scene_dir`), seeded with `seed`,
    /// open-ended or limited to `payments`.
    pub fn new(
        scene: &Scene,
        scene_dir: &Path,
        seed: u64,
        payments: Option<u64>,
        setup: LaneSetup,
    ) -> Result<Lane, String> {
        let session = Session::from_scene(scene, scene_dir, &setup.options(seed, payments))
            .map_err(|e| format!("arena {setup}: {e}"))?;
        Ok(Lane {
            label: setup.label(scene),
            setup,
            session,
            finished: false,
        })
    }

    /// The lane's report so far, named as `lnlab run` names its policy.
    pub fn report(&self, scene_name: &str, seed: u64) -> super::Report {
        let mut report = super::Report::from_session(&self.session, scene_name, seed, 0.0);
        if let LaneSetup::Policy(p) = &self.setup {
            report.policy = p.to_string();
        }
        report
    }

    /// Run the lane toward `target_ms` (everything due by then; `None`: to the end of a
    /// limited run) until `deadline`, with at most `minibatches` PPO steps per cycle.
    /// Returns the rows of the updates that finished.
    pub fn follow(
        &mut self,
        target_ms: Option<u64>,
        deadline: Option<Instant>,
        minibatches: usize,
    ) -> Vec<MetricsRow> {
        let mut rows = Vec::new();
        loop {
            let reached = target_ms.is_some_and(|t| self.session.reached(t));
            if self.finished || reached || deadline.is_some_and(|d| Instant::now() >= d) {
                return rows;
            }
            self.session.decide();
            let progress = self.session.advance(Budget {
                max_events: SLICE_EVENTS,
                until_ms: target_ms,
                deadline,
            });
            self.session.record();
            rows.extend(self.session.update(minibatches));
            if progress == Progress::Finished && !self.session.is_updating() {
                self.finished = true;
            }
            if target_ms.is_none() && self.session.engine().payment_limit().is_none() {
                // An open-ended run has no end to run to.
                return rows;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::RouterKind;
    use crate::session::{RunOptions, run_scene};

    #[test]
    fn arena_lists_parse_or_say_why_not() {
        let lanes = parse_lanes("lnd, scene,ppo:a/b.safetensors").unwrap();
        assert_eq!(
            lanes,
            vec![
                LaneSetup::Policy(PolicyChoice::Baseline(RouterKind::Lnd)),
                LaneSetup::Scene,
                LaneSetup::Policy(PolicyChoice::Ppo("a/b.safetensors".into())),
            ]
        );
        assert!(lanes[2].is_frozen_checkpoint() && !lanes[1].is_frozen_checkpoint());
        assert!(parse_lanes("lnd").unwrap_err().contains("2 to 4"));
        assert!(
            parse_lanes("lnd,ldk,cheapest,shortest,oracle")
                .unwrap_err()
                .contains("2 to 4")
        );
        let bad = parse_lanes("lnd,dijkstra").unwrap_err();
        assert!(
            bad.contains("arena `dijkstra`") && bad.contains("scene"),
            "{bad}"
        );
    }

    /// A lane that follows a clock in uneven slices ends where `lnlab run` with its
    /// policy and seed ends, report for report, with edits in the timeline: a demand
    /// spike toward a hub that is then removed (the spike's stream ends on its draws
    /// alone, however the run is sliced).
    #[test]
    fn a_lane_followed_in_slices_is_the_cli_run() {
        use crate::network::NodeId;
        use crate::sim::command::{Command, TimedCommand};
        let text = include_str!("../../scenes/classroom.ron");
        let mut scene = crate::scene::parse(text, "classroom.ron".as_ref()).unwrap();
        let hub = NodeId(5);
        scene.timeline.extend([
            TimedCommand {
                at_ms: 2_000,
                command: Command::DemandSpike {
                    node: hub,
                    rate_per_s: 5.0,
                    duration_ms: 600_000,
                },
            },
            TimedCommand {
                at_ms: 6_000,
                command: Command::RemoveNode { node: hub },
            },
        ]);
        for policy in ["cheapest", "lnd"] {
            let setup: LaneSetup = policy.parse().unwrap();
            let mut lane = Lane::new(&scene, Path::new("."), 7, Some(150), setup).unwrap();
            let mut t = 0;
            while !lane.finished {
                t += 1_700;
                lane.follow(Some(t), None, 3);
            }
            let options = RunOptions {
                policy: policy.parse().unwrap(),
                seed: 7,
                payments: 150,
                record_payments: false,
                check_invariants: false,
            };
            let cli = run_scene(&scene, &options, |_, _| {}).unwrap();
            let ours = lane.report(&scene.name, 7);
            assert_eq!(
                ours.without_timing(),
                cli.report.without_timing(),
                "{policy}"
            );
            assert!(ours.payments == 150 && ours.succeeded > 0, "{policy}");
            assert!(ours.simulated_seconds > 6.0, "the hub left mid-run");
        }
    }
}
