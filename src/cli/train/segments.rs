//! The plan of a training run: one segment on one scene, or several segments that each
//! redraw the world (the next scene of a list, or a freshly generated graph), so that one
//! checkpoint learns to route graphs it never saw. Each segment gets its own seed, which
//! redraws liquidity and workload; the agents' policy and optimiser carry over between
//! segments (see `Agents::carry_over`).

use crate::scene::Scene;
use crate::scene::generate::{GenerateParams, GraphModel, generate};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

/// Where segments come from.
pub enum Source {
    /// The scenes named on the command line, in turn.
    Scenes(Vec<(Scene, PathBuf)>),
    /// Graphs of `model` with a node count drawn from `nodes`, the template's channels
    /// per node, and the template's every other section (its timeline dropped: it names
    /// the template's own channels). One agent group holds every node.
    Generated {
        template: Box<Scene>,
        dir: PathBuf,
        nodes: RangeInclusive<usize>,
        model: GraphModel,
    },
}

/// One segment: a scene, where its checkpoint paths resolve from, a seed and a length.
pub struct Segment {
    pub scene: Scene,
    pub dir: PathBuf,
    pub seed: u64,
    pub payments: u64,
}

impl Source {
    /// Segment `index` of a run whose first seed is `seed`.
    pub fn segment(&self, index: u64, seed: u64, payments: u64) -> Result<Segment, String> {
        let seed = seed.wrapping_add(index);
        match self {
            Source::Scenes(scenes) => {
                let (scene, dir) = &scenes[(index % scenes.len() as u64) as usize];
                Ok(Segment {
                    scene: scene.clone(),
                    dir: dir.clone(),
                    seed,
                    payments,
                })
            }
            Source::Generated {
                template,
                dir,
                nodes,
                model,
            } => Ok(Segment {
                scene: generated(template, nodes, *model, seed)?,
                dir: dir.clone(),
                seed,
                payments,
            }),
        }
    }
}

/// A graph for one segment: drawn from `seed`, shaped and set up like `template`.
fn generated(
    template: &Scene,
    nodes: &RangeInclusive<usize>,
    model: GraphModel,
    seed: u64,
) -> Result<Scene, String> {
    let span = (nodes.end() - nodes.start()) as u64 + 1;
    // A node count spread over the range by the seed (SplitMix64's finaliser).
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    let n = nodes.start() + ((z ^ (z >> 31)) % span) as usize;
    let per_node = template.channels.len() as f64 / template.nodes.len().max(1) as f64;
    let channels = ((n as f64 * per_node).round() as usize).clamp(n - 1, n * (n - 1) / 2);
    let mut scene = generate(&GenerateParams {
        nodes: n,
        channels,
        model,
        seed,
    })?;
    scene.liquidity = template.liquidity;
    scene.workload = template.workload.clone();
    scene.routing = template.routing.clone();
    scene.sim = template.sim.clone();
    scene.agents = Some(
        template
            .agents
            .as_ref()
            .and_then(|a| a.at_every_node(n))
            .ok_or("the template has no agent group")?,
    );
    Ok(scene)
}

/// Parse `MIN-MAX` (or one number) as a node-count range for generated graphs.
pub fn parse_nodes(s: &str) -> Result<RangeInclusive<usize>, String> {
    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
    let parse = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| format!("`{s}` is not a node range like 100-400"))
    };
    let (lo, hi) = (parse(lo)?, parse(hi)?);
    if lo < 3 || hi < lo || hi > 100_000 {
        return Err(format!(
            "node range `{s}` must be MIN-MAX with 3 <= MIN <= MAX <= 100000"
        ));
    }
    Ok(lo..=hi)
}

/// The directory a scene's relative paths resolve from.
pub fn dir_of(path: &Path) -> PathBuf {
    path.parent().map(PathBuf::from).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ranges_parse_and_bad_ones_are_refused() {
        assert_eq!(parse_nodes("100-400"), Ok(100..=400));
        assert_eq!(parse_nodes("250"), Ok(250..=250));
        for bad in ["", "x-3", "400-100", "1-5", "10-"] {
            assert!(parse_nodes(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn generated_segments_redraw_the_graph_and_keep_the_template_set_up() {
        let template = crate::scene::parse(
            include_str!("../../../scenes/hubs.ron"),
            Path::new("hubs.ron"),
        )
        .unwrap();
        for model in [GraphModel::BarabasiAlbert, GraphModel::MainnetLike] {
            let source = Source::Generated {
                template: Box::new(template.clone()),
                dir: PathBuf::new(),
                nodes: 40..=80,
                model,
            };
            let a = source.segment(0, 5, 100).unwrap();
            let b = source.segment(1, 5, 100).unwrap();
            assert_ne!(a.scene.channels, b.scene.channels);
            assert_eq!((a.seed, b.seed), (5, 6));
            for s in [&a.scene, &b.scene] {
                assert!((40..=80).contains(&s.nodes.len()));
                assert_eq!(s.workload, template.workload);
                let groups = &s.agents.as_ref().unwrap().groups;
                assert_eq!(groups.len(), 1);
                assert_eq!(groups[0].nodes.len(), s.nodes.len(), "every node an agent");
                crate::scene::io::validate(s).unwrap();
                // Each model's shape: BA gives every node two channels or more; the
                // mainnet-like model hangs single-channel leaves off its core.
                let mut degree = vec![0; s.nodes.len()];
                for c in &s.channels {
                    degree[c.node1 as usize] += 1;
                    degree[c.node2 as usize] += 1;
                }
                let leaves = degree.iter().filter(|&&d| d == 1).count();
                match model {
                    GraphModel::MainnetLike => assert!(leaves * 5 > s.nodes.len(), "{leaves}"),
                    _ => assert_eq!(leaves, 0),
                }
            }
            // The same index and seed give the same graph.
            assert_eq!(source.segment(1, 5, 100).unwrap().scene, b.scene);
        }
    }
}
