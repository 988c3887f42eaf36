//! A progress bar that only appears once a job has run for about two seconds, so short
//! runs print nothing extra (indicatif hides itself when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::{Duration, Instant};

pub struct LazyProgress {
    bar: ProgressBar,
    start: Instant,
    shown: bool,
}

impl LazyProgress {
    pub fn new(total: u64, label: &str) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        bar.set_style(
            ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} {per_sec} eta {eta}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(label.to_string());
        LazyProgress {
            bar,
            start: Instant::now(),
            shown: false,
        }
    }

    pub fn set(&mut self, done: u64) {
        if !self.shown && self.start.elapsed() > Duration::from_secs(2) {
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.shown = true;
        }
        self.bar.set_position(done);
    }

    pub fn finish(self) {
        self.bar.finish_and_clear();
    }
}
