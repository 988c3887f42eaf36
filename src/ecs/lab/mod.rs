//! The desktop lab: a Bevy window around [`SimPlugin`]. This module
//! owns the lab's options ([`LabOptions`]) and assembles the app; the parts live in their
//! own files or folders:
//! - `state`: what several parts share: the lab's state (`Lab`), the one command type
//!   ([`LabCommand`]), the inspector's question to an agent, the panels' own state, the
//!   camera and the free area between the panels;
//! - `control`: the only code that changes the run: it applies commands
//!   (`control/mod.rs`) and checks the input and builds a driver for a scene
//!   (`control/startup.rs`) (`feed` only takes the events it draws and lets old payments
//!   go; `script` only holds the clock at a lesson step's time);
//! - `feed`: turns the engine's events into what is drawn (pulses, L402 badges, plot data);
//! - `view`: the graph as three retained meshes (`meshes`), the channel canvas (`canvas`)
//!   and the camera (`camera`);
//! - `ui`: the egui layout (`ui/mod.rs`), the top bar, the run panel, keyboard shortcuts,
//!   pointer input over the graph and the overlays, one file each; beside it `inspector`
//!   (`node`, `channel`), `dialogs` (`file`, `prompts`: errors and the unsaved-changes
//!   question) and `plots` (the egui_plot charts);
//! - `script`: lesson scripts, screenshots and frame benchmarks; `dump`: the JSON state
//!   written on exit; `theme`: colours and sizes.
//!
//! Data flows one way: scene -> engine -> events -> feed -> drawing. The UI reads the
//! session only through its read-only view (`SessionView`) to draw it and sends
//! [`LabCommand`]s for everything else. Shared types come from `state` (colours from
//! `theme`); the other imports between the lab's files run one way and never form a cycle:
//! `ui` uses `inspector`, `dialogs`, `plots`, `feed` and `view`; `dialogs` uses `plots`;
//! `plots` uses `feed`; `control` uses `script`, which uses `dump`.

pub(crate) mod arena;
mod control;
mod dialogs;
mod dump;
mod feed;
mod inspector;
mod plots;
mod script;
mod state;
pub mod theme;
mod traffic;
mod ui;
mod view;

pub use script::{Lesson, LessonStep, Wait};
pub use state::{LabCommand, Speed};

use super::sim::{SimPlugin, SimSet};
use bevy::prelude::*;
use bevy::window::{ExitCondition, PresentMode, WindowResolution};
use std::path::PathBuf;
use std::time::Duration;

/// How to open the lab (the command line's `lnlab [SCENE] [options]`, already checked).
#[derive(Clone, Debug)]
pub struct LabOptions {
    /// Scene to open (default: scenes/classroom.ron).
    pub scene: Option<PathBuf>,
    /// Seed for the run (default: the scene's).
    pub seed: Option<u64>,
    /// Render this many frames, print mean and p95 frame time, and exit.
    pub bench_frames: Option<u32>,
    /// Render `frames` frames, save a screenshot (PNG) here, and exit.
    pub screenshot: Option<PathBuf>,
    /// Frames to run before the screenshot (or before exiting).
    pub frames: Option<u32>,
    /// A lesson: timed commands that drive the lab (pause, speed, inject, select, ...).
    pub script: Option<PathBuf>,
    /// On exit, write the engine's state as JSON here.
    pub dump_state: Option<PathBuf>,
    /// Window size in logical pixels.
    pub size: (u32, u32),
    /// Start in presenter mode (large fonts, panels hidden).
    pub presenter: bool,
    /// Start paused.
    pub paused: bool,
    /// Simulated seconds per second at start.
    pub speed: Option<Speed>,
    /// Arenas to compare side by side from the start (2 to 4 set-ups; empty: none).
    pub arenas: Vec<crate::session::arena::LaneSetup>,
    /// Payments each run resolves before it stops (default: open-ended).
    pub payments: Option<u64>,
}

impl Default for LabOptions {
    fn default() -> Self {
        LabOptions {
            scene: None,
            seed: None,
            bench_frames: None,
            screenshot: None,
            frames: None,
            script: None,
            dump_state: None,
            size: (1280, 720),
            presenter: false,
            paused: false,
            speed: None,
            arenas: Vec::new(),
            payments: None,
        }
    }
}

/// Open the lab and run it until the user (or the script) quits.
pub fn run(args: LabOptions) -> anyhow::Result<()> {
    let start = control::Startup::prepare(&args)?;
    let headless_run =
        args.frames.is_some() || args.screenshot.is_some() || args.bench_frames.is_some();
    let scripted = headless_run || args.script.is_some();
    let title = start.title();
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title,
                    resolution: WindowResolution::new(args.size.0, args.size.1),
                    present_mode: if args.bench_frames.is_some() {
                        PresentMode::AutoNoVsync
                    } else {
                        PresentMode::AutoVsync
                    },
                    ..default()
                }),
                exit_condition: ExitCondition::OnPrimaryClosed,
                // Closing asks first when the scene has unsaved changes.
                close_when_requested: false,
                ..default()
            })
            .set(bevy::log::LogPlugin {
                // Quiet by default: the renderer's notes about the adapter and the
                // display (software rendering, odd XRandR sizes) are not the user's concern.
                filter: "warn,wgpu=error,naga=error,bevy_render::renderer=error,\
                         bevy_egui::render=error,winit=error,lnlab=info"
                    .into(),
                level: bevy::log::Level::WARN,
                ..default()
            }),
    )
    .add_plugins(bevy_egui::EguiPlugin::default())
    .add_plugins(SimPlugin)
    .insert_resource(ClearColor(theme::BACKGROUND));
    if scripted {
        // Scripted and benchmark runs advance a fixed frame time, so a lesson's timing and
        // a screenshot's content do not depend on how fast this machine renders.
        app.insert_resource(bevy::time::TimeUpdateStrategy::ManualDuration(
            Duration::from_secs_f64(1.0 / 60.0),
        ));
    }
    start.install(&mut app, &args)?;
    app.add_plugins((
        control::ControlPlugin,
        arena::ArenaPlugin,
        feed::FeedPlugin,
        view::ViewPlugin,
        ui::UiPlugin,
        plots::PlotsPlugin,
        script::ScriptPlugin,
    ));
    app.configure_sets(
        Update,
        (
            LabSet::Drive,
            LabSet::Apply,
            SimSet::Decide,
            SimSet::Advance,
            SimSet::Record,
            SimSet::Learn,
            LabSet::Collect,
            LabSet::Draw,
        )
            .chain(),
    );
    let exit = app.run();
    match exit {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => Err(anyhow::anyhow!("the lab exited with status {code}")),
    }
}

/// Where the lab's systems run in a frame, around the simulation's sets.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LabSet {
    /// Lesson scripts and benchmarks issue commands.
    Drive,
    /// Commands change the driver.
    Apply,
    /// The frame's engine events become pulses, badges and plot points.
    Collect,
    /// Meshes, camera and gizmos follow.
    Draw,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lessons_parse_and_errors_point_at_the_line() {
        let path = std::path::Path::new("lesson.ron");
        let ok = Lesson::parse(
            "(steps: [\n (wait: Frames(2), do: Pause),\n (wait: Sim(5000), do: Inject(\
             NodeOffline(node: 3))),\n (wait: Seconds(1.5), do: Quit),\n])",
            path,
        )
        .unwrap();
        assert_eq!(ok.steps.len(), 3);
        assert_eq!(ok.steps[1].wait, Wait::Sim(5000));
        let bad = Lesson::parse(
            "(steps: [\n (wait: Sim(1), do: Pause),\n (wait: Never)\n])",
            path,
        )
        .unwrap_err()
        .to_string();
        assert!(bad.starts_with("lesson.ron:3:"), "{bad}");
        let negative = Lesson::parse("(steps: [(wait: Seconds(-1.0), do: Pause)])", path)
            .unwrap_err()
            .to_string();
        assert!(negative.contains("step 1"), "{negative}");
    }
}
