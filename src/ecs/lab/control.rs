//! The only code that changes the running driver. Keyboard shortcuts, buttons and lesson
//! scripts all send [`LabCommand`]s (the type lives in `state`); `apply` runs them between
//! frames' simulation steps. Congestion goes through the engine's own
//! [`Command`], so every edit keeps the engine's invariants, and each applied edit is added
//! to the working scene's timeline (saving it makes the run reproducible).

use super::LabOptions;
use super::script::{Exit, Lesson};
use super::state::{
    AgentMode, ExplainRequest, ExplainResult, Lab, LabCommand, Marker, Selection, Speed,
};
use crate::ecs::sim::{SimDriver, SimStatus};
use crate::network::NodeId;
use crate::rl::oracle::Oracle;
use crate::routing::{RouterKind, build_router};
use crate::scene::Scene;
use crate::session::{Budget, Session, SessionOptions};
use crate::sim::command::{Command, TimedCommand};
use bevy::prelude::*;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Wall-clock time the engine may use per frame in the window, and again the PPO update:
/// with drawing, frames stay well under the 50 ms the lab allows (and near 60 fps on a GPU).
const FRAME_BUDGET: Duration = Duration::from_millis(6);
/// PPO minibatch steps per frame at least (each is about a millisecond on classroom).
const MINIBATCHES_PER_FRAME: usize = 1;

/// Everything checked before a window opens, so bad input ends with one error line.
pub struct Startup {
    scene: Scene,
    path: PathBuf,
    driver: SimDriver,
    lesson: Option<Lesson>,
}

impl Startup {
    pub fn prepare(args: &LabOptions) -> anyhow::Result<Self> {
        let path = args.scene.clone().unwrap_or_else(default_scene);
        if let Some(out) = &args.screenshot {
            check_png(out)?;
        }
        // Outputs written at the end of a run are checked now, not after it.
        for out in args.screenshot.iter().chain(&args.dump_state) {
            check_output_dir(out)?;
        }
        if args.screenshot.is_some() && args.frames.is_none() {
            anyhow::bail!("--screenshot needs --frames N (the frames to render first)");
        }
        let lesson = args.script.as_deref().map(Lesson::load).transpose()?;
        let scene = crate::scene::load(&path)?;
        let driver = new_session(&scene, &path, args.seed).map_err(anyhow::Error::msg)?;
        check_display()?;
        Ok(Startup {
            scene,
            path,
            driver,
            lesson,
        })
    }

    pub fn title(&self) -> String {
        format!("lnlab: {}", self.scene.name)
    }

    pub fn install(self, app: &mut App, args: &LabOptions) -> anyhow::Result<()> {
        let agents = if self.scene.agents.is_some() {
            AgentMode::Learning
        } else {
            AgentMode::Frozen
        };
        let mut lab = Lab {
            policy: self.scene.routing.policy.to_string(),
            scene: self.scene,
            path: self.path,
            seed: args.seed,
            dirty: false,
            speed: args.speed.unwrap_or(Speed::Times(1.0)),
            paused: args.paused,
            agents,
            selection: None,
            presenter: args.presenter,
            help: false,
            log: VecDeque::new(),
            error: None,
            markers: Vec::new(),
            generation: 1,
            confirm_quit: false,
            fit_requested: true,
            unattended: args.frames.is_some()
                || args.screenshot.is_some()
                || args.bench_frames.is_some(),
        };
        let mut driver = self.driver;
        configure(&mut driver, &lab);
        lab.say(0, format!("opened {}", lab.path.display()), false);
        app.insert_resource(lab)
            .insert_non_send(driver)
            .insert_resource(super::script::Runner::new(args, self.lesson));
        Ok(())
    }
}

/// The window needs an X11 display; say so plainly instead of failing deep in winit.
fn check_display() -> anyhow::Result<()> {
    if cfg!(target_os = "linux") && std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty()) {
        anyhow::bail!(
            "no display to open the lab's window on (DISPLAY is not set); run it in a \
             desktop driver, under `xvfb-run -a lnlab ...`, or use the headless \
             subcommands (`lnlab run`, `compare`, `train`)"
        );
    }
    Ok(())
}

/// `scenes/classroom.ron`, from the working directory or else from the source tree.
fn default_scene() -> PathBuf {
    let local = PathBuf::from("scenes/classroom.ron");
    if local.exists() {
        return local;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/classroom.ron")
}

fn check_output_dir(path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if dir.is_some_and(|d| !d.is_dir()) {
        anyhow::bail!("{}: its folder does not exist", path.display());
    }
    Ok(())
}

pub fn check_png(path: &Path) -> anyhow::Result<()> {
    let ok = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !ok {
        anyhow::bail!("{}: screenshots are PNG files (.png)", path.display());
    }
    Ok(())
}

/// A driver for the lab: open-ended, agents learning if the scene has them.
fn new_session(scene: &Scene, path: &Path, seed: Option<u64>) -> Result<SimDriver, String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let options = SessionOptions::new(seed.unwrap_or(scene.seed), None);
    let mut session = Session::from_scene(scene, dir, &options)?;
    session.keep_events(true);
    let mut driver = SimDriver::new(session);
    driver.events_per_frame = 200_000;
    driver.minibatches_per_frame = MINIBATCHES_PER_FRAME;
    driver.frame_budget = Some(FRAME_BUDGET);
    Ok(driver)
}

/// Apply the lab's settings (pause, speed, agents mode) to a driver.
fn configure(driver: &mut SimDriver, lab: &Lab) {
    driver.paused = lab.paused;
    driver.sim_ms_per_s = lab.speed.sim_ms_per_s();
    set_agents(driver, lab.agents);
}

fn set_agents(driver: &mut SimDriver, mode: AgentMode) {
    if let Some(agents) = driver.session.agents_mut() {
        agents.training = mode == AgentMode::Learning;
        agents.explore = mode == AgentMode::Paused;
    }
}

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
    mut windows: Query<&mut Window>,
) {
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
                restart(&mut lab, &mut driver, &mut status, scene, path, "restarted");
            }
            LabCommand::SetSpeed(speed) => lab.speed = speed,
            LabCommand::SetAgents(mode) => {
                if lab.has_agents() {
                    lab.agents = mode;
                    lab.say(now, format!("agents: {}", mode.label()), false);
                }
            }
            LabCommand::SetPolicy(name) => match RouterKind::parse(&name) {
                Ok(kind) => {
                    let view = driver.session.view();
                    let others: Vec<NodeId> = view
                        .network()
                        .nodes()
                        .map(|(id, _)| id)
                        .filter(|&id| view.group_of(id).is_none())
                        .collect();
                    let seed = lab.seed.unwrap_or(lab.scene.seed);
                    driver
                        .session
                        .set_router_for(&others, build_router(kind, seed));
                    lab.policy = kind.to_string();
                    lab.scene.routing.policy = kind;
                    lab.dirty = true;
                    lab.say(
                        now,
                        format!("{} nodes now route with {kind}", others.len()),
                        false,
                    );
                }
                Err(e) => lab.say(now, e, true),
            },
            LabCommand::Inject(cmd) => {
                let label = describe(&cmd, driver.session.view().network());
                // What the engine accepts must also be a valid scene entry, or the saved
                // scene would not load again.
                let entry = TimedCommand {
                    at_ms: now,
                    command: cmd,
                };
                let nodes = lab.scene.nodes.len() as u32;
                if let Err(e) = entry.validate(nodes) {
                    lab.say(now, format!("{label}: refused: {e}"), true);
                    continue;
                }
                match driver.session.apply(entry.command.clone()) {
                    Ok(()) => {
                        lab.scene.timeline.push(entry);
                        lab.dirty = true;
                        lab.markers.push(Marker {
                            at_ms: now,
                            label: label.clone(),
                        });
                        lab.say(now, label, false);
                    }
                    Err(e) => lab.say(now, format!("{label}: refused: {e}"), true),
                }
            }
            LabCommand::SelectNode(i) => {
                let id = NodeId(i);
                if driver.session.view().network().node(id).is_some() {
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
            LabCommand::OpenScene(path) => match crate::scene::load(&path) {
                Ok(scene) => {
                    restart(&mut lab, &mut driver, &mut status, scene, path, "opened");
                }
                Err(e) => {
                    lab.error = Some(format!("Could not open the scene.\n\n{e}"));
                    lab.say(now, e.to_string(), true);
                }
            },
            LabCommand::SaveScene(path) => {
                match crate::scene::save(&rebase_checkpoints(&lab.scene, &lab.path, &path), &path) {
                    Ok(()) => {
                        lab.scene = rebase_checkpoints(&lab.scene, &lab.path, &path);
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
            LabCommand::SetPresenter(on) => lab.presenter = on,
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
    let title = lab.title();
    for mut w in &mut windows {
        if w.title != title {
            w.title = title.clone();
        }
    }
}

/// A command as the log and the chart markers show it: nodes by alias.
fn describe(command: &Command, net: &crate::network::Network) -> String {
    let alias = |n: NodeId| net.node(n).map_or(n.to_string(), |n| n.alias.clone());
    match command {
        Command::NodeOffline { node } => format!("{} offline", alias(*node)),
        Command::NodeOnline { node } => format!("{} online", alias(*node)),
        Command::DemandSpike { node, .. } => format!("demand spike -> {}", alias(*node)),
        Command::OpenChannel { node1, node2, .. } => {
            format!("open {}-{}", alias(*node1), alias(*node2))
        }
        other => other.label(),
    }
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

/// Replace the driver with a fresh one for `scene`; on failure keep the old one.
fn restart(
    lab: &mut Lab,
    driver: &mut SimDriver,
    status: &mut SimStatus,
    scene: Scene,
    path: PathBuf,
    verb: &str,
) {
    match new_session(&scene, &path, lab.seed) {
        Ok(mut new) => {
            // A lesson holding the engine at a time holds the new one too, until its
            // next step is looked at.
            new.stop_at_ms = driver.stop_at_ms.map(|_| 0);
            *driver = new;
            *status = SimStatus::default();
            let fresh_file = verb == "opened";
            if fresh_file {
                lab.dirty = false;
                lab.policy = scene.routing.policy.to_string();
                lab.agents = if scene.agents.is_some() {
                    AgentMode::Learning
                } else {
                    AgentMode::Frozen
                };
                lab.fit_requested = true;
            }
            lab.scene = scene;
            lab.path = path;
            lab.selection = None;
            lab.markers.clear();
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
    r.oracle = Oracle::new(16);
    r.candidates = t.explain(&mut r.oracle, node, destination, amount_msat);
    r.request = request.0;
    r.at_s = now;
}
