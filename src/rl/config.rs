//! Every PPO hyperparameter in one documented struct (CleanRL's names and defaults, with
//! the ones this problem needs), the reward weights, and the scene's `agents` section.

use serde::{Deserialize, Serialize};

/// PPO hyperparameters. A scene's agent group may override any of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PpoConfig {
    /// Adam learning rate at the start (CleanRL: 2.5e-4).
    pub learning_rate: f64,
    /// Anneal the learning rate linearly to 0 over the run.
    pub anneal_lr: bool,
    /// Completed decisions per rollout before an update.
    pub rollout_steps: usize,
    /// Discount per hop.
    pub gamma: f32,
    /// GAE lambda.
    pub gae_lambda: f32,
    /// Minibatches per epoch.
    pub num_minibatches: usize,
    /// Passes over the rollout per update.
    pub update_epochs: usize,
    /// Normalise advantages within each minibatch.
    pub norm_adv: bool,
    /// Surrogate clipping coefficient.
    pub clip_coef: f32,
    /// Clip the value loss around the old values too.
    pub clip_vloss: bool,
    /// Entropy bonus coefficient.
    pub ent_coef: f32,
    /// Value loss coefficient.
    pub vf_coef: f32,
    /// Global gradient-norm clip.
    pub max_grad_norm: f32,
    /// Stop an update's epochs early once approx KL exceeds this (None: never).
    pub target_kl: Option<f32>,
    /// Candidates scored per decision at most (the cheapest onward ones when more).
    pub max_candidates: usize,
    /// Weight of an imitation term (as in DAgger: on the states the policy itself visits):
    /// minus the log-probability of the candidate a fixed rule picks (see
    /// `features::rule_choice`). It fades linearly to 0 by half of the run, so PPO alone
    /// shapes the second half. 0 (the default) trains on PPO's loss alone.
    #[serde(skip_serializing_if = "is_zero")]
    pub imitation_coef: f32,
    /// How an attempt's outcome is credited to the decisions along its route (see
    /// [`Credit`]).
    #[serde(skip_serializing_if = "Credit::is_default")]
    pub credit: Credit,
    /// How much an agent sender lets each attempt of its payments spend on fees (see
    /// [`FeeBudget`]).
    #[serde(skip_serializing_if = "FeeBudget::is_default")]
    pub fee_budget: FeeBudget,
    /// The most an agent sender lets any attempt spend on fees, in ppm of the amount, plus
    /// `routing.fee_limit_floor_msat`; never more than the payment's fee limit. `None`
    /// (the default): the payment's fee limit (`routing.fee_limit_ppm`, lncli's 5%, which
    /// the baselines keep). Wallets cap lower: LDK's default is 1% plus 50 sat, Core
    /// Lightning's `pay` 0.5%. No route dearer than the cap delivers, so the payments only
    /// such a route could deliver fail. Every agent on the way keeps to the capped budget
    /// as under `Escalate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_fee_ppm: Option<u64>,
    /// Local retries per attempt, in all (0, the default: none). A forwarding agent that
    /// takes a failure back from downstream decides again, over another channel than the
    /// one that failed, instead of failing the attempt back to the sender, while the
    /// attempt has had fewer local retries than this. Trampoline nodes retry their leg
    /// this way. A retry costs the time of the failed branch, and upstream HTLCs stay
    /// locked meanwhile; it is not a new attempt (reports count local retries apart).
    /// Under route credit, the decisions of a branch that failed back are credited in
    /// the order they were made, as steps of the attempt's one trajectory.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub local_retries: u32,
    /// The most hops an attempt of an agent sender may take beyond the cheapest route
    /// gossip shows it (over channels large enough for the amount). Each agent on the way,
    /// the sender too, then only considers peers from which gossip shows a way to the
    /// destination within the hops left, so retries, local ones above all, cannot wander
    /// the long ways round. `None` (the default): only the network's `routing.max_hops`.
    /// Without a route in view there is no such bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_extra_hops: Option<u32>,
}

impl PpoConfig {
    /// Whether an agent sender gives each attempt a budget of its own (an escalating
    /// budget, a cap, or both), which forwarding agents then keep to.
    pub fn budgets_attempts(&self) -> bool {
        self.fee_budget.escalates() || self.max_fee_ppm.is_some()
    }

    /// [`Self::max_fee_ppm`]'s cap on an attempt of `amount_msat`, with the fee limit's
    /// floor `floor_msat`: a share plus a base, the form of a BOLT 7 fee.
    pub fn fee_cap_msat(&self, amount_msat: u64, floor_msat: u64) -> Option<u64> {
        self.max_fee_ppm
            .map(|ppm| crate::network::channel::forwarding_fee_msat(floor_msat, ppm, amount_msat))
    }
}

/// How an agent sender budgets the fees of each attempt of a payment. An attempt routed
/// hop by hop carries its budget in the HTLC, each node taking its fee out of it, so the
/// budget bounds the route's fees and is locked, with the amount, on every hop.
///
/// - **`Limit`** (the default): every attempt may spend up to the payment's fee limit
///   (`routing.fee_limit_ppm`, 5% by default), as a source router's search is bounded.
/// - **`Escalate(factor)`**: the first attempt may spend twice the fees of the cheapest
///   route gossip shows from the sender (over channels of at least the amount's class),
///   plus the limit's floor (`routing.fee_limit_floor_msat`); each retry `factor` times
///   the one before, never past the limit. This is how trampoline wallets budget: cheap
///   routes are tried first, and dear ones only once the cheap ones have failed.
///
/// Under any budget (`Escalate`, or a cap from [`PpoConfig::max_fee_ppm`]), every agent on
/// the way only considers channels whose fee, plus the cheapest way on from the peer as
/// gossip shows it, the HTLC's budget can still pay; the sender keeps its channels when
/// none fits (see [`crate::rl::features::candidates`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum FeeBudget {
    #[default]
    Limit,
    Escalate(f64),
}

impl FeeBudget {
    fn is_default(&self) -> bool {
        !self.escalates()
    }

    /// Whether attempts get budgets of their own (and forwarding agents keep to them).
    pub fn escalates(self) -> bool {
        matches!(self, FeeBudget::Escalate(_))
    }

    /// The budget of attempt `attempt` (1 for the first) of a payment whose cheapest route
    /// gossip shows charges `cheapest_msat` (`None`: no such route), with the fee limit's
    /// floor `floor_msat`; `None` under `Limit`. The caller keeps it within the limit.
    pub fn attempt_budget_msat(
        self,
        cheapest_msat: Option<u64>,
        floor_msat: u64,
        attempt: u32,
    ) -> Option<u64> {
        let FeeBudget::Escalate(factor) = self else {
            return None;
        };
        // Without a route in view, the limit: whatever the attempt finds may cost.
        let cheapest_msat = cheapest_msat?;
        let first = 2.0 * cheapest_msat as f64 + floor_msat as f64;
        let budget = first * factor.powi(attempt.saturating_sub(1).min(64) as i32);
        // `as` saturates: a budget past u64's range is no budget at all.
        Some(budget as u64)
    }
}

/// How a payment attempt's outcome reaches the decisions that made it.
///
/// - **`Decision`** (the default): every decision is its own delayed one-step episode,
///   rewarded with the whole outcome its node gets, so its advantage is `r - V(s)`.
/// - **`Route`**: the decisions along one attempt form one trajectory, and GAE
///   (`gamma`, `gae_lambda`) runs along it. Each decision is rewarded with its own part
///   of the sender's welfare, the fee its node charges (as a cost) and, at the last
///   decision, the outcome and latency, so the parts sum to the attempt's welfare. A
///   decision's advantage is then mostly how much its choice changed the critic's value of
///   the payment, `r + gamma * V(s') - V(s)`, not the fate of choices made downstream.
///   Needs `rewards.mode: Welfare`: summing profits along a route pays for long routes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Credit {
    #[default]
    Decision,
    Route,
}

impl Credit {
    fn is_default(&self) -> bool {
        *self == Credit::Decision
    }
}

fn is_zero(x: &f32) -> bool {
    *x == 0.0
}

fn is_zero_u32(x: &u32) -> bool {
    *x == 0
}

impl Default for PpoConfig {
    fn default() -> Self {
        PpoConfig {
            learning_rate: 2.5e-4,
            anneal_lr: true,
            rollout_steps: 512,
            gamma: 0.99,
            gae_lambda: 0.95,
            num_minibatches: 4,
            update_epochs: 4,
            norm_adv: true,
            clip_coef: 0.2,
            clip_vloss: true,
            ent_coef: 0.01,
            vf_coef: 0.5,
            max_grad_norm: 0.5,
            target_kl: None,
            max_candidates: 32,
            imitation_coef: 0.0,
            credit: Credit::Decision,
            fee_budget: FeeBudget::Limit,
            max_fee_ppm: None,
            local_retries: 0,
            max_extra_hops: None,
        }
    }
}

/// Whose interest an agent's reward stands for.
///
/// - **`Profit`** (the default): the forwarding node's own take. Its fee, a success bonus
///   discounted by the hops still to go, a failure penalty and its own latency. Selfish
///   agents learn to pull traffic through themselves (hubs emerge) and to prefer their own
///   expensive channels; senders pay for it.
/// - **`Welfare`**: the payment's outcome as its sender sees it, credited alike to every
///   agent on the route. A successful attempt is worth `success` minus the route's total fees
///   (`fee` per 1,000 ppm of the amount) minus its end-to-end latency; a failed attempt costs
///   `failure` plus the time it wasted, since the sender must try again. Cooperative agents
///   learn short, cheap routes that work the first time.
/// - **`Mix(w)`**: `(1 - w) * profit + w * welfare`, for `w` in `0..=1`.
///
/// Welfare charges the attempt's end-to-end latency, several hops' worth, where profit
/// charges one hop's: welfare scenes set a smaller `latency_per_ms` (the headroom scenes
/// use 0.0001).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum RewardMode {
    #[default]
    Profit,
    Welfare,
    Mix(f32),
}

impl RewardMode {
    /// The welfare share `w` of the reward.
    pub fn welfare_share(self) -> f32 {
        match self {
            RewardMode::Profit => 0.0,
            RewardMode::Welfare => 1.0,
            RewardMode::Mix(w) => w,
        }
    }
}

/// Reward per forwarding decision, credited when the attempt resolves (see [`RewardMode`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RewardWeights {
    /// Profit, welfare, or a mix of the two.
    pub mode: RewardMode,
    /// Times the fee this node earned, in thousandths of the amount (1,000 ppm = 1.0).
    pub fee: f32,
    /// Added when the payment attempt succeeds.
    pub success: f32,
    /// Subtracted when it fails, at this hop or downstream.
    pub failure: f32,
    /// Subtracted per millisecond the hop adds.
    pub latency_per_ms: f32,
    /// The success bonus is the route's terminal reward discounted back to each decision:
    /// a decision `r` hops before the destination gets `success * hop_discount^(r-1)`, so
    /// leading a payment the long way round pays less.
    pub hop_discount: f32,
}

impl Default for RewardWeights {
    fn default() -> Self {
        RewardWeights {
            mode: RewardMode::Profit,
            fee: 1.0,
            success: 1.0,
            failure: 1.0,
            hop_discount: 0.8,
            latency_per_ms: 0.0005,
        }
    }
}

/// One PPO group: nodes that share a policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentGroup {
    pub name: String,
    /// Indices into the scene's `nodes`.
    pub nodes: Vec<u32>,
    #[serde(default)]
    pub ppo: PpoConfig,
    /// Start from this checkpoint (path relative to the scene file).
    #[serde(default)]
    pub checkpoint: Option<String>,
}

/// The scene's `agents` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsSection {
    pub groups: Vec<AgentGroup>,
    #[serde(default)]
    pub rewards: RewardWeights,
    /// Keep learning while the network runs; `false` freezes the policies (evaluation).
    #[serde(default = "yes")]
    pub continual: bool,
}

impl AgentsSection {
    /// These agents' setup for a graph of `nodes` nodes, every one of them an agent: one
    /// group, named and configured like the first group here, with these rewards, learning
    /// as it runs. What generated training graphs, training scenes without agents of their
    /// own, and `lnlab import`/`generate --agents-like` get. `None` without a group.
    pub fn at_every_node(&self, nodes: usize) -> Option<AgentsSection> {
        let first = self.groups.first()?;
        Some(AgentsSection {
            groups: vec![AgentGroup {
                name: first.name.clone(),
                nodes: (0..nodes as u32).collect(),
                ppo: first.ppo.clone(),
                checkpoint: None,
            }],
            rewards: self.rewards.clone(),
            continual: true,
        })
    }

    /// Every node in at most one group and in range, and hyperparameters in range; errors
    /// name the group (`agents.groups[0] (hubs): ...`).
    pub fn validate(&self, nodes: usize) -> Result<(), String> {
        let w = self.rewards.mode.welfare_share();
        if !(0.0..=1.0).contains(&w) {
            return Err(format!(
                "agents.rewards.mode: the welfare share of Mix must be in 0..=1, got {w}"
            ));
        }
        let mut owner = vec![None; nodes];
        for (gi, g) in self.groups.iter().enumerate() {
            let at = format!("agents.groups[{gi}] ({})", g.name);
            for &node in &g.nodes {
                match owner.get_mut(node as usize) {
                    None => {
                        return Err(format!(
                            "{at}: node {node}, but the scene has {nodes} nodes"
                        ));
                    }
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
                && p.vf_coef >= 0.0
                && p.imitation_coef.is_finite()
                && p.imitation_coef >= 0.0;
            if !coefficients_ok {
                return Err(format!(
                    "{at}: max_grad_norm and clip_coef must be > 0, gae_lambda in 0..=1, ent_coef, vf_coef and imitation_coef >= 0"
                ));
            }
            if let FeeBudget::Escalate(factor) = p.fee_budget
                && !(factor.is_finite() && factor >= 1.0)
            {
                return Err(format!(
                    "{at}: fee_budget: Escalate(factor) needs a finite factor of at least 1, got {factor}"
                ));
            }
            if p.credit == Credit::Route && self.rewards.mode != RewardMode::Welfare {
                return Err(format!(
                    "{at}: credit: Route needs agents.rewards.mode: Welfare (route credit sums rewards along the route, and summed profits pay for long routes)"
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
        Ok(())
    }
}

fn yes() -> bool {
    true
}
