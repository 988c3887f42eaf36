//! Driving the lab without a user: lesson scripts (`--script LESSON.ron`, timed
//! [`LabCommand`]s for classroom demos and tests), `--frames N` / `--screenshot OUT.png`,
//! `--bench-frames N` (mean and p95 frame time), screenshots saved atomically as PNG, and
//! the JSON state dump written on exit (`--dump-state OUT.json`).
//!
//! A step waiting for simulated time (`Sim(ms)`) stops the engine exactly there, so a
//! scripted run is the same run on any machine.

use super::LabOptions;
use super::LabSet;
use super::state::{Lab, LabCommand};
use crate::ecs::sim::SimDriver;
use bevy::prelude::*;
use bevy::render::view::screenshot::{Screenshot, ScreenshotCaptured};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// A lesson: steps run in order, each after its wait.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// The scene the lesson is written for, relative to the lesson file. For the reader
    /// and the tests, which check each lesson against it; the lab runs a lesson on the
    /// scene it opened, and checks it against that one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene: Option<PathBuf>,
    /// The charts the lesson tells students to watch: presenter mode keeps them on screen
    /// (it hides the others with the side panel), e.g. `charts: [Success, HubGini]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<super::plots::Chart>,
    pub steps: Vec<LessonStep>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonStep {
    pub wait: Wait,
    #[serde(rename = "do")]
    pub command: LabCommand,
}

/// When a step runs, counted from the previous step.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Wait {
    /// When the simulated clock reaches this time (absolute, in ms).
    Sim(u64),
    /// After this many frames.
    Frames(u32),
    /// After this many seconds of frame time.
    Seconds(f64),
    /// When every arena has resolved its payments (a lab opened with `--payments N`).
    Done,
}

impl Lesson {
    /// The steps as a lesson started in the window runs them: `Quit` pauses instead.
    fn steps_in_app(self) -> VecDeque<LessonStep> {
        self.steps
            .into_iter()
            .map(|step| match step.command {
                LabCommand::Quit | LabCommand::QuitNow => LessonStep {
                    command: LabCommand::Pause,
                    ..step
                },
                _ => step,
            })
            .collect()
    }

    /// The scene the lesson is written for, resolved against the lesson file's folder.
    /// (`lessons/../classroom.ron` reads as `classroom.ron`).
    pub fn scene_path(&self, lesson_path: &Path) -> Option<PathBuf> {
        use std::path::Component;
        let scene = self.scene.as_ref()?;
        let joined = lesson_path.parent().unwrap_or(Path::new("")).join(scene);
        let mut path = PathBuf::new();
        for part in joined.components() {
            match part {
                Component::ParentDir
                    if matches!(path.components().next_back(), Some(Component::Normal(_))) =>
                {
                    path.pop();
                }
                other => path.push(other),
            }
        }
        Some(path)
    }

    pub fn load(path: &Path) -> anyhow::Result<Lesson> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> anyhow::Result<Lesson> {
        let lesson: Lesson = ron::Options::default()
            .from_str(text)
            .map_err(|e| crate::scene::io::syntax_error(path, &e))?;
        for (i, step) in lesson.steps.iter().enumerate() {
            if let Wait::Seconds(s) = step.wait
                && !(s.is_finite() && s >= 0.0)
            {
                anyhow::bail!("{}: step {}: seconds must be >= 0", path.display(), i + 1);
            }
        }
        Ok(lesson)
    }

    /// A `Done` wait only ends in a run with a payment limit (`--payments N`): without
    /// one, the lesson would wait forever, so it is refused (naming the step).
    pub fn check_payment_limit(&self, limited: bool) -> Result<(), String> {
        match self.steps.iter().position(|s| s.wait == Wait::Done) {
            Some(i) if !limited => Err(format!(
                "step {}: a Done wait needs a run that ends: open the lab with --payments N",
                i + 1
            )),
            _ => Ok(()),
        }
    }

    /// Check every step against the scene the lesson runs on, before a window opens: nodes
    /// and channels it names exist, injected commands are valid timeline entries, and
    /// screenshots are PNG files. Errors name the step (`step 3: ...`).
    pub fn check_against(&self, scene: &crate::scene::Scene) -> Result<(), String> {
        let mut nodes = scene.node_ids();
        for chart in &self.charts {
            if chart.is_ppo() && scene.agents.is_none() {
                return Err(format!(
                    "charts: {} needs PPO agents, and the scene has none",
                    chart.title()
                ));
            }
            if *chart == super::plots::Chart::L402 && scene.l402.is_none() {
                return Err(format!(
                    "charts: {} needs paid APIs, and the scene has none",
                    chart.title()
                ));
            }
        }
        for (i, step) in self.steps.iter().enumerate() {
            let at = |e: String| format!("step {}: {e}", i + 1);
            match &step.command {
                // From here on another scene (or another lesson) runs.
                LabCommand::OpenScene(_) | LabCommand::StartLesson(_) => break,
                LabCommand::SelectNode(n) | LabCommand::MoveNode { node: n, .. } if *n >= nodes => {
                    return Err(at(format!("node {n}, but the scene has {nodes} nodes")));
                }
                LabCommand::SelectChannel(scid)
                    if !scene.channels.iter().any(|c| c.scid == *scid) =>
                {
                    return Err(at(format!("no channel {scid} in the scene")));
                }
                LabCommand::SetArenas(list) if !list.is_empty() => {
                    crate::session::arena::parse_lanes(&list.join(",")).map_err(at)?;
                }
                LabCommand::Inject(command) => {
                    // At_ms does not matter here; the command's own values do.
                    let entry = crate::sim::command::TimedCommand {
                        at_ms: 0,
                        command: command.clone(),
                    };
                    entry.validate(nodes).map_err(at)?;
                    if matches!(command, crate::sim::command::Command::AddNode { .. }) {
                        nodes += 1;
                    }
                }
                LabCommand::Screenshot(path)
                    if !path
                        .extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("png")) =>
                {
                    return Err(at(format!("{}: screenshots are PNG files", path.display())));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Exit requests and screenshots still being written.
#[derive(Resource, Default)]
pub struct Exit {
    pub requested: bool,
    screenshots_pending: Arc<AtomicUsize>,
    /// A screenshot could not be written: the exit status says so.
    screenshots_failed: Arc<AtomicUsize>,
    waited_frames: u32,
}

#[derive(Resource)]
pub struct Runner {
    steps: VecDeque<LessonStep>,
    frames_in_step: u32,
    seconds_in_step: f64,
    frames: Option<u32>,
    frame: u32,
    screenshot: Option<PathBuf>,
    screenshot_sent: bool,
    dump_state: Option<PathBuf>,
    bench: Option<Bench>,
    /// `NextStep` asked for the next step to run at once.
    skip_wait: bool,
    /// `PreviousStep` asked for the previous caption.
    back: bool,
    /// The lesson's captions shown so far, the current one last.
    captions: Vec<String>,
}

struct Bench {
    frames: u32,
    warmup: u32,
    last: Option<Instant>,
    samples_ms: Vec<f64>,
    events_at_start: u64,
    decisions_at_start: u64,
    started: Option<Instant>,
}

impl Runner {
    /// Run `lesson` from its first step, in place of the steps left; its `Quit` steps
    /// pause instead, since a user started it in the window (see `StartLesson`).
    pub fn start(&mut self, lesson: Lesson) {
        self.steps = lesson.steps_in_app();
        self.frames_in_step = 0;
        self.seconds_in_step = 0.0;
        self.skip_wait = false;
        self.back = false;
        self.captions.clear();
    }

    pub fn new(args: &LabOptions, lesson: Option<Lesson>) -> Self {
        Runner {
            steps: lesson.map(|l| l.steps.into()).unwrap_or_default(),
            frames_in_step: 0,
            seconds_in_step: 0.0,
            frames: args.frames,
            frame: 0,
            screenshot: args.screenshot.clone(),
            screenshot_sent: false,
            dump_state: args.dump_state.clone(),
            skip_wait: false,
            back: false,
            captions: Vec::new(),
            bench: args.bench_frames.map(|frames| Bench {
                frames,
                warmup: 30,
                last: None,
                samples_ms: Vec::new(),
                events_at_start: 0,
                decisions_at_start: 0,
                started: None,
            }),
        }
    }
}

pub struct ScriptPlugin;

impl Plugin for ScriptPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Exit>()
            .add_systems(Update, (step_keys, drive).chain().in_set(LabSet::Drive))
            .add_systems(Last, exit_when_done);
    }
}

/// Save a screenshot of the window as PNG, atomically; `Exit` waits for it.
pub fn take_screenshot(commands: &mut Commands, exit: &mut Exit, path: PathBuf) {
    let pending = exit.screenshots_pending.clone();
    let failed = exit.screenshots_failed.clone();
    pending.fetch_add(1, Ordering::SeqCst);
    commands.spawn(Screenshot::primary_window()).observe(
        move |captured: On<ScreenshotCaptured>| {
            if let Err(e) = save_png(&captured.image, &path) {
                error!("{}: cannot save the screenshot: {e}", path.display());
                failed.fetch_add(1, Ordering::SeqCst);
            } else {
                info!("screenshot saved to {}", path.display());
            }
            pending.fetch_sub(1, Ordering::SeqCst);
        },
    );
}

fn save_png(image: &Image, path: &Path) -> anyhow::Result<()> {
    let rgb = image
        .clone()
        .try_into_dynamic()
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .to_rgb8();
    let mut bytes = std::io::Cursor::new(Vec::new());
    rgb.write_to(&mut bytes, image::ImageFormat::Png)?;
    crate::files::write_atomically(path, bytes.get_ref())?;
    Ok(())
}

/// `NextStep` and `PreviousStep` (keys N and B, or lesson steps) for the runner.
fn step_keys(mut incoming: MessageReader<LabCommand>, mut runner: ResMut<Runner>) {
    for command in incoming.read() {
        match command {
            LabCommand::NextStep => runner.skip_wait = true,
            LabCommand::PreviousStep => runner.back = true,
            _ => {}
        }
    }
}

fn drive(
    mut runner: ResMut<Runner>,
    mut driver: NonSendMut<SimDriver>,
    arenas: NonSend<super::arena::Arenas>,
    time: Res<Time>,
    mut out: MessageWriter<LabCommand>,
) {
    let r = &mut *runner;
    r.frame += 1;
    if let Some(b) = &mut r.bench {
        let now = Instant::now();
        if r.frame == b.warmup {
            b.started = Some(now);
            let t = driver.session.view();
            b.events_at_start = t.events_processed();
            b.decisions_at_start = t.decisions();
        }
        if let Some(last) = b.last
            && r.frame > b.warmup
        {
            b.samples_ms.push((now - last).as_secs_f64() * 1000.0);
        }
        b.last = Some(now);
        if b.samples_ms.len() as u32 >= b.frames {
            let t = driver.session.view();
            print_bench(b, t.events_processed(), t.decisions(), t.now_ms());
            out.write(LabCommand::QuitNow);
            r.bench = None;
        }
    }
    if let Some(n) = r.frames
        && r.frame >= n
    {
        match r.screenshot.clone() {
            Some(path) if !r.screenshot_sent => {
                r.screenshot_sent = true;
                out.write(LabCommand::Screenshot(path));
            }
            // Quit a frame later, so the captured frame shows the lab running, not
            // stopping; the exit waits for the file.
            _ => {
                out.write(LabCommand::QuitNow);
                r.frames = None;
            }
        }
    }
    // Lesson steps; a `Sim` wait holds the engine at that time.
    r.frames_in_step += 1;
    r.seconds_in_step += time.delta_secs_f64();
    driver.stop_at_ms = None;
    if std::mem::take(&mut r.back) && r.captions.len() > 1 {
        r.captions.pop();
        let previous = r.captions.last().cloned().unwrap_or_default();
        out.write(LabCommand::Caption(previous));
    }
    while let Some(step) = r.steps.front() {
        let due = std::mem::take(&mut r.skip_wait)
            || match step.wait {
                Wait::Sim(ms) => {
                    if driver.session.view().now_ms() < ms {
                        driver.stop_at_ms = Some(ms);
                    }
                    driver.session.reached(ms)
                }
                Wait::Frames(n) => r.frames_in_step >= n,
                Wait::Seconds(s) => r.seconds_in_step >= s,
                Wait::Done => driver.engine_done && arenas.all_finished(),
            };
        if !due {
            break;
        }
        let step = r.steps.pop_front().expect("peeked");
        r.frames_in_step = 0;
        r.seconds_in_step = 0.0;
        let restarts = matches!(
            step.command,
            LabCommand::Reset
                | LabCommand::OpenScene(_)
                | LabCommand::StartLesson(_)
                | LabCommand::SetArenas(_)
        );
        let command = match step.command {
            LabCommand::Quit => LabCommand::QuitNow,
            c => c,
        };
        if let LabCommand::Caption(text) = &command {
            r.captions.push(text.clone());
        }
        out.write(command);
        if restarts {
            // Later steps wait for the new driver's clock, from the next frame on.
            driver.stop_at_ms = Some(0);
            break;
        }
    }
}

fn print_bench(b: &Bench, events: u64, decisions: u64, sim_ms: u64) {
    let mut s = b.samples_ms.clone();
    s.sort_by(f64::total_cmp);
    let n = s.len().max(1);
    let mean = s.iter().sum::<f64>() / n as f64;
    let p95 = s[((n as f64 * 0.95).ceil() as usize).clamp(1, n) - 1];
    let max = s.last().copied().unwrap_or(0.0);
    let wall = b
        .started
        .map_or(0.0, |t| t.elapsed().as_secs_f64())
        .max(1e-9);
    println!("frames: {}", s.len());
    println!(
        "frame time mean: {mean:.2} ms ({:.1} fps)",
        1000.0 / mean.max(1e-9)
    );
    println!("frame time p95: {p95:.2} ms");
    println!("frame time max: {max:.2} ms");
    println!(
        "engine: {:.0} events/s, {:.0} decisions/s, sim clock {:.1} s",
        (events - b.events_at_start) as f64 / wall,
        (decisions - b.decisions_at_start) as f64 / wall,
        sim_ms as f64 / 1000.0
    );
}

/// Leave once asked and every screenshot is written (at most ~4 s of frames later);
/// write the state dump first.
fn exit_when_done(
    mut exit: ResMut<Exit>,
    runner: Res<Runner>,
    lab: Res<Lab>,
    driver: NonSend<SimDriver>,
    mut arenas: NonSendMut<super::arena::Arenas>,
    mut app_exit: MessageWriter<AppExit>,
) {
    if !exit.requested {
        return;
    }
    let pending = exit.screenshots_pending.load(Ordering::SeqCst);
    exit.waited_frames += 1;
    if pending > 0 && exit.waited_frames < 240 {
        return;
    }
    let mut code = 0u8;
    if pending > 0 {
        error!("a screenshot was not captured in time");
        code = 1;
    }
    if exit.screenshots_failed.load(Ordering::SeqCst) > 0 {
        code = 1;
    }
    if let Some(path) = &runner.dump_state {
        // The other arenas, where the first one stopped (or at their end, once it ended).
        let target = (!driver.engine_done).then(|| driver.session.view().now_ms());
        arenas.catch_up(target);
        arenas.score(&lab, &driver);
        let state = super::dump::state(&lab, &driver, &arenas);
        let text = serde_json::to_string_pretty(&state).expect("JSON values serialise");
        if let Err(e) = crate::files::write_atomically(path, text.as_bytes()) {
            error!("{}: cannot write the state dump: {e}", path.display());
            code = 1;
        }
    }
    exit.requested = false;
    app_exit.write(match std::num::NonZeroU8::new(code) {
        None => AppExit::Success,
        Some(c) => AppExit::Error(c),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lesson picked in the window ends paused, not closed, and keeps its other steps;
    /// its scene is found next to the lesson file.
    #[test]
    fn a_lesson_started_in_the_app_pauses_where_a_script_quits() {
        let text = r#"(scene: Some("../classroom.ron"), steps: [
            (wait: Frames(1), do: Caption("hello")),
            (wait: Sim(1000), do: Quit),
        ])"#;
        let path = Path::new("scenes/lessons/x.ron");
        let lesson = Lesson::parse(text, path).unwrap();
        assert_eq!(
            lesson.scene_path(path),
            Some(PathBuf::from("scenes/classroom.ron"))
        );
        let steps: Vec<LabCommand> = lesson
            .steps_in_app()
            .into_iter()
            .map(|s| s.command)
            .collect();
        assert_eq!(
            steps,
            [LabCommand::Caption("hello".into()), LabCommand::Pause]
        );
    }

    /// A lesson moving a node the scene does not have is refused before the window opens.
    #[test]
    fn moving_a_missing_node_is_refused_with_the_step() {
        let scene = crate::scene::parse(
            include_str!("../../../scenes/classroom.ron"),
            "c.ron".as_ref(),
        )
        .unwrap();
        let text =
            "(steps: [(wait: Frames(1), do: MoveNode(node: 99, to: (0.0, 0.0), done: true))])";
        let lesson = Lesson::parse(text, Path::new("l.ron")).unwrap();
        assert_eq!(
            lesson.check_against(&scene).unwrap_err(),
            "step 1: node 99, but the scene has 12 nodes"
        );
    }
}
