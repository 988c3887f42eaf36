//! The desktop lab: a Bevy window around [`SimPlugin`](super::sim::SimPlugin). This module
//! owns the command-line options of `lnlab [SCENE]` and assembles the app; the parts live
//! in one file each:
//! - `control`: the one command type (keyboard, buttons, lesson scripts) and the only code
//!   that changes the running session;
//! - `feed`: turns the engine's events into what is drawn (pulses, L402 badges, plot data);
//! - `view`: the graph as three retained meshes and the camera;
//! - `ui`: egui panels, pointer and keyboard input, overlays; `inspector` and `dialogs`
//!   beside it; `plots`: the egui_plot charts;
//! - `script`: lesson scripts, screenshots and frame benchmarks; `dump`: the JSON state
//!   written on exit.
//!
//! Data flows one way: scene -> engine -> events -> feed -> drawing. The UI reads the
//! engine only to draw it and sends [`LabCommand`]s for everything else.

mod control;
mod dialogs;
mod dump;
mod feed;
mod inspector;
mod plots;
mod script;
pub mod theme;
mod ui;
mod view;

pub use control::{LabCommand, Speed};
pub use script::{Lesson, LessonStep, Wait};

use super::sim::{SimPlugin, SimSet};
use bevy::prelude::*;
use bevy::window::{ExitCondition, PresentMode, WindowResolution};
use std::path::PathBuf;
use std::time::Duration;

/// `lnlab [SCENE] [options]`: open the lab.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct LabArgs {
    /// Scene to open (default: scenes/classroom.ron).
    pub scene: Option<PathBuf>,
    /// Seed for the run (default: the scene's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Render this many frames, print mean and p95 frame time, and exit.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub bench_frames: Option<u32>,
    /// Render `--frames` frames, save a screenshot (PNG) here, and exit.
    #[arg(long, value_name = "OUT.png")]
    pub screenshot: Option<PathBuf>,
    /// Frames to run before the screenshot (or before exiting).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub frames: Option<u32>,
    /// A lesson: timed commands that drive the lab (pause, speed, inject, select, ...).
    #[arg(long, value_name = "LESSON.ron")]
    pub script: Option<PathBuf>,
    /// On exit, write the engine's state as JSON here.
    #[arg(long, value_name = "OUT.json")]
    pub dump_state: Option<PathBuf>,
    /// Window size in logical pixels.
    #[arg(long, value_name = "WxH", default_value = "1280x720", value_parser = parse_size)]
    pub size: (u32, u32),
    /// Start in presenter mode (large fonts, panels hidden).
    #[arg(long)]
    pub presenter: bool,
    /// Start paused.
    #[arg(long)]
    pub paused: bool,
    /// Simulated seconds per second at start ("max" for as fast as possible).
    #[arg(long, value_name = "X", value_parser = parse_speed)]
    pub speed: Option<Speed>,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let (w, h) = s
        .split_once('x')
        .ok_or_else(|| format!("expected WIDTHxHEIGHT, e.g. 1280x720, got `{s}`"))?;
    let parse = |v: &str| {
        v.parse::<u32>()
            .ok()
            .filter(|n| (200..=8192).contains(n))
            .ok_or_else(|| format!("window sides must be 200..=8192 pixels, got `{v}`"))
    };
    Ok((parse(w)?, parse(h)?))
}

fn parse_speed(s: &str) -> Result<Speed, String> {
    if s.eq_ignore_ascii_case("max") {
        return Ok(Speed::Max);
    }
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && (0.01..=1e6).contains(&x) => Ok(Speed::Times(x)),
        _ => Err(format!("speed must be `max` or 0.01..=1000000, got `{s}`")),
    }
}

/// Open the lab and run it until the user (or the script) quits.
pub fn run(args: LabArgs) -> anyhow::Result<()> {
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
            SimSet::Spawn,
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
    /// Commands change the session.
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
    fn window_sizes_and_speeds_parse_or_say_why_not() {
        assert_eq!(parse_size("960x600"), Ok((960, 600)));
        assert!(parse_size("960").unwrap_err().contains("WIDTHxHEIGHT"));
        assert!(parse_size("10x600").unwrap_err().contains("200..=8192"));
        assert_eq!(parse_speed("MAX"), Ok(Speed::Max));
        assert_eq!(parse_speed("2.5"), Ok(Speed::Times(2.5)));
        for bad in ["0", "-1", "NaN", "inf", "fast"] {
            assert!(parse_speed(bad).is_err(), "{bad}");
        }
    }

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
