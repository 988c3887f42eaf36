//! The lab's shared vocabulary: the state that several parts read, and the one command
//! type they send. [`Lab`] (the working scene, run settings, selection, log, markers),
//! [`LabCommand`] with its [`Speed`] and [`AgentMode`], the inspector's question to an agent
//! ([`ExplainRequest`], [`ExplainResult`]), the panels' own state ([`UiState`], the file
//! dialog, the shortcut list), and where the graph is on screen ([`ViewCam`],
//! [`GraphArea`], [`Hover`]). Only data and small helpers live here: `control` applies
//! commands, the panels draw.

use crate::network::{ChannelId, NodeId, ShortChannelId};
use crate::rl::agents::Explained;
use crate::rl::onward::Onward;
use crate::scene::Scene;
use crate::sim::command::Command;
use bevy::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::PathBuf;

/// How fast simulated time runs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Speed {
    /// Simulated seconds per second.
    Times(f64),
    /// As fast as the frame budget allows.
    Max,
}

impl Speed {
    pub fn sim_ms_per_s(self) -> Option<f64> {
        match self {
            Speed::Times(x) => Some(x * 1000.0),
            Speed::Max => None,
        }
    }

    pub fn label(self) -> String {
        match self {
            Speed::Times(x) if x >= 10.0 => format!("{x:.0}x"),
            Speed::Times(x) => format!("{x:.2}x"),
            Speed::Max => "max".into(),
        }
    }
}

/// What users, buttons and lesson scripts can ask of the lab.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Message)]
pub enum LabCommand {
    Pause,
    Resume,
    TogglePause,
    /// Process one engine event (pauses first).
    Step,
    /// Start the working scene over (its injected events replay at their times).
    Reset,
    /// Compare 2 to 4 routing set-ups side by side (`scene`, a baseline, `oracle`, or
    /// `ppo:CHECKPOINT`), each in its own viewport, from t = 0; an empty list goes back
    /// to the scene alone.
    SetArenas(Vec<String>),
    SetSpeed(Speed),
    /// PPO agents: learning, learning paused (still sampling), or frozen (greedy).
    SetAgents(AgentMode),
    /// Router for the nodes that are not agents: random, shortest, cheapest, lnd, ldk.
    SetPolicy(String),
    /// Congestion and topology edits, as the engine's commands.
    Inject(Command),
    SelectNode(u32),
    SelectChannel(ShortChannelId),
    ClearSelection,
    Screenshot(PathBuf),
    OpenScene(PathBuf),
    /// Open a lesson's scene and run the lesson from its first step, in place of any lesson
    /// running (the lesson picker's command). A lesson started this way ends paused
    /// where a scripted run would quit.
    StartLesson(PathBuf),
    /// Take back the last edit or injection (Ctrl+Z): the run is rebuilt without it and
    /// replayed to the current time.
    Undo,
    /// Put back the last edit taken back (Ctrl+Y or Ctrl+Shift+Z), the same way.
    Redo,
    /// Move a node on the layout (dragging it); the scene keeps the position. `done` ends
    /// a drag, which undo then takes back as one edit.
    MoveNode {
        node: u32,
        to: [f32; 2],
        done: bool,
    },
    SaveScene(PathBuf),
    /// Write every chart's data as CSV (chart, line, simulated seconds, value).
    ExportCharts(PathBuf),
    /// Narration on screen, over the graph, until the next caption (an empty one clears
    /// it). Large enough to read on a projector, and shown in presenter mode.
    Caption(String),
    /// Lessons: run the next step now, without waiting for it.
    NextStep,
    /// Lessons: show the previous caption again (the simulation does not run backward).
    PreviousStep,
    SetPresenter(bool),
    /// Show or hide the traffic overlay (channels by the volume they carried recently).
    SetTraffic(bool),
    /// Show or hide the help overlay.
    ToggleHelp,
    /// Fit the graph to the view.
    Fit,
    /// Quit, asking first if the scene has unsaved changes.
    Quit,
    /// Quit without asking (lesson scripts, the "discard" answer).
    QuitNow,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AgentMode {
    Learning,
    Paused,
    Frozen,
}

impl AgentMode {
    /// How a scene's agents start when it opens: learning if the scene says `continual`,
    /// frozen otherwise (a trained scene opens to show what was learnt).
    pub fn for_scene(scene: &crate::scene::Scene) -> Self {
        match &scene.agents {
            Some(a) if a.continual => AgentMode::Learning,
            _ => AgentMode::Frozen,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AgentMode::Learning => "learning",
            AgentMode::Paused => "learning paused",
            AgentMode::Frozen => "frozen (greedy)",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Selection {
    Node(NodeId),
    Channel(ChannelId),
}

/// A line of the event log shown in the side panel.
#[derive(Clone, Debug)]
pub struct LogLine {
    pub sim_ms: u64,
    pub text: String,
    pub error: bool,
}

/// A command applied at a simulated time (a marker on the plots).
#[derive(Clone, Debug, Serialize)]
pub struct Marker {
    pub at_ms: u64,
    pub label: String,
}

/// The lab's state around the engine.
#[derive(Resource)]
pub struct Lab {
    /// The working scene: as loaded, plus the edits applied since (in its timeline).
    pub scene: Scene,
    pub path: PathBuf,
    pub seed: Option<u64>,
    pub dirty: bool,
    pub speed: Speed,
    pub paused: bool,
    pub agents: AgentMode,
    pub policy: String,
    pub selection: Option<Selection>,
    pub presenter: bool,
    pub help: bool,
    pub log: VecDeque<LogLine>,
    /// An error to show in a dialog (a scene that failed to load, a failed save).
    pub error: Option<String>,
    pub markers: Vec<Marker>,
    /// Bumped whenever a new driver starts: views drop what they drew.
    pub generation: u64,
    /// The unsaved-changes question is open.
    pub confirm_quit: bool,
    pub fit_requested: bool,
    /// A run nobody watches (`--frames`, `--screenshot`, `--bench-frames`): the pointer
    /// that Xvfb parks mid-window must not hover anything.
    pub unattended: bool,
    /// The lesson's narration now on screen.
    pub caption: Option<String>,
    /// What channels carried recently, and whether the overlay shows it.
    pub traffic: super::traffic::Traffic,
    /// Charts the running lesson names: presenter mode keeps these.
    pub lesson_charts: Vec<super::plots::Chart>,
    /// The running lesson's file, if any.
    pub lesson: Option<PathBuf>,
    /// The lessons the picker offers (found when the lab opens).
    pub lessons: Vec<PathBuf>,
    /// Edits and injections that can be taken back, the last one last.
    pub undo: Vec<Edit>,
    /// Edits taken back that can be put back, the last one taken back last.
    pub redo: Vec<Edit>,
    /// Where the node being dragged started.
    pub drag_from: Option<(NodeId, [f32; 2])>,
    /// Bumped whenever a node moves, so the graph is redrawn at once.
    pub layout_version: u64,
    /// The arenas compared side by side, the lab's own driver first; empty for the scene
    /// alone.
    pub arenas: Vec<crate::session::arena::LaneSetup>,
    /// Payments each run resolves before it stops (`--payments`); open-ended by default.
    pub payments: Option<u64>,
}

/// A scene's own nodes and channels (what an edit before the run starts changes).
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    pub nodes: Vec<crate::scene::SceneNode>,
    pub channels: Vec<crate::scene::SceneChannel>,
}

impl Topology {
    pub fn of(scene: &Scene) -> Self {
        Topology {
            nodes: scene.nodes.clone(),
            channels: scene.channels.clone(),
        }
    }
}

/// One user edit of the working scene, as undo and redo see it.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    /// An entry added to the scene's timeline (an injection or a later edit).
    Timeline(crate::sim::command::TimedCommand),
    /// A node dragged on the layout (no replay needed: only drawing reads positions).
    Position {
        node: NodeId,
        before: [f32; 2],
        after: [f32; 2],
    },
    /// The scene's routing policy, changed at t = 0.
    Policy {
        before: crate::routing::RouterKind,
        after: crate::routing::RouterKind,
    },
    /// A topology edit made before the run started, held by the scene's own nodes and
    /// channels (see `scene::edit`): those before and after it (only those: a save in
    /// between rewrites other parts of the working scene, which undo must keep).
    Base {
        before: Box<Topology>,
        after: Box<Topology>,
        label: String,
    },
}

impl Edit {
    /// Apply (`forward`) or take back this edit on the working scene.
    pub fn apply_to(&self, scene: &mut Scene, forward: bool) {
        match self {
            Edit::Timeline(entry) if forward => scene.timeline.push(entry.clone()),
            Edit::Timeline(entry) => {
                // An added node may have been dragged since (its entry holds its position).
                let same = |e: &crate::sim::command::TimedCommand| {
                    use crate::sim::command::Command::AddNode;
                    e == entry
                        || matches!((&e.command, &entry.command),
                            (AddNode { alias: a, role: r, .. }, AddNode { alias: b, role: s, .. })
                                if a == b && r == s && e.at_ms == entry.at_ms)
                };
                if let Some(i) = scene.timeline.iter().rposition(same) {
                    scene.timeline.remove(i);
                }
            }
            Edit::Position {
                node,
                before,
                after,
            } => {
                let [x, y] = if forward { *after } else { *before };
                if let Some(pos) = scene.node_pos_mut(node.index()) {
                    *pos = Some((x, y));
                }
            }
            Edit::Policy { before, after } => {
                scene.routing.policy = if forward { *after } else { *before };
            }
            Edit::Base { before, after, .. } => {
                let t = if forward { after } else { before };
                scene.nodes = t.nodes.clone();
                scene.channels = t.channels.clone();
            }
        }
    }
}

impl Lab {
    pub fn say(&mut self, sim_ms: u64, text: impl Into<String>, error: bool) {
        let text = text.into();
        if error {
            warn!("{text}");
        }
        self.log.push_back(LogLine {
            sim_ms,
            text,
            error,
        });
        while self.log.len() > 200 {
            self.log.pop_front();
        }
    }

    pub fn title(&self) -> String {
        let star = if self.dirty { " *" } else { "" };
        format!("lnlab: {}{star}", self.scene.name)
    }

    /// Whether any run has PPO agents: the scene's own, or an arena's (the scene's agents
    /// or a checkpoint).
    pub fn has_agents(&self) -> bool {
        use crate::session::{PolicyChoice, arena::LaneSetup};
        if self.arenas.is_empty() {
            return self.scene.agents.is_some();
        }
        self.arenas.iter().any(|a| match a {
            LaneSetup::Scene => self.scene.agents.is_some(),
            LaneSetup::Policy(PolicyChoice::Ppo(_)) => true,
            LaneSetup::Policy(PolicyChoice::Baseline(_)) => false,
        })
    }

    /// Arena `i`'s name on the charts and the scoreboard: its number and what routes in it.
    pub fn arena_label(&self, i: usize) -> String {
        arena_label(&self.arenas, &self.scene, i)
    }

    /// The set-up of the lab's own driver: the first arena's, or the scene's.
    pub fn first_setup(&self) -> Option<&crate::session::arena::LaneSetup> {
        self.arenas.first()
    }
}

/// Arena `i`'s name among `arenas` on `scene` (see [`Lab::arena_label`]).
pub fn arena_label(arenas: &[crate::session::arena::LaneSetup], scene: &Scene, i: usize) -> String {
    match arenas.get(i) {
        Some(setup) => format!("{} {}", i + 1, setup.label(scene)),
        None => "network".into(),
    }
}

/// What the inspector asks an agent: its policy for a destination and amount.
#[derive(Resource, Default, Clone, Debug, PartialEq)]
pub struct ExplainRequest(pub Option<(NodeId, NodeId, u64)>);

/// The answer, computed by `control` from the read-only view of the session.
#[derive(Resource)]
pub struct ExplainResult {
    pub request: Option<(NodeId, NodeId, u64)>,
    pub candidates: Option<Vec<Explained>>,
    /// The inspector's own search cache (the agents' cache must not see its questions).
    pub(super) onward: Onward,
    /// Real seconds when the answer was computed (balances move; it is refreshed).
    pub(super) at_s: f32,
}

impl Default for ExplainResult {
    fn default() -> Self {
        ExplainResult {
            request: None,
            candidates: None,
            onward: Onward::new(16),
            at_s: f32::NEG_INFINITY,
        }
    }
}

/// The shortcuts, as the help overlay lists them.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Space", "play / pause"),
    (".", "step one event"),
    ("R", "reset the scene"),
    ("+ / -", "faster / slower"),
    ("M", "as fast as possible / back"),
    ("T", "agents: learning -> paused -> frozen"),
    ("C", "next routing policy (non-agent nodes)"),
    ("F", "fit the graph to the view"),
    ("J / D", "jam / drain the selected channel"),
    ("K", "close the selected channel"),
    ("O", "selected node offline / online"),
    ("G", "demand spike toward the selected node"),
    ("Esc", "clear selection, close dialogs"),
    ("P", "presenter mode"),
    ("V", "traffic overlay (volume over the last minute)"),
    ("N / B", "lesson: next step now / previous caption"),
    ("H or F1", "this help"),
    ("F12", "screenshot (PNG)"),
    ("Ctrl+O", "open a scene"),
    ("Ctrl+S / Ctrl+Shift+S", "save / save as"),
    (
        "Ctrl+Z / Ctrl+Y",
        "undo / redo an edit (replays the run to now)",
    ),
    ("Ctrl+Q", "quit"),
    (
        "drag, wheel",
        "pan (or move the node under the pointer), zoom",
    ),
    ("click", "inspect a node or channel"),
];

/// The panels' own state between frames.
#[derive(Resource)]
pub(super) struct UiState {
    pub(super) dialog: Option<FileDialog>,
    /// The inspector's question to an agent: destination node and amount.
    pub(super) destination: u32,
    pub(super) amount_sat: u64,
    /// The egui zoom factor last set (presenter mode enlarges everything).
    pub(super) zoom: f32,
    /// The run panel's node search, as typed.
    pub(super) find: String,
    /// Betweenness for the hubs ranking, and the (generation, nodes, topology hash) it is
    /// for.
    pub(super) betweenness: Option<Vec<f64>>,
    pub(super) hubs_key: Option<(u64, usize, u64)>,
    /// A channel being opened (from its first node, waiting for the second).
    pub(super) open: Option<super::inspector::edit::OpenForm>,
    /// A direction's fees being edited.
    pub(super) fees: Option<super::inspector::edit::FeeForm>,
    /// The arenas to compare, as typed in the run panel.
    pub(super) arena_list: String,
    /// The role of the next node added.
    pub(super) new_role: crate::network::Role,
}

impl Default for UiState {
    fn default() -> Self {
        UiState {
            dialog: None,
            destination: 0,
            amount_sat: 50_000,
            zoom: 1.0,
            find: String::new(),
            betweenness: None,
            hubs_key: None,
            open: None,
            fees: None,
            arena_list: String::new(),
            new_role: crate::network::Role::Router,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DialogMode {
    Open,
    Save,
}

/// The open-or-save dialog while it is open: the folder listed and the path typed.
pub(super) struct FileDialog {
    pub(super) mode: DialogMode,
    pub(super) dir: PathBuf,
    pub(super) path: String,
}

impl FileDialog {
    /// A dialog starting at the working scene's folder and path.
    pub(super) fn new(mode: DialogMode, lab: &Lab) -> FileDialog {
        let dir = lab
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(|p| p.to_path_buf())
            .unwrap_or_else(|| PathBuf::from("."));
        FileDialog {
            mode,
            path: lab.path.display().to_string(),
            dir,
        }
    }
}

/// Where a scene position is drawn: scenes lay nodes out as on a page (y grows
/// downward), the world's y grows upward.
pub fn world_pos(p: [f32; 2]) -> Vec2 {
    Vec2::new(p[0], -p[1])
}

/// Where the camera looks: world units per logical pixel and the centre.
#[derive(Resource, Debug, Clone, Copy)]
pub struct ViewCam {
    pub center: Vec2,
    pub world_per_px: f32,
}

impl Default for ViewCam {
    fn default() -> Self {
        ViewCam {
            center: Vec2::ZERO,
            world_per_px: 1.0,
        }
    }
}

/// The free area between the panels, in egui points, and the conversion to pixels.
#[derive(Resource, Debug, Clone, Copy, Default)]
pub struct GraphArea {
    pub min: Vec2,
    pub max: Vec2,
    /// Physical pixels per egui point.
    pub pixels_per_point: f32,
    /// Physical pixels per logical pixel (the window's scale factor).
    pub scale_factor: f32,
}

impl GraphArea {
    pub fn is_known(&self) -> bool {
        self.pixels_per_point > 0.0 && self.max.x > self.min.x && self.max.y > self.min.y
    }

    pub(super) fn logical_per_point(&self) -> f32 {
        self.pixels_per_point / self.scale_factor.max(1e-3)
    }

    /// World position under an egui point.
    pub fn to_world(self, cam: &ViewCam, p: Vec2) -> Vec2 {
        let c = (self.min + self.max) / 2.0;
        let d = (p - c) * self.logical_per_point() * cam.world_per_px;
        cam.center + Vec2::new(d.x, -d.y)
    }

    /// egui point of a world position.
    pub fn to_screen(self, cam: &ViewCam, w: Vec2) -> Vec2 {
        let c = (self.min + self.max) / 2.0;
        let d = (w - cam.center) / (cam.world_per_px * self.logical_per_point());
        c + Vec2::new(d.x, -d.y)
    }

    /// World units per egui point.
    pub fn world_per_point(&self, cam: &ViewCam) -> f32 {
        cam.world_per_px * self.logical_per_point()
    }
}

/// What the pointer is over (set by the UI).
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq)]
pub struct Hover {
    pub node: Option<NodeId>,
    pub channel: Option<ChannelId>,
    /// The node being dragged, from the press on it to the release.
    pub dragging: Option<NodeId>,
}

/// A command as the log and the chart markers show it: nodes by alias.
pub(super) fn describe(command: &Command, net: &crate::network::Network) -> String {
    let alias = |n: NodeId| net.node(n).map_or(n.to_string(), |n| n.alias.clone());
    match command {
        Command::NodeOffline { node } => format!("{} offline", alias(*node)),
        Command::NodeOnline { node } => format!("{} online", alias(*node)),
        Command::DemandSpike { node, .. } => format!("demand spike -> {}", alias(*node)),
        Command::OpenChannel { node1, node2, .. } => {
            format!("open {}-{}", alias(*node1), alias(*node2))
        }
        Command::RemoveNode { node } => format!("remove {}", alias(*node)),
        other => other.label(),
    }
}

#[cfg(test)]
mod tests {
    use super::AgentMode;

    #[test]
    fn agents_open_learning_only_when_the_scene_says_continual() {
        let mut scene = crate::scene::parse(
            include_str!("../../../scenes/classroom.ron"),
            "c.ron".as_ref(),
        )
        .unwrap();
        assert_eq!(AgentMode::for_scene(&scene), AgentMode::Learning);
        scene.agents.as_mut().unwrap().continual = false;
        assert_eq!(AgentMode::for_scene(&scene), AgentMode::Frozen);
        scene.agents = None;
        assert_eq!(AgentMode::for_scene(&scene), AgentMode::Frozen);
    }

    /// Taking an edit back restores the scene exactly, and putting it back redoes it; a
    /// timeline edit takes back the last equal entry only.
    #[test]
    fn edits_apply_and_take_back_exactly() {
        use super::Edit;
        use crate::network::NodeId;
        use crate::routing::RouterKind;
        use crate::sim::command::{Command, TimedCommand};
        let original = crate::scene::parse(
            include_str!("../../../scenes/classroom.ron"),
            "c.ron".as_ref(),
        )
        .unwrap();
        let (x, y) = original.nodes[4].pos.expect("classroom places its nodes");
        let offline = TimedCommand {
            at_ms: 7_000,
            command: Command::NodeOffline { node: NodeId(3) },
        };
        let edits = [
            Edit::Timeline(offline.clone()),
            Edit::Timeline(offline),
            Edit::Policy {
                before: original.routing.policy,
                after: RouterKind::Cheapest,
            },
            Edit::Position {
                node: NodeId(4),
                before: [x, y],
                after: [5.0, -6.0],
            },
        ];
        let mut scene = original.clone();
        let mut states = vec![scene.clone()];
        for edit in &edits {
            edit.apply_to(&mut scene, true);
            states.push(scene.clone());
        }
        assert_eq!(scene.timeline.len(), original.timeline.len() + 2);
        assert_eq!(scene.routing.policy, RouterKind::Cheapest);
        assert_eq!(scene.nodes[4].pos, Some((5.0, -6.0)));
        for (i, edit) in edits.iter().enumerate().rev() {
            edit.apply_to(&mut scene, false);
            assert!(scene == states[i], "taking back edit {i}");
        }
        assert!(scene == original);
    }
}
