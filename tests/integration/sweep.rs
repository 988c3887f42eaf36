//! `lnlab sweep` as a user runs it: a small grid of compare and train jobs emitted for a
//! scheduler, each job's command from `jobs.txt` run as GNU parallel or Slurm would (one
//! through `slurm.sh` itself), then the same sweep run locally, which must give the same
//! results; `collect` tables checked against the jobs' own JSON; bad specs and folders
//! refused with one clear error.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MANIFEST: &str = env!("CARGO_MANIFEST_DIR");

fn lnlab<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lnlab"))
        .args(args)
        .current_dir(MANIFEST)
        .output()
        .expect("the binary runs")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The one-line error of a failed run, checked for `needle` and for no panic.
fn fails(out: &Output, needle: &str) -> String {
    assert!(!out.status.success(), "expected failure");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains(needle), "stderr {err:?} lacks {needle:?}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

/// The spec of the end-to-end test: two compare jobs (two first seeds) on the preset
/// classroom scene by absolute path, and two train jobs (two training seeds) on a copy of
/// it beside the spec, named relatively.
fn write_spec(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("scenes")).unwrap();
    std::fs::copy(
        Path::new(MANIFEST).join("scenes/classroom.ron"),
        dir.join("scenes/classroom.ron"),
    )
    .unwrap();
    let spec = dir.join("spec.ron");
    std::fs::write(
        &spec,
        format!(
            r#"// a sweep small enough for a test
(
  name: "test-sweep",
  compare: [
    (
      scenes: ["{MANIFEST}/scenes/classroom.ron"],
      policies: ["lnd", "oracle", "cheapest"],
      payments: [200],
      seeds: 2,
      first_seeds: [100, 200],
    ),
  ],
  train: [
    (
      scenes: ["scenes/classroom.ron"],
      steps: [300],
      seeds: [1, 2],
      eval_payments: 100,
      eval_seeds: 2,
      compare_with: ["lnd"],
    ),
  ],
)
"#
        ),
    )
    .unwrap();
    spec
}

/// A compare JSON with its wall-clock figure (`payments_per_second`, an object of three
/// lines in the pretty JSON) cut out, every other byte kept.
fn without_wall_clock(text: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.trim_start().starts_with("\"payments_per_second\"") {
            skipping = true;
        }
        if !skipping {
            out += line;
            out.push('\n');
        }
        if skipping && line.trim_start().starts_with('}') {
            skipping = false;
        }
    }
    assert!(!out.contains("payments_per_second"));
    out
}

fn result_path(dir: &Path, job: &Value) -> PathBuf {
    dir.join(job["folder"].as_str().unwrap())
        .join("result.json")
}

#[test]
fn emitted_jobs_run_as_a_scheduler_would_and_match_the_local_run() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = write_spec(tmp.path());
    // A space in the path: jobs.txt and slurm.sh must quote it.
    let dir = tmp.path().join("out dir");
    let stdout = ok(&lnlab(&[
        "sweep".as_ref(),
        spec.as_os_str(),
        "--out".as_ref(),
        dir.as_os_str(),
        "--emit-only".as_ref(),
    ]));
    assert!(stdout.contains("4 jobs (2 compare, 2 train)"), "{stdout}");
    let plan = json(&dir.join("plan.json"));
    let jobs = plan["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 4);
    for job in jobs {
        assert!(dir.join(job["folder"].as_str().unwrap()).is_dir());
        assert!(!result_path(&dir, job).exists(), "--emit-only runs nothing");
    }
    // The relative scene resolved against the spec's folder.
    assert_eq!(
        jobs[2]["scene_path"].as_str().unwrap(),
        tmp.path().join("scenes/classroom.ron").to_str().unwrap()
    );

    // jobs.txt: one line per job, each the job's commands joined with &&, and nothing else.
    let lnlab_path = plan["lnlab"].as_str().unwrap();
    let text = std::fs::read_to_string(dir.join("jobs.txt")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), jobs.len());
    let quoted = format!("'{}/jobs/0000/result.json'", dir.display());
    assert!(lines[0].ends_with(&quoted), "{}", lines[0]);
    let mut argvs: Vec<Vec<Vec<String>>> = Vec::new();
    for (line, job) in lines.iter().zip(jobs) {
        let words = shlex::split(line).expect("a valid shell line");
        let steps: Vec<Vec<String>> = words.split(|w| w == "&&").map(<[String]>::to_vec).collect();
        let planned: Vec<Vec<String>> = serde_json::from_value(job["commands"].clone()).unwrap();
        assert_eq!(steps.len(), planned.len(), "{line}");
        for (argv, args) in steps.iter().zip(&planned) {
            assert_eq!(argv[0], lnlab_path);
            assert_eq!(&argv[1..], &args[..], "{line}");
        }
        argvs.push(steps);
    }
    assert_eq!(argvs[2].len(), 2, "a train job trains, then compares");

    // slurm.sh: valid bash, one array task per job.
    let slurm = dir.join("slurm.sh");
    let check = Command::new("bash").arg("-n").arg(&slurm).output().unwrap();
    assert!(check.status.success(), "{check:?}");
    let script = std::fs::read_to_string(&slurm).unwrap();
    let array = script
        .lines()
        .find_map(|l| l.strip_prefix("#SBATCH --array="))
        .expect("an --array line");
    assert_eq!(array, format!("0-{}", jobs.len() - 1));

    // Run every job as a scheduler would: the last one as Slurm's array task, the others
    // from their argv as GNU parallel's shell would.
    let last = jobs.len() - 1;
    for (i, steps) in argvs.iter().enumerate().take(last) {
        for argv in steps {
            let out = Command::new(&argv[0]).args(&argv[1..]).output().unwrap();
            ok(&out);
        }
        assert!(result_path(&dir, &jobs[i]).exists());
    }
    let task = |id: usize| {
        Command::new("bash")
            .arg(&slurm)
            .env("SLURM_ARRAY_TASK_ID", id.to_string())
            .output()
            .unwrap()
    };
    ok(&task(last));
    let job_dir = dir.join(jobs[last]["folder"].as_str().unwrap());
    let log = std::fs::read_to_string(job_dir.join("stdout.txt")).unwrap();
    assert!(log.contains("evaluation on 100 fresh payments"), "{log}");
    assert!(
        !task(jobs.len()).status.success(),
        "no task past the last job"
    );

    let scheduled: Vec<String> = jobs
        .iter()
        .map(|j| std::fs::read_to_string(result_path(&dir, j)).unwrap())
        .collect();
    let checkpoint = job_dir.join("agent.safetensors");
    let scheduled_checkpoint = std::fs::read(&checkpoint).unwrap();
    for job in jobs {
        std::fs::remove_file(result_path(&dir, job)).unwrap();
    }

    // The same spec into the same folder is the same sweep: run it here, two at a time.
    let out = lnlab(&[
        "sweep".as_ref(),
        spec.as_os_str(),
        "--out".as_ref(),
        dir.as_os_str(),
        "--jobs".as_ref(),
        "2".as_ref(),
    ]);
    let stdout = ok(&out);
    for i in 1..=4 {
        assert!(stdout.contains(&format!("[{i}/4] job ")), "{stdout}");
    }
    assert_eq!(json(&dir.join("plan.json")), plan, "the same plan");
    for (job, before) in jobs.iter().zip(&scheduled) {
        let now = std::fs::read_to_string(result_path(&dir, job)).unwrap();
        assert_eq!(
            without_wall_clock(&now),
            without_wall_clock(before),
            "job {}",
            job["id"]
        );
    }
    assert_eq!(std::fs::read(&checkpoint).unwrap(), scheduled_checkpoint);

    // Run again: every job has its result, nothing runs.
    let stdout = ok(&lnlab(&[
        "sweep".as_ref(),
        spec.as_os_str(),
        "--out".as_ref(),
        dir.as_os_str(),
    ]));
    assert!(
        stdout.contains("4 of 4 jobs already have a result"),
        "{stdout}"
    );

    check_tables(&dir, jobs);
}

/// `collect`'s tables against the jobs' own JSON: a row per job and policy with the
/// job's parameters and exactly the JSON's numbers, and groups of jobs that differ only in
/// seed with the mean over their jobs.
fn check_tables(dir: &Path, jobs: &[Value]) {
    let auto = std::fs::read(dir.join("results.csv")).unwrap();
    ok(&lnlab(&[
        "sweep".as_ref(),
        "collect".as_ref(),
        dir.as_os_str(),
    ]));
    assert_eq!(
        std::fs::read(dir.join("results.csv")).unwrap(),
        auto,
        "the local run collected already, the same way"
    );

    let mut csv = csv::Reader::from_path(dir.join("results.csv")).unwrap();
    let header: Vec<String> = csv.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    assert!(!header.iter().any(|h| h.starts_with("payments_per_second")));
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    let expected_rows: usize = jobs
        .iter()
        .map(|j| j["policies"].as_array().unwrap().len())
        .sum();
    assert_eq!(rows.len(), expected_rows);
    let mut row = rows.iter();
    // (kind, policy label, success rate mean) of every row.
    let mut means: Vec<(String, String, f64)> = Vec::new();
    for job in jobs {
        let result = json(&result_path(dir, job));
        for r in result["results"].as_array().unwrap() {
            let row = row.next().unwrap();
            assert_eq!(row[col("job")], job["id"].to_string());
            assert_eq!(row[col("kind")], job["kind"].as_str().unwrap().to_string());
            assert_eq!(row[col("payments")], job["payments"].to_string());
            assert_eq!(row[col("first_seed")], job["first_seed"].to_string());
            let policy = r["policy"].as_str().unwrap();
            if policy.starts_with("ppo:") {
                assert_eq!(&row[col("policy")], "trained");
                assert_eq!(row[col("train_seed")], job["training"]["seed"].to_string());
            } else {
                assert_eq!(&row[col("policy")], policy);
            }
            for metric in ["success_rate", "fees_paid_msat", "attempts_mean"] {
                for part in ["mean", "ci95_low", "ci95_high"] {
                    let cell: f64 = row[col(&format!("{metric}_{part}"))].parse().unwrap();
                    assert_eq!(cell, r[metric][part].as_f64().unwrap(), "{metric} {part}");
                }
            }
            means.push((
                job["kind"].as_str().unwrap().to_string(),
                row[col("policy")].to_string(),
                r["success_rate"]["mean"].as_f64().unwrap(),
            ));
        }
    }

    // Across seeds: compare jobs 0 and 1 (first seeds 100, 200) for each of their three
    // policies, train jobs 2 and 3 (seeds 1, 2) for the trained checkpoint and lnd.
    let mut csv = csv::Reader::from_path(dir.join("across_seeds.csv")).unwrap();
    let header: Vec<String> = csv.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let groups: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    let described: Vec<(String, String, String)> = groups
        .iter()
        .map(|g| {
            (
                g[col("policy")].to_string(),
                g[col("job_ids")].to_string(),
                g[col("varied_seeds")].to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, String, String)> = [
        ("lnd", "0 1", "100 200"),
        ("oracle", "0 1", "100 200"),
        ("cheapest", "0 1", "100 200"),
        ("trained", "2 3", "1 2"),
        ("lnd", "2 3", "1 2"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(described, expected);
    for g in &groups {
        let key = (&g[col("kind")], &g[col("policy")]);
        let samples: Vec<f64> = means
            .iter()
            .filter(|(kind, policy, _)| (kind.as_str(), policy.as_str()) == key)
            .map(|(_, _, m)| *m)
            .collect();
        assert_eq!(samples.len(), 2, "{key:?}");
        let mean: f64 = g[col("success_rate_mean")].parse().unwrap();
        assert!(
            (mean - (samples[0] + samples[1]) / 2.0).abs() < 1e-12,
            "{key:?}"
        );
        let (lo, hi): (f64, f64) = (
            g[col("success_rate_ci95_low")].parse().unwrap(),
            g[col("success_rate_ci95_high")].parse().unwrap(),
        );
        assert!(lo <= mean && mean <= hi, "{key:?}");
    }

    let md = std::fs::read_to_string(dir.join("results.md")).unwrap();
    let table_rows = md.lines().filter(|l| l.starts_with("| ")).count();
    assert_eq!(
        table_rows,
        2 + rows.len() + groups.len(),
        "two headers and a line per row"
    );
    assert!(md.contains("## Across seeds"), "{md}");
}

#[test]
fn bad_specs_and_folders_get_one_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = write_spec(tmp.path());
    let good = std::fs::read_to_string(&spec).unwrap();
    let out = tmp.path().join("out");
    let sweep = |text: &str, out: &Path| {
        let path = tmp.path().join("bad.ron");
        std::fs::write(&path, text).unwrap();
        lnlab(&[
            "sweep".as_ref(),
            path.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--emit-only".as_ref(),
        ])
    };
    let bad = tmp.path().join("bad.ron").display().to_string();
    // A syntax error: file, line and column.
    let text = good.replace("seeds: 2,", "seeds: 2;");
    let line = text.lines().position(|l| l.contains("seeds: 2;")).unwrap() + 1;
    fails(&sweep(&text, &out), &format!("{bad}:{line}:"));
    // Meaning errors, at the field they are about.
    let text = good.replace("\"cheapest\"", "\"fastest\"");
    let line = text.lines().position(|l| l.contains("fastest")).unwrap() + 1;
    let err = fails(&sweep(&text, &out), "unknown routing policy `fastest`");
    assert!(err.contains(&format!("{bad}:{line}:")), "{err}");
    fails(
        &sweep(&good.replace("seeds: 2,", "seeds: 0,"), &out),
        "compare[0].seeds: 0 runs per policy",
    );
    fails(
        &sweep(
            &good.replace("\"scenes/classroom.ron\"", "\"scenes/missing.ron\""),
            &out,
        ),
        "scenes/missing.ron: cannot read",
    );
    fails(&sweep("(name: \"nothing\")", &out), "plans no jobs");
    fails(
        &sweep(&good.replace("payments: [200]", "payments: []"), &out),
        "compare[0].payments: empty",
    );
    assert!(!out.exists(), "nothing is written for a bad spec");

    // A folder holding another sweep, or other files, is refused.
    ok(&sweep(&good, &out));
    fails(
        &sweep(
            &good.replace("first_seeds: [100, 200]", "first_seeds: [300]"),
            &out,
        ),
        "holds the plan of another sweep",
    );
    let other = tmp.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "mine").unwrap();
    fails(&sweep(&good, &other), "not empty and holds no sweep plan");

    // collect: a folder without a plan, jobs without results, a result that is not one.
    fails(
        &lnlab(&["sweep".as_ref(), "collect".as_ref(), other.as_os_str()]),
        "no plan.json",
    );
    let collect = || lnlab(&["sweep".as_ref(), "collect".as_ref(), out.as_os_str()]);
    let first = out.join("jobs/0000/result.json");
    fails(
        &collect(),
        &format!("4 of 4 jobs have no result yet: {}", first.display()),
    );
    std::fs::write(&first, "{\"results\": 3}").unwrap();
    fails(
        &collect(),
        &format!("{}: not an `lnlab compare --json` result", first.display()),
    );
}

#[test]
fn a_failing_job_is_named_and_the_sweep_exits_non_zero() {
    let tmp = tempfile::tempdir().unwrap();
    // A checkpoint that is not one: the job plans fine and fails when it runs.
    std::fs::write(tmp.path().join("junk.safetensors"), "junk").unwrap();
    let spec = tmp.path().join("spec.ron");
    std::fs::write(
        &spec,
        format!(
            r#"(name: "fails", compare: [(scenes: ["{MANIFEST}/scenes/classroom.ron"],
                policies: ["lnd", "ppo:junk.safetensors"], payments: [20, 30])])"#
        ),
    )
    .unwrap();
    let dir = tmp.path().join("out");
    let out = lnlab(&[
        "sweep".as_ref(),
        spec.as_os_str(),
        "--out".as_ref(),
        dir.as_os_str(),
    ]);
    let err = fails(&out, "2 of 2 jobs failed (job 0, 1)");
    assert!(err.contains("junk.safetensors"), "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("job 0 FAILED"), "{stdout}");
    let log = std::fs::read_to_string(dir.join("jobs/0001/stderr.txt")).unwrap();
    assert!(log.contains("junk.safetensors"), "{log}");
    assert!(
        !dir.join("results.csv").exists(),
        "no tables from failed jobs"
    );
}
