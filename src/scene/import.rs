//! Importing a real network from `lncli describegraph` JSON into a [`Scene`]. This file owns
//! the JSON schema (as serde structs that ignore unknown fields and accept 64-bit values as
//! strings or numbers), the rules for what is kept, skipped or marked unusable, and the
//! [`ImportSummary`] that reports those decisions. Syntax and type errors carry the file,
//! line and column; questionable channels are skipped and counted, never fatal.

use super::{Scene, SceneChannel, SceneNode};
use crate::network::channel::{ChannelPolicy, DEFAULT_MAX_ACCEPTED_HTLCS};
use crate::network::ids::ShortChannelId;
use crate::network::node::{PubKey, Role};
use crate::rng::stream;
use serde::Deserialize;
use serde::de::{self, Deserializer, Unexpected, Visitor};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::Path;

/// Above this proportional fee a direction counts as announcing an absurd fee.
pub const ABSURD_FEE_RATE_PPM: u64 = 100_000;
/// Above this base fee a direction counts as announcing an absurd fee.
pub const ABSURD_FEE_BASE_MSAT: u64 = 100_000_000;

/// Why a channel was skipped.
pub mod skip_reason {
    pub const UNKNOWN_NODE1: &str = "node1_pub is not in nodes";
    pub const UNKNOWN_NODE2: &str = "node2_pub is not in nodes";
    pub const SELF_LOOP: &str = "node1_pub and node2_pub are the same node";
    pub const ZERO_CAPACITY: &str = "zero capacity";
    pub const CAPACITY_TOO_LARGE: &str = "capacity above 21M BTC";
    pub const DUPLICATE_ID: &str = "duplicate channel_id";
}

/// Why a channel direction cannot carry payments.
pub mod unusable_reason {
    pub const NULL_POLICY: &str = "null policy";
    pub const DISABLED: &str = "disabled";
    pub const MIN_ABOVE_MAX: &str = "min_htlc above max_htlc_msat";
    pub const CLTV_OUT_OF_RANGE: &str = "time_lock_delta above 65535";
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: cannot read: {reason}")]
    Read {
        path: String,
        reason: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

/// What the importer kept, skipped and flagged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub nodes: usize,
    pub channels: usize,
    /// `(channel_id as in the JSON, reason)` for every channel left out of the scene.
    pub skipped_channels: Vec<(String, String)>,
    /// Directions of kept channels that cannot forward, counted by reason. A direction
    /// whose policy was dropped (`null`, min above max, CLTV out of range) has no policy in
    /// the scene; a disabled one keeps its policy with `disabled: true`.
    pub unusable_directions: BTreeMap<String, usize>,
    /// Usable directions announcing a fee rate above 100,000 ppm or a base fee above
    /// 100,000,000 msat. Their policies are kept exactly as announced; routers price them out.
    pub absurd_fee_directions: usize,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "imported {} nodes and {} channels",
            self.nodes, self.channels
        )?;
        if !self.skipped_channels.is_empty() {
            let mut by_reason: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
            for (id, reason) in &self.skipped_channels {
                by_reason
                    .entry(reason.as_str())
                    .or_insert((0, id.as_str()))
                    .0 += 1;
            }
            writeln!(f, "skipped {} channels:", self.skipped_channels.len())?;
            for (reason, (count, example)) in by_reason {
                writeln!(f, "  {reason}: {count} (e.g. channel {example})")?;
            }
        }
        let unusable: usize = self.unusable_directions.values().sum();
        if unusable > 0 {
            let parts: Vec<String> = self
                .unusable_directions
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            writeln!(f, "unusable directions: {unusable} ({})", parts.join(", "))?;
        }
        write!(
            f,
            "directions with absurd fees: {} (kept as announced)",
            self.absurd_fee_directions
        )
    }
}

#[derive(Deserialize)]
struct JsonGraph {
    nodes: Vec<JsonNode>,
    #[serde(default)]
    edges: Vec<JsonEdge>,
}

#[derive(Deserialize)]
struct JsonNode {
    pub_key: PubKey,
    #[serde(default)]
    alias: String,
}

#[derive(Deserialize)]
struct JsonEdge {
    #[serde(deserialize_with = "u64_from_string_or_number")]
    channel_id: u64,
    node1_pub: String,
    node2_pub: String,
    #[serde(deserialize_with = "u64_from_string_or_number")]
    capacity: u64,
    #[serde(default)]
    node1_policy: Option<JsonPolicy>,
    #[serde(default)]
    node2_policy: Option<JsonPolicy>,
}

#[derive(Deserialize)]
struct JsonPolicy {
    #[serde(deserialize_with = "u64_from_string_or_number")]
    time_lock_delta: u64,
    #[serde(deserialize_with = "u64_from_string_or_number")]
    min_htlc: u64,
    #[serde(deserialize_with = "u64_from_string_or_number")]
    fee_base_msat: u64,
    #[serde(deserialize_with = "u64_from_string_or_number")]
    fee_rate_milli_msat: u64,
    #[serde(default)]
    disabled: bool,
    #[serde(default, deserialize_with = "u64_from_string_or_number")]
    max_htlc_msat: u64,
}

/// lnd writes 64-bit integers as JSON strings; accept those and plain numbers.
fn u64_from_string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    struct U64Visitor;
    impl Visitor<'_> for U64Visitor {
        type Value = u64;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an unsigned 64-bit integer (as a number or a string)")
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Signed(v), &self))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            v.trim()
                .parse()
                .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
        }
    }
    d.deserialize_any(U64Visitor)
}

/// Import a `describegraph` JSON file. The scene is named after the file stem.
pub fn import_describegraph(path: &Path) -> Result<(Scene, ImportSummary), ImportError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|reason| ImportError::Read {
        path: name.clone(),
        reason,
    })?;
    let graph: JsonGraph = serde_json::from_slice(&bytes).map_err(|e| syntax_error(&name, &e))?;
    convert(graph, &name)
}

/// Import `describegraph` JSON text; `source_name` names it in messages and the scene.
pub fn import_describegraph_str(
    text: &str,
    source_name: &str,
) -> Result<(Scene, ImportSummary), ImportError> {
    let graph: JsonGraph = serde_json::from_str(text).map_err(|e| syntax_error(source_name, &e))?;
    convert(graph, source_name)
}

fn syntax_error(path: &str, e: &serde_json::Error) -> ImportError {
    // serde_json appends " at line L column C"; the location goes in front instead.
    let full = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = full.strip_suffix(&suffix).unwrap_or(&full).to_string();
    ImportError::Syntax {
        path: path.to_string(),
        line: e.line(),
        column: e.column(),
        message,
    }
}

fn convert(graph: JsonGraph, source_name: &str) -> Result<(Scene, ImportSummary), ImportError> {
    let invalid = |message: String| ImportError::Invalid {
        path: source_name.to_string(),
        message,
    };
    if graph.nodes.is_empty() {
        return Err(invalid("the graph has no nodes".into()));
    }
    let mut index: HashMap<PubKey, u32> = HashMap::with_capacity(graph.nodes.len());
    let mut nodes = Vec::with_capacity(graph.nodes.len());
    for (i, node) in graph.nodes.into_iter().enumerate() {
        if let Some(first) = index.insert(node.pub_key, i as u32) {
            return Err(invalid(format!(
                "nodes[{i}]: pub_key {} already appears at nodes[{first}]",
                node.pub_key
            )));
        }
        let alias = if node.alias.trim().is_empty() {
            node.pub_key.to_string()[..8].to_string()
        } else {
            node.alias
        };
        nodes.push(SceneNode {
            alias,
            pubkey: Some(node.pub_key),
            role: Role::Router,
            pos: None,
            processing_delay: None,
        });
    }

    let mut summary = ImportSummary {
        nodes: nodes.len(),
        ..Default::default()
    };
    let mut channels = Vec::with_capacity(graph.edges.len());
    let mut seen_ids: HashSet<u64> = HashSet::with_capacity(graph.edges.len());
    let lookup = |key: &str| {
        key.parse::<PubKey>()
            .ok()
            .and_then(|k| index.get(&k).copied())
    };
    for edge in graph.edges {
        let skip = match (lookup(&edge.node1_pub), lookup(&edge.node2_pub)) {
            (None, _) => Some(skip_reason::UNKNOWN_NODE1),
            (_, None) => Some(skip_reason::UNKNOWN_NODE2),
            (Some(a), Some(b)) if a == b => Some(skip_reason::SELF_LOOP),
            _ if edge.capacity == 0 => Some(skip_reason::ZERO_CAPACITY),
            _ if edge.capacity > crate::limits::MAX_CAPACITY_SAT => {
                Some(skip_reason::CAPACITY_TOO_LARGE)
            }
            _ if seen_ids.contains(&edge.channel_id) => Some(skip_reason::DUPLICATE_ID),
            (Some(a), Some(b)) => {
                seen_ids.insert(edge.channel_id);
                let capacity_sat = edge.capacity;
                let node1_policy = convert_policy(edge.node1_policy, capacity_sat, &mut summary);
                let node2_policy = convert_policy(edge.node2_policy, capacity_sat, &mut summary);
                channels.push(SceneChannel {
                    scid: ShortChannelId(edge.channel_id),
                    node1: a,
                    node2: b,
                    capacity_sat,
                    node1_balance_msat: None,
                    node1_policy,
                    node2_policy,
                });
                None
            }
        };
        if let Some(reason) = skip {
            summary
                .skipped_channels
                .push((edge.channel_id.to_string(), reason.to_string()));
        }
    }
    summary.channels = channels.len();

    let seed = 0;
    let edges: Vec<(u32, u32)> = channels.iter().map(|c| (c.node1, c.node2)).collect();
    let positions = crate::network::layout::force_directed(
        &vec![None; nodes.len()],
        &edges,
        seed ^ stream::LAYOUT,
    );
    for (node, pos) in nodes.iter_mut().zip(positions) {
        node.pos = Some(pos);
    }

    let path = Path::new(source_name);
    let file = path.file_name().map_or(source_name.to_string(), |f| {
        f.to_string_lossy().into_owned()
    });
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "imported".to_string());
    let description = format!(
        "Imported from {file}: {} nodes, {} channels",
        summary.nodes, summary.channels
    );
    let mut scene = Scene::new(name, description, seed, nodes, channels);
    // Real wallets split payments no single route can carry; imported scenes do too.
    scene.routing.mpp = Some((
        crate::routing::settings::DEFAULT_MAX_PARTS,
        crate::routing::settings::DEFAULT_MIN_PART_MSAT,
    ));
    Ok((scene, summary))
}

/// One direction's policy as the scene keeps it, counting why it is unusable if it is.
fn convert_policy(
    policy: Option<JsonPolicy>,
    capacity_sat: u64,
    summary: &mut ImportSummary,
) -> Option<ChannelPolicy> {
    let mut unusable = |reason: &str| {
        *summary
            .unusable_directions
            .entry(reason.to_string())
            .or_insert(0) += 1;
    };
    let Some(p) = policy else {
        unusable(unusable_reason::NULL_POLICY);
        return None;
    };
    let capacity_msat = capacity_sat * 1000;
    let htlc_maximum_msat = match p.max_htlc_msat {
        0 => capacity_msat,
        max => max.min(capacity_msat),
    };
    if p.min_htlc > htlc_maximum_msat {
        unusable(unusable_reason::MIN_ABOVE_MAX);
        return None;
    }
    let Ok(cltv_expiry_delta) = u16::try_from(p.time_lock_delta) else {
        unusable(unusable_reason::CLTV_OUT_OF_RANGE);
        return None;
    };
    if p.disabled {
        unusable(unusable_reason::DISABLED);
    } else if p.fee_rate_milli_msat > ABSURD_FEE_RATE_PPM || p.fee_base_msat > ABSURD_FEE_BASE_MSAT
    {
        summary.absurd_fee_directions += 1;
    }
    Some(ChannelPolicy {
        fee_base_msat: p.fee_base_msat,
        fee_rate_ppm: p.fee_rate_milli_msat,
        cltv_expiry_delta,
        htlc_minimum_msat: p.min_htlc,
        htlc_maximum_msat,
        disabled: p.disabled,
        max_accepted_htlcs: DEFAULT_MAX_ACCEPTED_HTLCS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LN_4: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ln/ln_4.json");
    const LN_10: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ln/ln_10.json");
    const LN_50: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ln/ln_50.json");

    const KEY_A: &str = "0341a7227fab90a8ec55fdccc5c3d2dbb407b0924f7ccbad2b594f5891ac4a1c9f";
    const KEY_B: &str = "03797da684da0b6de8a813f9d7ebb0412c5d7504619b3fa5255861b991a7f86960";
    const KEY_C: &str = "02c2fab8d99106ce621cae6d35aaddcc5a13f6ae9c65f2c9cf2adc6570dc08482d";

    fn import(path: &str) -> (Scene, ImportSummary) {
        import_describegraph(Path::new(path)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn policy_json(fee_rate: &str) -> String {
        format!(
            r#"{{"time_lock_delta": 40, "min_htlc": "1000", "fee_base_msat": "1000",
                "fee_rate_milli_msat": {fee_rate}, "disabled": false, "max_htlc_msat": "0",
                "last_update": 1, "custom_records": {{}}}}"#
        )
    }

    fn graph_json(edges: &[String]) -> String {
        format!(
            r##"{{"nodes": [{{"pub_key": "{KEY_A}", "alias": "a", "color": "#000000"}},
                          {{"pub_key": "{KEY_B}", "alias": ""}},
                          {{"pub_key": "{KEY_C}", "alias": "c", "features": {{"0": {{}}}}}}],
                "edges": [{}]}}"##,
            edges.join(",")
        )
    }

    fn edge_json(id: &str, n1: &str, n2: &str, capacity: &str, p1: &str, p2: &str) -> String {
        format!(
            r#"{{"channel_id": {id}, "chan_point": "x:0", "node1_pub": "{n1}",
                "node2_pub": "{n2}", "capacity": {capacity},
                "node1_policy": {p1}, "node2_policy": {p2}}}"#
        )
    }

    #[test]
    fn fixtures_have_the_documented_counts_and_validate() {
        for (path, nodes, channels) in [(LN_4, 4, 3), (LN_10, 10, 13), (LN_50, 50, 78)] {
            let (scene, summary) = import(path);
            assert_eq!(
                (scene.nodes.len(), scene.channels.len()),
                (nodes, channels),
                "{path}"
            );
            assert_eq!((summary.nodes, summary.channels), (nodes, channels));
            assert!(summary.skipped_channels.is_empty());
            crate::scene::io::validate(&scene).unwrap();
            assert!(
                scene
                    .nodes
                    .iter()
                    .all(|n| n.pos.is_some() && n.pubkey.is_some())
            );
            assert_eq!(scene.format_version, crate::scene::FORMAT_VERSION);
            assert!(
                scene
                    .description
                    .contains(&format!("{nodes} nodes, {channels} channels"))
            );
            // The imported scene builds into an engine network.
            crate::scene::build::build_network(&scene, 1).unwrap();
        }
        let (scene, summary) = import(LN_50);
        assert_eq!(scene.name, "ln_50");
        assert_eq!(
            summary.unusable_directions.get(unusable_reason::DISABLED),
            Some(&19)
        );
        assert_eq!(summary.absurd_fee_directions, 4);
        let text = summary.to_string();
        assert!(
            text.contains("50 nodes") && text.contains("absurd"),
            "{text}"
        );
        // Absurd fees are kept exactly as announced.
        let absurd = scene
            .channels
            .iter()
            .find(|c| c.scid.0 == 918488033557348353)
            .unwrap();
        let p = absurd.node1_policy.unwrap();
        assert_eq!(
            (p.fee_base_msat, p.fee_rate_ppm, p.disabled),
            (2147483647, 2147483647, false)
        );
    }

    #[test]
    fn known_channel_keeps_its_exact_policies() {
        let (scene, _) = import(LN_4);
        let c = scene
            .channels
            .iter()
            .find(|c| c.scid.0 == 911465452702334977)
            .unwrap();
        let key = |i: u32| scene.nodes[i as usize].pubkey.unwrap().to_string();
        assert_eq!(
            (key(c.node1), key(c.node2)),
            (KEY_A.to_string(), KEY_B.to_string())
        );
        assert_eq!(c.capacity_sat, 5_000_000);
        let p1 = c.node1_policy.unwrap();
        let p2 = c.node2_policy.unwrap();
        let values = |p: ChannelPolicy| {
            (
                p.cltv_expiry_delta,
                p.htlc_minimum_msat,
                p.fee_base_msat,
                p.fee_rate_ppm,
                p.htlc_maximum_msat,
            )
        };
        assert_eq!(values(p1), (40, 1000, 1000, 1, 4_950_000_000));
        assert_eq!(values(p2), (144, 3000, 1000, 542, 4_455_000_000));
        assert!(!p1.disabled && !p2.disabled);
        assert_eq!(p1.max_accepted_htlcs, DEFAULT_MAX_ACCEPTED_HTLCS);
        assert_eq!(scene.nodes[0].alias, "theblocklounge");
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let text = "{\n  \"nodes\": [\n    {\"pub_key\": \"02\" \"alias\": \"x\"}\n  ]\n}";
        let err = import_describegraph_str(text, "bad.json").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("bad.json:3:"), "{msg}");
        assert!(matches!(err, ImportError::Syntax { line: 3, column, .. } if column > 0));
        assert!(!msg.contains('\n'));
        // A bad public key names the offending value and where it is.
        let text = "{\"nodes\": [\n{\"pub_key\": \"04zz\"}], \"edges\": []}";
        let msg = import_describegraph_str(text, "k.json")
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("k.json:2:") && msg.contains("04zz"),
            "{msg}"
        );
        let missing = import_describegraph(Path::new("/nonexistent/graph.json")).unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("/nonexistent/graph.json: cannot read")
        );
    }

    #[test]
    fn null_policies_numbers_and_unknown_nodes() {
        let p = policy_json("\"5\"");
        let edges = [
            // Null node2 policy, ids and capacity as plain numbers.
            edge_json("100", KEY_A, KEY_B, "2000", &p, "null"),
            // Names a node that is not in `nodes`.
            edge_json(
                "\"101\"",
                KEY_A,
                &KEY_C.replace("02c2", "02c3"),
                "\"1000\"",
                &p,
                &p,
            ),
            edge_json("\"102\"", KEY_A, KEY_A, "\"1000\"", &p, &p),
            edge_json("\"103\"", KEY_B, KEY_C, "\"0\"", &p, &p),
            edge_json("\"100\"", KEY_B, KEY_C, "\"1000\"", &p, &p),
            // Numeric fee rate that is absurd, and min_htlc above a tiny capacity.
            edge_json("104", KEY_B, KEY_C, "1", &policy_json("2147483647"), &p),
        ];
        let (scene, summary) = import_describegraph_str(&graph_json(&edges), "dir/t.json").unwrap();
        assert_eq!(scene.name, "t");
        assert_eq!(
            scene.description,
            "Imported from t.json: 3 nodes, 2 channels"
        );
        assert_eq!(scene.channels.len(), 2);
        let c = &scene.channels[0];
        assert_eq!((c.scid.0, c.capacity_sat), (100, 2000));
        assert_eq!(c.node2_policy, None);
        let p1 = c.node1_policy.unwrap();
        assert_eq!(p1.fee_rate_ppm, 5);
        assert_eq!(
            p1.htlc_maximum_msat, 2_000_000,
            "max_htlc 0 means the capacity"
        );
        let reasons: Vec<(&str, &str)> = summary
            .skipped_channels
            .iter()
            .map(|(i, r)| (i.as_str(), r.as_str()))
            .collect();
        assert_eq!(
            reasons,
            [
                ("101", skip_reason::UNKNOWN_NODE2),
                ("102", skip_reason::SELF_LOOP),
                ("103", skip_reason::ZERO_CAPACITY),
                ("100", skip_reason::DUPLICATE_ID),
            ]
        );
        assert_eq!(
            summary
                .unusable_directions
                .get(unusable_reason::NULL_POLICY),
            Some(&1)
        );
        // Channel 104: capacity 1 sat = 1000 msat, min_htlc 1000: node1 stays usable (absurd).
        assert_eq!(summary.absurd_fee_directions, 1);
        let c = &scene.channels[1];
        assert_eq!(c.node1_policy.unwrap().fee_rate_ppm, 2147483647);
        assert_eq!(c.node1_policy.unwrap().htlc_maximum_msat, 1000);
        assert_eq!(scene.nodes[1].alias, &KEY_B[..8]);
        crate::scene::io::validate(&scene).unwrap();
        assert!(summary.to_string().contains("duplicate channel_id: 1"));
    }

    #[test]
    fn clamps_max_htlc_and_drops_min_above_max() {
        let over = r#"{"time_lock_delta": 40, "min_htlc": "1", "fee_base_msat": "0",
            "fee_rate_milli_msat": "0", "max_htlc_msat": "999999999999"}"#;
        let inverted = r#"{"time_lock_delta": 40, "min_htlc": "5000", "fee_base_msat": "0",
            "fee_rate_milli_msat": "0", "disabled": true, "max_htlc_msat": "4000"}"#;
        let huge_cltv = r#"{"time_lock_delta": 70000, "min_htlc": "1", "fee_base_msat": "0",
            "fee_rate_milli_msat": "0"}"#;
        let edges = [
            edge_json("\"7\"", KEY_A, KEY_B, "\"10\"", over, inverted),
            edge_json("\"8\"", KEY_A, KEY_C, "\"10\"", huge_cltv, "null"),
        ];
        let (scene, summary) = import_describegraph_str(&graph_json(&edges), "x").unwrap();
        assert_eq!(
            scene.channels[0].node1_policy.unwrap().htlc_maximum_msat,
            10_000
        );
        assert_eq!(scene.channels[0].node2_policy, None);
        assert_eq!(scene.channels[1].node1_policy, None);
        let count = |r: &str| summary.unusable_directions.get(r).copied();
        assert_eq!(count(unusable_reason::MIN_ABOVE_MAX), Some(1));
        assert_eq!(count(unusable_reason::CLTV_OUT_OF_RANGE), Some(1));
        assert_eq!(count(unusable_reason::NULL_POLICY), Some(1));
        assert_eq!(count(unusable_reason::DISABLED), None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for text in [
            "",
            "[]",
            "{}",
            "null",
            "{\"nodes\": 5}",
            "{\"nodes\": []}",
            "{\"nodes\": [{}]}",
            "{\"nodes\": [{\"pub_key\": 5}]}",
            "{\"nodes\": [], \"edges\": [{\"channel_id\": -1}]}",
            "{\"nodes\": [], \"edges\": [{\"channel_id\": 1.5}]}",
            "{\"nodes\": [], \"edges\": [{\"channel_id\": \"18446744073709551616\"}]}",
            "\u{feff}{}",
            "{\"nodes\": [",
        ] {
            let err = import_describegraph_str(text, "g.json").unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.starts_with("g.json:") && !msg.contains('\n'),
                "{text:?}: {msg}"
            );
        }
        let dup = format!(
            r#"{{"nodes": [{{"pub_key": "{KEY_A}"}}, {{"pub_key": "{KEY_A}"}}], "edges": []}}"#
        );
        let msg = import_describegraph_str(&dup, "g.json")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("already appears"), "{msg}");
    }
}
