//! Synthetic Lightning-like graphs for scale work, returned as a ready-to-save [`Scene`]:
//! Barabási–Albert (scale-free, hubby) and Watts–Strogatz (small-world) topologies with
//! simple channel-size and fee distributions, and the `mainnet-like` model
//! ([`mainnet_like`]: leaves, a heavy-tailed core, attributes fitted to real excerpts). This
//! file owns the parameters, the two classic topologies and their attribute distributions;
//! everything is drawn from one ChaCha8 RNG seeded from the parameters' seed, so the same
//! parameters always give the same scene.

pub mod mainnet_like;

use super::{Scene, SceneChannel, SceneNode};
use crate::network::channel::{ChannelPolicy, DEFAULT_MAX_ACCEPTED_HTLCS};
use crate::network::ids::ShortChannelId;
use crate::network::node::Role;
use crate::rng::stream;
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::LogNormal;
use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

/// Largest graph `generate` accepts (a guard against typos allocating the machine away).
pub const MAX_NODES: usize = 1_000_000;
pub const MAX_CHANNELS: usize = 10_000_000;

/// Channel size: log-normal, median 2,000,000 sat, sigma 1.2, clamped.
const CAPACITY_MEDIAN_SAT: f64 = 2_000_000.0;
const CAPACITY_SIGMA: f64 = 1.2;
const CAPACITY_MIN_SAT: u64 = 20_000;
const CAPACITY_MAX_SAT: u64 = 500_000_000;
/// Proportional fee: log-normal, median 100 ppm, sigma 1.5, clamped.
const FEE_RATE_MEDIAN_PPM: f64 = 100.0;
const FEE_RATE_SIGMA: f64 = 1.5;
const FEE_RATE_MAX_PPM: u64 = 5_000;
/// Share of directions charging lnd's default 1,000 msat base fee (the rest charge 0).
const FEE_BASE_DEFAULT_SHARE: f64 = 0.7;
const FEE_BASE_DEFAULT_MSAT: u64 = 1_000;
const CLTV_DELTAS: [u16; 3] = [40, 80, 144];
const CLTV_WEIGHTS: [f64; 3] = [0.3, 0.5, 0.2];
const HTLC_MINIMUM_MSAT: u64 = 1_000;
/// Watts–Strogatz rewiring probability.
const REWIRE_PROBABILITY: f64 = 0.1;
/// Share of nodes (the lowest-degree ones) marked as merchants.
const MERCHANT_SHARE: f64 = 0.1;

/// The topology model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GraphModel {
    /// Preferential attachment: scale-free degrees, a few large hubs (like mainnet).
    BarabasiAlbert,
    /// Ring lattice with 10% of the non-ring edges rewired: small world, even degrees.
    WattsStrogatz,
    /// Shaped like the public network: a third of nodes are leaves, a heavy-tailed core, and
    /// attributes (disabled and absurd-fee directions included) fitted to real excerpts.
    MainnetLike,
}

impl fmt::Display for GraphModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GraphModel::BarabasiAlbert => "barabasi-albert",
            GraphModel::WattsStrogatz => "watts-strogatz",
            GraphModel::MainnetLike => "mainnet-like",
        })
    }
}

impl FromStr for GraphModel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "barabasi-albert" | "ba" => Ok(GraphModel::BarabasiAlbert),
            "watts-strogatz" | "ws" => Ok(GraphModel::WattsStrogatz),
            "mainnet-like" | "mainnet" => Ok(GraphModel::MainnetLike),
            _ => Err(format!(
                "`{s}` is not a graph model (expected barabasi-albert, watts-strogatz or mainnet-like)"
            )),
        }
    }
}

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateParams {
    pub nodes: usize,
    pub channels: usize,
    pub model: GraphModel,
    pub seed: u64,
}

/// A generated graph built into a network (seed 1), with its announced view: the graph
/// the routing tests search.
#[cfg(test)]
pub fn network_for_tests(
    params: &GenerateParams,
) -> (crate::network::Network, crate::network::GossipView) {
    let scene = generate(params).unwrap();
    let network = super::build::build_network(&scene, 1).unwrap();
    let gossip = crate::network::GossipView::build(&network, 0);
    (network, gossip)
}

/// Generate a connected synthetic network with exactly `params.nodes` nodes and
/// `params.channels` channels (no self-loops, at most one channel per node pair).
pub fn generate(params: &GenerateParams) -> Result<Scene, String> {
    let n = params.nodes;
    let m = params.channels;
    if n < 2 {
        return Err(format!("a network needs at least 2 nodes, got {n}"));
    }
    if n > MAX_NODES {
        return Err(format!("{n} nodes is more than the supported {MAX_NODES}"));
    }
    if m < n - 1 {
        return Err(format!(
            "{m} channels cannot connect {n} nodes (at least {} are needed)",
            n - 1
        ));
    }
    let max_pairs = n * (n - 1) / 2;
    if m > max_pairs {
        return Err(format!(
            "{m} channels is more than the {max_pairs} distinct node pairs of {n} nodes"
        ));
    }
    if m > MAX_CHANNELS {
        return Err(format!(
            "{m} channels is more than the supported {MAX_CHANNELS}"
        ));
    }

    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    let edges = match params.model {
        GraphModel::BarabasiAlbert => barabasi_albert(n, m, &mut rng),
        GraphModel::WattsStrogatz => watts_strogatz(n, m, &mut rng),
        GraphModel::MainnetLike => mainnet_like::topology(n, m, &mut rng),
    };
    debug_assert_eq!(edges.len(), m);

    let capacity = LogNormal::new(CAPACITY_MEDIAN_SAT.ln(), CAPACITY_SIGMA)
        .map_err(|e| format!("capacity distribution: {e}"))?;
    let fee_rate = LogNormal::new(FEE_RATE_MEDIAN_PPM.ln(), FEE_RATE_SIGMA)
        .map_err(|e| format!("fee rate distribution: {e}"))?;
    let cltv = WeightedIndex::new(CLTV_WEIGHTS).map_err(|e| format!("cltv weights: {e}"))?;
    let policy = |rng: &mut ChaCha8Rng, capacity_sat: u64| ChannelPolicy {
        fee_base_msat: if rng.random_bool(FEE_BASE_DEFAULT_SHARE) {
            FEE_BASE_DEFAULT_MSAT
        } else {
            0
        },
        fee_rate_ppm: (fee_rate.sample(rng).round() as u64).min(FEE_RATE_MAX_PPM),
        cltv_expiry_delta: CLTV_DELTAS[cltv.sample(rng)],
        htlc_minimum_msat: HTLC_MINIMUM_MSAT,
        htlc_maximum_msat: capacity_sat * 990,
        disabled: false,
        max_accepted_htlcs: DEFAULT_MAX_ACCEPTED_HTLCS,
    };
    let fitted = match params.model {
        GraphModel::MainnetLike => Some(mainnet_like::Attributes::new()?),
        _ => None,
    };
    let channels: Vec<SceneChannel> = edges
        .iter()
        .enumerate()
        .map(|(i, &(a, b))| {
            let (capacity_sat, node1_policy, node2_policy) = match &fitted {
                Some(f) => {
                    let capacity_sat = f.capacity_sat(&mut rng);
                    let p1 = f.policy(&mut rng, capacity_sat);
                    (capacity_sat, p1, f.policy(&mut rng, capacity_sat))
                }
                None => {
                    let capacity_sat = (capacity.sample(&mut rng).round() as u64)
                        .clamp(CAPACITY_MIN_SAT, CAPACITY_MAX_SAT);
                    let p1 = policy(&mut rng, capacity_sat);
                    (capacity_sat, p1, policy(&mut rng, capacity_sat))
                }
            };
            SceneChannel {
                scid: ShortChannelId::new(700_000 + (i / 1000) as u32, (i % 1000) as u32, 0),
                node1: a,
                node2: b,
                capacity_sat,
                node1_balance_msat: None,
                node1_policy: Some(node1_policy),
                node2_policy: Some(node2_policy),
            }
        })
        .collect();

    let roles = merchant_roles(n, &edges);
    let positions = crate::network::layout::force_directed(
        &vec![None; n],
        &edges,
        params.seed ^ stream::LAYOUT,
    );
    let nodes = (0..n)
        .map(|i| SceneNode {
            alias: format!("n{i}"),
            pubkey: None,
            role: roles[i],
            pos: Some(positions[i]),
            processing_delay: None,
        })
        .collect();

    Ok(Scene::new(
        format!("{}-{n}n-{m}c-seed{}", params.model, params.seed),
        format!(
            "Synthetic {} network: {n} nodes, {m} channels, seed {}",
            params.model, params.seed
        ),
        params.seed,
        nodes,
        channels,
    ))
}

/// Mark the ~10% lowest-degree nodes (ties broken by index) as merchants, so that
/// merchant-weighted workloads have receivers; everything else routes.
fn merchant_roles(n: usize, edges: &[(u32, u32)]) -> Vec<Role> {
    let mut degree = vec![0u32; n];
    for &(a, b) in edges {
        degree[a as usize] += 1;
        degree[b as usize] += 1;
    }
    let mut by_degree: Vec<usize> = (0..n).collect();
    by_degree.sort_by_key(|&i| (degree[i], i));
    let merchants = ((n as f64 * MERCHANT_SHARE).round() as usize).max(1);
    let mut roles = vec![Role::Router; n];
    for &i in &by_degree[..merchants.min(n)] {
        roles[i] = Role::Merchant;
    }
    roles
}

/// How many edges each new node `i` (1..n) brings: `m` spread as evenly as possible over the
/// `n - 1` newcomers, with what early nodes cannot take (node `i` can link to at most `i`
/// older nodes) carried forward. The carry always drains because `m <= n(n-1)/2` and the
/// per-node surplus `quota_i - i` is non-increasing.
fn attachment_counts(n: usize, m: usize) -> Vec<usize> {
    let newcomers = n - 1;
    let mut counts = vec![0; n];
    let mut carry = 0;
    for (i, count) in counts.iter_mut().enumerate().skip(1) {
        let quota = i * m / newcomers - (i - 1) * m / newcomers;
        let want = quota + carry;
        *count = want.min(i);
        carry = want - *count;
    }
    debug_assert_eq!(carry, 0);
    counts
}

/// Barabási–Albert preferential attachment: node `i` links to `counts[i]` distinct older
/// nodes, each drawn with probability proportional to its degree. Connected by construction.
fn barabasi_albert(n: usize, m: usize, rng: &mut ChaCha8Rng) -> Vec<(u32, u32)> {
    let counts = attachment_counts(n, m);
    let mut edges = Vec::with_capacity(m);
    // Every edge endpoint once: drawing uniformly from it is drawing by degree.
    let mut pool: Vec<u32> = Vec::with_capacity(2 * m);
    // `chosen[v] == i` marks v as already linked to newcomer i.
    let mut chosen = vec![usize::MAX; n];
    let mut targets = Vec::new();
    for (i, &k) in counts.iter().enumerate().skip(1) {
        targets.clear();
        if k == i || pool.is_empty() {
            targets.extend(0..i as u32);
            targets.truncate(k);
        } else {
            let mut attempts = 0;
            while targets.len() < k && attempts < 32 * k {
                attempts += 1;
                let t = pool[rng.random_range(0..pool.len())];
                if chosen[t as usize] != i {
                    chosen[t as usize] = i;
                    targets.push(t);
                }
            }
            if targets.len() < k {
                // Dense corner: finish uniformly among the older nodes not yet chosen.
                let mut rest: Vec<u32> =
                    (0..i as u32).filter(|&v| chosen[v as usize] != i).collect();
                rest.shuffle(rng);
                targets.extend(rest.into_iter().take(k - targets.len()));
            }
        }
        for &t in &targets {
            edges.push((t, i as u32));
            pool.push(t);
            pool.push(i as u32);
        }
    }
    edges
}

/// Watts–Strogatz: a ring lattice where every node links to its next `k` neighbours (and
/// some to the `(k+1)`-th, to hit `m` exactly), then each non-ring lattice edge is rewired
/// with probability 0.1 to a uniformly drawn node. The ring (distance-1) edges are never
/// rewired, which keeps the graph connected.
fn watts_strogatz(n: usize, m: usize, rng: &mut ChaCha8Rng) -> Vec<(u32, u32)> {
    let k = m / n;
    let extra = m % n;
    let mut lattice: Vec<(usize, usize, usize)> = Vec::with_capacity(m); // (u, v, distance)
    for d in 1..=k {
        for u in 0..n {
            lattice.push((u, (u + d) % n, d));
        }
    }
    if extra > 0 {
        let d = k + 1;
        // At distance n/2 the pairs (u, u+d) and (u+d, u) coincide: only n/2 are distinct.
        let starts = if 2 * d == n { n / 2 } else { n };
        for j in 0..extra {
            let u = j * starts / extra;
            lattice.push((u, (u + d) % n, d));
        }
    }
    let key = |a: usize, b: usize| (a.min(b) as u32, a.max(b) as u32);
    let mut present: HashSet<(u32, u32)> = lattice.iter().map(|&(u, v, _)| key(u, v)).collect();
    let mut edges = Vec::with_capacity(m);
    for &(u, v, d) in &lattice {
        let mut target = v;
        if d > 1 && rng.random_bool(REWIRE_PROBABILITY) {
            for _ in 0..32 {
                let w = rng.random_range(0..n);
                if w != u && !present.contains(&key(u, w)) {
                    present.remove(&key(u, v));
                    present.insert(key(u, w));
                    target = w;
                    break;
                }
            }
        }
        edges.push(key(u, target));
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    fn params(nodes: usize, channels: usize, model: GraphModel, seed: u64) -> GenerateParams {
        GenerateParams {
            nodes,
            channels,
            model,
            seed,
        }
    }

    fn degrees(scene: &Scene) -> Vec<usize> {
        let mut d = vec![0; scene.nodes.len()];
        for c in &scene.channels {
            d[c.node1 as usize] += 1;
            d[c.node2 as usize] += 1;
        }
        d
    }

    fn check_structure(scene: &Scene, nodes: usize, channels: usize) {
        assert_eq!(scene.nodes.len(), nodes);
        assert_eq!(scene.channels.len(), channels);
        let mut pairs = HashSet::new();
        let mut adj = vec![Vec::new(); nodes];
        for c in &scene.channels {
            assert_ne!(c.node1, c.node2, "self-loop");
            let pair = (c.node1.min(c.node2), c.node1.max(c.node2));
            assert!(pairs.insert(pair), "duplicate pair {pair:?}");
            adj[c.node1 as usize].push(c.node2 as usize);
            adj[c.node2 as usize].push(c.node1 as usize);
        }
        let mut seen = vec![false; nodes];
        let mut queue = VecDeque::from([0]);
        seen[0] = true;
        while let Some(u) = queue.pop_front() {
            for &v in &adj[u] {
                if !seen[v] {
                    seen[v] = true;
                    queue.push_back(v);
                }
            }
        }
        assert!(seen.iter().all(|&s| s), "graph is not connected");
        crate::scene::io::validate(scene).unwrap();
        assert!(
            scene
                .nodes
                .iter()
                .all(|n| n.pos.is_some() && n.pubkey.is_none())
        );
    }

    #[test]
    fn exact_counts_connected_simple_and_valid() {
        for model in [
            GraphModel::BarabasiAlbert,
            GraphModel::WattsStrogatz,
            GraphModel::MainnetLike,
        ] {
            for (n, m) in [
                (2, 1),
                (3, 3),
                (10, 9),
                (10, 45),
                (12, 40),
                (50, 78),
                (300, 1500),
                (101, 777),
            ] {
                let scene = generate(&params(n, m, model, 5)).unwrap();
                check_structure(&scene, n, m);
            }
        }
    }

    #[test]
    fn deterministic_for_a_seed() {
        for model in [
            GraphModel::BarabasiAlbert,
            GraphModel::WattsStrogatz,
            GraphModel::MainnetLike,
        ] {
            let a = generate(&params(200, 800, model, 42)).unwrap();
            let b = generate(&params(200, 800, model, 42)).unwrap();
            assert_eq!(a, b);
            assert_eq!(
                crate::scene::io::to_string(&a),
                crate::scene::io::to_string(&b)
            );
            let c = generate(&params(200, 800, model, 43)).unwrap();
            assert_ne!(a.channels, c.channels);
        }
    }

    #[test]
    fn barabasi_albert_has_hubs() {
        let scene = generate(&params(2000, 10_000, GraphModel::BarabasiAlbert, 1)).unwrap();
        let mut d = degrees(&scene);
        d.sort_unstable();
        let median = d[d.len() / 2];
        let max = d[d.len() - 1];
        assert!(max > 10 * median, "max degree {max}, median {median}");
        let ws = generate(&params(2000, 10_000, GraphModel::WattsStrogatz, 1)).unwrap();
        let max_ws = degrees(&ws).into_iter().max().unwrap();
        assert!(max_ws < 3 * median, "watts-strogatz max degree {max_ws}");
    }

    #[test]
    fn attributes_look_like_mainnet() {
        let scene = generate(&params(1000, 5000, GraphModel::BarabasiAlbert, 9)).unwrap();
        let mut caps: Vec<u64> = scene.channels.iter().map(|c| c.capacity_sat).collect();
        caps.sort_unstable();
        let median = caps[caps.len() / 2];
        assert!(
            (1_500_000..2_600_000).contains(&median),
            "median capacity {median}"
        );
        assert!(
            caps.iter()
                .all(|c| (CAPACITY_MIN_SAT..=CAPACITY_MAX_SAT).contains(c))
        );
        let policies: Vec<ChannelPolicy> = scene
            .channels
            .iter()
            .flat_map(|c| [c.node1_policy.unwrap(), c.node2_policy.unwrap()])
            .collect();
        let base = policies.iter().filter(|p| p.fee_base_msat == 1000).count() as f64;
        assert!((0.65..0.75).contains(&(base / policies.len() as f64)));
        assert!(policies.iter().all(|p| p.fee_rate_ppm <= FEE_RATE_MAX_PPM));
        assert!(
            policies
                .iter()
                .all(|p| CLTV_DELTAS.contains(&p.cltv_expiry_delta))
        );
        for c in &scene.channels {
            let p = c.node1_policy.unwrap();
            assert_eq!(p.htlc_maximum_msat, c.capacity_sat * 990);
            assert_eq!(p.max_accepted_htlcs, 483);
        }
        let scids: HashSet<_> = scene.channels.iter().map(|c| c.scid).collect();
        assert_eq!(scids.len(), scene.channels.len());
        let merchants = scene
            .nodes
            .iter()
            .filter(|n| n.role == Role::Merchant)
            .count();
        assert_eq!(merchants, 100);
        assert_eq!(scene.nodes[7].alias, "n7");
    }

    #[test]
    fn rejects_impossible_parameters_and_parses_models() {
        let ba = GraphModel::BarabasiAlbert;
        assert!(generate(&params(1, 0, ba, 1)).is_err());
        assert!(generate(&params(10, 8, ba, 1)).is_err());
        assert!(generate(&params(10, 46, ba, 1)).is_err());
        assert!(generate(&params(MAX_NODES + 1, MAX_NODES, ba, 1)).is_err());
        assert_eq!("barabasi-albert".parse::<GraphModel>(), Ok(ba));
        assert_eq!(
            "watts-strogatz".parse::<GraphModel>(),
            Ok(GraphModel::WattsStrogatz)
        );
        assert!("erdos-renyi".parse::<GraphModel>().is_err());
        assert_eq!(ba.to_string(), "barabasi-albert");
    }
}
