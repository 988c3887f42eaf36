//! `lnlab bench`: the standard benchmark. Routing throughput (payments/s) for `cheapest`,
//! `lnd` and `ldk` on generated 6,000-node / 30,000-channel graphs (Barabási–Albert and
//! mainnet-like, with the ratio between them) and on the real `mainnet_50` excerpt; `lnd` on
//! a 15,000-node / 75,000-channel mainnet-like graph (about today's public network) with its
//! import time; import speed of a 6k/30k describegraph file; and peak memory.
//! Targets (2-core machine): lnd >= 3,000 payments/s, ldk >= 1,500/s and cheapest >= 1,000/s
//! on mainnet-like 6k/30k; lnd >= 1,500/s on mainnet-like 15k/75k, imported in under 5 s;
//! cheapest >= 50,000 payments/s on mainnet_50; peak resident memory < 1 GB.

use crate::routing::RouterKind;
use crate::scene::Scene;
use crate::scene::generate::{GenerateParams, GraphModel, generate};
use crate::scene::import::import_describegraph_str;
use crate::session::{PolicyChoice, RunOptions, run_scene};
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Payments to train on, per training scene.
    #[arg(long, default_value_t = 10_000)]
    pub payments_train: u64,
    /// Payments routed by the trained PPO policy on the 6k/30k graph.
    #[arg(long, default_value_t = 5_000)]
    pub payments_ppo: u64,
    /// Folder of the preset scenes.
    #[arg(long, default_value = "scenes")]
    pub scenes: PathBuf,
    /// Payments per run on the 6k/30k graph.
    #[arg(long, default_value_t = 20_000)]
    pub payments_large: u64,
    /// Payments per run on mainnet_50.
    #[arg(long, default_value_t = 200_000)]
    pub payments_small: u64,
    /// The mainnet_50 scene.
    #[arg(long, default_value = "scenes/mainnet_50.ron")]
    pub mainnet_scene: PathBuf,
}

const POLICIES: [RouterKind; 3] = [RouterKind::Cheapest, RouterKind::Lnd, RouterKind::Ldk];

pub fn bench(args: BenchArgs) -> anyhow::Result<()> {
    println!(
        "lnlab bench ({} cores)",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let start = Instant::now();
    let params = GenerateParams {
        nodes: 6_000,
        channels: 30_000,
        model: GraphModel::BarabasiAlbert,
        seed: 1,
    };
    let large = generate(&params).map_err(anyhow::Error::msg)?;
    println!(
        "generate 6k/30k (barabasi-albert, layout included): {:.2} s",
        start.elapsed().as_secs_f64()
    );

    let json = describegraph_json(&large);
    let start = Instant::now();
    let (imported, _) = import_describegraph_str(&json, "bench-6k.json")?;
    println!(
        "import describegraph {} nodes / {} channels ({:.1} MB): {:.2} s (target < 3 s)",
        imported.nodes.len(),
        imported.channels.len(),
        json.len() as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );
    drop(json);
    drop(imported);

    println!(
        "\nrouting, generated 6k/30k (barabasi-albert), {} payments per policy:",
        args.payments_large
    );
    let mut ba_speed = Vec::new();
    for policy in POLICIES {
        ba_speed.push(bench_run(&large, policy, args.payments_large)?);
    }

    let start = Instant::now();
    let mainnet_like = generate(&GenerateParams {
        model: GraphModel::MainnetLike,
        ..params
    })
    .map_err(anyhow::Error::msg)?;
    println!(
        "\nrouting, generated 6k/30k (mainnet-like, generated in {:.2} s), {} payments per policy:",
        start.elapsed().as_secs_f64(),
        args.payments_large
    );
    for (policy, ba) in POLICIES.into_iter().zip(ba_speed) {
        let speed = bench_run(&mainnet_like, policy, args.payments_large)?;
        println!(
            "            {:.2}x the barabasi-albert graph's speed (target: {} >= {}/s)",
            speed / ba.max(1e-9),
            policy.as_str(),
            match policy {
                RouterKind::Lnd => 3_000,
                RouterKind::Ldk => 1_500,
                _ => 1_000,
            }
        );
    }
    drop(mainnet_like);
    bench_mainnet_size(args.payments_large)?;

    let mainnet = super::load_scene(&args.mainnet_scene)?;
    println!(
        "\nrouting, {} ({} nodes), {} payments per policy:",
        mainnet.name,
        mainnet.nodes.len(),
        args.payments_small
    );
    for policy in POLICIES {
        bench_run(&mainnet, policy, args.payments_small)?;
    }
    bench_ppo(&args, &large)?;
    match peak_rss_mb() {
        Some(mb) => println!("\npeak resident memory: {mb:.0} MB (target < 1 GB)"),
        None => println!("\npeak resident memory: unavailable on this platform"),
    }
    Ok(())
}

/// Route `payments` with one baseline policy, print the figures and return payments/s.
fn bench_run(scene: &Scene, policy: RouterKind, payments: u64) -> anyhow::Result<f64> {
    let options = RunOptions {
        policy: PolicyChoice::Baseline(policy),
        seed: scene.seed,
        payments,
        record_payments: false,
        check_invariants: false,
    };
    let out = run_scene(scene, &options, |_, _| {}).map_err(anyhow::Error::msg)?;
    let r = &out.report;
    println!(
        "  {:<9} {:>9.0} payments/s  ({:.2} s wall, success {:.1}%, {:.2} attempts/payment)",
        policy.as_str(),
        r.payments_per_second,
        r.wall_seconds,
        r.success_rate * 100.0,
        r.attempts_mean
    );
    let stats = out.engine.router_stats();
    if !stats.is_empty() {
        println!("            {stats}");
    }
    Ok(r.payments_per_second)
}

/// A mainnet-size graph (15k nodes / 75k channels, mainnet-like): describegraph import time
/// and `lnd`'s speed on it.
fn bench_mainnet_size(payments: u64) -> anyhow::Result<()> {
    let start = Instant::now();
    let scene = generate(&GenerateParams {
        nodes: 15_000,
        channels: 75_000,
        model: GraphModel::MainnetLike,
        seed: 2,
    })
    .map_err(anyhow::Error::msg)?;
    let generated_s = start.elapsed().as_secs_f64();
    let json = describegraph_json(&scene);
    let start = Instant::now();
    let (imported, _) = import_describegraph_str(&json, "bench-15k.json")?;
    println!(
        "\nmainnet size: generated 15k/75k (mainnet-like) in {generated_s:.2} s; import describegraph ({:.1} MB): {:.2} s (target < 5 s)",
        json.len() as f64 / 1e6,
        start.elapsed().as_secs_f64()
    );
    drop(json);
    bench_run(&imported, RouterKind::Lnd, payments)?;
    println!("            (target: lnd >= 1,500/s)");
    Ok(())
}

/// PPO: training throughput (decisions/s, updates included, inside the headless Bevy app)
/// on classroom and hubs, then the hubs policy routing every node of the 6k/30k graph.
fn bench_ppo(args: &BenchArgs, large: &Scene) -> anyhow::Result<()> {
    use crate::ecs::sim::{SimDriver, headless_app, run_headless};
    use crate::session::{Session, SessionOptions};
    let dir = tempfile::tempdir()?;
    let checkpoint = dir.path().join("hubs.safetensors");
    println!(
        "
PPO training (inside Bevy ECS, updates included), {} payments:",
        args.payments_train
    );
    for name in ["classroom", "hubs"] {
        let path = args.scenes.join(format!("{name}.ron"));
        let scene = super::load_scene(&path)?;
        let options = SessionOptions::new(scene.seed, Some(args.payments_train));
        let session =
            Session::from_scene(&scene, &args.scenes, &options).map_err(anyhow::Error::msg)?;
        let start = Instant::now();
        let driver = run_headless(headless_app(SimDriver::new(session)), |_| {});
        let secs = start.elapsed().as_secs_f64();
        let a = driver.session.agents().expect("the scene has agents");
        println!(
            "  {name:<9} {:>9.0} decisions/s  ({} decisions, {} updates, {secs:.2} s)",
            a.decisions as f64 / secs.max(1e-9),
            a.decisions,
            a.rows.len()
        );
        if name == "hubs" {
            let g = &a.groups[0];
            g.policy
                .save(&checkpoint, &g.learner.config, a.decisions, name)
                .map_err(anyhow::Error::msg)?;
        }
    }
    let options = RunOptions {
        policy: PolicyChoice::Ppo(checkpoint),
        seed: large.seed,
        payments: args.payments_ppo,
        record_payments: false,
        check_invariants: false,
    };
    let out = run_scene(large, &options, |_, _| {}).map_err(anyhow::Error::msg)?;
    let r = &out.report;
    println!(
        "PPO inference, policy trained on hubs, every node of the generated 6k/30k graph:\n  {:>9.0} payments/s  ({:.2} s wall, success {:.1}%, mean hops {:.2})",
        r.payments_per_second,
        r.wall_seconds,
        r.success_rate * 100.0,
        r.mean_hops
    );
    Ok(())
}

/// The scene as `lncli describegraph` JSON (64-bit values as strings, as lnd writes them).
fn describegraph_json(scene: &Scene) -> String {
    use serde_json::{Value, json};
    let keys: Vec<String> = scene
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            n.pubkey
                .map(|k| k.to_string())
                .unwrap_or_else(|| format!("02{:064x}", i + 1))
        })
        .collect();
    let policy = |p: &Option<crate::network::ChannelPolicy>| match p {
        None => Value::Null,
        Some(p) => json!({
            "time_lock_delta": p.cltv_expiry_delta,
            "min_htlc": p.htlc_minimum_msat.to_string(),
            "fee_base_msat": p.fee_base_msat.to_string(),
            "fee_rate_milli_msat": p.fee_rate_ppm.to_string(),
            "disabled": p.disabled,
            "max_htlc_msat": p.htlc_maximum_msat.to_string(),
            "last_update": 1_710_000_000,
        }),
    };
    let nodes: Vec<Value> = scene
        .nodes
        .iter()
        .zip(&keys)
        .map(|(n, k)| json!({"pub_key": k, "alias": n.alias, "color": "#3399ff", "addresses": [], "features": {}, "last_update": 1_710_000_000}))
        .collect();
    let edges: Vec<Value> = scene
        .channels
        .iter()
        .map(|c| {
            json!({
                "channel_id": c.scid.0.to_string(),
                "chan_point": format!("{:064x}:0", c.scid.0),
                "node1_pub": keys[c.node1 as usize],
                "node2_pub": keys[c.node2 as usize],
                "capacity": c.capacity_sat.to_string(),
                "node1_policy": policy(&c.node1_policy),
                "node2_policy": policy(&c.node2_policy),
                "last_update": 1_710_000_000,
            })
        })
        .collect();
    json!({"nodes": nodes, "edges": edges}).to_string()
}

/// Peak resident set size of this process (Linux `VmHWM`).
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
