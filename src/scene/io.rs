//! Reading and writing scene files: RON parsing with file, line and column in every syntax
//! error, semantic validation with the path of the offending field, and atomic saves
//! (temporary file in the same folder, then rename) so a user's file is never half-written.

use super::schema::{FORMAT_VERSION, Scene};
use crate::files::write_atomically;
use crate::limits::MAX_CAPACITY_SAT;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Errors reading or writing the project's RON files (scenes, lessons, sweep specs).
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
/// `at_ms:`, `agents.groups[i]` the i-th group's `name:`, `routing.max_hops` the `max_hops:`
/// after `routing:`. Returns 1-based line and
/// column, or `None` when the text does not show the spot (e.g. a default value).
fn locate(text: &str, message: &str) -> Option<(usize, usize)> {
    let path = message.split([':', ' ']).next()?;
    let (section, index, key) = if let Some((name, rest)) = path.split_once('[') {
        let index: usize = rest.split(']').next()?.parse().ok()?;
        let (section, key) = match name {
            "nodes" => ("nodes", "alias:"),
            "channels" => ("channels", "scid:"),
            "timeline" => ("timeline", "at_ms:"),
            "agents.groups" => ("agents", "name:"),
            _ => return None,
        };
        (section, index, key)
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
    scene.sim.validate()?;
    scene.routing.validate()?;
    if let Some(l402) = &scene.l402 {
        l402.validate(scene.nodes.len())?;
    }
    if let Some(agents) = &scene.agents {
        agents.validate(scene.nodes.len())?;
    }
    // Entries apply in time order (ties in file order); nodes added by earlier entries
    // exist for later ones.
    let mut order: Vec<usize> = (0..scene.timeline.len()).collect();
    order.sort_by_key(|&i| (scene.timeline[i].at_ms, i));
    let mut nodes = n;
    for i in order {
        let t = &scene.timeline[i];
        t.validate(nodes)
            .map_err(|e| format!("timeline[{i}] {e}"))?;
        if matches!(t.command, crate::sim::command::Command::AddNode { .. }) {
            nodes += 1;
        }
    }
    Ok(())
}

/// A RON syntax error as `path:line:column: message` (scenes, lessons, sweep specs).
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

        // Route credit sums rewards along the route: only for the welfare reward.
        let route = classroom().replace("rollout_steps: 256", "rollout_steps: 256, credit: Route");
        let e = error(&route);
        assert!(
            e.contains("credit: Route needs agents.rewards.mode: Welfare"),
            "{e}"
        );
        let line = route
            .lines()
            .position(|l| l.contains("name: \"hubs\""))
            .unwrap()
            + 1;
        assert!(e.starts_with(&format!("s.ron:{line}:")), "{e}");
        parse(
            &route.replace("rewards: (fee: 1.0", "rewards: (mode: Welfare, fee: 1.0"),
            Path::new("s.ron"),
        )
        .unwrap();
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
}
