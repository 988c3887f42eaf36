//! What happens before the window opens and whenever a scene (re)starts: every input is
//! checked first (scene, lesson, output paths, display), so bad input ends with one error
//! line; the lab's state and the driver are installed; and the driver for a scene is built
//! and given the lab's settings (pause, speed, agents mode).

use crate::ecs::lab::LabOptions;
use crate::ecs::lab::arena::Arenas;
use crate::ecs::lab::script::{Lesson, Runner};
use crate::ecs::lab::state::{AgentMode, Lab, Speed};
use crate::ecs::sim::SimDriver;
use crate::scene::Scene;
use crate::session::arena::LaneSetup;
use crate::session::{Session, SessionOptions};
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
    arenas: Arenas,
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
        if let (Some(lesson), Some(script)) = (&lesson, &args.script) {
            lesson
                .check_against(&scene)
                .and_then(|()| lesson.check_payment_limit(args.payments.is_some()))
                .map_err(|e| anyhow::anyhow!("{}: {e}", script.display()))?;
        }
        if !args.arenas.is_empty() {
            crate::session::arena::check_count(args.arenas.len()).map_err(anyhow::Error::msg)?;
        }
        let driver = new_session(&scene, &path, args.seed, args.payments, args.arenas.first())
            .map_err(anyhow::Error::msg)?;
        // The other arenas too, so a bad checkpoint is one error before any window.
        let arenas = Arenas::build(&args.arenas, &scene, &path, args.seed, args.payments)
            .map_err(anyhow::Error::msg)?;
        check_display()?;
        Ok(Startup {
            scene,
            path,
            driver,
            arenas,
            lesson,
        })
    }

    pub fn title(&self) -> String {
        format!("lnlab: {}", self.scene.name)
    }

    pub fn install(self, app: &mut App, args: &LabOptions) -> anyhow::Result<()> {
        let agents = AgentMode::for_scene(&self.scene);
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
            caption: None,
            traffic: Default::default(),
            lesson_charts: self
                .lesson
                .as_ref()
                .map(|l| l.charts.clone())
                .unwrap_or_default(),
            lesson: args.script.clone(),
            lessons: find_lessons(),
            undo: Vec::new(),
            redo: Vec::new(),
            drag_from: None,
            layout_version: 0,
            arenas: args.arenas.clone(),
            payments: args.payments,
            unattended: args.frames.is_some()
                || args.screenshot.is_some()
                || args.bench_frames.is_some(),
        };
        let mut driver = self.driver;
        configure(&mut driver, &lab);
        let mut arenas = self.arenas;
        arenas.configure(&lab);
        lab.say(0, format!("opened {}", lab.path.display()), false);
        app.insert_resource(lab)
            .insert_non_send(driver)
            .insert_non_send(arenas)
            .insert_resource(Runner::new(args, self.lesson));
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
/// The lessons shipped in `scenes/lessons` (next to the working folder's scenes, else the
/// project's), by file name.
fn find_lessons() -> Vec<PathBuf> {
    let local = PathBuf::from("scenes/lessons");
    let dir = if local.is_dir() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/lessons")
    };
    let mut lessons: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    lessons.sort();
    lessons
}

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

pub(super) fn check_png(path: &Path) -> anyhow::Result<()> {
    let ok = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !ok {
        anyhow::bail!("{}: screenshots are PNG files (.png)", path.display());
    }
    Ok(())
}

/// A driver for the lab: open-ended (or limited to `payments`), with the scene's own
/// set-up (agents learning if the scene has them) or the first arena's.
pub(super) fn new_session(
    scene: &Scene,
    path: &Path,
    seed: Option<u64>,
    payments: Option<u64>,
    setup: Option<&LaneSetup>,
) -> Result<SimDriver, String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let seed = seed.unwrap_or(scene.seed);
    let options = match setup {
        Some(setup) => setup.options(seed, payments),
        None => SessionOptions::new(seed, payments),
    };
    let mut session = Session::from_scene(scene, dir, &options).map_err(|e| match setup {
        Some(setup) => format!("arena {setup}: {e}"),
        None => e,
    })?;
    session.keep_events(true);
    let mut driver = SimDriver::new(session);
    driver.frozen_checkpoint = setup.is_some_and(LaneSetup::is_frozen_checkpoint);
    driver.events_per_frame = 200_000;
    driver.minibatches_per_frame = MINIBATCHES_PER_FRAME;
    driver.frame_budget = Some(FRAME_BUDGET);
    Ok(driver)
}

/// Apply the lab's settings (pause, speed, agents mode) to a driver.
pub(super) fn configure(driver: &mut SimDriver, lab: &Lab) {
    driver.paused = lab.paused;
    driver.sim_ms_per_s = lab.speed.sim_ms_per_s();
    set_agents(driver, lab.agents);
}

fn set_agents(driver: &mut SimDriver, mode: AgentMode) {
    if driver.frozen_checkpoint {
        return;
    }
    if let Some(agents) = driver.session.agents_mut() {
        agents.training = mode == AgentMode::Learning;
        agents.explore = mode == AgentMode::Paused;
    }
}
