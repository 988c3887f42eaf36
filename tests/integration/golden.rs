//! Golden outputs: every preset under every baseline and a PPO checkpoint, the L402 demo, and a
//! short training run, recorded before the session refactor and required byte for byte after
//! it (wall-clock fields zeroed, the `sps` column dropped). They pin behaviour, not quality: a
//! change that means to alter results re-records them with `LNLAB_BLESS=1 cargo test golden`
//! and says why in its commit. The PPO runs use the checkpoint the training run writes, and
//! the tests run in parallel: when training changes, bless twice (the second pass records
//! the runs against the new checkpoint) and check that a plain run then passes.

use super::cli::{assert_ok, lnlab, tmp};
use std::path::{Path, PathBuf};

const PAYMENTS: &str = "400";
const SEED: &str = "7";
const POLICIES: [&str; 6] = [
    "random",
    "shortest",
    "cheapest",
    "lnd",
    "ldk",
    "ppo:tests/fixtures/golden/classroom.safetensors",
];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden")
}

fn blessing() -> bool {
    std::env::var_os("LNLAB_BLESS").is_some_and(|v| v == "1")
}

/// Compare `actual` with the golden file `name` (or write it when blessing).
fn check(name: &str, actual: &[u8]) {
    let path = golden_dir().join(name);
    if blessing() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (record with LNLAB_BLESS=1)", path.display()));
    if expected != actual {
        let (e, a) = (
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(actual),
        );
        let line = e
            .lines()
            .zip(a.lines())
            .position(|(x, y)| x != y)
            .unwrap_or_else(|| e.lines().count().min(a.lines().count()));
        panic!(
            "{} differs from the golden file at line {}:\n  golden: {:?}\n  now:    {:?}",
            path.display(),
            line + 1,
            e.lines().nth(line),
            a.lines().nth(line)
        );
    }
}

/// The report with its wall-clock fields zeroed, pretty-printed.
fn without_wall_clock(json: &[u8]) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(json).unwrap();
    for key in ["wall_seconds", "payments_per_second"] {
        v[key] = serde_json::json!(0.0);
    }
    let mut out = serde_json::to_vec_pretty(&v).unwrap();
    out.push(b'\n');
    out
}

fn file_stem(policy: &str) -> &str {
    if policy.starts_with("ppo:") {
        "ppo"
    } else {
        policy
    }
}

/// `lnlab run` on one preset with every policy.
fn runs_match(scene: &str) {
    for policy in POLICIES {
        let stem = format!("{scene}-{}", file_stem(policy));
        let json = tmp(&format!("golden-{stem}.json"));
        let csv = tmp(&format!("golden-{stem}.csv"));
        let out = lnlab(&[
            "run",
            &format!("scenes/{scene}.ron"),
            "--payments",
            PAYMENTS,
            "--seed",
            SEED,
            "--policy",
            policy,
            "--json",
            json.to_str().unwrap(),
            "--payments-csv",
            csv.to_str().unwrap(),
        ]);
        assert_ok(&out);
        check(
            &format!("run/{stem}.json"),
            &without_wall_clock(&std::fs::read(&json).unwrap()),
        );
        check(&format!("run/{stem}.csv"), &std::fs::read(&csv).unwrap());
    }
}

#[test]
fn classroom_reports_are_unchanged() {
    runs_match("classroom");
}

#[test]
fn congestion_reports_are_unchanged() {
    runs_match("congestion");
}

#[test]
fn hubs_reports_are_unchanged() {
    runs_match("hubs");
}

#[test]
fn l402_market_reports_are_unchanged() {
    runs_match("l402_market");
}

#[test]
fn mainnet_50_reports_are_unchanged() {
    runs_match("mainnet_50");
}

#[test]
fn l402_demo_is_unchanged() {
    for scene in ["classroom", "l402_market"] {
        let json = tmp(&format!("golden-demo-{scene}.json"));
        let out = lnlab(&[
            "l402",
            "demo",
            &format!("scenes/{scene}.ron"),
            "--json",
            json.to_str().unwrap(),
        ]);
        assert_ok(&out);
        check(&format!("l402-demo-{scene}.txt"), &out.stdout);
        check(
            &format!("l402-demo-{scene}.json"),
            &std::fs::read(&json).unwrap(),
        );
    }
}

/// Training for a seed gives the same weights, metrics and evaluation. The checkpoint it
/// writes is the one the `ppo` golden runs use.
#[test]
fn training_is_unchanged() {
    let ckpt = tmp("golden-train.safetensors");
    let metrics = tmp("golden-train.csv");
    let out = lnlab(&[
        "train",
        "scenes/classroom.ron",
        "--steps",
        "800",
        "--seed",
        "11",
        "--eval-payments",
        "300",
        "--out",
        ckpt.to_str().unwrap(),
        "--metrics",
        metrics.to_str().unwrap(),
    ]);
    assert_ok(&out);
    check("classroom.safetensors", &std::fs::read(&ckpt).unwrap());
    check(
        "classroom.safetensors.ron",
        &std::fs::read(ckpt.with_extension("safetensors.ron")).unwrap(),
    );
    // Every column but `sps` (decisions per wall-clock second).
    let text = String::from_utf8(std::fs::read(&metrics).unwrap()).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let sps = header.iter().position(|c| *c == "sps").unwrap();
    let kept: String = text
        .lines()
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            let mut row: Vec<&str> = cells[..sps].to_vec();
            row.extend(&cells[sps + 1..]);
            row.join(",") + "\n"
        })
        .collect();
    assert!(kept.lines().count() > 2, "training made updates:\n{kept}");
    check("train-metrics.csv", kept.as_bytes());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let eval = &stdout[stdout.find("evaluation on").expect("an evaluation table")..];
    check("train-evaluation.txt", eval.as_bytes());
}
