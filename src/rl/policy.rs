//! A routing policy as agents use it: the network, its observation normaliser, batched
//! inference with masking, sampling (training) or arg-max (evaluation), and checkpoints.
//!
//! Checkpoint = `NAME.safetensors` (weights, PyTorch-compatible layout) plus
//! `NAME.safetensors.ron` (feature spec, hyperparameters, normaliser, training step, scene).
//! Both are written atomically. Loading checks the feature spec and the network shape.
//! Adam's moments are not saved (dfdx does not expose them): a resumed run restarts the
//! optimiser's moments.

use super::config::PpoConfig;
use super::features::{Candidate, FEATURE_SPEC, FEATURES};
use super::net::{self, Batch, HIDDEN, Net};
use super::normalize::RunningMeanStd;
use dfdx::prelude::*;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The sidecar stored next to the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    pub feature_spec: String,
    pub hidden: usize,
    pub ppo: PpoConfig,
    pub obs_norm: RunningMeanStd,
    pub step: u64,
    pub scene: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Mismatch { path: PathBuf, message: String },
}

pub struct Policy {
    pub dev: Cpu,
    pub net: Net,
    pub obs_norm: RunningMeanStd,
}

/// One decision's inference result.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub action: usize,
    pub log_prob: f32,
    pub value: f32,
    /// Probability of every candidate (for the lab's inspector).
    pub probabilities: Vec<f32>,
}

impl Policy {
    pub fn new(seed: u64) -> Self {
        let dev = Cpu::seed_from_u64(seed);
        let net = net::build(&dev, seed);
        Policy {
            dev,
            net,
            obs_norm: RunningMeanStd::new(FEATURES),
        }
    }

    /// Normalised feature block for a decision's candidates.
    pub fn observe(&self, candidates: &[Candidate]) -> Vec<f32> {
        let mut x = Vec::with_capacity(candidates.len() * FEATURES);
        for c in candidates {
            let mut row = c.row;
            self.obs_norm.normalise(&mut row);
            x.extend_from_slice(&row);
        }
        x
    }

    /// Run a batch of decisions (each a normalised block of `k_i` rows) and pick one
    /// candidate each: sampled when `rng` is given, the most likely otherwise.
    pub fn decide(
        &self,
        blocks: &[(&[f32], usize)],
        mut rng: Option<&mut impl Rng>,
    ) -> Vec<Choice> {
        let b = blocks.len();
        let k = blocks.iter().map(|(_, k)| *k).max().unwrap_or(1).max(1);
        let mut batch = Batch {
            b,
            k,
            x: vec![0.0; b * k * FEATURES],
            mask: vec![0.0; b * k],
        };
        for (i, (x, ki)) in blocks.iter().enumerate() {
            batch.x[i * k * FEATURES..i * k * FEATURES + x.len()].copy_from_slice(x);
            batch.mask[i * k..i * k + ki]
                .iter_mut()
                .for_each(|m| *m = 1.0);
        }
        let (log_probs, values) = net::infer(&self.net, &self.dev, &batch);
        blocks
            .iter()
            .enumerate()
            .map(|(i, (_, ki))| {
                let row = &log_probs[i * k..i * k + ki];
                let probabilities: Vec<f32> = row.iter().map(|l| l.exp()).collect();
                let action = match rng.as_deref_mut() {
                    Some(rng) => sample(&probabilities, rng),
                    None => argmax(row),
                };
                Choice {
                    action,
                    log_prob: row[action],
                    value: values[i],
                    probabilities,
                }
            })
            .collect()
    }

    /// Save weights and sidecar atomically.
    pub fn save(
        &self,
        path: &Path,
        ppo: &PpoConfig,
        step: u64,
        scene: &str,
    ) -> Result<(), CheckpointError> {
        let io = |message: String| CheckpointError::Io {
            path: path.to_owned(),
            message,
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".lnlab-ckpt")
            .suffix(".safetensors")
            .tempfile_in(dir)
            .map_err(|e| io(format!("cannot create a temporary file: {e}")))?;
        self.net
            .save_safetensors(tmp.path())
            .map_err(|e| io(format!("cannot write weights: {e}")))?;
        let sidecar = Sidecar {
            feature_spec: FEATURE_SPEC.to_string(),
            hidden: HIDDEN,
            ppo: ppo.clone(),
            obs_norm: self.obs_norm.clone(),
            step,
            scene: scene.to_string(),
        };
        let text = ron::ser::to_string_pretty(&sidecar, ron::ser::PrettyConfig::default())
            .map_err(|e| io(format!("cannot serialise the sidecar: {e}")))?;
        tmp.persist(path)
            .map_err(|e| io(format!("cannot write weights: {}", e.error)))?;
        crate::files::write_atomically(&sidecar_path(path), text.as_bytes())
            .map_err(|e| io(format!("cannot write the sidecar: {e}")))?;
        Ok(())
    }

    /// Load a checkpoint, refusing one whose features or shape do not match this build.
    pub fn load(path: &Path, seed: u64) -> Result<(Policy, Sidecar), CheckpointError> {
        let side = sidecar_path(path);
        let io = |p: &Path, message: String| CheckpointError::Io {
            path: p.to_owned(),
            message,
        };
        let text =
            std::fs::read_to_string(&side).map_err(|e| io(&side, format!("cannot read: {e}")))?;
        let sidecar: Sidecar = ron::from_str(&text)
            .map_err(|e| io(&side, format!("not a checkpoint sidecar: {e}")))?;
        if sidecar.feature_spec != FEATURE_SPEC || sidecar.obs_norm.mean.len() != FEATURES {
            return Err(CheckpointError::Mismatch {
                path: side,
                message: format!(
                    "was trained on features `{}`, this lnlab computes `{FEATURE_SPEC}`",
                    sidecar.feature_spec
                ),
            });
        }
        if sidecar.hidden != HIDDEN {
            return Err(CheckpointError::Mismatch {
                path: side,
                message: format!(
                    "hidden size {} does not match this build's {HIDDEN}",
                    sidecar.hidden
                ),
            });
        }
        let mut policy = Policy::new(seed);
        policy
            .net
            .load_safetensors(path)
            .map_err(|e| io(path, format!("cannot load weights: {e:?}")))?;
        policy.obs_norm = sidecar.obs_norm.clone();
        Ok((policy, sidecar))
    }
}

/// Where one agent group's checkpoint goes beside `beside` (a checkpoint or scene path):
/// `STEM-GROUP.safetensors` in the same folder. Group names come from scenes, so they are
/// kept to characters safe in a file name (others become `_`).
pub fn group_checkpoint_path(beside: &Path, group: &str) -> PathBuf {
    let stem = beside
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "agent".into());
    let safe: String = group
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    beside.with_file_name(format!("{stem}-{safe}.safetensors"))
}

pub fn sidecar_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".ron");
    PathBuf::from(s)
}

fn argmax(row: &[f32]) -> usize {
    (0..row.len())
        .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)))
        .unwrap_or(0)
}

/// Sample an index from probabilities (which sum to about 1).
fn sample(probabilities: &[f32], rng: &mut impl Rng) -> usize {
    let total: f32 = probabilities.iter().sum();
    let mut u = rng.random::<f32>() * total;
    for (i, p) in probabilities.iter().enumerate() {
        if u < *p {
            return i;
        }
        u -= p;
    }
    probabilities.len().saturating_sub(1)
}

#[cfg(test)]
mod path_tests {
    use super::group_checkpoint_path;
    use std::path::Path;

    #[test]
    fn group_checkpoints_sit_beside_and_keep_to_safe_names() {
        let p = group_checkpoint_path(Path::new("runs/hubs.ron"), "north/south hub");
        assert_eq!(p, Path::new("runs/hubs-north_south_hub.safetensors"));
        let p = group_checkpoint_path(Path::new("agent.safetensors"), "routers");
        assert_eq!(p, Path::new("agent-routers.safetensors"));
    }
}
