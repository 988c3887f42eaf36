//! Proximal Policy Optimization over completed trajectories, following CleanRL's ppo.py
//! line by line where the problem allows:
//! - a trajectory is the sequence of agent decisions along one payment attempt; rewards
//!   are delayed until the attempt resolves, so a trajectory enters the rollout only once
//!   it is complete, and GAE runs within it (no bootstrap: the last step is terminal);
//! - an update runs several epochs of shuffled minibatches over the rollout, with
//!   per-minibatch advantage normalisation, the clipped surrogate, a clipped value loss,
//!   an entropy bonus, Adam (eps 1e-5) with linear learning-rate annealing, and global
//!   gradient-norm clipping;
//! - invalid candidates are never in a row at all, and padding is masked with a finite
//!   -1e8 in both rollout and update.
//!
//! Credit assignment (see `agents` and `config::Credit`): by default every decision is its
//! own delayed one-step episode, so GAE reduces to `A = r - V(s)`; with route credit the
//! decisions along an attempt are one trajectory, each rewarded with its own part of the
//! welfare, and `gamma`/`gae_lambda` apply along it.
//!
//! An update is split into minibatch steps ([`Update::step`]) so that the lab can spread it
//! over frames; headless runs call it in a loop.
//!
//! Trajectories that were in flight during an update complete later with the old policy's
//! log-probabilities; they join the next rollout and the ratio clip bounds their effect.

use super::config::PpoConfig;
use super::features::FEATURES;
use super::net::{self, Net};
use dfdx::optim::{Adam, AdamConfig};
use dfdx::prelude::*;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// One decision as recorded for learning.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// `k * FEATURES` normalised features of the valid candidates.
    pub x: Vec<f32>,
    pub k: usize,
    pub action: usize,
    /// The candidate the imitation rule picks ([`crate::rl::features::rule_choice`]).
    pub teacher: usize,
    pub log_prob: f32,
    pub value: f32,
    pub reward: f32,
}

/// A step with its advantage and return, ready for the update.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub step: Step,
    pub advantage: f32,
    pub ret: f32,
}

/// GAE over one complete trajectory (the last step is terminal).
pub fn gae(steps: Vec<Step>, gamma: f32, lambda: f32) -> Vec<Sample> {
    let n = steps.len();
    let mut advantages = vec![0f32; n];
    let mut last = 0f32;
    for t in (0..n).rev() {
        let next_value = if t + 1 < n { steps[t + 1].value } else { 0.0 };
        let non_terminal = if t + 1 < n { 1.0 } else { 0.0 };
        let delta = steps[t].reward + gamma * next_value * non_terminal - steps[t].value;
        last = delta + gamma * lambda * non_terminal * last;
        advantages[t] = last;
    }
    steps
        .into_iter()
        .zip(advantages)
        .map(|(step, advantage)| {
            let ret = advantage + step.value;
            Sample {
                step,
                advantage,
                ret,
            }
        })
        .collect()
}

/// What an update measured (CleanRL's logged losses and charts).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct UpdateStats {
    pub policy_loss: f32,
    pub value_loss: f32,
    pub entropy: f32,
    pub approx_kl: f32,
    pub clipfrac: f32,
    pub explained_variance: f32,
    pub learning_rate: f64,
    pub grad_norm: f32,
    /// Largest |ratio - 1| in the first minibatch (must be 0: same policy).
    pub first_ratio_deviation: f32,
    /// The imitation term (minus the rule's candidate's mean log-probability) of the last
    /// minibatch; 0 when it is off.
    pub imitation_loss: f32,
    pub minibatches: usize,
    /// Minibatch steps skipped for a non-finite gradient.
    pub skipped_steps: usize,
}

/// The learner: network, optimiser and progress.
pub struct Learner {
    pub dev: Cpu,
    pub net: Net,
    opt: Adam<Net, f32, Cpu>,
    pub config: PpoConfig,
    /// Updates done so far.
    pub updates: u64,
    /// How much of the run is done (0..=1); the learning rate anneals linearly to 0 by 1.
    pub progress: f64,
}

impl Learner {
    pub fn new(config: PpoConfig, net: Net, dev: Cpu) -> Self {
        let opt = Adam::new(
            &net,
            AdamConfig {
                lr: config.learning_rate,
                betas: [0.9, 0.999],
                eps: 1e-5,
                weight_decay: None,
            },
        );
        Learner {
            dev,
            net,
            opt,
            config,
            updates: 0,
            progress: 0.0,
        }
    }

    /// The imitation term's weight now: `imitation_coef`, fading linearly to 0 by half of
    /// the run.
    fn current_imitation_coef(&self) -> f32 {
        let left = (1.0 - 2.0 * self.progress.clamp(0.0, 1.0)).max(0.0);
        self.config.imitation_coef * left as f32
    }

    fn current_lr(&self) -> f64 {
        if !self.config.anneal_lr {
            return self.config.learning_rate;
        }
        self.config.learning_rate * (1.0 - self.progress.clamp(0.0, 1.0))
    }

    /// Start an update over `samples` (consumed by [`Update::step`]).
    pub fn begin_update(&mut self, samples: Vec<Sample>, rng: &mut ChaCha8Rng) -> Update {
        self.opt.cfg.lr = self.current_lr();
        let n = samples.len();
        let minibatch = n.div_ceil(self.config.num_minibatches.max(1)).max(1);
        let mut order = Vec::with_capacity(n * self.config.update_epochs);
        for _ in 0..self.config.update_epochs {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.shuffle(rng);
            order.push(idx);
        }
        Update {
            samples,
            order,
            minibatch,
            epoch: 0,
            offset: 0,
            stats: UpdateStats {
                learning_rate: self.opt.cfg.lr,
                ..Default::default()
            },
            kl_sum: 0.0,
            clip_sum: 0.0,
            stopped: false,
        }
    }

    /// One minibatch step; returns approx KL and clip fraction of the minibatch.
    fn minibatch_step(&mut self, samples: &[&Sample], stats: &mut UpdateStats) -> (f32, f32) {
        let c = &self.config;
        let b = samples.len();
        let k = samples.iter().map(|s| s.step.k).max().unwrap_or(1).max(1);
        let mut x = vec![0f32; b * k * FEATURES];
        let mut mask = vec![0f32; b * k];
        for (i, s) in samples.iter().enumerate() {
            x[i * k * FEATURES..i * k * FEATURES + s.step.x.len()].copy_from_slice(&s.step.x);
            mask[i * k..i * k + s.step.k]
                .iter_mut()
                .for_each(|m| *m = 1.0);
        }
        let mut adv: Vec<f32> = samples.iter().map(|s| s.advantage).collect();
        if c.norm_adv && b > 1 {
            let mean = adv.iter().sum::<f32>() / b as f32;
            let std = (adv.iter().map(|a| (a - mean).powi(2)).sum::<f32>() / (b - 1) as f32).sqrt();
            adv.iter_mut().for_each(|a| *a = (*a - mean) / (std + 1e-8));
        }
        let dev = &self.dev;
        let actions = dev.tensor_from_vec(samples.iter().map(|s| s.step.action).collect(), (b,));
        let old_logp = dev.tensor_from_vec(
            samples.iter().map(|s| s.step.log_prob).collect::<Vec<_>>(),
            (b,),
        );
        let old_v = dev.tensor_from_vec(
            samples.iter().map(|s| s.step.value).collect::<Vec<_>>(),
            (b,),
        );
        let returns = dev.tensor_from_vec(samples.iter().map(|s| s.ret).collect::<Vec<_>>(), (b,));
        let adv = dev.tensor_from_vec(adv, (b,));
        let mask = dev.tensor_from_vec(mask, (b, k));
        let x = dev.tensor_from_vec(x, (b * k, Const::<FEATURES>));

        let grads = self.net.alloc_grads();
        let (log_probs, values) = net::forward(
            &self.net,
            x.clone().traced(grads),
            x.retaped::<OwnedTape<f32, Cpu>>(),
            &mask,
            b,
            k,
        );
        // Entropy over the candidates: -(p * log p), masked rows contribute 0.
        let entropy = (log_probs.with_empty_tape().exp() * log_probs.with_empty_tape())
            .sum::<(usize,), Axis<1>>()
            .negate()
            .mean::<Rank0, _>();
        // The imitation term's own copy of the log-probabilities (an owned tape, merged
        // into the loss like the entropy's).
        let imitation_coef = self.current_imitation_coef();
        let imitation = (imitation_coef > 0.0).then(|| {
            let teachers =
                dev.tensor_from_vec(samples.iter().map(|s| s.step.teacher).collect(), (b,));
            log_probs
                .with_empty_tape()
                .select(teachers)
                .mean::<Rank0, _>()
                .negate()
        });
        let new_logp = log_probs.select(actions);
        let log_ratio = new_logp - old_logp;
        // Diagnostics from values (no gradient).
        let lr_host = log_ratio.as_vec();
        // `exp` consumes `log_ratio`, whose tape holds the whole actor: it must flow on into
        // the loss (a side copy here would silently drop the actor's gradients).
        let ratio = log_ratio.exp();
        let ratio_host: Vec<f32> = lr_host.iter().map(|l| l.exp()).collect();
        let approx_kl = ratio_host
            .iter()
            .zip(&lr_host)
            .map(|(r, l)| (r - 1.0) - l)
            .sum::<f32>()
            / b as f32;
        let clipfrac = ratio_host
            .iter()
            .filter(|r| (*r - 1.0).abs() > c.clip_coef)
            .count() as f32
            / b as f32;
        if stats.minibatches == 0 {
            stats.first_ratio_deviation = ratio_host
                .iter()
                .map(|r| (r - 1.0).abs())
                .fold(0.0, f32::max);
        }
        let pg_loss = clipped_surrogate(ratio, adv, c.clip_coef);
        let v_loss = if c.clip_vloss {
            let unclipped = (values.with_empty_tape() - returns.clone()).square();
            let clipped = ((values - old_v.clone()).clamp(-c.clip_coef, c.clip_coef) + old_v
                - returns)
                .square();
            unclipped.maximum(clipped).mean::<Rank0, _>() * 0.5
        } else {
            (values - returns).square().mean::<Rank0, _>() * 0.5
        };
        stats.policy_loss = pg_loss.array();
        stats.value_loss = v_loss.array();
        stats.entropy = entropy.array();
        let mut loss = pg_loss - entropy * c.ent_coef + v_loss * c.vf_coef;
        if let Some(imitation) = imitation {
            stats.imitation_loss = imitation.array();
            loss = loss + imitation * imitation_coef;
        }
        let mut grads = loss.backward();
        stats.grad_norm = net::clip_grad_norm(&self.net, &mut grads, c.max_grad_norm);
        if !stats.grad_norm.is_finite() {
            // A NaN or infinite gradient would poison every weight: skip this step.
            stats.skipped_steps += 1;
            stats.minibatches += 1;
            return (approx_kl, clipfrac);
        }
        self.opt
            .update(&mut self.net, &grads)
            .expect("every parameter has a gradient");
        stats.minibatches += 1;
        (approx_kl, clipfrac)
    }
}

/// PPO's clipped surrogate loss, `mean(max(-ratio * adv, -clip(ratio) * adv))`, with the
/// gradient flowing through both terms as in CleanRL: the unclipped term carries it where
/// it is the larger (the pessimistic side), the clipped one nowhere outside the range, and
/// inside it `maximum` splits the tie between two equal gradients. The unclipped term's
/// copy keeps a tape of its own (`with_empty_tape` is still an owned tape), which
/// `maximum` merges with the clipped term's.
pub fn clipped_surrogate<T: Tape<f32, Cpu> + Merge<T>>(
    ratio: Tensor<(usize,), f32, Cpu, T>,
    adv: Tensor<(usize,), f32, Cpu>,
    clip_coef: f32,
) -> Tensor<Rank0, f32, Cpu, T> {
    let unclipped = ratio.with_empty_tape() * adv.clone().negate();
    let clipped = ratio.clamp(1.0 - clip_coef, 1.0 + clip_coef) * adv.negate();
    unclipped.maximum(clipped).mean::<Rank0, _>()
}

/// An update in progress, advanced one minibatch at a time.
pub struct Update {
    samples: Vec<Sample>,
    order: Vec<Vec<usize>>,
    minibatch: usize,
    epoch: usize,
    offset: usize,
    stats: UpdateStats,
    kl_sum: f32,
    clip_sum: f32,
    stopped: bool,
}

impl Update {
    pub fn is_done(&self) -> bool {
        self.stopped || self.epoch >= self.order.len() || self.samples.is_empty()
    }

    /// Run one minibatch. Returns true while more remain.
    pub fn step(&mut self, learner: &mut Learner) -> bool {
        if self.is_done() {
            return false;
        }
        let idx = &self.order[self.epoch];
        let end = (self.offset + self.minibatch).min(idx.len());
        let batch: Vec<&Sample> = idx[self.offset..end]
            .iter()
            .map(|&i| &self.samples[i])
            .collect();
        let (kl, clip) = learner.minibatch_step(&batch, &mut self.stats);
        self.kl_sum += kl;
        self.clip_sum += clip;
        self.stats.approx_kl = kl;
        self.offset = end;
        if self.offset >= idx.len() {
            self.offset = 0;
            self.epoch += 1;
            if learner.config.target_kl.is_some_and(|t| kl > t) {
                self.stopped = true;
            }
        }
        !self.is_done()
    }

    /// Finish: fill in the whole-update statistics and count the update.
    pub fn finish(mut self, learner: &mut Learner) -> UpdateStats {
        let n = self.stats.minibatches.max(1) as f32;
        self.stats.clipfrac = self.clip_sum / n;
        // Explained variance of the values the rollout was collected with.
        let y: Vec<f32> = self.samples.iter().map(|s| s.ret).collect();
        let pred: Vec<f32> = self.samples.iter().map(|s| s.step.value).collect();
        self.stats.explained_variance = explained_variance(&pred, &y);
        learner.updates += 1;
        self.stats
    }
}

/// `1 - Var(y - pred) / Var(y)` (NaN-free: 0 when y is constant).
pub fn explained_variance(pred: &[f32], y: &[f32]) -> f32 {
    let n = y.len().max(1) as f32;
    let var = |v: &mut dyn Iterator<Item = f32>| {
        let xs: Vec<f32> = v.collect();
        let m = xs.iter().sum::<f32>() / n;
        xs.iter().map(|x| (x - m).powi(2)).sum::<f32>() / n
    };
    let var_y = var(&mut y.iter().copied());
    if var_y <= 1e-12 {
        return 0.0;
    }
    1.0 - var(&mut y.iter().zip(pred).map(|(a, b)| a - b)) / var_y
}
