//! The only code that changes the running driver. Keyboard shortcuts, buttons and lesson
//! scripts all send [`LabCommand`]s (the type lives in `state`); `apply` runs them between
//! frames' simulation steps, and `explain` answers the inspector's question to an agent
//! from the session's read-only view. Congestion goes through the engine's own
//! [`Command`], so every edit keeps the engine's invariants, and each applied edit is added
//! to the working scene's timeline (saving it makes the run reproducible). Checking the
//! input and building a driver for a scene live in `startup`.

mod startup;

pub use startup::Startup;

use super::arena::Arenas;
use super::script::{Exit, Lesson, Runner};
use super::state::{
    AgentMode, Edit, ExplainRequest, ExplainResult, Lab, LabCommand, Marker, Selection, Topology,
};
use crate::ecs::sim::{SimDriver, SimStatus};
use crate::network::NodeId;
use crate::rl::onward::Onward;
use crate::routing::RouterKind;
use crate::scene::Scene;
use crate::session::Budget;
use crate::sim::command::{Command as SimCommand, TimedCommand};
use bevy::prelude::*;
use startup::{check_png, configure, new_session};
use std::path::{Path, PathBuf};

pub struct ControlPlugin;

impl Plugin for ControlPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<LabCommand>()
            .init_resource::<ExplainRequest>()
            .init_resource::<ExplainResult>()
            .add_systems(
                Update,
                (close_requests, apply, explain)
                    .chain()
                    .in_set(super::LabSet::Apply),
            );
    }
}

/// The window's close button asks like `Quit`.
fn close_requests(
    mut requests: MessageReader<bevy::window::WindowCloseRequested>,
    mut out: MessageWriter<LabCommand>,
) {
    if requests.read().count() > 0 {
        out.write(LabCommand::Quit);
    }
}

#[allow(clippy::too_many_arguments)]
fn apply(
    mut commands: Commands,
    mut incoming: MessageReader<LabCommand>,
    mut lab: ResMut<Lab>,
    mut driver: NonSendMut<SimDriver>,
    mut status: ResMut<SimStatus>,
    mut exit: ResMut<Exit>,
    mut runner: ResMut<Runner>,
    mut windows: Query<&mut Window>,
    mut arenas: NonSendMut<Arenas>,
) {
    let arenas = &mut *arenas;
    let list: Vec<LabCommand> = incoming.read().cloned().collect();
    for command in list {
        let now = driver.session.view().now_ms();
        match command {
            LabCommand::Pause => lab.paused = true,
            LabCommand::Resume => lab.paused = false,
            LabCommand::TogglePause => lab.paused = !lab.paused,
            LabCommand::Step => {
                lab.paused = true;
                let rows = step_one(&mut driver);
                status.new_rows.extend(rows);
            }
            LabCommand::Reset => {
                let scene = lab.scene.clone();
                let path = lab.path.clone();
                restart(
                    &mut lab,
                    &mut driver,
                    &mut status,
                    arenas,
                    scene,
                    path,
                    "restarted",
                );
            }
            LabCommand::SetArenas(list) => {
                set_arenas(&mut lab, &mut driver, &mut status, arenas, &list)
            }
            LabCommand::SetSpeed(speed) => lab.speed = speed,
            LabCommand::SetAgents(mode) => {
                if lab.has_agents() {
                    // Every arena changes mode at the same simulated time.
                    arenas.catch_up(Some(now));
                    lab.agents = mode;
                    lab.say(now, format!("agents: {}", mode.label()), false);
                }
            }
            LabCommand::SetPolicy(_) if !lab.arenas.is_empty() => lab.say(
                now,
                "each arena keeps its own policy: close the arenas to switch the routing",
                true,
            ),
            LabCommand::SetPolicy(name) => match RouterKind::parse(&name) {
                // At t = 0 the switch is the scene's own routing policy; later it is a
                // timeline entry, so a saved scene replays it when it happened.
                Ok(kind) if now == 0 => {
                    let switch = SimCommand::SetRouter { policy: kind };
                    match driver.session.apply(switch) {
                        Ok(()) => {
                            let before = lab.scene.routing.policy;
                            lab.undo.push(Edit::Policy {
                                before,
                                after: kind,
                            });
                            lab.redo.clear();
                            lab.policy = kind.to_string();
                            lab.scene.routing.policy = kind;
                            lab.dirty = true;
                            lab.say(now, format!("non-agent nodes now route with {kind}"), false);
                        }
                        Err(e) => lab.say(now, format!("routing: {kind}: refused: {e}"), true),
                    }
                }
                Ok(kind) => {
                    if inject(
                        &mut lab,
                        &mut driver,
                        &mut status,
                        arenas,
                        now,
                        SimCommand::SetRouter { policy: kind },
                    ) {
                        lab.policy = kind.to_string();
                    }
                }
                Err(e) => lab.say(now, e, true),
            },
            LabCommand::Inject(cmd) => {
                inject(&mut lab, &mut driver, &mut status, arenas, now, cmd);
            }
            LabCommand::SelectNode(i) => {
                let id = NodeId(i);
                if driver.session.view().network().is_live(id) {
                    lab.selection = Some(Selection::Node(id));
                } else {
                    lab.say(now, format!("no node {i}"), true);
                }
            }
            LabCommand::SelectChannel(scid) => {
                match driver.session.view().network().channel_by_scid(scid) {
                    Some(id) => lab.selection = Some(Selection::Channel(id)),
                    None => lab.say(now, format!("no channel {scid}"), true),
                }
            }
            LabCommand::ClearSelection => lab.selection = None,
            LabCommand::Screenshot(path) => match check_png(&path) {
                Ok(()) => {
                    super::script::take_screenshot(&mut commands, &mut exit, path.clone());
                    lab.say(now, format!("screenshot -> {}", path.display()), false);
                }
                Err(e) => lab.say(now, e.to_string(), true),
            },
            LabCommand::StartLesson(path) => match load_lesson(&path, &lab) {
                Ok((lesson, scene, scene_path)) => {
                    // A lesson on the open scene keeps its edits (and their undo).
                    let verb = if lesson.scene.is_some() {
                        "opened"
                    } else {
                        "restarted"
                    };
                    restart(
                        &mut lab,
                        &mut driver,
                        &mut status,
                        arenas,
                        scene,
                        scene_path,
                        verb,
                    );
                    // Hold the new run at 0 until the lesson's first step is looked at.
                    driver.stop_at_ms = Some(0);
                    lab.lesson_charts = lesson.charts.clone();
                    lab.lesson = Some(path.clone());
                    lab.caption = None;
                    runner.start(lesson);
                    lab.say(0, format!("lesson {}", path.display()), false);
                }
                Err(e) => {
                    lab.error = Some(format!("Could not start the lesson.\n\n{e}"));
                    lab.say(now, e, true);
                }
            },
            LabCommand::MoveNode { node, to, done } => {
                let id = NodeId(node);
                let at = driver.session.view().network().node(id).map(|n| n.position);
                if let Some(at) = at {
                    pin_layout(&mut lab, &driver);
                    if lab.drag_from.is_none_or(|(n, _)| n != id) {
                        lab.drag_from = Some((id, at));
                    }
                    let edit = Edit::Position {
                        node: id,
                        before: at,
                        after: to,
                    };
                    move_node(&mut lab, &mut driver, arenas, &edit, true);
                    if done && let Some((_, from)) = lab.drag_from.take() {
                        lab.undo.push(Edit::Position {
                            node: id,
                            before: from,
                            after: to,
                        });
                        lab.redo.clear();
                    }
                } else {
                    lab.say(now, format!("no node {node}"), true);
                }
            }
            LabCommand::Undo | LabCommand::Redo => {
                let forward = command == LabCommand::Redo;
                let edit = if forward {
                    lab.redo.pop()
                } else {
                    lab.undo.pop()
                };
                match edit {
                    Some(edit @ Edit::Position { .. }) => {
                        move_node(&mut lab, &mut driver, arenas, &edit, forward);
                        if forward {
                            lab.undo.push(edit);
                        } else {
                            lab.redo.push(edit);
                        }
                    }
                    Some(edit) => {
                        edit.apply_to(&mut lab.scene, forward);
                        let verb = if forward { Verb::Redid } else { Verb::Undid };
                        if replay(&mut lab, &mut driver, &mut status, arenas, now, &edit, verb) {
                            if forward {
                                lab.undo.push(edit);
                            } else {
                                lab.redo.push(edit);
                            }
                        } else {
                            // The run could not be rebuilt: the scene stays as it runs.
                            edit.apply_to(&mut lab.scene, !forward);
                            if forward {
                                lab.redo.push(edit);
                            } else {
                                lab.undo.push(edit);
                            }
                        }
                    }
                    None => {
                        let what = if forward { "redo" } else { "undo" };
                        lab.say(now, format!("nothing to {what}"), false);
                    }
                }
            }
            LabCommand::OpenScene(path) => match crate::scene::load(&path) {
                Ok(scene) => {
                    restart(
                        &mut lab,
                        &mut driver,
                        &mut status,
                        arenas,
                        scene,
                        path,
                        "opened",
                    );
                }
                Err(e) => {
                    lab.error = Some(format!("Could not open the scene.\n\n{e}"));
                    lab.say(now, e.to_string(), true);
                }
            },
            LabCommand::SaveScene(path) => {
                let scene = rebase_checkpoints(&lab.scene, &lab.path, &path);
                let saved = with_current_weights(scene, &driver, &path).and_then(|scene| {
                    crate::scene::save(&scene, &path)
                        .map(|()| scene)
                        .map_err(|e| e.to_string())
                });
                match saved {
                    Ok(scene) => {
                        lab.scene = scene;
                        lab.dirty = false;
                        lab.path = path.clone();
                        lab.say(now, format!("saved {}", path.display()), false);
                    }
                    Err(e) => {
                        lab.error = Some(format!("Could not save the scene.\n\n{e}"));
                        lab.say(now, e.to_string(), true);
                    }
                }
            }
            // The charts' own system writes the file (it owns their data); the lesson
            // runner takes the step commands.
            LabCommand::ExportCharts(_) | LabCommand::NextStep | LabCommand::PreviousStep => {}
            LabCommand::Caption(text) => {
                lab.caption = (!text.trim().is_empty()).then(|| text.clone());
                if lab.caption.is_some() {
                    lab.say(now, format!("caption: {text}"), false);
                }
            }
            LabCommand::SetPresenter(on) => lab.presenter = on,
            LabCommand::SetTraffic(on) => lab.traffic.on = on,
            LabCommand::ToggleHelp => lab.help = !lab.help,
            LabCommand::Fit => lab.fit_requested = true,
            LabCommand::Quit if lab.dirty => lab.confirm_quit = true,
            // Leaving: the engine stops where it is (the state dump shows that moment).
            LabCommand::Quit | LabCommand::QuitNow => {
                exit.requested = true;
                lab.paused = true;
            }
        }
    }
    configure(&mut driver, &lab);
    arenas.configure(&lab);
    let title = lab.title();
    for mut w in &mut windows {
        if w.title != title {
            w.title = title.clone();
        }
    }
}

/// The scene with each agent group's current weights written beside `path`
/// (`STEM-GROUP.safetensors`, plus the sidecar) and named as its checkpoint, so that
/// reopening the saved scene brings back exactly the agents that were running.
fn with_current_weights(
    mut scene: Scene,
    driver: &SimDriver,
    path: &Path,
) -> Result<Scene, String> {
    let Some(agents) = driver.session.agents() else {
        return Ok(scene);
    };
    let written = agents.save_policies(&scene.name, |group| {
        crate::rl::policy::group_checkpoint_path(path, group)
    })?;
    if let Some(section) = &mut scene.agents {
        for g in &mut section.groups {
            // Beside the scene: named by file name alone.
            let file = written
                .iter()
                .find(|(name, _)| *name == g.name)
                .and_then(|(_, p)| p.file_name());
            if let Some(file) = file {
                g.checkpoint = Some(file.to_string_lossy().into_owned());
            }
        }
    }
    Ok(scene)
}

/// The scene as saved to `to`: checkpoint paths are relative to the scene's folder, so
/// a save into another folder points them at the same files.
fn rebase_checkpoints(scene: &Scene, from: &Path, to: &Path) -> Scene {
    let dir = |p: &Path| p.parent().map(Path::to_path_buf).unwrap_or_default();
    let (old, new) = (dir(from), dir(to));
    let mut scene = scene.clone();
    if old == new {
        return scene;
    }
    if let Some(agents) = &mut scene.agents {
        for g in &mut agents.groups {
            if let Some(ck) = &mut g.checkpoint
                && Path::new(ck.as_str()).is_relative()
            {
                let absolute = std::path::absolute(old.join(&*ck)).unwrap_or(old.join(&*ck));
                *ck = absolute.display().to_string();
            }
        }
    }
    scene
}

/// Process exactly one engine event, answering agents' decisions first if it waits (and
/// finishing a PPO update in progress, which the engine waits for). Returns the rows of
/// updates that finished.
fn step_one(driver: &mut SimDriver) -> Vec<crate::rl::agents::MetricsRow> {
    let t = &mut driver.session;
    let rows = t.update(usize::MAX);
    let before = t.events_processed();
    for _ in 0..3 {
        t.decide();
        t.advance(Budget::events(1));
        t.record();
        if t.events_processed() > before {
            break;
        }
    }
    rows
}

/// A lesson, the scene it is written for (the open one if it names none) and that scene's
/// path, checked against each other.
fn load_lesson(path: &Path, lab: &Lab) -> Result<(Lesson, Scene, PathBuf), String> {
    let lesson = Lesson::load(path).map_err(|e| e.to_string())?;
    let (scene, scene_path) = match lesson.scene_path(path) {
        Some(scene_path) => (
            crate::scene::load(&scene_path).map_err(|e| e.to_string())?,
            scene_path,
        ),
        None => (lab.scene.clone(), lab.path.clone()),
    };
    lesson
        .check_against(&scene)
        .and_then(|()| lesson.check_payment_limit(lab.payments.is_some()))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((lesson, scene, scene_path))
}

/// Write every node's drawn position into the working scene, so that a scene laid out
/// automatically keeps its layout once a node is dragged (a rebuilt run would otherwise
/// lay the others out again around the one pinned node).
fn pin_layout(lab: &mut Lab, driver: &SimDriver) {
    let net = driver.session.view().network();
    for (i, node) in lab.scene.nodes.iter_mut().enumerate() {
        if node.pos.is_none()
            && let Some(n) = net.node(NodeId(i as u32))
        {
            node.pos = Some((n.position[0], n.position[1]));
        }
    }
}

/// The routing policy of the other nodes at `at_ms`: the scene's, or the last router
/// switch in its timeline by then.
fn policy_at(scene: &Scene, at_ms: u64) -> String {
    scene
        .timeline
        .iter()
        .filter(|e| e.at_ms <= at_ms)
        .filter_map(|e| match e.command {
            SimCommand::SetRouter { policy } => Some(policy),
            _ => None,
        })
        .next_back()
        .unwrap_or(scene.routing.policy)
        .to_string()
}

/// Put a node where `edit` says (after it, or before it when taking it back), in the
/// running network and in the working scene.
fn move_node(
    lab: &mut Lab,
    driver: &mut SimDriver,
    arenas: &mut Arenas,
    edit: &Edit,
    forward: bool,
) {
    if let Edit::Position {
        node,
        before,
        after,
    } = edit
    {
        let to = if forward { *after } else { *before };
        driver.session.set_node_position(*node, to);
        // Every arena draws the same layout.
        for l in &mut arenas.lanes {
            l.lane.session.set_node_position(*node, to);
        }
        edit.apply_to(&mut lab.scene, forward);
        lab.dirty = true;
        lab.layout_version += 1;
    }
}

/// Why a run is rebuilt: an edit taken back, put back, or just made (to the scene's base).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Undid,
    Redid,
    Made,
}

/// Undo and redo: rebuild the run from the working scene (already edited) and replay it
/// headless to `at_ms`, where it was. The engine is deterministic, so the replayed run is
/// the run the scene gives; what it costs is the replay (a fraction of a second on the
/// shipped scenes, as long as the run so far on large ones), and the charts start again at
/// `at_ms`, since their history came from the run with the edit. Returns whether the run
/// could be rebuilt (if not, the old one goes on).
fn replay(
    lab: &mut Lab,
    driver: &mut SimDriver,
    status: &mut SimStatus,
    arenas: &mut Arenas,
    at_ms: u64,
    edit: &Edit,
    verb: Verb,
) -> bool {
    let forward = verb != Verb::Undid;
    let label = match edit {
        Edit::Timeline(entry) => {
            super::state::describe(&entry.command, driver.session.view().network())
        }
        Edit::Policy { before, after } => {
            format!("routing: {}", if forward { after } else { before })
        }
        Edit::Position { node, .. } => format!("move node {node}"),
        Edit::Base { label, .. } => label.clone(),
    };
    let selected_scid = match lab.selection {
        Some(Selection::Channel(id)) => driver.session.view().network().channel(id).map(|c| c.scid),
        _ => None,
    };
    let built = new_session(
        &lab.scene,
        &lab.path,
        lab.seed,
        lab.payments,
        lab.first_setup(),
    )
    .and_then(|d| {
        let lanes = Arenas::build(&lab.arenas, &lab.scene, &lab.path, lab.seed, lab.payments)?;
        Ok((d, lanes))
    });
    match built {
        Ok((mut new, mut lanes)) => {
            configure(&mut new, lab);
            let rows = new.session.run_until(at_ms);
            lanes.catch_up(Some(at_ms));
            for l in &mut lanes.lanes {
                l.new_rows.clear();
                let s = &mut l.lane.session;
                s.take_observed();
                s.forget_before(at_ms.saturating_sub(super::feed::KEEP_HISTORY_MS));
            }
            *arenas = lanes;
            // What the replay went through is not news: no pulses, markers or log lines
            // for it, no training rows drawn at one instant, and only recent payments kept.
            new.session.take_observed();
            new.session.take_l402_events();
            new.session
                .forget_before(at_ms.saturating_sub(super::feed::KEEP_HISTORY_MS));
            new.stop_at_ms = driver.stop_at_ms;
            *driver = new;
            *status = SimStatus {
                rows_total: rows.len(),
                ..SimStatus::default()
            };
            lab.policy = policy_at(&lab.scene, at_ms);
            lab.drag_from = None;
            if let Edit::Timeline(entry) = edit {
                match lab
                    .markers
                    .iter()
                    .rposition(|m| m.at_ms == entry.at_ms && m.label == label)
                {
                    Some(i) if !forward => {
                        lab.markers.remove(i);
                    }
                    _ if forward => lab.markers.push(Marker {
                        at_ms: entry.at_ms,
                        label: label.clone(),
                    }),
                    _ => {}
                }
            }
            // The selection, found again in the rebuilt run (a channel by its scid: ids
            // after a channel taken out of the scene move down).
            let net = driver.session.view().network();
            lab.selection = match lab.selection {
                Some(Selection::Channel(_)) => selected_scid
                    .and_then(|scid| net.channel_by_scid(scid))
                    .map(Selection::Channel),
                Some(Selection::Node(n)) => net.is_live(n).then_some(Selection::Node(n)),
                None => None,
            };
            lab.traffic.clear();
            lab.generation += 1;
            lab.dirty = true;
            let verb = match verb {
                Verb::Undid => "undid",
                Verb::Redid => "redid",
                Verb::Made => "scene",
            };
            lab.say(at_ms, format!("{verb}: {label}"), false);
            true
        }
        Err(e) => {
            lab.error = Some(format!("Could not replay the scene.\n\n{e}"));
            lab.say(at_ms, e, true);
            false
        }
    }
}

/// `SetArenas`: start the working scene over with one arena per set-up, side by side (or
/// alone again, for an empty list). A bad list, or one whose lanes cannot be built (a
/// missing checkpoint), changes nothing and says why.
fn set_arenas(
    lab: &mut Lab,
    driver: &mut SimDriver,
    status: &mut SimStatus,
    arenas: &mut Arenas,
    list: &[String],
) {
    let now = driver.session.view().now_ms();
    let parsed = if list.is_empty() {
        Ok(Vec::new())
    } else {
        crate::session::arena::parse_lanes(&list.join(","))
    };
    let setups = match parsed {
        Ok(setups) => setups,
        Err(e) => {
            lab.say(now, e, true);
            return;
        }
    };
    let before = std::mem::replace(&mut lab.arenas, setups);
    let generation = lab.generation;
    let (scene, path) = (lab.scene.clone(), lab.path.clone());
    restart(lab, driver, status, arenas, scene, path, "restarted");
    if lab.generation == generation {
        lab.arenas = before;
        return;
    }
    let names: Vec<String> = (0..lab.arenas.len()).map(|i| lab.arena_label(i)).collect();
    let text = if names.is_empty() {
        "arenas closed".to_string()
    } else {
        format!("arenas: {}", names.join(" | "))
    };
    lab.say(0, text, false);
    lab.policy = policy_at(&lab.scene, 0);
}

/// Replace the driver with a fresh one for `scene`; on failure keep the old one.
fn restart(
    lab: &mut Lab,
    driver: &mut SimDriver,
    status: &mut SimStatus,
    arenas: &mut Arenas,
    scene: Scene,
    path: PathBuf,
    verb: &str,
) {
    let built =
        new_session(&scene, &path, lab.seed, lab.payments, lab.first_setup()).and_then(|d| {
            let lanes = Arenas::build(&lab.arenas, &scene, &path, lab.seed, lab.payments)?;
            Ok((d, lanes))
        });
    match built {
        Ok((mut new, lanes)) => {
            *arenas = lanes;
            // A lesson holding the engine at a time holds the new one too, until its
            // next step is looked at.
            new.stop_at_ms = driver.stop_at_ms.map(|_| 0);
            *driver = new;
            *status = SimStatus::default();
            let fresh_file = verb == "opened";
            if fresh_file {
                lab.dirty = false;
                lab.undo.clear();
                lab.redo.clear();
                lab.policy = scene.routing.policy.to_string();
                lab.agents = AgentMode::for_scene(&scene);
                lab.fit_requested = true;
            }
            lab.scene = scene;
            lab.path = path;
            lab.selection = None;
            lab.drag_from = None;
            lab.markers.clear();
            lab.traffic.clear();
            lab.generation += 1;
            lab.log.clear();
            let text = format!("{verb} {}", lab.path.display());
            lab.say(0, text, false);
        }
        Err(e) => {
            lab.error = Some(format!("Could not start the scene.\n\n{e}"));
            lab.say(driver.session.view().now_ms(), e, true);
        }
    }
}

/// Answer the inspector's question about an agent's policy: when it changes, and a few
/// times a second as the network moves.
fn explain(
    request: Res<ExplainRequest>,
    mut result: ResMut<ExplainResult>,
    driver: NonSend<SimDriver>,
    time: Res<Time<Real>>,
) {
    let Some((node, destination, amount_msat)) = request.0 else {
        result.request = None;
        result.candidates = None;
        return;
    };
    let now = time.elapsed_secs();
    if result.request == request.0 && now - result.at_s < 0.5 {
        return;
    }
    let t = driver.session.view();
    let r = &mut *result;
    // A fresh cache each time: the graph's topology may have changed since.
    r.onward = Onward::new(16);
    r.candidates = t.explain(&mut r.onward, node, destination, amount_msat);
    r.request = request.0;
    r.at_s = now;
}

/// Apply a command from the UI now and keep it in the scene's timeline (with a chart
/// marker and a log line), so that a saved scene replays it at the same time. Returns
/// whether the engine took it.
fn inject(
    lab: &mut Lab,
    driver: &mut SimDriver,
    status: &mut SimStatus,
    arenas: &mut Arenas,
    now: u64,
    cmd: SimCommand,
) -> bool {
    let label = super::state::describe(&cmd, driver.session.view().network());
    if !lab.arenas.is_empty() && matches!(cmd, SimCommand::SetRouter { .. }) {
        let text = format!("{label}: refused: each arena keeps its own policy");
        lab.say(now, text, true);
        return false;
    }
    // Before the run has started, a topology edit changes the scene itself (its nodes and
    // channels), and the run is rebuilt from it (with the layout as drawn, so that nothing
    // moves but what the edit adds).
    if now == 0 {
        pin_layout(lab, driver);
        let mut after = lab.scene.clone();
        match crate::scene::edit::apply_to_base(&mut after, &cmd) {
            Ok(true) => {
                let edit = Edit::Base {
                    before: Box::new(Topology::of(&lab.scene)),
                    after: Box::new(Topology::of(&after)),
                    label: label.clone(),
                };
                edit.apply_to(&mut lab.scene, true);
                if replay(lab, driver, status, arenas, 0, &edit, Verb::Made) {
                    lab.undo.push(edit);
                    lab.redo.clear();
                    if matches!(cmd, SimCommand::AddNode { .. }) {
                        let id = NodeId(lab.scene.nodes.len() as u32 - 1);
                        lab.selection = Some(Selection::Node(id));
                    }
                    return true;
                }
                edit.apply_to(&mut lab.scene, false);
                return false;
            }
            Ok(false) => {}
            Err(e) => {
                lab.say(now, format!("{label}: refused: {e}"), true);
                return false;
            }
        }
    }
    // What the engine accepts must also be a valid scene entry, or the saved scene would
    // not load again.
    let entry = TimedCommand {
        at_ms: now,
        command: cmd,
    };
    let nodes = lab.scene.node_ids();
    let next_id = NodeId(driver.session.view().network().node_bound() as u32);
    if let Err(e) = entry.validate(nodes) {
        lab.say(now, format!("{label}: refused: {e}"), true);
        return false;
    }
    // The edit lands once everything due by now has happened, in the first arena as in
    // the others (and as the saved scene's timeline replays it).
    if !driver.session.reached(now) {
        let rows = driver.session.run_until(now);
        status.new_rows.extend(rows);
    }
    match driver.session.apply(entry.command.clone()) {
        Ok(()) => {
            // Every arena gets the edit at the same simulated time.
            for (arena, e) in arenas.apply_all(now, &entry.command) {
                lab.say(now, format!("{label}: arena {arena} refused: {e}"), true);
            }
            lab.undo.push(Edit::Timeline(entry.clone()));
            lab.redo.clear();
            lab.scene.timeline.push(entry);
            lab.dirty = true;
            lab.markers.push(Marker {
                at_ms: now,
                label: label.clone(),
            });
            lab.say(now, label, false);
            // A removed node can no longer be inspected; an added one is, at once.
            match lab.scene.timeline.last().map(|e| &e.command) {
                Some(SimCommand::RemoveNode { node })
                    if lab.selection == Some(Selection::Node(*node)) =>
                {
                    lab.selection = None;
                }
                Some(SimCommand::AddNode { .. })
                    if driver.session.view().network().is_live(next_id) =>
                {
                    lab.selection = Some(Selection::Node(next_id));
                }
                _ => {}
            }
            true
        }
        Err(e) => {
            lab.say(now, format!("{label}: refused: {e}"), true);
            false
        }
    }
}
