//! The PPO checklist tests (the PPO implementation checklist): the ratio is exactly 1 on the first
//! minibatch and the policy moves afterwards, every parameter changes in an update,
//! masked candidates are never sampled, k equally likely candidates have entropy ln k,
//! the clipped surrogate's gradient is CleanRL's, and a checkpoint reloads to identical
//! outputs.

use super::config::PpoConfig;
use super::features::FEATURES;
use super::net::{self, Batch};
use super::policy::Policy;
use super::ppo::{Learner, Sample, Step, clipped_surrogate, gae};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A rollout collected with `policy` itself, so the stored log-probs are the policy's own.
fn rollout(policy: &Policy, n: usize, rng: &mut ChaCha8Rng) -> Vec<Sample> {
    let mut samples = Vec::new();
    while samples.len() < n {
        let len = rng.random_range(1..4);
        let mut steps = Vec::new();
        for _ in 0..len {
            let k = rng.random_range(1..7);
            let x: Vec<f32> = (0..k * FEATURES)
                .map(|_| rng.random_range(-2.0..2.0))
                .collect();
            let choice = policy.decide(&[(&x[..], k)], Some(&mut *rng)).remove(0);
            // Reward the first candidate, so there is something to learn.
            let reward = if choice.action == 0 { 1.0 } else { -1.0 };
            steps.push(Step {
                x,
                k,
                action: choice.action,
                teacher: 0,
                log_prob: choice.log_prob,
                value: choice.value,
                reward,
            });
        }
        samples.extend(gae(steps, 0.99, 0.95));
    }
    samples
}

#[test]
fn ratio_is_one_first_then_the_policy_moves_and_every_parameter_changes() {
    let policy = Policy::new(3);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let samples = rollout(&policy, 256, &mut rng);
    let before = net::parameters(&policy.net);
    let mut learner = Learner::new(PpoConfig::default(), policy.net.clone(), policy.dev.clone());
    let mut update = learner.begin_update(samples, &mut rng);
    while update.step(&mut learner) {}
    let stats = update.finish(&mut learner);
    assert!(
        stats.first_ratio_deviation < 1e-5,
        "ratio on the first minibatch: {}",
        stats.first_ratio_deviation
    );
    let approx_kl = stats.approx_kl;
    assert_eq!(stats.minibatches, 16);
    let after = net::parameters(&learner.net);
    assert_eq!(before.len(), after.len());
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert!(
            b.iter().zip(a).any(|(x, y)| x != y),
            "parameter tensor {i} did not change"
        );
    }
    assert!(approx_kl > 0.0, "approx KL after updating: {approx_kl}");
    assert!(
        stats.entropy.is_finite() && stats.value_loss.is_finite() && stats.policy_loss.is_finite()
    );
}

#[test]
fn masked_candidates_are_never_sampled() {
    let policy = Policy::new(5);
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for _ in 0..200 {
        let k = rng.random_range(1..5);
        let x: Vec<f32> = (0..k * FEATURES)
            .map(|_| rng.random_range(-3.0..3.0))
            .collect();
        let y: Vec<f32> = (0..7 * FEATURES)
            .map(|_| rng.random_range(-3.0..3.0))
            .collect();
        // Batched with a wider decision, this one is padded with masked rows.
        let choices = policy.decide(&[(&x[..], k), (&y[..], 7)], Some(&mut rng));
        assert!(choices[0].action < k);
        let total: f32 = choices[0].probabilities.iter().sum();
        assert!((total - 1.0).abs() < 1e-4, "{total}");
    }
}

#[test]
fn entropy_of_k_equally_likely_candidates_is_ln_k() {
    let mut policy = Policy::new(7);
    policy.net.0.4.weight.fill_with_zeros();
    let (b, k, valid) = (1, 8, 5);
    let mut batch = Batch {
        b,
        k,
        x: vec![0.3; b * k * FEATURES],
        mask: vec![0.0; b * k],
    };
    batch.mask[..valid].iter_mut().for_each(|m| *m = 1.0);
    let (log_probs, _) = net::infer(&policy.net, &policy.dev, &batch);
    let entropy: f32 = -log_probs.iter().map(|l| l.exp() * l).sum::<f32>();
    assert!((entropy - (valid as f32).ln()).abs() < 1e-5, "{entropy}");
}

#[test]
fn a_checkpoint_reloads_to_identical_outputs_and_rejects_other_features() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("agent.safetensors");
    let mut policy = Policy::new(11);
    policy.obs_norm.mean[2] = 0.25;
    policy
        .save(&path, &PpoConfig::default(), 42, "classroom")
        .unwrap();
    let (loaded, sidecar) = Policy::load(&path, 99).unwrap();
    assert_eq!(sidecar.step, 42);
    assert_eq!(loaded.obs_norm, policy.obs_norm);
    let x: Vec<f32> = (0..4 * FEATURES).map(|i| (i as f32 * 0.37).sin()).collect();
    let a = policy.decide(&[(&x[..], 4)], None::<&mut ChaCha8Rng>);
    let b = loaded.decide(&[(&x[..], 4)], None::<&mut ChaCha8Rng>);
    assert_eq!(a, b);

    let side = super::policy::sidecar_path(&path);
    let text = std::fs::read_to_string(&side)
        .unwrap()
        .replace("lnlab-features-v", "lnlab-features-old-v");
    std::fs::write(&side, text).unwrap();
    let err = Policy::load(&path, 1).err().expect("mismatch").to_string();
    assert!(err.contains("was trained on features"), "{err}");
}

/// The clipped surrogate's gradient with respect to the ratio is CleanRL's: the whole
/// `-adv / n` inside the clip range and on the pessimistic side outside it (where the
/// unclipped term is the larger), and 0 where clipping holds the ratio back.
#[test]
fn clipped_surrogate_gradient_is_cleanrls() {
    use dfdx::prelude::*;
    let dev = Cpu::default();
    // (ratio, advantage, expected d loss / d ratio * n)
    let cases = [
        (1.0, 1.0, -1.0), // in range
        (1.1, -2.0, 2.0), // in range
        (0.5, 1.0, -1.0), // below the range, pessimistic: unclipped
        (1.5, -1.0, 1.0), // above the range, pessimistic: unclipped
        (1.5, 1.0, 0.0),  // above the range, clipped
        (0.5, -1.0, 0.0), // below the range, clipped
    ];
    let n = cases.len() as f32;
    let ratio = dev.tensor_from_vec(cases.iter().map(|c| c.0).collect(), (cases.len(),));
    let adv = dev.tensor_from_vec(cases.iter().map(|c| c.1).collect(), (cases.len(),));
    let loss = clipped_surrogate(ratio.leaky_trace(), adv, 0.2);
    let grads = loss.backward();
    let got = grads.get(&ratio).as_vec();
    for (g, c) in got.iter().zip(&cases) {
        assert!(
            (g * n - c.2).abs() < 1e-6,
            "ratio {} adv {}: {}",
            c.0,
            c.1,
            g * n
        );
    }
}

/// The imitation term pulls the policy toward the rule's candidates: after one update on
/// the same rollout, a learner with it gives the rule's picks more probability than one
/// without, and reports the term.
#[test]
fn the_imitation_term_pulls_toward_the_rules_choice() {
    let policy = Policy::new(5);
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut samples = rollout(&policy, 256, &mut rng);
    // The rule picks each decision's last candidate.
    for s in &mut samples {
        s.step.teacher = s.step.k - 1;
    }
    let teacher_log_prob = |learner: &Learner| {
        let mut total = 0.0;
        for s in &samples {
            let batch = Batch {
                b: 1,
                k: s.step.k,
                x: s.step.x.clone(),
                mask: vec![1.0; s.step.k],
            };
            total += net::infer(&learner.net, &learner.dev, &batch).0[s.step.teacher];
        }
        total / samples.len() as f32
    };
    let train = |imitation_coef: f32| {
        // A large step, so that one update shows the pull.
        let config = PpoConfig {
            imitation_coef,
            learning_rate: 3e-3,
            ..PpoConfig::default()
        };
        let mut learner = Learner::new(config, policy.net.clone(), policy.dev.clone());
        let mut update = learner.begin_update(samples.clone(), &mut ChaCha8Rng::seed_from_u64(1));
        while update.step(&mut learner) {}
        let stats = update.finish(&mut learner);
        (teacher_log_prob(&learner), stats.imitation_loss)
    };
    let (plain, plain_term) = train(0.0);
    let (imitating, term) = train(5.0);
    assert_eq!(plain_term, 0.0);
    assert!(term > 0.0, "imitation term {term}");
    assert!(
        imitating > plain + 0.02,
        "mean log-probability of the rule's picks: {imitating} with the term, {plain} without"
    );
}

#[test]
fn an_escalating_fee_budget_starts_near_the_cheapest_route_and_grows_by_its_factor() {
    use super::config::FeeBudget;
    let (cheapest_msat, floor_msat) = (1_000, 10_000);
    assert_eq!(
        FeeBudget::Limit.attempt_budget_msat(Some(cheapest_msat), floor_msat, 1),
        None
    );
    let four = FeeBudget::Escalate(4.0);
    let budgets: Vec<_> = (1..=3)
        .map(|attempt| four.attempt_budget_msat(Some(cheapest_msat), floor_msat, attempt))
        .collect();
    // Twice the cheapest route and the floor, then four times that at each retry.
    assert_eq!(budgets, [Some(12_000), Some(48_000), Some(192_000)]);
    // With no route in view the attempt keeps the payment's limit.
    assert_eq!(four.attempt_budget_msat(None, floor_msat, 1), None);
    // Far retries saturate instead of wrapping round.
    assert_eq!(
        four.attempt_budget_msat(Some(u64::MAX / 2), floor_msat, 40),
        Some(u64::MAX)
    );
}

#[test]
fn the_fee_cap_is_its_share_of_the_amount_plus_the_floor_and_saturates() {
    let capped = |max_fee_ppm: u64| PpoConfig {
        max_fee_ppm: Some(max_fee_ppm),
        ..PpoConfig::default()
    };
    // 1% of 50,000 sat, plus a 10 sat floor.
    assert_eq!(
        capped(10_000).fee_cap_msat(50_000_000, 10_000),
        Some(510_000)
    );
    assert_eq!(capped(0).fee_cap_msat(50_000_000, 10_000), Some(10_000));
    assert_eq!(
        capped(u64::MAX).fee_cap_msat(u64::MAX, 10_000),
        Some(u64::MAX)
    );
    assert_eq!(PpoConfig::default().fee_cap_msat(50_000_000, 10_000), None);
    // A scene spells it as an option; a checkpoint without one reads as no cap.
    let config: PpoConfig = ron::from_str("(max_fee_ppm: Some(10000))").unwrap();
    assert_eq!(config.max_fee_ppm, Some(10_000));
    let config: PpoConfig = ron::from_str("()").unwrap();
    assert_eq!(config.max_fee_ppm, None);
    assert!(!ron::to_string(&config).unwrap().contains("max_fee_ppm"));
}

#[test]
fn a_fee_budget_factor_below_one_or_not_finite_is_refused() {
    use super::config::{AgentGroup, AgentsSection, FeeBudget};
    let section = |factor: f64| AgentsSection {
        groups: vec![AgentGroup {
            name: "senders".into(),
            nodes: vec![0, 1],
            ppo: PpoConfig {
                fee_budget: FeeBudget::Escalate(factor),
                ..PpoConfig::default()
            },
            checkpoint: None,
        }],
        rewards: Default::default(),
        continual: false,
    };
    assert!(section(1.0).validate(2).is_ok());
    assert!(section(4.0).validate(2).is_ok());
    for bad in [0.5, f64::NAN, f64::INFINITY] {
        let err = section(bad).validate(2).unwrap_err();
        assert!(
            err.contains("agents.groups[0] (senders)") && err.contains("Escalate"),
            "{err}"
        );
    }
}
