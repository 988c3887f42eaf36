//! The desktop lab as a user (or a classroom script) runs it: a real window under Xvfb with
//! Mesa's software Vulkan (lavapipe). Screenshots are checked by their pixels, scripted
//! runs by the JSON state the app writes on exit. Bad input is refused before any window
//! opens.

use super::cli::{assert_ok, assert_one_line_error, lnlab, tmp};
use lnlab::lab_theme::{self as theme, Rgb};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LAVAPIPE: &str = "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json";

/// Run the lab in a small window under Xvfb.
fn lab_window(args: &[&str]) -> Output {
    let has_xvfb = Command::new("sh")
        .args(["-c", "command -v xvfb-run"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_xvfb && Path::new(LAVAPIPE).exists(),
        "the GUI tests need Xvfb and Mesa's software Vulkan: \
         apt-get install -y xvfb xauth mesa-vulkan-drivers libvulkan1"
    );
    let runtime = tmp("xdg-runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    Command::new("xvfb-run")
        .args([
            "-a",
            "-s",
            "-screen 0 1024x640x24",
            env!("CARGO_BIN_EXE_lnlab"),
        ])
        .args(args)
        .args(["--size", "960x600"])
        .env("VK_ICD_FILENAMES", LAVAPIPE)
        .env("XDG_RUNTIME_DIR", &runtime)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("xvfb-run runs")
}

fn near(p: &image::Rgb<u8>, c: Rgb, tolerance: i32) -> bool {
    p.0.iter()
        .zip(c)
        .all(|(&a, b)| (a as i32 - b as i32).abs() <= tolerance)
}

#[test]
fn a_screenshot_of_the_classroom_shows_the_drawn_graph() {
    let out_png = tmp("classroom.png");
    let out = lab_window(&[
        "scenes/classroom.ron",
        "--frames",
        "45",
        "--screenshot",
        out_png.to_str().unwrap(),
    ]);
    assert_ok(&out);
    let img = image::open(&out_png).expect("a PNG").to_rgb8();
    assert_eq!(img.dimensions(), (960, 600));
    let count = |c: Rgb| img.pixels().filter(|p| near(p, c, 24)).count();
    // Channel bars in both liquidity colours, hub agents, clients and merchants.
    let local = count(theme::LOCAL);
    let remote = count(theme::REMOTE);
    let agents = count(theme::group(0));
    let clients = count(theme::role(lnlab::Role::Client));
    let merchants = count(theme::role(lnlab::Role::Merchant));
    assert!(
        local > 1500 && remote > 1500,
        "channel pixels: {local} teal, {remote} amber"
    );
    assert!(agents > 300, "hub agent pixels: {agents}");
    assert!(
        clients > 100 && merchants > 100,
        "{clients} client, {merchants} merchant pixels"
    );
    // The graph sits in the middle of the window, between the panels.
    let (w, h) = img.dimensions();
    let centre = img
        .enumerate_pixels()
        .filter(|(x, y, _)| *x > w / 4 && *x < 3 * w / 4 && *y > h / 10 && *y < 7 * h / 10)
        .filter(|(_, _, p)| near(p, theme::LOCAL, 24) || near(p, theme::REMOTE, 24))
        .count();
    assert!(centre > 1000, "channel pixels in the graph area: {centre}");
    // The colour key, always there: the L402 swatch is the only violet on a scene with no
    // paid APIs, and it sits in the lower left of the graph area.
    let key = img
        .enumerate_pixels()
        .filter(|(x, y, _)| *x < w / 2 && *y > h / 3)
        .filter(|(_, _, p)| near(p, theme::L402, 20))
        .count();
    assert!(key > 10, "colour key pixels: {key}");
    // Mostly background there still: a drawing, not a smear.
    let bg = [14u8, 16, 22];
    let background = img.pixels().filter(|p| near(p, bg, 6)).count();
    assert!(
        background > (w * h / 5) as usize,
        "background pixels: {background}"
    );

    // A screenshot that cannot be written is an error, not a quiet success (here the
    // name is taken by a folder, which only shows when the file is written).
    let nowhere = tmp("taken.png");
    std::fs::create_dir_all(&nowhere).unwrap();
    let out = lab_window(&[
        "scenes/classroom.ron",
        "--frames",
        "3",
        "--screenshot",
        nowhere.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "exit status {:?}", out.status);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot save the screenshot"));
}

/// Every channel of a state dump holds its capacity: balances plus what is in flight.
fn assert_conserved(channels: &[Value]) {
    for c in channels {
        let total: u64 = ["forward", "backward"]
            .iter()
            .map(|s| {
                c[s]["balance_msat"].as_u64().unwrap() + c[s]["in_flight_msat"].as_u64().unwrap()
            })
            .sum();
        assert_eq!(
            total,
            c["capacity_sat"].as_u64().unwrap() * 1000,
            "{}",
            c["scid"]
        );
    }
}

fn lesson(name: &str, steps: &str) -> PathBuf {
    let path = tmp(&format!("lesson-{name}.ron"));
    std::fs::write(&path, format!("(steps: [\n{steps}\n])\n")).unwrap();
    path
}

fn dump(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Run `scene` in the window under `script`, and return the state it dumps on exit.
fn scripted_run(scene: &str, script: &Path, state: &Path) -> Value {
    scripted_run_with(scene, script, state, &[])
}

/// [`scripted_run`] with more flags (e.g. `--frames N`).
fn scripted_run_with(scene: &str, script: &Path, state: &Path, flags: &[&str]) -> Value {
    let mut args = vec![
        scene,
        "--script",
        script.to_str().unwrap(),
        "--dump-state",
        state.to_str().unwrap(),
    ];
    args.extend_from_slice(flags);
    assert_ok(&lab_window(&args));
    dump(state)
}

/// Lesson steps: run at 25x, and jam classroom's hub-to-hub channel at 5 s.
const SPEED_UP_AND_JAM: &str = r#"(wait: Frames(1), do: SetSpeed(Times(25.0))),
           (wait: Sim(5000), do: Inject(JamChannel(scid: "800000x8x0", direction: None, duration_ms: 600000))),"#;

/// Jam the hub-to-hub channel at 5 s, fail to open a broken scene, save, run on to 15 s.
fn scripted_jam(tag: &str) -> (Value, PathBuf) {
    let broken = tmp("broken-for-lab.ron");
    std::fs::write(&broken, "Scene(\n  format_version: 1,\n  nodes: [,\n").unwrap();
    let saved = tmp(&format!("saved-{tag}.ron"));
    let state = tmp(&format!("state-{tag}.json"));
    let script = lesson(
        tag,
        &format!(
            r#"{SPEED_UP_AND_JAM}
           (wait: Sim(6000), do: OpenScene("{}")),
           (wait: Sim(8000), do: SaveScene("{}")),
           (wait: Sim(9000), do: SelectNode(4)),
           (wait: Sim(15000), do: Quit),"#,
            broken.display(),
            saved.display()
        ),
    );
    let out = lab_window(&[
        "scenes/classroom.ron",
        "--script",
        script.to_str().unwrap(),
        "--dump-state",
        state.to_str().unwrap(),
    ]);
    assert_ok(&out);
    (dump(&state), saved)
}

#[test]
fn a_scripted_jam_leaves_the_engine_in_the_expected_state() {
    let (state, saved) = scripted_jam("a");
    assert_eq!(
        state["scene"], "classroom",
        "a broken scene does not replace the running one"
    );
    assert_eq!(
        state["sim_ms"], 15_000,
        "a Sim wait stops the engine exactly there"
    );
    let errors = state["lab_errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e.as_str().unwrap().contains("broken-for-lab.ron:3:")),
        "the load error names file and line: {errors:?}"
    );
    let applied = state["applied_commands"].as_array().unwrap();
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert_eq!(applied[0]["at_ms"], 5_000);
    assert_eq!(applied[0]["label"], "jam 800000x8x0");
    assert_eq!(state["selection"]["Node"], 4);
    let channels = state["channels"].as_array().unwrap();
    let jammed = channels.iter().find(|c| c["scid"] == "800000x8x0").unwrap();
    for side in ["forward", "backward"] {
        assert_eq!(
            jammed[side]["slots_free"], 0,
            "{side}: every slot held by the jam"
        );
        assert!(jammed[side]["htlcs"].as_u64().unwrap() >= 483, "{side}");
    }
    // Invariants hold everywhere: balances plus in-flight equal capacity.
    assert_conserved(channels);
    let m = &state["metrics"];
    assert!(m["payments"].as_u64().unwrap() > 10, "payments flowed: {m}");
    assert!(
        state["agents"]["decisions"].as_u64().unwrap() > 0,
        "the hub agents decided"
    );
    // The saved scene carries the jam in its timeline, and the save cleared the flag.
    assert_eq!(state["unsaved_changes"], false);
    let scene = lnlab::load_scene(&saved).expect("the saved scene loads");
    assert_eq!(scene.timeline.len(), 1);
    assert_eq!(scene.timeline[0].at_ms, 5_000);

    // The same script gives the same engine state, byte for byte.
    let (again, _) = scripted_jam("b");
    for key in [
        "sim_ms",
        "events_processed",
        "metrics",
        "channels",
        "nodes",
        "agents",
    ] {
        assert_eq!(
            state[key], again[key],
            "{key} differs between identical runs"
        );
    }
}

#[test]
fn bad_lab_input_is_refused_before_a_window_opens() {
    assert_one_line_error(&lnlab(&["no/such/scene.ron"]), "no/such/scene.ron");
    assert_one_line_error(
        &lnlab(&[
            "scenes/classroom.ron",
            "--frames",
            "3",
            "--screenshot",
            "x.jpg",
        ]),
        "PNG",
    );
    assert_one_line_error(
        &lnlab(&["scenes/classroom.ron", "--screenshot", "x.png"]),
        "--frames",
    );
    assert_one_line_error(
        &lnlab(&[
            "scenes/classroom.ron",
            "--dump-state",
            "no/such/dir/state.json",
        ]),
        "folder does not exist",
    );
    assert_one_line_error(
        &lnlab(&["scenes/classroom.ron", "--size", "10x10"]),
        "200..=8192",
    );
    assert_one_line_error(
        &lnlab(&["scenes/classroom.ron", "--speed", "fast"]),
        "speed",
    );
    let no_display = Command::new(env!("CARGO_BIN_EXE_lnlab"))
        .arg("scenes/classroom.ron")
        .env_remove("DISPLAY")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_one_line_error(&no_display, "no display");
    let bad = lesson("bad", "(wait: Sim(10), do: Teleport),");
    let out = lnlab(&["scenes/classroom.ron", "--script", bad.to_str().unwrap()]);
    assert_one_line_error(&out, &format!("{}:2:", bad.display()));
    assert_one_line_error(&out, "Teleport");
    // A lesson waiting for the end of a run that never ends, and an arena whose
    // checkpoint is missing.
    let endless = lesson("endless", "(wait: Done, do: Quit),");
    assert_one_line_error(
        &lnlab(&[
            "scenes/classroom.ron",
            "--script",
            endless.to_str().unwrap(),
        ]),
        "step 1: a Done wait needs a run that ends",
    );
    assert_one_line_error(
        &lnlab(&[
            "scenes/classroom.ron",
            "--arena",
            "lnd,ppo:no/such.safetensors",
        ]),
        "arena ppo:no/such.safetensors",
    );
}

/// Let the classroom's agents learn, pause, save (Ctrl+S), open what was saved and save
/// it again at once: the second save writes exactly the weights the first one did, so
/// reopening restored the running agents.
#[test]
fn learned_weights_round_trip_through_a_save() {
    let first = tmp("weights-a.ron");
    let second = tmp("weights-b.ron");
    let script = lesson(
        "weights",
        &format!(
            r#"(wait: Frames(1), do: SetSpeed(Times(50.0))),
           (wait: Sim(20000), do: Pause),
           (wait: Frames(1), do: SaveScene("{a}")),
           (wait: Frames(1), do: OpenScene("{a}")),
           (wait: Frames(2), do: SaveScene("{b}")),
           (wait: Frames(1), do: QuitNow),"#,
            a = first.display(),
            b = second.display()
        ),
    );
    let out = lab_window(&["scenes/classroom.ron", "--script", script.to_str().unwrap()]);
    assert_ok(&out);
    let scene_a = lnlab::load_scene(&first).unwrap();
    let scene_b = lnlab::load_scene(&second).unwrap();
    let ckpt = |s: &lnlab::Scene| s.agents.as_ref().unwrap().groups[0].checkpoint.clone();
    assert_eq!(
        ckpt(&scene_a).as_deref(),
        Some("weights-a-hubs.safetensors")
    );
    assert_eq!(
        ckpt(&scene_b).as_deref(),
        Some("weights-b-hubs.safetensors")
    );
    let dir = first.parent().unwrap();
    let bytes = |name: &str| std::fs::read(dir.join(name)).unwrap();
    assert_eq!(
        bytes("weights-a-hubs.safetensors"),
        bytes("weights-b-hubs.safetensors"),
        "the reopened scene runs the saved weights"
    );
    // Trained weights, not a fresh network: they differ from the untrained policy's.
    let options = lnlab::SessionOptions::new(1, Some(10));
    let explain = |scene: &lnlab::Scene| {
        lnlab::Session::from_scene(scene, dir, &options)
            .unwrap()
            .view()
            .explain(
                &mut lnlab::Onward::new(4),
                lnlab::NodeId(4),
                lnlab::NodeId(9),
                20_000_000,
            )
    };
    let mut fresh = scene_a.clone();
    fresh.agents.as_mut().unwrap().groups[0].checkpoint = None;
    assert_eq!(explain(&scene_a), explain(&scene_b));
    assert_ne!(
        explain(&scene_a),
        explain(&fresh),
        "the agents had learnt something"
    );
}

/// The scene's own timeline (congestion.ron jams the hub-to-hub channel at 60 s and drains
/// a merchant channel at 90 s) gets chart markers, as live injections do.
#[test]
fn the_scenes_own_timeline_entries_are_marked() {
    let state = tmp("state-timeline.json");
    let charts = tmp("timeline-charts.csv");
    let script = lesson(
        "timeline",
        &format!(
            r#"(wait: Frames(1), do: SetSpeed(Times(50.0))),
           (wait: Sim(1000), do: Caption("Watch the hub-to-hub channel.")),
           (wait: Sim(95000), do: ExportCharts("{}")),
           (wait: Frames(2), do: QuitNow),"#,
            charts.display()
        ),
    );
    let state = scripted_run("scenes/congestion.ron", &script, &state);
    assert_eq!(state["caption"], "Watch the hub-to-hub channel.");
    // The hubs ranking: by forwarded share, and the two hubs lead it.
    let hubs = state["hubs"].as_array().unwrap();
    let shares: Vec<f64> = hubs
        .iter()
        .map(|h| h["forwarded_share"].as_f64().unwrap())
        .collect();
    assert!(shares.windows(2).all(|w| w[0] >= w[1]), "{shares:?}");
    assert!(shares.iter().sum::<f64>() <= 1.0 + 1e-9);
    let top: Vec<&str> = hubs[..2]
        .iter()
        .map(|h| h["alias"].as_str().unwrap())
        .collect();
    assert!(
        top.contains(&"HubNorth") && top.contains(&"HubSouth"),
        "{top:?}"
    );
    assert!(
        hubs[0]["betweenness"].as_f64().unwrap() > 0.2,
        "{}",
        hubs[0]
    );
    let applied = state["applied_commands"].clone();
    assert_eq!(
        applied,
        serde_json::json!([
            {"at_ms": 60000, "label": "jam 800000x8x0"},
            {"at_ms": 90000, "label": "drain 800000x13x0"},
        ]),
        "{applied}"
    );
    // The charts' data, exported as CSV: success rate of the whole network over time.
    let text = std::fs::read_to_string(&charts).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("chart,line,sim_s,value"));
    let success: Vec<f64> = lines
        .filter(|l| l.starts_with("success rate,network,"))
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(!success.is_empty(), "{text}");
    assert!(success.iter().all(|s| (0.0..=1.0).contains(s)), "{text}");
}

/// Every lesson in `scenes/lessons` parses and checks against the scene it names, and a
/// lesson that names a missing node is refused before a window opens.
#[test]
fn lessons_are_checked_against_their_scenes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/lessons");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let lesson = lnlab::Lesson::load(&path).unwrap();
        let scene = lesson.scene.as_ref().expect("each lesson names its scene");
        let scene = lnlab::load_scene(&dir.join(scene)).unwrap();
        lesson
            .check_against(&scene)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            lesson
                .steps
                .iter()
                .any(|s| matches!(s.command, lnlab::LabCommand::Caption(_))),
            "{} narrates on screen",
            path.display()
        );
        checked += 1;
    }
    assert!(checked >= 4, "{checked} lessons");
    let bad = lesson("bad-node", r#"(wait: Frames(1), do: SelectNode(99)),"#);
    assert_one_line_error(
        &lab_window(&["scenes/classroom.ron", "--script", bad.to_str().unwrap()]),
        "step 1: node 99, but the scene has 12 nodes",
    );
    // Each lesson names the charts presenter mode keeps, and a chart the scene cannot
    // draw is refused (mainnet_50 has no agents to chart).
    for name in [
        "how_routing_works",
        "jam_a_hub",
        "l402_market",
        "hubs_emerging",
    ] {
        let lesson = lnlab::Lesson::load(&dir.join(format!("{name}.ron"))).unwrap();
        assert!(!lesson.charts.is_empty(), "{name} names its charts");
    }
    let path = tmp("lesson-bad-chart.ron");
    std::fs::write(
        &path,
        "(charts: [Entropy], steps: [(wait: Frames(1), do: Quit)])",
    )
    .unwrap();
    assert_one_line_error(
        &lab_window(&["scenes/mainnet_50.ron", "--script", path.to_str().unwrap()]),
        "charts: entropy needs PPO agents, and the scene has none",
    );
}

#[test]
fn presenter_mode_keeps_the_charts_the_lesson_names() {
    let state = tmp("state-presenter.json");
    let path = tmp("lesson-presenter.ron");
    std::fs::write(
        &path,
        r#"(charts: [Success, Latency], steps: [
             (wait: Frames(1), do: SetPresenter(true)),
             (wait: Frames(30), do: Quit),
           ])"#,
    )
    .unwrap();
    let state = scripted_run("scenes/classroom.ron", &path, &state);
    assert_eq!(
        state["lesson_charts"],
        serde_json::json!(["Success", "Latency"])
    );
}

/// The lesson picker's command (the run panel's "lesson" menu) opens the lesson's scene and
/// runs the lesson from its first step, with its captions and charts.
#[test]
fn a_lesson_picked_in_the_app_opens_its_scene_and_runs() {
    let state = tmp("state-picker.json");
    let jam = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/lessons/jam_a_hub.ron");
    let script = lesson(
        "picker",
        &format!(
            r#"(wait: Frames(1), do: StartLesson("{}")),"#,
            jam.display()
        ),
    );
    let d = scripted_run_with("scenes/hubs.ron", &script, &state, &["--frames", "40"]);
    let classroom = lnlab::load_scene(Path::new("scenes/classroom.ron")).unwrap();
    assert_eq!(d["scene"], classroom.name.as_str(), "{d}");
    assert!(
        d["scene_path"].as_str().unwrap().ends_with("classroom.ron"),
        "{d}"
    );
    assert!(
        d["caption"].as_str().unwrap().starts_with("Two hubs"),
        "the lesson's first caption: {d}"
    );
    assert_eq!(
        d["lesson_charts"],
        serde_json::json!(["Success", "Latency"])
    );
    assert!(d["lesson"].as_str().unwrap().ends_with("jam_a_hub.ron"));
    let offered = d["lessons"].as_array().unwrap();
    assert!(
        offered.len() >= 3
            && offered
                .iter()
                .any(|l| l.as_str().unwrap().ends_with("jam_a_hub.ron")),
        "the picker offers the shipped lessons: {offered:?}"
    );
}

/// A teacher skips a long wait (N) and goes back a caption (B); as lesson steps here.
#[test]
fn lesson_steps_can_be_skipped_and_captions_gone_back_to() {
    let state = tmp("state-steps.json");
    let script = lesson(
        "steps",
        r#"(wait: Frames(1), do: Caption("one")),
           (wait: Frames(2), do: NextStep),
           (wait: Sim(600000), do: Caption("two")),
           (wait: Frames(2), do: Caption("three")),
           (wait: Frames(2), do: PreviousStep),
           (wait: Frames(3), do: QuitNow),"#,
    );
    // `--frames` is only a safety net: a lesson stuck at the long wait ends there.
    let state = scripted_run_with(
        "scenes/classroom.ron",
        &script,
        &state,
        &["--frames", "600"],
    );
    assert_eq!(state["caption"], "two", "back from three to two");
    assert!(
        state["sim_ms"].as_u64().unwrap() < 600_000,
        "the 10-minute wait was skipped"
    );
}

#[test]
fn the_traffic_overlay_draws_the_channels_that_carried_payments() {
    let run = |tag: &str, on: bool| {
        let state = tmp(&format!("state-traffic-{tag}.json"));
        let png = tmp(&format!("traffic-{tag}.png"));
        let script = lesson(
            &format!("traffic-{tag}"),
            &format!(
                r#"(wait: Frames(1), do: SetSpeed(Times(8.0))),
                   (wait: Frames(1), do: SetTraffic({on})),
                   (wait: Sim(40000), do: Screenshot("{}")),
                   (wait: Frames(2), do: Quit),"#,
                png.display()
            ),
        );
        let state = scripted_run("scenes/classroom.ron", &script, &state);
        let img = image::open(&png).expect("a PNG").to_rgb8();
        let pink = img.pixels().filter(|p| near(p, theme::TRAFFIC, 30)).count();
        (state, pink)
    };
    let (state, pink) = run("on", true);
    let traffic = &state["traffic"];
    assert_eq!(traffic["on"], true);
    let busiest = traffic["busiest"].as_array().unwrap();
    assert!(!busiest.is_empty(), "payments settled in the last minute");
    let volumes: Vec<u64> = busiest
        .iter()
        .map(|b| b["msat"].as_u64().unwrap())
        .collect();
    assert!(volumes.windows(2).all(|w| w[0] >= w[1]), "{volumes:?}");
    assert!(volumes[0] > 0);
    let scids: Vec<&str> = state["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["scid"].as_str().unwrap())
        .collect();
    assert!(
        busiest
            .iter()
            .all(|b| scids.contains(&b["scid"].as_str().unwrap()))
    );
    // Drawn: the overlay's colour on the channels (and its swatch in the colour key),
    // and none of it with the overlay off.
    let (off, pink_off) = run("off", false);
    assert_eq!(off["traffic"]["on"], false);
    assert!(pink > 2000, "overlay pixels: {pink}");
    assert!(
        pink_off < 50,
        "overlay colour with the overlay off: {pink_off}"
    );
}

#[test]
fn a_router_switch_after_the_start_is_saved_where_it_happened() {
    let saved = tmp("switched.ron");
    let state = tmp("state-switched.json");
    let script = lesson(
        "switch",
        &format!(
            r#"(wait: Frames(1), do: SetSpeed(Times(8.0))),
               (wait: Sim(10000), do: SetPolicy("ldk")),
               (wait: Sim(12000), do: SaveScene("{}")),
               (wait: Frames(2), do: Quit),"#,
            saved.display()
        ),
    );
    let state = scripted_run("scenes/congestion.ron", &script, &state);
    assert_eq!(state["policy"], "ldk");
    let scene = lnlab::load_scene(&saved).unwrap();
    assert_eq!(
        scene.routing.policy,
        lnlab::RouterKind::Lnd,
        "the scene still starts with lnd"
    );
    let switch = scene
        .timeline
        .iter()
        .find(|e| {
            e.command
                == lnlab::Command::SetRouter {
                    policy: lnlab::RouterKind::Ldk,
                }
        })
        .expect("the switch is in the timeline");
    assert!(
        (10_000..12_000).contains(&switch.at_ms),
        "at {} ms",
        switch.at_ms
    );
}

/// Run classroom to 15 s under `steps` (after a speed-up and a jam at 5 s), saving the
/// scene at the end; return the dump and the saved scene.
fn edited_run(tag: &str, steps: &str) -> (Value, lnlab::Scene) {
    let saved = tmp(&format!("saved-{tag}.ron"));
    let state = tmp(&format!("state-{tag}.json"));
    let script = lesson(
        tag,
        &format!(
            r#"{SPEED_UP_AND_JAM}
           {steps}
           (wait: Sim(15000), do: SaveScene("{}")),
           (wait: Sim(15000), do: Quit),"#,
            saved.display()
        ),
    );
    let d = scripted_run("scenes/classroom.ron", &script, &state);
    (d, lnlab::load_scene(&saved).unwrap())
}

/// What two runs must share to be the same run: clock, metrics, every channel's state, and
/// the edits marked on the charts.
fn same_run(a: &Value, b: &Value) {
    for key in [
        "sim_ms",
        "metrics",
        "channels",
        "agents",
        "applied_commands",
    ] {
        assert_eq!(a[key], b[key], "{key} differs");
    }
}

/// Undo takes an injection back as if it never happened (the run is replayed without
/// it), redo puts it back as if it had never been taken back, and the saved scene holds
/// exactly the edits that stand.
#[test]
fn undo_and_redo_give_the_run_without_and_with_the_edit() {
    let drain = r#"(wait: Sim(7000), do: Inject(DrainChannel(scid: "800000x1x0", direction: Forward, fraction: 1.0))),"#;
    let (undone, undone_scene) =
        edited_run("undo", &format!("{drain}\n(wait: Sim(9000), do: Undo),"));
    let (never, never_scene) = edited_run("never", "");
    same_run(&undone, &never);
    assert_eq!(undone_scene.timeline, never_scene.timeline);
    assert_eq!(undone_scene.timeline.len(), 1, "the jam stands");
    let (redone, redone_scene) = edited_run(
        "redo",
        &format!("{drain}\n(wait: Sim(9000), do: Undo),\n(wait: Frames(1), do: Redo),"),
    );
    let (kept, kept_scene) = edited_run("kept", drain);
    same_run(&redone, &kept);
    assert_eq!(redone_scene.timeline, kept_scene.timeline);
    assert_eq!(redone_scene.timeline.len(), 2);
    // The drain changed the run, so the comparisons above could tell.
    assert_ne!(kept["channels"], never["channels"]);
}

/// Dragging a node moves it in the run and in the saved scene; the whole drag is one
/// edit for undo and redo.
#[test]
fn a_dragged_node_is_saved_where_it_was_dropped_and_undo_puts_it_back() {
    let saved: Vec<PathBuf> = (1..=3)
        .map(|i| tmp(&format!("saved-drag-{i}.ron")))
        .collect();
    let state = tmp("state-drag.json");
    let script = lesson(
        "drag",
        &format!(
            r#"(wait: Frames(1), do: MoveNode(node: 4, to: (10.0, 20.0), done: false)),
           (wait: Frames(1), do: MoveNode(node: 4, to: (30.0, 40.0), done: true)),
           (wait: Frames(1), do: SaveScene("{}")),
           (wait: Frames(1), do: Undo),
           (wait: Frames(1), do: SaveScene("{}")),
           (wait: Frames(1), do: Redo),
           (wait: Frames(1), do: SaveScene("{}")),
           (wait: Frames(1), do: Quit),"#,
            saved[0].display(),
            saved[1].display(),
            saved[2].display()
        ),
    );
    let d = scripted_run("scenes/classroom.ron", &script, &state);
    assert!(d["lab_errors"].as_array().unwrap().is_empty(), "{d}");
    let original = lnlab::load_scene(Path::new("scenes/classroom.ron")).unwrap();
    let pos = |path: &Path| lnlab::load_scene(path).unwrap().nodes[4].pos;
    assert_eq!(pos(&saved[0]), Some((30.0, 40.0)));
    assert_eq!(
        pos(&saved[1]),
        original.nodes[4].pos,
        "one undo takes the whole drag back"
    );
    assert_eq!(pos(&saved[2]), Some((30.0, 40.0)));
    // Only the layout moved: the run kept no timeline entry for it.
    assert_eq!(
        lnlab::load_scene(&saved[2]).unwrap().timeline,
        original.timeline
    );
}

/// Arenas: two policies side by side on one scene and seed. Each arena ends exactly where
/// `lnlab run` with its policy and seed ends on the scene as saved (an injection reaches
/// every arena at the same simulated time, and the saved scene replays it there), and
/// both viewports are drawn, framed in their arenas' colours, with the scoreboard.
#[test]
fn arenas_run_side_by_side_and_each_equals_the_cli_run() {
    let saved = tmp("saved-arenas.ron");
    let state = tmp("state-arenas.json");
    let shot = tmp("arenas.png");
    let script = lesson(
        "arenas",
        &format!(
            r#"(wait: Sim(5000), do: Inject(DrainChannel(scid: "800000x1x0", direction: Forward, fraction: 1.0))),
               (wait: Frames(1), do: SaveScene("{}")),
               (wait: Done, do: Pause),
               (wait: Frames(40), do: Screenshot("{}")),
               (wait: Frames(3), do: Quit),"#,
            saved.display(),
            shot.display()
        ),
    );
    let d = scripted_run_with(
        "scenes/classroom.ron",
        &script,
        &state,
        &[
            "--arena",
            "lnd,cheapest",
            "--payments",
            "120",
            "--speed",
            "max",
        ],
    );
    assert!(d["lab_errors"].as_array().unwrap().is_empty(), "{d}");
    let arenas = d["arenas"].as_array().unwrap();
    assert_eq!(arenas.len(), 2, "{arenas:?}");
    for (arena, (label, policy)) in arenas
        .iter()
        .zip([("1 lnd", "lnd"), ("2 cheapest", "cheapest")])
    {
        assert_eq!(arena["label"], label);
        let json = tmp(&format!("arena-cli-{policy}.json"));
        assert_ok(&lnlab(&[
            "run",
            saved.to_str().unwrap(),
            "--policy",
            policy,
            "--payments",
            "120",
            "--json",
            json.to_str().unwrap(),
        ]));
        let mut cli: Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        cli["wall_seconds"] = 0.0.into();
        cli["payments_per_second"] = 0.0.into();
        assert_eq!(arena["report"], cli, "arena {policy} against lnlab run");
        assert_eq!(cli["payments"], 120);
    }
    // The two policies ran differently, so the comparison above could tell them apart.
    assert_ne!(
        arenas[0]["report"]["fees_paid_msat"],
        arenas[1]["report"]["fees_paid_msat"]
    );
    // The drain stands in the saved scene, at 5 s.
    let scene = lnlab::load_scene(&saved).unwrap();
    assert_eq!(scene.timeline.last().map(|e| e.at_ms), Some(5_000));

    // Both viewports drawn: each framed in its colour, liquidity bars in the right half too.
    let img = image::open(&shot).expect("a PNG").to_rgb8();
    let (w, h) = img.dimensions();
    for i in 0..2 {
        let frame = img
            .pixels()
            .filter(|p| near(p, theme::arena(i), 12))
            .count();
        assert!(frame > 400, "arena {i} frame pixels: {frame}");
        // Its lines and legend entries on the charts, under the graph.
        let charts = img
            .enumerate_pixels()
            .filter(|(_, y, p)| *y > h * 3 / 4 && near(p, theme::arena(i), 12))
            .count();
        assert!(charts > 20, "arena {i} on the charts: {charts} pixels");
    }
    let right = img
        .enumerate_pixels()
        .filter(|(x, _, _)| *x > w * 2 / 3)
        .filter(|(_, _, p)| near(p, theme::LOCAL, 24) || near(p, theme::REMOTE, 24))
        .count();
    assert!(
        right > 800,
        "channel pixels in the second viewport: {right}"
    );
}

/// Adding a node (with a channel to it) and removing a hub while payments flow, then
/// undoing and redoing the removal: the run keeps its invariants, the hub is gone and the
/// newcomer is there, and the saved scene reloads to the same run.
#[test]
fn nodes_added_and_removed_survive_undo_redo_and_a_reload() {
    let saved = tmp("saved-nodes.ron");
    let (edited, scene) = {
        let state = tmp("state-nodes.json");
        let script = lesson(
            "nodes",
            &format!(
                r#"(wait: Frames(1), do: SetSpeed(Times(25.0))),
                   (wait: Sim(4000), do: Inject(AddNode(alias: "Newcomer", role: Merchant, pos: Some((50.0, 600.0))))),
                   (wait: Sim(4000), do: Inject(OpenChannel(node1: 4, node2: 12, capacity_sat: 2000000))),
                   (wait: Sim(8000), do: Inject(RemoveNode(node: 5))),
                   (wait: Sim(10000), do: Undo),
                   (wait: Frames(1), do: Redo),
                   (wait: Sim(15000), do: SaveScene("{}")),
                   (wait: Sim(15000), do: Quit),"#,
                saved.display()
            ),
        );
        let d = scripted_run("scenes/classroom.ron", &script, &state);
        (d, lnlab::load_scene(&saved).unwrap())
    };
    assert!(
        edited["lab_errors"].as_array().unwrap().is_empty(),
        "{edited}"
    );
    let nodes = edited["nodes"].as_array().unwrap();
    let aliases: Vec<&str> = nodes.iter().map(|n| n["alias"].as_str().unwrap()).collect();
    assert!(aliases.contains(&"Newcomer"), "{aliases:?}");
    assert!(!aliases.contains(&"HubSouth"), "{aliases:?}");
    let channels = edited["channels"].as_array().unwrap();
    assert!(
        channels.iter().all(|c| c["node1"] != 5 && c["node2"] != 5),
        "HubSouth's channels closed once idle"
    );
    assert!(
        channels.iter().any(|c| c["node2"] == 12),
        "the newcomer's channel"
    );
    assert_conserved(channels);
    // The scene keeps the edits as timeline entries, in order.
    let labels: Vec<String> = scene.timeline.iter().map(|e| e.command.label()).collect();
    assert_eq!(
        labels,
        ["add node Newcomer", "open n4-n12", "remove node n5"],
        "{labels:?}"
    );
    // Reopened, the saved scene runs to the same state.
    let state = tmp("state-nodes-reloaded.json");
    let script = lesson(
        "nodes-reloaded",
        r#"(wait: Frames(1), do: SetSpeed(Times(25.0))),
                                            (wait: Sim(15000), do: Quit),"#,
    );
    let reloaded = scripted_run(saved.to_str().unwrap(), &script, &state);
    for key in ["sim_ms", "metrics", "channels", "nodes"] {
        assert_eq!(edited[key], reloaded[key], "{key} differs after a reload");
    }
}

/// Topology edits made before the run starts (paused at t = 0) go into the scene's own
/// nodes and channels, not its timeline; undo takes them back out exactly, and the saved
/// scene runs like the edited one.
#[test]
fn edits_at_the_start_change_the_scenes_own_topology() {
    let base = tmp("saved-base.ron");
    let undone = tmp("saved-base-undone.ron");
    let state = tmp("state-base.json");
    let script = lesson(
        "base",
        &format!(
            r#"(wait: Frames(1), do: Inject(OpenChannel(node1: 0, node2: 2, capacity_sat: 2000000))),
               (wait: Frames(1), do: Inject(AddNode(alias: "Zed", role: Merchant, pos: Some((0.0, 600.0))))),
               (wait: Frames(1), do: Inject(OpenChannel(node1: 12, node2: 9, capacity_sat: 3000000))),
               (wait: Frames(1), do: SaveScene("{b}")),
               (wait: Frames(1), do: Undo),
               (wait: Frames(1), do: Undo),
               (wait: Frames(1), do: Undo),
               (wait: Frames(1), do: SaveScene("{u}")),
               (wait: Frames(1), do: Redo),
               (wait: Frames(1), do: Redo),
               (wait: Frames(1), do: Redo),
               (wait: Frames(1), do: SetSpeed(Times(25.0))),
               (wait: Frames(1), do: Resume),
               (wait: Sim(10000), do: Quit),"#,
            b = base.display(),
            u = undone.display()
        ),
    );
    let edited = scripted_run_with("scenes/classroom.ron", &script, &state, &["--paused"]);
    assert!(
        edited["lab_errors"].as_array().unwrap().is_empty(),
        "{edited}"
    );
    let original = lnlab::load_scene(Path::new("scenes/classroom.ron")).unwrap();
    let saved = lnlab::load_scene(&base).unwrap();
    assert_eq!(saved.nodes.len(), original.nodes.len() + 1);
    assert_eq!(saved.nodes.last().unwrap().alias, "Zed");
    assert_eq!(saved.channels.len(), original.channels.len() + 2);
    let last = saved.channels.last().unwrap();
    assert_eq!((last.node1, last.node2), (12, 9));
    assert_eq!(
        saved.timeline, original.timeline,
        "none of it in the timeline"
    );
    let taken_back = lnlab::load_scene(&undone).unwrap();
    assert!(taken_back.nodes == original.nodes && taken_back.channels == original.channels);
    // The saved scene, run on its own, is the run the edited lab made.
    let state = tmp("state-base-reloaded.json");
    let script = lesson(
        "base-reloaded",
        r#"(wait: Frames(1), do: SetSpeed(Times(25.0))),
           (wait: Sim(10000), do: Quit),"#,
    );
    let reloaded = scripted_run(base.to_str().unwrap(), &script, &state);
    for key in ["sim_ms", "metrics", "channels", "nodes"] {
        assert_eq!(edited[key], reloaded[key], "{key} differs after a reload");
    }
    let zed = edited["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["alias"] == "Zed");
    assert!(zed.is_some(), "the new node runs");
}
