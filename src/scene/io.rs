//! Reading and writing scene files: RON parsing with file, line and column in every syntax
//! error, semantic validation with the path of the offending field, and atomic saves
//! (temporary file in the same folder, then rename) so a user's file is never half-written.

use super::schema::{FORMAT_VERSION, Scene};
use crate::sim::command::TimedCommand;
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SceneError {
    #[error("{path}: cannot read: {reason}")]
    Read {
        path: PathBuf,
        reason: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: cannot write: {reason}")]
    Write {
        path: PathBuf,
        reason: std::io::Error,
    },
}

/// Load and validate a scene file.
pub fn load(path: &Path) -> Result<Scene, SceneError> {
    let text = std::fs::read_to_string(path).map_err(|reason| SceneError::Read {
        path: path.to_owned(),
        reason,
    })?;
    parse(&text, path)
}

/// Parse and validate scene text; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<Scene, SceneError> {
    let scene: Scene = ron::Options::default()
        .from_str(text)
        .map_err(|e| syntax_error(path, &e))?;
    validate(&scene).map_err(|message| match locate(text, &message) {
        Some((line, column)) => SceneError::Syntax {
            path: path.to_owned(),
            line,
            column,
            message,
        },
        None => SceneError::Invalid {
            path: path.to_owned(),
            message,
        },
    })?;
    Ok(scene)
}

/// Where in the text a validation message points: `nodes[3] ...` is the fourth `alias:`
/// after `nodes:`, `channels[i]` the i-th `scid:` after `channels:`, `timeline[i]` the i-th
/// `at_ms:`, `routing.max_hops` the `max_hops:` after `routing:`. Returns 1-based line and
/// column, or `None` when the text does not show the spot (e.g. a default value).
fn locate(text: &str, message: &str) -> Option<(usize, usize)> {
    let path = message.split([':', ' ']).next()?;
    let (section, index, key) = if let Some((name, rest)) = path.split_once('[') {
        let index: usize = rest.split(']').next()?.parse().ok()?;
        let key = match name {
            "nodes" => "alias:",
            "channels" => "scid:",
            "timeline" => "at_ms:",
            _ => return None,
        };
        (name, index, key)
    } else if let Some((name, field)) = path.split_once('.') {
        (name, 0, field.split(['.', '[']).next()?)
    } else {
        (path, 0, "")
    };
    let start = find_key(text, 0, section)?;
    let at = if key.is_empty() {
        start
    } else {
        let key = key.trim_end_matches(':');
        let mut at = start;
        for _ in 0..=index {
            at = find_key(text, at + 1, key)?;
        }
        at
    };
    let line = text[..at].matches('\n').count() + 1;
    let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    Some((line, column))
}

/// Byte offset of the next `key:` (a whole identifier followed by a colon) at or after `from`.
fn find_key(text: &str, from: usize, key: &str) -> Option<usize> {
    let mut pos = from;
    while let Some(i) = text.get(pos..)?.find(key) {
        let at = pos + i;
        let before_ok = text[..at]
            .chars()
            .last()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let after = text[at + key.len()..].trim_start();
        if before_ok && after.starts_with(':') {
            return Some(at);
        }
        pos = at + key.len();
    }
    None
}

/// Render a scene as pretty RON.
pub fn to_string(scene: &Scene) -> String {
    let config = ron::ser::PrettyConfig::new()
        .depth_limit(2)
        .struct_names(false)
        .separate_tuple_members(false)
        .indentor("  ".to_string());
    ron::Options::default()
        .to_string_pretty(scene, config)
        .expect("scene types always serialise")
}

/// Save atomically: write a temporary file beside the target, flush it to disk, then
/// rename it over the target.
pub fn save(scene: &Scene, path: &Path) -> Result<(), SceneError> {
    write_atomically(path, to_string(scene).as_bytes()).map_err(|reason| SceneError::Write {
        path: path.to_owned(),
        reason,
    })
}

/// Write `bytes` to `path` atomically (shared by every writer of user-visible files).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    // The temporary file is private (0600); the result gets the permissions the file had,
    // or those a newly created file usually has.
    let permissions = match std::fs::metadata(path) {
        Ok(m) => Some(m.permissions()),
        Err(_) => new_file_permissions(),
    };
    if let Some(p) = permissions {
        tmp.as_file().set_permissions(p)?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(unix)]
fn new_file_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    Some(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn new_file_permissions() -> Option<std::fs::Permissions> {
    None
}

/// The largest channel a scene or command may open: all the bitcoin there will be.
pub const MAX_CAPACITY_SAT: u64 = 21_000_000 * 100_000_000;
/// Longest time setting accepted (a year of simulated time), so sums of times cannot overflow.
pub const MAX_DURATION_MS: u64 = 365 * 24 * 3_600_000;

/// Checks the parser cannot make: references, ranges and uniqueness.
pub fn validate(scene: &Scene) -> Result<(), String> {
    if scene.format_version != FORMAT_VERSION {
        return Err(format!(
            "format_version {} is not supported (this lnlab reads version {FORMAT_VERSION})",
            scene.format_version
        ));
    }
    let n = scene.nodes.len() as u32;
    let mut keys = HashSet::new();
    for (i, node) in scene.nodes.iter().enumerate() {
        if let Some(key) = node.pubkey
            && !keys.insert(key)
        {
            return Err(format!(
                "nodes[{i}] ({}): pubkey {key} is used twice",
                node.alias
            ));
        }
        if let Some(d) = &node.processing_delay {
            d.validate()
                .map_err(|e| format!("nodes[{i}].processing_delay: {e}"))?;
        }
        if let Some((x, y)) = node.pos
            && !(x.is_finite() && y.is_finite())
        {
            return Err(format!("nodes[{i}].pos must be finite"));
        }
    }
    let mut scids = HashSet::new();
    let explicit = matches!(scene.liquidity, crate::network::LiquidityModel::Explicit);
    for (i, ch) in scene.channels.iter().enumerate() {
        let at = format!("channels[{i}] ({})", ch.scid);
        if !scids.insert(ch.scid) {
            return Err(format!("{at}: scid is used twice"));
        }
        for (field, idx) in [("node1", ch.node1), ("node2", ch.node2)] {
            if idx >= n {
                return Err(format!(
                    "{at}: {field} = {idx}, but the scene has {n} nodes"
                ));
            }
        }
        if ch.node1 == ch.node2 {
            return Err(format!("{at}: node1 and node2 are the same node"));
        }
        if ch.capacity_sat == 0 || ch.capacity_sat > MAX_CAPACITY_SAT {
            return Err(format!(
                "{at}: capacity_sat {} is out of range",
                ch.capacity_sat
            ));
        }
        match ch.node1_balance_msat {
            Some(b) if b > ch.capacity_sat * 1000 => {
                return Err(format!(
                    "{at}: node1_balance_msat {b} exceeds the capacity ({} msat)",
                    ch.capacity_sat * 1000
                ));
            }
            None if explicit => {
                return Err(format!(
                    "{at}: the liquidity model is Explicit but node1_balance_msat is missing"
                ));
            }
            _ => {}
        }
        for (field, p) in [
            ("node1_policy", &ch.node1_policy),
            ("node2_policy", &ch.node2_policy),
        ] {
            if let Some(p) = p
                && p.htlc_minimum_msat > p.htlc_maximum_msat
            {
                return Err(format!(
                    "{at}: {field} has htlc_minimum_msat > htlc_maximum_msat"
                ));
            }
        }
    }
    if let crate::network::LiquidityModel::Bimodal { scale_sat: 0 } = scene.liquidity {
        return Err("liquidity Bimodal needs scale_sat > 0".into());
    }
    scene.workload.validate()?;
    scene
        .sim
        .processing_delay
        .validate()
        .map_err(|e| format!("sim.processing_delay: {e}"))?;
    let r = &scene.routing;
    if r.max_attempts == 0 {
        return Err("routing.max_attempts must be at least 1".into());
    }
    if r.max_hops == 0 || r.max_hops > 64 {
        return Err(format!(
            "routing.max_hops must be between 1 and 64, got {}",
            r.max_hops
        ));
    }
    for (name, ms) in [
        ("routing.timeout_ms", r.timeout_ms),
        ("sim.gossip_delay_ms", scene.sim.gossip_delay_ms),
    ] {
        if ms > MAX_DURATION_MS {
            return Err(format!("{name} {ms} is longer than a year"));
        }
    }
    crate::routing::RouterKind::parse(&r.policy).map_err(|e| format!("routing.policy: {e}"))?;
    if let Some(l402) = &scene.l402 {
        l402.validate(scene.nodes.len())?;
    }
    if let Some(agents) = &scene.agents {
        let mut owner = vec![None; scene.nodes.len()];
        for (gi, g) in agents.groups.iter().enumerate() {
            let at = format!("agents.groups[{gi}] ({})", g.name);
            for &node in &g.nodes {
                match owner.get_mut(node as usize) {
                    None => return Err(format!("{at}: node {node}, but the scene has {n} nodes")),
                    Some(Some(other)) => {
                        return Err(format!("{at}: node {node} is already in group {other}"));
                    }
                    Some(slot) => *slot = Some(gi),
                }
            }
            let p = &g.ppo;
            if p.rollout_steps == 0
                || p.num_minibatches == 0
                || p.update_epochs == 0
                || p.max_candidates == 0
            {
                return Err(format!(
                    "{at}: rollout_steps, num_minibatches, update_epochs and max_candidates must be at least 1"
                ));
            }
            let coefficients_ok = p.max_grad_norm > 0.0
                && p.max_grad_norm.is_finite()
                && p.clip_coef > 0.0
                && p.clip_coef.is_finite()
                && (0.0..=1.0).contains(&p.gae_lambda)
                && p.ent_coef.is_finite()
                && p.ent_coef >= 0.0
                && p.vf_coef.is_finite()
                && p.vf_coef >= 0.0;
            if !coefficients_ok {
                return Err(format!(
                    "{at}: max_grad_norm and clip_coef must be > 0, gae_lambda in 0..=1, ent_coef and vf_coef >= 0"
                ));
            }
            if !(p.learning_rate.is_finite()
                && p.learning_rate >= 0.0
                && (0.0..=1.0).contains(&p.gamma))
            {
                return Err(format!(
                    "{at}: learning_rate must be >= 0 and gamma in 0..=1"
                ));
            }
        }
    }
    for (i, t) in scene.timeline.iter().enumerate() {
        validate_timed_command(t, n).map_err(|e| format!("timeline[{i}] {e}"))?;
    }
    Ok(())
}

/// One timeline entry against a scene of `nodes` nodes (also what the lab checks before
/// it adds an edit to the working scene's timeline).
pub fn validate_timed_command(t: &TimedCommand, nodes: u32) -> Result<(), String> {
    use crate::sim::command::Command;
    let node_ok = |id: crate::network::NodeId| id.0 < nodes;
    let ok = t.at_ms <= MAX_DURATION_MS
        && match &t.command {
            Command::DemandSpike {
                node,
                rate_per_s,
                duration_ms,
            } => {
                node_ok(*node)
                    && rate_per_s.is_finite()
                    && *rate_per_s > 0.0
                    && *duration_ms <= MAX_DURATION_MS
            }
            Command::NodeOffline { node } | Command::NodeOnline { node } => node_ok(*node),
            Command::OpenChannel {
                node1,
                node2,
                capacity_sat,
                ..
            } => {
                node_ok(*node1)
                    && node_ok(*node2)
                    && node1 != node2
                    && (1..=MAX_CAPACITY_SAT).contains(capacity_sat)
            }
            Command::DrainChannel { fraction, .. } => (0.0..=1.0).contains(fraction),
            Command::JamChannel { duration_ms, .. } => *duration_ms <= MAX_DURATION_MS,
            _ => true,
        };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "({}): names a missing node or an out-of-range value",
            t.command.label()
        ))
    }
}

/// A RON syntax error as `path:line:column: message` (scenes, lessons).
pub fn syntax_error(path: &Path, e: &ron::error::SpannedError) -> SceneError {
    SceneError::Syntax {
        path: path.to_owned(),
        line: e.span.start.line,
        column: e.span.start.col,
        message: e.code.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classroom() -> String {
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenes/classroom.ron"))
            .unwrap()
    }

    fn error(text: &str) -> String {
        parse(text, Path::new("s.ron")).unwrap_err().to_string()
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let e = error("Scene(\n  format_version: 1,\n  name: 5,\n)");
        assert!(e.starts_with("s.ron:3:"), "{e}");
        let e = error(&classroom().replacen("capacity_sat", "capacity_sats", 1));
        assert!(
            e.contains("capacity_sats") && e.starts_with("s.ron:"),
            "{e}"
        );
    }

    #[test]
    fn semantic_errors_point_at_the_offending_item() {
        let text = classroom().replacen("node2: 4,", "node2: 99,", 1);
        let e = error(&text);
        let line = text.lines().position(|l| l.contains("node2: 99")).unwrap() + 1;
        assert!(e.starts_with(&format!("s.ron:{line}:")), "{e}");
        assert!(e.contains("but the scene has 12 nodes"), "{e}");

        let text = classroom().replace("max_hops: 20", "max_hops: 0");
        let line = text
            .lines()
            .position(|l| l.contains("max_hops: 0"))
            .unwrap()
            + 1;
        assert!(
            error(&text).starts_with(&format!("s.ron:{line}:")),
            "{}",
            error(&text)
        );

        let e = error(&classroom().replace("format_version: 1", "format_version: 9"));
        assert!(e.contains("format_version 9 is not supported"), "{e}");
        assert!(
            error(&classroom().replace("policy: \"lnd\"", "policy: \"x\""))
                .contains("unknown routing policy")
        );
    }

    #[test]
    fn save_is_atomic_and_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scene.ron");
        let scene = parse(&classroom(), Path::new("classroom.ron")).unwrap();
        save(&scene, &path).unwrap();
        assert_eq!(load(&path).unwrap(), scene);
        // A failed save leaves the existing file alone.
        let before = std::fs::read(&path).unwrap();
        assert!(save(&scene, &dir.path().join("missing/dir/scene.ron")).is_err());
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary files left"
        );
    }

    #[cfg(unix)]
    #[test]
    fn saves_keep_the_files_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scene.ron");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        write_atomically(&path, b"one").unwrap();
        assert_eq!(
            mode(&path),
            0o644,
            "a new file is readable by others, as usual"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&path, b"two").unwrap();
        assert_eq!(mode(&path), 0o640, "an existing file keeps its mode");
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
    }
}
