//! The sweep spec, a RON file: a name and grids of `compare` and `train` jobs. This module
//! parses it (every error names file, line and column: syntax errors as the RON parser
//! finds them, meaning errors at the field they are about), checks everything a job would
//! otherwise fail on later (scenes load, policies parse, checkpoints exist, counts in
//! range), and expands the grids into the plan's jobs in a fixed order, so the same spec
//! always gives the same plan.

use super::plan::{
    CHECKPOINT_FILE, Comparison, Job, JobId, JobKind, METRICS_FILE, RESULT_FILE, Training,
    folder_digits, job_folder, train_args,
};
use crate::session::PolicyChoice;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// The most jobs one spec may expand to: a typo in a grid should not plan a million runs.
pub const MAX_JOBS: usize = 100_000;
/// `lnlab compare --seeds` accepts at most this many.
const MAX_SEEDS: u64 = 1_000;

/// A sweep: grids of jobs, each grid the product of its lists.
#[derive(Debug, Deserialize)]
#[serde(rename = "Sweep", deny_unknown_fields)]
pub struct Sweep {
    /// Names the sweep (and its Slurm job): letters, digits, `-`, `_` and `.`.
    pub name: String,
    #[serde(default)]
    pub compare: Vec<CompareGrid>,
    #[serde(default)]
    pub train: Vec<TrainGrid>,
}

/// `lnlab compare` jobs: one per scene, payment count and first seed. The policies run
/// together in every job, on the same workloads.
#[derive(Debug, Deserialize)]
#[serde(rename = "Compare", deny_unknown_fields)]
pub struct CompareGrid {
    /// Scene files, relative to the spec's folder (or absolute).
    pub scenes: Vec<String>,
    /// Policies as `lnlab compare --policies` takes them; `ppo:PATH` relative to the spec.
    pub policies: Vec<String>,
    /// Payments per run.
    pub payments: Vec<u64>,
    /// Runs per policy in each job (`--seeds`).
    #[serde(default = "one")]
    pub seeds: u64,
    /// First seed of each job (`--seed`); default: the scene's seed.
    #[serde(default)]
    pub first_seeds: Vec<u64>,
}

/// `lnlab train` jobs, each followed by a comparison of the checkpoint it wrote: one job
/// per scene, step count, segment length and training seed.
#[derive(Debug, Deserialize)]
#[serde(rename = "Train", deny_unknown_fields)]
pub struct TrainGrid {
    /// Scenes with one agent group, relative to the spec's folder (or absolute).
    pub scenes: Vec<String>,
    /// Payments to train on (`--steps`).
    pub steps: Vec<u64>,
    /// Training seeds (`--seed`); default: the scene's seed.
    #[serde(default)]
    pub seeds: Vec<u64>,
    /// `--segment-payments`; default: train's own choice.
    #[serde(default)]
    pub segment_payments: Vec<u64>,
    /// Payments per evaluation run (train's own evaluation and the comparison after it).
    #[serde(default = "thousand")]
    pub eval_payments: u64,
    /// Runs per policy in the comparison after training.
    #[serde(default = "one")]
    pub eval_seeds: u64,
    /// First seed of that comparison; default: the training seed + 1000, as train's own
    /// evaluation.
    #[serde(default)]
    pub eval_first_seed: Option<u64>,
    /// Policies compared with the trained checkpoint, e.g. `["lnd", "oracle"]`.
    #[serde(default)]
    pub compare_with: Vec<String>,
}

fn one() -> u64 {
    1
}

fn thousand() -> u64 {
    1_000
}

/// How far train's own evaluation seed is from the training seed (`lnlab train`).
const EVAL_SEED_OFFSET: u64 = 1_000;

/// A spec's errors are the project's RON-file errors: `path: cannot read`,
/// `path:line:column: message`, or `path: message`.
pub use crate::scene::io::SceneError as SpecError;

/// Read and parse a spec file (syntax only; [`expand`] checks the meaning). Returns the
/// text too, for locating later errors.
pub fn load(path: &Path) -> Result<(Sweep, String), SpecError> {
    let text = std::fs::read_to_string(path).map_err(|reason| SpecError::Read {
        path: path.to_owned(),
        reason,
    })?;
    let spec = parse(&text, path)?;
    Ok((spec, text))
}

/// Parse spec text; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<Sweep, SpecError> {
    ron::Options::default()
        .from_str(text)
        .map_err(|e| crate::scene::io::syntax_error(path, &e))
}

/// Where in the spec a fault lies: fields and list items from the top.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Field(&'static str),
    Item(usize),
}

struct Fault {
    at: Vec<Step>,
    message: String,
}

fn fault(at: &[Step], message: impl Into<String>) -> Fault {
    Fault {
        at: at.to_vec(),
        message: message.into(),
    }
}

fn at_item(at: &[Step], field: &'static str, i: usize) -> Vec<Step> {
    let mut v = at.to_vec();
    v.extend([Step::Field(field), Step::Item(i)]);
    v
}

fn at_field(at: &[Step], field: &'static str) -> Vec<Step> {
    let mut v = at.to_vec();
    v.push(Step::Field(field));
    v
}

/// `compare[0].policies[2]`.
fn show(at: &[Step]) -> String {
    let mut s = String::new();
    for step in at {
        match step {
            Step::Field(f) if s.is_empty() => s += f,
            Step::Field(f) => s += &format!(".{f}"),
            Step::Item(i) => s += &format!("[{i}]"),
        }
    }
    s
}

/// What the expansion needs of a scene.
struct SceneFacts {
    seed: u64,
    agent_groups: Option<usize>,
}

/// Check a parsed spec and expand it into jobs whose files go under `out` (absolute).
/// `spec_path` resolves relative paths (its folder) and names the file in errors; `text`
/// is the spec's text, to point errors at the field they are about.
pub fn expand(
    spec: &Sweep,
    text: &str,
    spec_path: &Path,
    out: &Path,
) -> Result<Vec<Job>, SpecError> {
    let base = spec_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let base = std::path::absolute(base).map_err(|reason| SpecError::Read {
        path: spec_path.to_owned(),
        reason,
    })?;
    let mut expander = Expander {
        base,
        out: out.to_owned(),
        scenes: BTreeMap::new(),
        planned: Vec::new(),
    };
    expander.expand(spec).map_err(|f| {
        let message = if f.at.is_empty() {
            f.message
        } else {
            format!("{}: {}", show(&f.at), f.message)
        };
        match locate(text, &f.at) {
            Some(offset) => {
                let (line, column) = line_column(text, offset);
                SpecError::Syntax {
                    path: spec_path.to_owned(),
                    line,
                    column,
                    message,
                }
            }
            None => SpecError::Invalid {
                path: spec_path.to_owned(),
                message,
            },
        }
    })?;
    Ok(expander.finish())
}

/// A job before its number and folder are known (they depend on the job count).
struct Planned {
    kind: JobKind,
    scene: String,
    scene_path: PathBuf,
    training: Option<(u64, u64, Option<u64>)>,
    payments: u64,
    seeds: u64,
    first_seed: u64,
    /// The policies besides the trained checkpoint (which a train job compares first).
    policies: Vec<String>,
    eval_payments: u64,
}

struct Expander {
    base: PathBuf,
    out: PathBuf,
    scenes: BTreeMap<PathBuf, SceneFacts>,
    planned: Vec<Planned>,
}

impl Expander {
    fn expand(&mut self, spec: &Sweep) -> Result<(), Fault> {
        let name_ok = !spec.name.is_empty()
            && spec
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !name_ok {
            return Err(fault(
                &[Step::Field("name")],
                format!(
                    "{:?} is not a usable name (letters, digits, `-`, `_` and `.`; it names \
                     the Slurm job)",
                    spec.name
                ),
            ));
        }
        if spec.compare.is_empty() && spec.train.is_empty() {
            return Err(fault(
                &[],
                "the spec plans no jobs: give at least one grid in `compare` or `train`",
            ));
        }
        for (i, grid) in spec.compare.iter().enumerate() {
            self.compare_grid(grid, &[Step::Field("compare"), Step::Item(i)])?;
        }
        for (i, grid) in spec.train.iter().enumerate() {
            self.train_grid(grid, &[Step::Field("train"), Step::Item(i)])?;
        }
        Ok(())
    }

    fn compare_grid(&mut self, grid: &CompareGrid, at: &[Step]) -> Result<(), Fault> {
        non_empty(&grid.scenes, &at_field(at, "scenes"), "scene")?;
        non_empty(&grid.policies, &at_field(at, "policies"), "policy")?;
        non_empty(&grid.payments, &at_field(at, "payments"), "payment count")?;
        positive(&grid.payments, at, "payments")?;
        unique(&grid.payments, at, "payments")?;
        unique(&grid.first_seeds, at, "first_seeds")?;
        seed_count(grid.seeds, &at_field(at, "seeds"))?;
        let policies = self.policies(&grid.policies, at, "policies")?;
        let scenes = self.scenes(&grid.scenes, at, false)?;
        for (label, path, facts_seed) in scenes {
            let first_seeds = if grid.first_seeds.is_empty() {
                vec![facts_seed]
            } else {
                grid.first_seeds.clone()
            };
            for &payments in &grid.payments {
                for &first_seed in &first_seeds {
                    self.push(
                        Planned {
                            kind: JobKind::Compare,
                            scene: label.clone(),
                            scene_path: path.clone(),
                            training: None,
                            payments,
                            seeds: grid.seeds,
                            first_seed,
                            policies: policies.clone(),
                            eval_payments: payments,
                        },
                        at,
                    )?;
                }
            }
        }
        Ok(())
    }

    fn train_grid(&mut self, grid: &TrainGrid, at: &[Step]) -> Result<(), Fault> {
        non_empty(&grid.scenes, &at_field(at, "scenes"), "scene")?;
        non_empty(&grid.steps, &at_field(at, "steps"), "step count")?;
        positive(&grid.steps, at, "steps")?;
        unique(&grid.steps, at, "steps")?;
        unique(&grid.seeds, at, "seeds")?;
        positive(&grid.segment_payments, at, "segment_payments")?;
        unique(&grid.segment_payments, at, "segment_payments")?;
        if grid.eval_payments == 0 {
            return Err(fault(&at_field(at, "eval_payments"), "must be at least 1"));
        }
        seed_count(grid.eval_seeds, &at_field(at, "eval_seeds"))?;
        let policies = self.policies(&grid.compare_with, at, "compare_with")?;
        if self.out.to_string_lossy().contains(',') {
            return Err(fault(
                &[],
                format!(
                    "the sweep folder {} has a comma in its path, which `--policies \
                     ppo:PATH` cannot carry; choose another --out for a sweep that trains",
                    self.out.display()
                ),
            ));
        }
        let scenes = self.scenes(&grid.scenes, at, true)?;
        let segments: Vec<Option<u64>> = if grid.segment_payments.is_empty() {
            vec![None]
        } else {
            grid.segment_payments.iter().copied().map(Some).collect()
        };
        for (label, path, scene_seed) in scenes {
            let seeds = if grid.seeds.is_empty() {
                vec![scene_seed]
            } else {
                grid.seeds.clone()
            };
            for &steps in &grid.steps {
                for &segment in &segments {
                    for &seed in &seeds {
                        self.push(
                            Planned {
                                kind: JobKind::Train,
                                scene: label.clone(),
                                scene_path: path.clone(),
                                training: Some((steps, seed, segment)),
                                payments: grid.eval_payments,
                                seeds: grid.eval_seeds,
                                first_seed: grid
                                    .eval_first_seed
                                    .unwrap_or(seed.wrapping_add(EVAL_SEED_OFFSET)),
                                policies: policies.clone(),
                                eval_payments: grid.eval_payments,
                            },
                            at,
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    fn push(&mut self, job: Planned, at: &[Step]) -> Result<(), Fault> {
        if self.planned.len() == MAX_JOBS {
            return Err(fault(
                at,
                format!("the spec expands to more than {MAX_JOBS} jobs"),
            ));
        }
        self.planned.push(job);
        Ok(())
    }

    /// Each policy parsed and written as `lnlab compare` takes it (`ppo:` paths absolute,
    /// the checkpoint present).
    fn policies(
        &self,
        named: &[String],
        at: &[Step],
        field: &'static str,
    ) -> Result<Vec<String>, Fault> {
        let mut out: Vec<String> = Vec::new();
        for (i, name) in named.iter().enumerate() {
            let here = at_item(at, field, i);
            let policy = match name.parse::<PolicyChoice>().map_err(|e| fault(&here, e))? {
                PolicyChoice::Ppo(path) => {
                    let path = self.resolve(&path.display().to_string(), &here)?;
                    if !path.is_file() {
                        return Err(fault(&here, format!("no checkpoint at {}", path.display())));
                    }
                    if path.to_string_lossy().contains(',') {
                        return Err(fault(
                            &here,
                            format!(
                                "{} has a comma in its path, which `--policies` cannot carry",
                                path.display()
                            ),
                        ));
                    }
                    PolicyChoice::Ppo(path)
                }
                baseline => baseline,
            };
            let shown = policy.to_string();
            if out.contains(&shown) {
                return Err(fault(&here, format!("`{shown}` is listed twice")));
            }
            out.push(shown);
        }
        Ok(out)
    }

    /// Each scene resolved and loaded once: (as named, absolute path, the scene's seed).
    fn scenes(
        &mut self,
        named: &[String],
        at: &[Step],
        train: bool,
    ) -> Result<Vec<(String, PathBuf, u64)>, Fault> {
        let mut out: Vec<(String, PathBuf, u64)> = Vec::new();
        for (i, name) in named.iter().enumerate() {
            let here = at_item(at, "scenes", i);
            let path = self.resolve(name, &here)?;
            if out.iter().any(|(_, p, _)| *p == path) {
                return Err(fault(&here, format!("{name:?} is listed twice")));
            }
            if !self.scenes.contains_key(&path) {
                let scene = crate::scene::load(&path).map_err(|e| fault(&here, e.to_string()))?;
                let facts = SceneFacts {
                    seed: scene.seed,
                    agent_groups: scene.agents.as_ref().map(|a| a.groups.len()),
                };
                self.scenes.insert(path.clone(), facts);
            }
            let facts = &self.scenes[&path];
            if train {
                match facts.agent_groups {
                    None => {
                        return Err(fault(
                            &here,
                            format!(
                                "{}: the scene has no `agents` section to train",
                                path.display()
                            ),
                        ));
                    }
                    Some(n) if n != 1 => {
                        return Err(fault(
                            &here,
                            format!(
                                "{}: the scene has {n} agent groups; a sweep compares one \
                                 trained checkpoint (`ppo:PATH`), so it trains scenes with one",
                                path.display()
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
            out.push((name.clone(), path, facts.seed));
        }
        Ok(out)
    }

    /// A path from the spec: relative to the spec's folder, and usable on one line of
    /// `jobs.txt`.
    fn resolve(&self, name: &str, at: &[Step]) -> Result<PathBuf, Fault> {
        if name.is_empty() {
            return Err(fault(at, "empty path"));
        }
        if name.contains(['\n', '\r', '\0']) {
            return Err(fault(
                at,
                format!(
                    "{name:?}: a line break or NUL in a path cannot go on one line of jobs.txt"
                ),
            ));
        }
        Ok(self.base.join(name))
    }

    /// Number the jobs and write their commands.
    fn finish(self) -> Vec<Job> {
        let digits = folder_digits(self.planned.len());
        self.planned
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let id = JobId(i as u32);
                let folder = job_folder(id, digits);
                let dir = self.out.join(&folder);
                let json = dir.join(RESULT_FILE);
                let mut commands = Vec::new();
                let mut policies = Vec::new();
                let training = p.training.map(|(steps, seed, segment_payments)| {
                    let t = Training {
                        steps,
                        seed,
                        segment_payments,
                        checkpoint: dir.join(CHECKPOINT_FILE),
                    };
                    commands.push(train_args(
                        &p.scene_path,
                        &t,
                        &dir.join(METRICS_FILE),
                        p.eval_payments,
                    ));
                    policies.push(format!("ppo:{}", t.checkpoint.display()));
                    t
                });
                policies.extend(p.policies);
                commands.push(
                    Comparison {
                        scene: &p.scene_path,
                        policies: &policies,
                        payments: p.payments,
                        seeds: p.seeds,
                        first_seed: p.first_seed,
                        json: &json,
                    }
                    .args(),
                );
                Job {
                    id,
                    kind: p.kind,
                    scene: p.scene,
                    scene_path: p.scene_path,
                    training,
                    payments: p.payments,
                    seeds: p.seeds,
                    first_seed: p.first_seed,
                    policies,
                    folder,
                    commands,
                }
            })
            .collect()
    }
}

fn non_empty<T>(values: &[T], at: &[Step], what: &str) -> Result<(), Fault> {
    if values.is_empty() {
        return Err(fault(at, format!("empty: give at least one {what}")));
    }
    Ok(())
}

fn positive(values: &[u64], at: &[Step], field: &'static str) -> Result<(), Fault> {
    match values.iter().position(|&v| v == 0) {
        Some(i) => Err(fault(&at_item(at, field, i), "must be at least 1")),
        None => Ok(()),
    }
}

fn unique<T: PartialEq + fmt::Debug>(
    values: &[T],
    at: &[Step],
    field: &'static str,
) -> Result<(), Fault> {
    for (i, v) in values.iter().enumerate() {
        if values[..i].contains(v) {
            return Err(fault(
                &at_item(at, field, i),
                format!("{v:?} is listed twice (it would plan the same jobs twice)"),
            ));
        }
    }
    Ok(())
}

fn seed_count(seeds: u64, at: &[Step]) -> Result<(), Fault> {
    if !(1..=MAX_SEEDS).contains(&seeds) {
        return Err(fault(
            at,
            format!("{seeds} runs per policy; give 1 to {MAX_SEEDS}"),
        ));
    }
    Ok(())
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// Byte offset at which the text shows `at`: the value of each field, the start of each
/// list item, step by step from the top. When a later step is not in the text (a field
/// left to its default), the deepest step that is; `None` when not even the first is.
fn locate(text: &str, at: &[Step]) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut pos = skip_space(bytes, 0);
    let mut found = None;
    for step in at {
        let next = match *step {
            Step::Field(key) => field_value(bytes, pos, key),
            Step::Item(i) => list_item(bytes, pos, i),
        };
        match next {
            Some(p) => {
                pos = p;
                found = Some(p);
            }
            None => break,
        }
    }
    found
}

/// Skip whitespace and comments (`// ...` and `/* ... */`).
fn skip_space(b: &[u8], mut pos: usize) -> usize {
    loop {
        while pos < b.len() && b[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if b[pos..].starts_with(b"//") {
            while pos < b.len() && b[pos] != b'\n' {
                pos += 1;
            }
        } else if b[pos..].starts_with(b"/*") {
            pos = b[pos + 2..]
                .windows(2)
                .position(|w| w == b"*/")
                .map_or(b.len(), |i| pos + 2 + i + 2);
        } else {
            return pos;
        }
    }
}

/// The end of a string literal starting at `pos` (just past its closing quote).
fn skip_string(b: &[u8], mut pos: usize) -> usize {
    pos += 1;
    while pos < b.len() {
        match b[pos] {
            b'\\' => pos += 2,
            b'"' => return pos + 1,
            _ => pos += 1,
        }
    }
    b.len()
}

/// The end of the value starting at `pos`: the `,` or closing bracket after it.
fn value_end(b: &[u8], mut pos: usize) -> usize {
    let mut depth = 0usize;
    while pos < b.len() {
        match b[pos] {
            b'"' => {
                pos = skip_string(b, pos);
                continue;
            }
            b'/' if matches!(b.get(pos + 1), Some(b'/' | b'*')) => {
                pos = skip_space(b, pos);
                continue;
            }
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' if depth == 0 => return pos,
            b')' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => return pos,
            _ => {}
        }
        pos += 1;
    }
    b.len()
}

/// The value of field `key` in the struct starting at `pos` (`(` or `Name(`).
fn field_value(b: &[u8], pos: usize, key: &str) -> Option<usize> {
    let mut pos = pos;
    while pos < b.len() && (b[pos].is_ascii_alphanumeric() || b[pos] == b'_') {
        pos += 1;
    }
    pos = skip_space(b, pos);
    if b.get(pos) != Some(&b'(') {
        return None;
    }
    pos += 1;
    loop {
        pos = skip_space(b, pos);
        let start = pos;
        while pos < b.len() && (b[pos].is_ascii_alphanumeric() || b[pos] == b'_') {
            pos += 1;
        }
        if start == pos {
            return None;
        }
        let name = &b[start..pos];
        pos = skip_space(b, pos);
        if b.get(pos) != Some(&b':') {
            return None;
        }
        let value = skip_space(b, pos + 1);
        if name == key.as_bytes() {
            return Some(value);
        }
        pos = value_end(b, value);
        if b.get(pos) != Some(&b',') {
            return None;
        }
        pos += 1;
    }
}

/// The start of item `index` of the list starting at `pos`.
fn list_item(b: &[u8], pos: usize, index: usize) -> Option<usize> {
    if b.get(pos) != Some(&b'[') {
        return None;
    }
    let mut pos = skip_space(b, pos + 1);
    for _ in 0..index {
        pos = value_end(b, pos);
        if b.get(pos) != Some(&b',') {
            return None;
        }
        pos = skip_space(b, pos + 1);
    }
    match b.get(pos) {
        Some(b']') | None => None,
        Some(_) => Some(pos),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenes");

    /// A spec file in a temporary folder beside a `scenes` link to the presets, so that
    /// relative paths resolve against the spec's folder.
    struct Fixture {
        dir: tempfile::TempDir,
    }

    impl Fixture {
        fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            std::os::unix::fs::symlink(SCENES, dir.path().join("presets")).unwrap();
            Fixture { dir }
        }

        fn spec_path(&self) -> PathBuf {
            self.dir.path().join("sweep.ron")
        }

        fn out(&self) -> PathBuf {
            self.dir.path().join("out")
        }

        fn expand(&self, text: &str) -> Result<Vec<Job>, SpecError> {
            let path = self.spec_path();
            let spec = parse(text, &path)?;
            expand(&spec, text, &path, &self.out())
        }

        fn error(&self, text: &str) -> String {
            match self.expand(text) {
                Ok(jobs) => panic!("expected an error, got {} jobs", jobs.len()),
                Err(e) => e.to_string(),
            }
        }

        /// `sweep.ron:LINE:COL: ` for the first occurrence of `needle` in `text`.
        fn at(&self, text: &str, needle: &str) -> String {
            let offset = text.find(needle).unwrap();
            let (line, column) = line_column(text, offset);
            format!("{}:{line}:{column}: ", self.spec_path().display())
        }
    }

    const GRID: &str = r#"// two grids
(
  name: "grid",
  compare: [
    (
      scenes: ["presets/classroom.ron", "presets/hubs.ron"],
      policies: ["lnd", "LDK", "oracle"],
      payments: [200, 500],
      seeds: 3,
      first_seeds: [100, 200, 300],
    ),
  ],
  train: [
    Train(
      scenes: ["presets/classroom.ron"],
      steps: [300, 600],
      seeds: [1, 2],
      eval_payments: 50,
      eval_seeds: 2,
      compare_with: ["lnd"],
    ),
  ],
)
"#;

    #[test]
    fn expansion_gives_the_whole_grid_in_order() {
        let f = Fixture::new();
        let jobs = f.expand(GRID).unwrap();
        // 2 scenes x 2 payment counts x 3 first seeds, then 2 step counts x 2 seeds.
        assert_eq!(jobs.len(), 2 * 2 * 3 + 2 * 2);
        let compare: Vec<(String, u64, u64)> = jobs
            .iter()
            .filter(|j| j.kind == JobKind::Compare)
            .map(|j| (j.scene.clone(), j.payments, j.first_seed))
            .collect();
        let mut expected = Vec::new();
        for scene in ["presets/classroom.ron", "presets/hubs.ron"] {
            for payments in [200, 500] {
                for seed in [100, 200, 300] {
                    expected.push((scene.to_string(), payments, seed));
                }
            }
        }
        assert_eq!(compare, expected);
        for (i, job) in jobs.iter().enumerate() {
            assert_eq!(job.id, JobId(i as u32));
            assert_eq!(job.folder, format!("jobs/{i:04}"));
        }
        let first = &jobs[0];
        assert_eq!(first.policies, ["lnd", "ldk", "oracle"], "canonical names");
        assert_eq!(first.seeds, 3);
        assert_eq!(
            first.commands,
            [[
                "compare",
                &f.dir
                    .path()
                    .join("presets/classroom.ron")
                    .display()
                    .to_string(),
                "--policies",
                "lnd,ldk,oracle",
                "--payments",
                "200",
                "--seeds",
                "3",
                "--seed",
                "100",
                "--json",
                &f.out().join("jobs/0000/result.json").display().to_string(),
            ]]
        );

        let train: Vec<&Job> = jobs.iter().filter(|j| j.kind == JobKind::Train).collect();
        let params: Vec<(u64, u64, u64)> = train
            .iter()
            .map(|j| {
                let t = j.training.as_ref().unwrap();
                (t.steps, t.seed, j.first_seed)
            })
            .collect();
        assert_eq!(
            params,
            [
                (300, 1, 1001),
                (300, 2, 1002),
                (600, 1, 1001),
                (600, 2, 1002)
            ],
            "seeds vary fastest; evaluation from the training seed + 1000"
        );
        let job = train[0];
        let checkpoint = f.out().join(format!("{}/agent.safetensors", job.folder));
        assert_eq!(job.training.as_ref().unwrap().checkpoint, checkpoint);
        assert_eq!(job.commands.len(), 2, "train, then compare");
        assert_eq!(job.commands[0][0], "train");
        assert!(
            job.commands[0]
                .windows(2)
                .any(|w| w[0] == "--out" && w[1] == checkpoint.display().to_string())
        );
        assert_eq!(
            job.policies,
            [format!("ppo:{}", checkpoint.display()), "lnd".to_string()]
        );
        assert_eq!((job.payments, job.seeds), (50, 2));
    }

    #[test]
    fn defaults_come_from_the_scene_and_the_commands() {
        let f = Fixture::new();
        let text = r#"(name: "d", compare: [(scenes: ["presets/classroom.ron"], policies: ["lnd"], payments: [10])],
            train: [(scenes: ["presets/classroom.ron"], steps: [10], segment_payments: [5, 10], eval_first_seed: Some(7))])"#;
        let jobs = f.expand(text).unwrap();
        let scene = crate::scene::load(&Path::new(SCENES).join("classroom.ron")).unwrap();
        assert_eq!(jobs.len(), 3);
        assert_eq!((jobs[0].seeds, jobs[0].first_seed), (1, scene.seed));
        let t = jobs[1].training.as_ref().unwrap();
        assert_eq!((t.seed, t.segment_payments), (scene.seed, Some(5)));
        assert_eq!((jobs[1].payments, jobs[1].first_seed), (1_000, 7));
        assert_eq!(
            jobs[2].training.as_ref().unwrap().segment_payments,
            Some(10)
        );
        assert_eq!(jobs[1].policies.len(), 1, "only the trained checkpoint");
    }

    #[test]
    fn relative_paths_resolve_against_the_specs_folder() {
        let f = Fixture::new();
        let jobs = f.expand(GRID).unwrap();
        assert_eq!(
            jobs[0].scene_path,
            f.dir.path().join("presets/classroom.ron")
        );
        assert!(jobs[0].scene_path.is_absolute());
        // An absolute path stays as it is; a ppo: checkpoint resolves like a scene.
        let ckpt = f.dir.path().join("a.safetensors");
        std::fs::write(&ckpt, b"").unwrap();
        let text = format!(
            r#"(name: "abs", compare: [(scenes: ["{SCENES}/hubs.ron"], policies: ["ppo:a.safetensors"], payments: [10])])"#
        );
        let jobs = f.expand(&text).unwrap();
        assert_eq!(jobs[0].scene_path, Path::new(SCENES).join("hubs.ron"));
        assert_eq!(jobs[0].policies, [format!("ppo:{}", ckpt.display())]);
    }

    #[test]
    fn the_same_spec_gives_the_same_jobs() {
        let f = Fixture::new();
        assert_eq!(f.expand(GRID).unwrap(), f.expand(GRID).unwrap());
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let f = Fixture::new();
        let text = GRID.replace("seeds: 3,", "seeds: three,");
        let e = f.error(&text);
        // The line of the bad value, and a column on it (RON's parser counts from the
        // space before the value).
        let line = text.lines().position(|l| l.contains("three")).unwrap() + 1;
        let prefix = format!("{}:{line}:", f.spec_path().display());
        let column: usize = e[prefix.len()..]
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(e.starts_with(&prefix) && (12..=14).contains(&column), "{e}");
        let text = GRID.replace("first_seeds", "first_seed");
        let e = f.error(&text);
        let line = text
            .lines()
            .position(|l| l.contains("first_seed:"))
            .unwrap()
            + 1;
        assert!(
            e.starts_with(&format!("{}:{line}:", f.spec_path().display())),
            "{e}"
        );
        assert!(e.contains("first_seed"), "unknown fields are refused: {e}");
    }

    #[test]
    fn meaning_errors_point_at_the_field() {
        let f = Fixture::new();
        let cases = [
            // (replace, with, the text the error points at, what it says)
            (
                "\"LDK\"",
                "\"lnx\"",
                "\"lnx\"",
                "unknown routing policy `lnx`",
            ),
            (
                "seeds: 3,",
                "seeds: 0,",
                "0,\n      first_seeds",
                "0 runs per policy",
            ),
            ("payments: [200, 500]", "payments: []", "[]", "empty"),
            (
                "payments: [200, 500]",
                "payments: [200, 0]",
                "0]",
                "at least 1",
            ),
            ("[100, 200, 300]", "[100, 200, 100]", "100]", "listed twice"),
            (
                "presets/hubs.ron\"]",
                "presets/none.ron\"]",
                "\"presets/none.ron",
                "none.ron: cannot read",
            ),
            (
                "steps: [300, 600]",
                "steps: [300, 0]",
                "0],\n      seeds: [1",
                "at least 1",
            ),
            (
                "eval_seeds: 2",
                "eval_seeds: 0",
                "0,\n      compare",
                "0 runs",
            ),
            (
                "[\"lnd\"],\n    ),\n  ],\n)",
                "[\"ppo:missing.safetensors\"],\n    ),\n  ],\n)",
                "\"ppo:missing",
                "no checkpoint at",
            ),
        ];
        for (from, to, points_at, says) in cases {
            let text = GRID.replacen(from, to, 1);
            assert_ne!(text, GRID, "{from} is in the grid");
            let e = f.error(&text);
            assert!(e.starts_with(&f.at(&text, points_at)), "{from}: {e}");
            assert!(e.contains(says), "{from}: {e}");
            assert!(!e.contains("panicked"));
        }
    }

    #[test]
    fn train_scenes_need_one_agent_group() {
        let f = Fixture::new();
        let text = GRID.replacen(
            "Train(\n      scenes: [\"presets/classroom.ron\"]",
            "Train(\n      scenes: [\"presets/mainnet_50.ron\"]",
            1,
        );
        let e = f.error(&text);
        assert!(e.starts_with(&f.at(&text, "\"presets/mainnet_50")), "{e}");
        assert!(e.contains("no `agents` section"), "{e}");
    }

    #[test]
    fn a_spec_without_jobs_or_a_usable_name_is_refused() {
        let f = Fixture::new();
        let e = f.error("(name: \"empty\")");
        assert!(e.contains("plans no jobs"), "{e}");
        let e = f.error("(name: \"\", compare: [])");
        assert!(
            e.starts_with(&format!("{}:1:8: name:", f.spec_path().display())),
            "{e}"
        );
        let e = f.error(&GRID.replace("\"grid\"", "\"two words\""));
        assert!(e.contains("not a usable name"), "{e}");
    }

    #[test]
    fn locate_walks_fields_and_items_past_comments_and_strings() {
        let text = "Sweep( /* a ( */ name: \"x, ]\", // )\n compare: [ (a: [1, (2)], b: \"q\"), ( b: 3 ) ] )";
        let at = |steps: &[Step]| locate(text, steps).map(|o| &text[o..o + 1]);
        assert_eq!(at(&[Step::Field("name")]), Some("\""));
        let second = [Step::Field("compare"), Step::Item(1), Step::Field("b")];
        assert_eq!(at(&second), Some("3"));
        // A field the text does not show: the deepest step it does.
        let missing = [Step::Field("compare"), Step::Item(1), Step::Field("c")];
        assert_eq!(locate(text, &missing), text.find("( b"));
        assert_eq!(locate(text, &[Step::Field("train")]), None);
    }
}
