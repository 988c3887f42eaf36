//! The `lnlab` binary as a user runs it: reports on disk with the promised keys, clear
//! one-line errors with a non-zero exit for bad input, import of the real fixtures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) fn lnlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lnlab"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the binary runs")
}

pub(crate) fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lnlab-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ln")
        .join(name)
        .display()
        .to_string()
}

pub(crate) fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub(crate) fn assert_one_line_error(out: &Output, needle: &str) {
    assert!(!out.status.success(), "expected failure");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(needle), "stderr {err:?} lacks {needle:?}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn run_writes_a_report_with_the_promised_keys_and_a_csv() {
    let json = tmp("run.json");
    let csv = tmp("run.csv");
    let out = lnlab(&[
        "run",
        "scenes/classroom.ron",
        "--payments",
        "300",
        "--policy",
        "lnd",
        "--seed",
        "3",
        "--json",
        json.to_str().unwrap(),
        "--payments-csv",
        csv.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    for key in [
        "scene",
        "policy",
        "seed",
        "payments",
        "succeeded",
        "failed",
        "success_rate",
        "volume_success_rate",
        "fees_paid_msat",
        "fees_earned_msat",
        "mean_hops",
        "latency_ms_p50",
        "latency_ms_p95",
        "attempts_mean",
        "failure_reasons",
        "hub_gini",
        "wall_seconds",
        "payments_per_second",
        "nodes",
    ] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    assert_eq!(report["payments"], 300);
    assert_eq!(report["policy"], "lnd");
    assert_eq!(report["fees_paid_msat"], report["fees_earned_msat"]);
    assert_eq!(report["nodes"].as_array().unwrap().len(), 12);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "time_ms,sender,receiver,amount_msat,outcome,failure_reason,failing_hop,route,fees_msat,latency_ms,attempts"
    );
    assert_eq!(lines.count(), 300);
    assert!(
        report.get("unroutable").is_none(),
        "only the oracle can tell"
    );
}

#[test]
fn the_oracle_reports_its_unroutable_payments_by_cause() {
    let json = tmp("oracle.json");
    let out = lnlab(&[
        "run",
        "scenes/mainnet_50.ron",
        "--payments",
        "300",
        "--policy",
        "oracle",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("unroutable (no path could carry it)"),
        "{stdout}"
    );
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["policy"], "oracle");
    let u = &report["unroutable"];
    let total: u64 = ["sender_outbound", "receiver_inbound", "cut"]
        .iter()
        .map(|k| u[k].as_u64().unwrap())
        .sum();
    // The oracle's only failure is finding no path (a race aside): each one is counted.
    let no_route = report["failure_reasons"]["no_route"].as_u64().unwrap();
    assert!(
        total > 0 && total <= no_route,
        "{u} against {no_route} no_route"
    );
    // Knowing every balance, its payments fail only for want of a path (its extra
    // attempts are the parts of split payments).
    let reasons = report["failure_reasons"].as_object().unwrap();
    assert!(reasons.keys().all(|k| k == "no_route"), "{reasons:?}");
}

#[test]
fn compare_reports_mean_and_interval_per_policy() {
    let json = tmp("compare.json");
    let out = lnlab(&[
        "compare",
        "scenes/classroom.ron",
        "--policies",
        "random,cheapest,lnd,oracle",
        "--payments",
        "200",
        "--seeds",
        "3",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(c["seeds"], 3);
    let scene = lnlab::load_scene(std::path::Path::new("scenes/classroom.ron")).unwrap();
    assert_eq!(c["first_seed"], scene.seed, "the scene's seed by default");
    let results = c["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    // lnd and the oracle both ran: headroom, and how much of it the others closed.
    let success = |i: usize| results[i]["success_rate"]["mean"].as_f64().unwrap();
    let h = &c["headroom"];
    let gap = h["oracle_minus_lnd"]["mean"].as_f64().unwrap();
    assert!((gap - (success(3) - success(2))).abs() < 1e-9, "{h}");
    let closed = h["closed"].as_object().unwrap();
    assert_eq!(
        closed.keys().collect::<Vec<_>>(),
        ["cheapest", "random"],
        "every policy but lnd and the oracle"
    );
    // lnd ran: every other policy's fees on the payments both delivered. The shared
    // payments are at most what the policy and lnd each delivered.
    let shared = c["fees_vs_lnd_on_shared"].as_object().unwrap();
    assert_eq!(
        shared.keys().collect::<Vec<_>>(),
        ["cheapest", "oracle", "random"],
        "every policy but lnd"
    );
    for (i, name) in [(0, "random"), (1, "cheapest"), (3, "oracle")] {
        let share = shared[name]["share_of_payments"]["mean"].as_f64().unwrap();
        assert!(
            share > 0.0 && share <= success(i).min(success(2)) + 1e-9,
            "{name}: {share}"
        );
        assert!(shared[name]["ratio"]["mean"].as_f64().unwrap() > 0.0);
    }
    // Why payments failed: a share per reason, the same reasons in every policy's row; with
    // the successes they account for every payment.
    let failed = |r: &serde_json::Value| -> Vec<(String, f64)> {
        let r = r.as_object().unwrap();
        r.iter()
            .filter(|(k, _)| k.starts_with("failed_"))
            .map(|(k, v)| (k.clone(), v["mean"].as_f64().unwrap()))
            .collect()
    };
    let reasons: Vec<String> = failed(&results[0]).into_iter().map(|(k, _)| k).collect();
    assert!(!reasons.is_empty(), "random fails some: {}", results[0]);
    for (i, r) in results.iter().enumerate() {
        let shares = failed(r);
        assert_eq!(
            shares.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            reasons.iter().collect::<Vec<_>>()
        );
        let sum: f64 = shares.iter().map(|(_, v)| v).sum();
        assert!((sum + success(i) - 1.0).abs() < 1e-9, "{r}");
    }
    // Random routes wander: on the same payments it pays more than lnd, which looks for
    // cheap routes.
    let ratio = |name: &str| shared[name]["ratio"]["mean"].as_f64().unwrap();
    assert!(ratio("random") > 1.0, "{shared:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("headroom (oracle - lnd success)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fees on the payments lnd delivered too, random / lnd"),
        "{stdout}"
    );

    // Seeds a policy was not trained on: `--seed` moves the first one.
    let again = tmp("compare-seed.json");
    let out = lnlab(&[
        "compare",
        "scenes/classroom.ron",
        "--policies",
        "lnd",
        "--payments",
        "50",
        "--seed",
        "500",
        "--json",
        again.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let c2: serde_json::Value = serde_json::from_slice(&std::fs::read(&again).unwrap()).unwrap();
    assert_eq!(c2["first_seed"], 500);
    for r in results {
        let s = &r["success_rate"];
        let (lo, mean, hi) = (
            s["ci95_low"].as_f64().unwrap(),
            s["mean"].as_f64().unwrap(),
            s["ci95_high"].as_f64().unwrap(),
        );
        assert!(lo <= mean && mean <= hi, "{r}");
    }
}

#[test]
fn import_of_the_real_fixture_round_trips_through_a_scene() {
    let scene = tmp("ln50.ron");
    let out = lnlab(&[
        "import",
        "describegraph",
        &fixture("ln_50.json"),
        "-o",
        scene.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let loaded = lnlab::load_scene(&scene).unwrap();
    assert_eq!((loaded.nodes.len(), loaded.channels.len()), (50, 78));
    let again = lnlab::parse_scene(&lnlab::scene_to_ron(&loaded), &scene).unwrap();
    assert_eq!(again, loaded, "lossless round trip");
}

/// A real graph to train on: `import --agents-like` makes every node an agent set up like
/// the template's first group, and `train` lends the first scene's agents the same way to
/// a later scene that has none.
#[test]
fn a_real_graph_trains_with_agents_set_up_like_a_template() {
    let template = "scenes/jamming_mainnet_like.ron";
    let want = lnlab::load_scene(Path::new(template))
        .unwrap()
        .agents
        .unwrap();
    let scene = tmp("ln10-agents.ron");
    let out = lnlab(&[
        "import",
        "describegraph",
        &fixture("ln_10.json"),
        "-o",
        scene.to_str().unwrap(),
        "--agents-like",
        template,
    ]);
    assert_ok(&out);
    let agents = lnlab::load_scene(&scene).unwrap().agents.unwrap();
    assert_eq!(agents.groups.len(), 1);
    let group = &agents.groups[0];
    assert_eq!(group.nodes, (0..10).collect::<Vec<u32>>(), "every node");
    assert_eq!(
        (&group.name, &group.ppo, &agents.rewards),
        (&want.groups[0].name, &want.groups[0].ppo, &want.rewards)
    );
    // `generate` takes the same option.
    let generate = |out: &Path, options: &[&str]| {
        let mut args = vec!["generate", "--nodes", "30", "--channels", "60", "-o"];
        args.push(out.to_str().unwrap());
        args.extend_from_slice(options);
        lnlab(&args)
    };
    let generated = tmp("generated-agents.ron");
    assert_ok(&generate(&generated, &["--agents-like", template]));
    let agents = lnlab::load_scene(&generated).unwrap().agents.unwrap();
    assert_eq!(agents.groups[0].nodes.len(), 30);
    assert_eq!(agents.groups[0].ppo, want.groups[0].ppo);
    // Without it the imported scene has no agents: alone it cannot be trained, after a
    // scene that has some it is trained with theirs.
    let bare = tmp("ln10-bare.ron");
    assert_ok(&lnlab(&[
        "import",
        "describegraph",
        &fixture("ln_10.json"),
        "-o",
        bare.to_str().unwrap(),
    ]));
    assert_one_line_error(
        &lnlab(&["train", bare.to_str().unwrap(), "--steps", "10"]),
        "no `agents` section",
    );
    let checkpoint = tmp("ln10-agents.safetensors");
    let out = lnlab(&[
        "train",
        "scenes/classroom.ron",
        bare.to_str().unwrap(),
        "--steps",
        "200",
        "--segment-payments",
        "100",
        "--eval-payments",
        "50",
        "--out",
        checkpoint.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("in 2 segments"), "{stdout}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("every node an agent"),
        "says what it lent"
    );
    // Only one group can be lent: after a scene of two groups, an agent-less one is an
    // error that says so.
    let mut two = lnlab::load_scene(Path::new("scenes/classroom.ron")).unwrap();
    let agents = two.agents.as_mut().unwrap();
    let mut second = agents.groups[0].clone();
    second.name = "others".into();
    second.nodes = (0..two.nodes.len() as u32)
        .filter(|n| !agents.groups[0].nodes.contains(n))
        .take(2)
        .collect();
    agents.groups.push(second);
    let two_path = tmp("classroom-two-groups.ron");
    lnlab::save_scene(&two, &two_path).unwrap();
    assert_one_line_error(
        &lnlab(&[
            "train",
            two_path.to_str().unwrap(),
            bare.to_str().unwrap(),
            "--steps",
            "10",
        ]),
        "only a single group can be lent",
    );
    // `--agents-like` and `--agent-hubs` say different things: clap refuses both at once.
    assert_one_line_error(
        &generate(
            &tmp("both.ron"),
            &["--agent-hubs", "3", "--agents-like", template],
        ),
        "cannot be used with",
    );
    // A template without agents is one clear error.
    assert_one_line_error(
        &lnlab(&[
            "import",
            "describegraph",
            &fixture("ln_10.json"),
            "-o",
            tmp("ln10-none.ron").to_str().unwrap(),
            "--agents-like",
            "scenes/mainnet_50.ron",
        ]),
        "no agent group to copy",
    );
}

#[test]
fn bad_inputs_get_one_clear_error_and_a_non_zero_exit() {
    let broken = tmp("broken.ron");
    std::fs::write(
        &broken,
        "Scene(\n  format_version: 1,\n  name: \"x\",\n  nodes: [,\n",
    )
    .unwrap();
    let out = lnlab(&["run", broken.to_str().unwrap(), "--payments", "10"]);
    assert_one_line_error(&out, "broken.ron:4:");

    let typo = tmp("typo.ron");
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/classroom.ron"))
            .unwrap()
            .replacen("capacity_sat", "capacity_sats", 1);
    std::fs::write(&typo, text).unwrap();
    assert_one_line_error(
        &lnlab(&["run", typo.to_str().unwrap(), "--payments", "10"]),
        "capacity_sats",
    );

    assert_one_line_error(
        &lnlab(&["run", "no/such/scene.ron", "--payments", "10"]),
        "no/such/scene.ron",
    );
    assert_one_line_error(
        &lnlab(&["run", "scenes/classroom.ron", "--payments", "0"]),
        "payments",
    );
    assert_one_line_error(
        &lnlab(&[
            "run",
            "scenes/classroom.ron",
            "--payments",
            "5",
            "--policy",
            "teleport",
        ]),
        "teleport",
    );
    // A graph model for generated training graphs needs generated graphs, and a known
    // model.
    assert_one_line_error(
        &lnlab(&[
            "train",
            "scenes/hubs.ron",
            "--generated-model",
            "mainnet-like",
        ]),
        "--generated <MIN-MAX>",
    );
    assert_one_line_error(
        &lnlab(&[
            "train",
            "scenes/hubs.ron",
            "--generated",
            "50-60",
            "--generated-model",
            "tree",
        ]),
        "`tree` is not a graph model",
    );
    let bad_json = tmp("bad.json");
    std::fs::write(&bad_json, "{\"nodes\": [\n  {\"pub_key\": 12}\n]}").unwrap();
    let out = lnlab(&[
        "import",
        "describegraph",
        bad_json.to_str().unwrap(),
        "-o",
        tmp("x.ron").to_str().unwrap(),
    ]);
    assert_one_line_error(&out, "bad.json:2:");
}

#[test]
fn generate_writes_a_loadable_scene() {
    let scene = tmp("gen.ron");
    let out = lnlab(&[
        "generate",
        "--nodes",
        "40",
        "--channels",
        "100",
        "--model",
        "watts-strogatz",
        "--seed",
        "5",
        "-o",
        scene.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let s = lnlab::load_scene(&scene).unwrap();
    assert_eq!((s.nodes.len(), s.channels.len()), (40, 100));
}

#[test]
fn train_writes_a_checkpoint_and_metrics_that_run_and_compare_can_use() {
    let ckpt = tmp("cls.safetensors");
    let metrics = tmp("cls.csv");
    let out = lnlab(&[
        "train",
        "scenes/classroom.ron",
        "--steps",
        "1200",
        "--seed",
        "2",
        "--eval-payments",
        "100",
        "--out",
        ckpt.to_str().unwrap(),
        "--metrics",
        metrics.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("evaluation on 100 fresh payments"),
        "{stdout}"
    );
    assert!(ckpt.exists() && lnlab::sidecar_path(&ckpt).exists());
    let text = std::fs::read_to_string(&metrics).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap(),
        "step,episodic_reward,success_rate,attempt_success_rate,fees_paid_per_payment_msat,headroom_closed,policy_loss,value_loss,entropy,approx_kl,clipfrac,explained_variance,learning_rate,sps,hub_gini"
    );
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 2, "at least two updates");
    for row in rows {
        let cells: Vec<&str> = row.split(',').collect();
        for rate in [cells[2], cells[3]] {
            let r: f64 = rate.parse().unwrap();
            assert!((0.0..=1.0).contains(&r), "{row}");
        }
        assert!(cells[4].parse::<f64>().unwrap() >= 0.0, "{row}");
        // Empty where the oracle's lead over lnd is too small to measure.
        assert!(cells[5].is_empty() || cells[5].parse::<f64>().unwrap().is_finite());
    }

    let policy = format!("ppo:{}", ckpt.display());
    let json = tmp("ppo.json");
    let out = lnlab(&[
        "run",
        "scenes/hubs.ron",
        "--payments",
        "200",
        "--policy",
        &policy,
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["policy"], policy.as_str());
    assert_eq!(report["payments"], 200);

    let out = lnlab(&[
        "compare",
        "scenes/classroom.ron",
        "--policies",
        &format!("{policy},lnd"),
        "--payments",
        "100",
    ]);
    assert_ok(&out);

    assert_one_line_error(
        &lnlab(&[
            "run",
            "scenes/classroom.ron",
            "--payments",
            "5",
            "--policy",
            "ppo:",
        ]),
        "checkpoint path",
    );
    assert_one_line_error(
        &lnlab(&[
            "run",
            "scenes/classroom.ron",
            "--payments",
            "5",
            "--policy",
            "ppo:no/such.safetensors",
        ]),
        "no/such.safetensors",
    );
    assert_one_line_error(
        &lnlab(&["train", "scenes/mainnet_50.ron", "--steps", "10"]),
        "no `agents` section",
    );
}

#[test]
fn l402_demo_pays_through_the_network_and_rejects_bad_credentials() {
    let json = tmp("demo.json");
    let out = lnlab(&[
        "l402",
        "demo",
        "scenes/classroom.ron",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("402 Payment Required") && text.contains("200 OK"),
        "{text}"
    );
    let d: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(
        (
            d["status"].as_u64(),
            d["tampered_status"].as_u64(),
            d["wrong_preimage_status"].as_u64()
        ),
        (Some(200), Some(401), Some(401))
    );
    let invoice = d["invoice"].as_str().unwrap();
    let (_, decoded) = lnlab::parse_invoice(invoice).expect("a real, signed invoice");
    assert_eq!(
        decoded.payment_hash_hex,
        d["payment_hash_hex"].as_str().unwrap()
    );
    assert!(lnlab::parse_challenge(d["challenge_header"].as_str().unwrap()).is_ok());
    assert!(d["route"].as_array().unwrap().len() >= 2);
    assert!(
        d["verification"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["ok"] == true)
    );
    assert!(
        d.get("root_key_hex").is_none() && d.get("preimage_hex").is_none(),
        "secrets stay hidden"
    );
    assert!(
        d["authorization_header"]
            .as_str()
            .unwrap()
            .ends_with(":<preimage>")
    );

    let out = lnlab(&[
        "l402",
        "demo",
        "--reveal-secrets",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let d: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(d["preimage_hex"].as_str().unwrap().len(), 64);
    assert_eq!(d["root_key_hex"].as_str().unwrap().len(), 64);
    let auth = lnlab::parse_authorization(d["authorization_header"].as_str().unwrap()).unwrap();
    assert_eq!(
        lnlab::to_hex(&auth.preimage),
        d["preimage_hex"].as_str().unwrap()
    );
}

#[test]
fn train_save_scene_writes_a_scene_that_opens_the_trained_agents_frozen() {
    let ckpt = tmp("saved-hubs.safetensors");
    let saved = tmp("trained-classroom.ron");
    let out = lnlab(&[
        "train",
        "scenes/classroom.ron",
        "--steps",
        "400",
        "--eval-payments",
        "50",
        "--out",
        ckpt.to_str().unwrap(),
        "--save-scene",
        saved.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let scene = lnlab::load_scene(&saved).unwrap();
    let agents = scene.agents.as_ref().unwrap();
    assert!(!agents.continual, "a trained scene opens frozen");
    assert_eq!(
        agents.groups[0].checkpoint.as_deref(),
        Some("saved-hubs.safetensors"),
        "beside the scene, named relative to it"
    );
    // Opening it gives exactly the trained policy: the same choices as resuming the
    // original scene from the checkpoint.
    let dir = saved.parent().unwrap();
    let options = lnlab::SessionOptions::new(1, Some(10));
    let opened = lnlab::Session::from_scene(&scene, dir, &options).unwrap();
    let original = lnlab::load_scene(Path::new("scenes/classroom.ron")).unwrap();
    let resumed = lnlab::Session::from_scene(
        &original,
        Path::new("scenes"),
        &lnlab::SessionOptions {
            resume: Some(ckpt.clone()),
            ..options.clone()
        },
    )
    .unwrap();
    assert!(!opened.agents().unwrap().training);
    let hub = lnlab::NodeId(4);
    for destination in [0, 7, 9, 11].map(lnlab::NodeId) {
        let explain = |s: &lnlab::Session| {
            s.view()
                .explain(&mut lnlab::Onward::new(4), hub, destination, 20_000_000)
        };
        let (a, b) = (explain(&opened), explain(&resumed));
        assert!(a.as_ref().is_some_and(|c| !c.is_empty()), "{a:?}");
        assert_eq!(a, b);
    }
    let out = lnlab(&["run", saved.to_str().unwrap(), "--payments", "50"]);
    assert_ok(&out);
}

/// A `ppo:` checkpoint routes with the candidate settings it was trained with (its
/// sidecar's `PpoConfig`), not the defaults: here at most one candidate per decision.
#[test]
fn a_ppo_checkpoint_decides_with_its_own_candidate_settings() {
    let ckpt = tmp("one-candidate.safetensors");
    let config = lnlab::PpoConfig {
        max_candidates: 1,
        ..Default::default()
    };
    lnlab::Policy::new(3)
        .save(&ckpt, &config, 0, "classroom")
        .unwrap();
    let scene = lnlab::load_scene(Path::new("scenes/classroom.ron")).unwrap();
    let options = lnlab::SessionOptions {
        policy: Some(lnlab::PolicyChoice::Ppo(ckpt.clone())),
        ..lnlab::SessionOptions::new(1, Some(10))
    };
    let session = lnlab::Session::from_scene(&scene, Path::new("scenes"), &options).unwrap();
    let agents = session.agents().unwrap();
    assert_eq!(agents.groups[0].learner.config, config);
    let hub = lnlab::NodeId(4);
    let candidates = session
        .view()
        .explain(
            &mut lnlab::Onward::new(4),
            hub,
            lnlab::NodeId(9),
            20_000_000,
        )
        .unwrap();
    assert_eq!(candidates.len(), 1, "{candidates:?}");
}
