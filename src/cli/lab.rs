//! `lnlab [SCENE] [options]`: the lab's command-line options, checked here (window size,
//! speed) and handed to the lab as plain [`LabOptions`].

use crate::ecs::lab::{LabOptions, Speed};
use crate::session::arena::LaneSetup;
use std::path::PathBuf;

/// `lnlab [SCENE] [options]`: open the lab.
#[derive(Clone, Debug, clap::Args)]
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
    /// Compare 2 to 4 routing set-ups side by side, one viewport each, on the same scene
    /// and seeded workload: `scene` (the scene's own agents), random, shortest, cheapest,
    /// lnd, ldk, oracle, or ppo:CHECKPOINT (frozen), e.g. `--arena scene,lnd`.
    #[arg(long, value_name = "LIST", value_parser = parse_arenas)]
    pub arena: Option<ArenaList>,
    /// Stop each run after this many payments, as `lnlab run --payments` does (default:
    /// open-ended).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub payments: Option<u64>,
}

/// One `--arena` list, parsed whole (a bare `Vec` would make clap expect one set-up per
/// occurrence).
#[derive(Clone, Debug)]
pub struct ArenaList(pub Vec<LaneSetup>);

fn parse_arenas(s: &str) -> Result<ArenaList, String> {
    crate::session::arena::parse_lanes(s).map(ArenaList)
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

impl From<LabArgs> for LabOptions {
    fn from(a: LabArgs) -> Self {
        LabOptions {
            scene: a.scene,
            seed: a.seed,
            bench_frames: a.bench_frames,
            screenshot: a.screenshot,
            frames: a.frames,
            script: a.script,
            dump_state: a.dump_state,
            size: a.size,
            presenter: a.presenter,
            paused: a.paused,
            speed: a.speed,
            arenas: a.arena.map(|l| l.0).unwrap_or_default(),
            payments: a.payments,
        }
    }
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
}
