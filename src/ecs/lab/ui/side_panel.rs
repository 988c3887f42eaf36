//! The run panel on the left: file buttons (open, save as, help, presenter), the traffic
//! overlay switch, the lesson picker, the scene's path and unsaved state, a search for a node by alias, the run's counters (payments,
//! fees, HTLCs in flight, agents, L402), the hubs ranking and the event log.

use crate::ecs::lab::arena::Arenas;
use crate::ecs::lab::state::ViewCam;
use crate::ecs::lab::state::{DialogMode, FileDialog, Lab, LabCommand, UiState};
use crate::ecs::lab::theme;
use crate::ecs::sim::SimDriver;
use bevy_egui::egui::{self, RichText};

pub(super) fn run_panel(
    ui: &mut egui::Ui,
    lab: &Lab,
    driver: &SimDriver,
    arenas: &Arenas,
    cam: &ViewCam,
    state: &mut UiState,
    send: &mut impl FnMut(LabCommand),
) {
    ui.horizontal(|ui| {
        if ui.button("open…").on_hover_text("Ctrl+O").clicked() {
            state.dialog = Some(FileDialog::new(DialogMode::Open, lab));
        }
        if ui
            .button("save as…")
            .on_hover_text("Ctrl+S saves in place")
            .clicked()
        {
            state.dialog = Some(FileDialog::new(DialogMode::Save, lab));
        }
        if ui.button("help").on_hover_text("H").clicked() {
            send(LabCommand::ToggleHelp);
        }
        if ui.button("presenter").on_hover_text("P").clicked() {
            send(LabCommand::SetPresenter(true));
        }
    });
    let mut traffic = lab.traffic.on;
    if ui
        .checkbox(&mut traffic, "traffic overlay")
        .on_hover_text("V: channels by the volume they carried in the last minute")
        .changed()
    {
        send(LabCommand::SetTraffic(traffic));
    }
    if !lab.lessons.is_empty() {
        lesson_picker(ui, lab, send);
    }
    super::arenas::controls(ui, lab, state, send);
    add_node(ui, driver, cam, state, send);
    ui.label(RichText::new(lab.path.display().to_string()).small().weak());
    if lab.dirty {
        ui.colored_label(theme::egui(theme::REMOTE), "unsaved changes");
    }
    ui.separator();
    let t = driver.session.view();
    let m = t.metrics();
    let net = t.network();
    find_node(ui, net, state, send);
    ui.separator();
    let (in_flight_msat, htlcs) = net.in_flight_totals();
    egui::Grid::new("counters")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let mut row = |k: &str, v: String| {
                ui.label(k);
                ui.label(RichText::new(v).monospace());
                ui.end_row();
            };
            row(
                "nodes / channels",
                format!("{} / {}", net.node_count(), net.channel_count()),
            );
            row("payments", format!("{}", m.payments));
            row("succeeded", format!("{}", m.succeeded));
            row("failed", format!("{}", m.failed));
            row("success rate", format!("{:.1}%", 100.0 * m.success_rate()));
            row("fees paid", format!("{} sat", m.fees_paid_msat / 1000));
            row(
                "HTLCs in flight",
                format!("{htlcs} ({} sat)", in_flight_msat / 1000),
            );
            row("hub gini", format!("{:.3}", m.hub_gini(net.node_count())));
            if t.has_agents() {
                row("agent decisions", format!("{}", t.decisions()));
                row("PPO updates", format!("{}", t.update_rows().len()));
            }
            if let Some(r) = t.l402_report() {
                row("L402 calls", format!("{}", r.calls_requested));
                row(
                    "402 / paid / served",
                    format!("{} / {} / {}", r.challenged, r.paid, r.served),
                );
            }
        });
    ui.separator();
    hubs_section(ui, lab, driver, arenas, state);
    ui.separator();
    ui.strong("events");
    egui::ScrollArea::vertical()
        .stick_to_bottom(true)
        .show(ui, |ui| {
            for line in &lab.log {
                let text = format!("{:>7.1}s  {}", line.sim_ms as f64 / 1000.0, line.text);
                let rt = RichText::new(text).monospace().small();
                if line.error {
                    ui.colored_label(theme::egui(theme::FAILURE), rt);
                } else {
                    ui.label(rt);
                }
            }
        });
}

/// "add a node": a new node of the chosen role in the middle of the view (drag it where
/// it belongs, then open channels from its inspector, which opens at once).
fn add_node(
    ui: &mut egui::Ui,
    driver: &SimDriver,
    cam: &ViewCam,
    state: &mut UiState,
    send: &mut impl FnMut(LabCommand),
) {
    use crate::network::Role;
    ui.horizontal(|ui| {
        let add = ui.button("add a node").on_hover_text(
            "a new node, no channels yet, in the middle of the view; undo takes it back",
        );
        egui::ComboBox::from_id_salt("new-node-role")
            .selected_text(format!("{:?}", state.new_role))
            .show_ui(ui, |ui| {
                for role in [Role::Router, Role::Merchant, Role::Client, Role::ApiService] {
                    ui.selectable_value(&mut state.new_role, role, format!("{role:?}"));
                }
            });
        if add.clicked() {
            let net = driver.session.view().network();
            let alias = (net.node_bound()..)
                .map(|i| format!("node{i}"))
                .find(|a| !net.nodes().any(|(_, n)| &n.alias == a))
                .expect("an unused alias");
            send(LabCommand::Inject(crate::sim::command::Command::AddNode {
                alias,
                role: state.new_role,
                // Scene positions grow downward; the world's y grows upward.
                pos: Some((cam.center.x, -cam.center.y)),
            }));
        }
    });
}

/// Most matches listed under the search field.
const MAX_MATCHES: usize = 8;

/// A search for a node by alias (case-insensitive, anywhere in the alias): Enter selects
/// the first match, or click one of the matches listed.
fn find_node(
    ui: &mut egui::Ui,
    net: &crate::network::Network,
    state: &mut UiState,
    send: &mut impl FnMut(LabCommand),
) {
    let response = ui.add(
        egui::TextEdit::singleline(&mut state.find)
            .hint_text("find a node by alias")
            .desired_width(f32::INFINITY),
    );
    let query = state.find.trim().to_lowercase();
    if query.is_empty() {
        return;
    }
    let matches: Vec<(crate::network::NodeId, &str)> = net
        .nodes()
        .filter(|(_, n)| n.alias.to_lowercase().contains(&query))
        .map(|(id, n)| (id, n.alias.as_str()))
        .take(MAX_MATCHES)
        .collect();
    if response.lost_focus()
        && ui.input(|i| i.key_pressed(egui::Key::Enter))
        && let Some((id, _)) = matches.first()
    {
        send(LabCommand::SelectNode(id.0));
    }
    if matches.is_empty() {
        ui.label(RichText::new("no node matches").small().weak());
    }
    for (id, alias) in matches {
        if ui.small_button(alias).clicked() {
            send(LabCommand::SelectNode(id.0));
        }
    }
}

/// Nodes in the hubs ranking.
const HUBS_SHOWN: usize = 8;

/// The hubs: nodes ranked by their share of forwarded volume, with fees earned and
/// betweenness (computed when the section is open, again when the topology changes). With
/// arenas, each node's share is also set against its share in the second arena (the same
/// scene and payments under another policy).
fn hubs_section(
    ui: &mut egui::Ui,
    lab: &Lab,
    driver: &SimDriver,
    arenas: &Arenas,
    state: &mut UiState,
) {
    // Open from the start with arenas, where the change against the second one is news.
    egui::CollapsingHeader::new("hubs")
        .default_open(!lab.arenas.is_empty())
        .show(ui, |ui| {
            let t = driver.session.view();
            let net = t.network();
            // Any channel opened or closed changes the key (ids and scids hashed).
            let topology = net.channels().fold(0u64, |h, (id, a, b, ch)| {
                let x =
                    (u64::from(id.0) << 32) ^ (u64::from(a.0) << 16) ^ u64::from(b.0) ^ ch.scid.0;
                (h ^ x).wrapping_mul(0x0100_0000_01b3)
            });
            let key = (lab.generation, net.node_count(), topology);
            if state.hubs_key != Some(key) {
                state.betweenness = crate::sim::hubs::betweenness_if_small(net);
                state.hubs_key = Some(key);
            }
            let rows = crate::sim::hubs::ranking(
                net,
                t.metrics(),
                state.betweenness.as_deref().unwrap_or(&[]),
                HUBS_SHOWN,
            );
            // The second arena's shares, for the change against it.
            let other = arenas.lanes.first().map(|l| {
                let m = l.lane.session.view().metrics();
                let total: u64 = m.nodes.iter().map(|s| s.forwarded_msat).sum();
                let share = move |id: crate::network::NodeId| {
                    let v = m.nodes.get(id.index()).map_or(0, |s| s.forwarded_msat);
                    v as f64 / total.max(1) as f64
                };
                (l.lane.label.clone(), share)
            });
            egui::Grid::new("hubs")
                .num_columns(if other.is_some() { 5 } else { 4 })
                .striped(true)
                .show(ui, |ui| {
                    ui.label(RichText::new("node").small());
                    ui.label(RichText::new("share").small())
                        .on_hover_text("share of all forwarded volume");
                    if let Some((label, _)) = &other {
                        ui.label(RichText::new("vs 2").small())
                            .on_hover_text(format!("change against its share in arena {label}"));
                    }
                    ui.label(RichText::new("fees").small())
                        .on_hover_text("fees earned, sat");
                    ui.label(RichText::new("betw.").small())
                        .on_hover_text("betweenness: share of shortest paths through it");
                    ui.end_row();
                    for r in rows {
                        ui.label(RichText::new(&r.alias).small());
                        ui.label(
                            RichText::new(format!("{:.1}%", 100.0 * r.forwarded_share))
                                .monospace()
                                .small(),
                        );
                        if let Some((_, share)) = &other {
                            let delta = 100.0 * (r.forwarded_share - share(r.node));
                            ui.label(RichText::new(format!("{delta:+.1}")).monospace().small());
                        }
                        ui.label(
                            RichText::new(format!("{}", r.fees_earned_msat / 1000))
                                .monospace()
                                .small(),
                        );
                        let b = match &state.betweenness {
                            Some(_) => format!("{:.2}", r.betweenness),
                            None => "-".into(),
                        };
                        ui.label(RichText::new(b).monospace().small());
                        ui.end_row();
                    }
                });
        });
}

/// The lessons menu: picking one opens its scene and runs it from the start.
fn lesson_picker(ui: &mut egui::Ui, lab: &Lab, send: &mut impl FnMut(LabCommand)) {
    let title = |path: &std::path::Path| {
        path.file_stem()
            .map(|s| s.to_string_lossy().replace('_', " "))
            .unwrap_or_default()
    };
    let running = lab.lesson.as_deref().map(title);
    egui::ComboBox::from_label("lesson")
        .selected_text(running.clone().unwrap_or_else(|| "pick one…".into()))
        .show_ui(ui, |ui| {
            if lab.dirty {
                ui.colored_label(
                    theme::egui(theme::REMOTE),
                    "starting a lesson discards unsaved changes",
                );
            }
            for path in &lab.lessons {
                let name = title(path);
                if ui
                    .selectable_label(running.as_deref() == Some(&name), &name)
                    .clicked()
                {
                    send(LabCommand::StartLesson(path.clone()));
                }
            }
        });
}
