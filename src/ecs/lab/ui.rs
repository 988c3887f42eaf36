//! The egui side of the lab: the panel layout (top bar with the run controls, run panel
//! with counters and event log, charts, and the inspector and dialogs, which live in their
//! own files), the overlays drawn over the graph (aliases, L402 badges, tooltips), pointer
//! input over the graph (pan, zoom, hover, click) and every keyboard shortcut. All input
//! ends as [`LabCommand`]s or camera moves. The engine is only read, to draw it.

use super::dialogs::dialogs;
use super::feed::{Flights, badge_age};
use super::inspector::{drain, inspector, jam, spike, toggle_online};
use super::plots::{self, Plots};
use super::state::{
    AgentMode, DialogMode, ExplainRequest, ExplainResult, FileDialog, GraphArea, Hover, Lab,
    LabCommand, Selection, Speed, UiState, ViewCam, world_pos,
};
use super::theme;
use super::view::NodeSizes;
use crate::ecs::sim::SimDriver;
use crate::network::{ChannelId, Direction, NodeId};
use crate::routing::RouterKind;
use crate::sim::command::Command;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::egui::{self, Align2, Color32, FontId, Key, Modifiers, RichText, Sense};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};
use std::path::PathBuf;

/// Height of each chart in the bottom strip, in points.
const CHART_HEIGHT: f32 = 140.0;

pub struct UiPlugin;

impl Plugin for UiPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<UiState>()
            .add_systems(EguiPrimaryContextPass, ui);
    }
}

#[allow(clippy::too_many_arguments)]
fn ui(
    mut contexts: EguiContexts,
    driver: NonSend<SimDriver>,
    mut lab: ResMut<Lab>,
    mut state: ResMut<UiState>,
    mut plots: ResMut<Plots>,
    mut cam: ResMut<ViewCam>,
    mut area: ResMut<GraphArea>,
    mut hover: ResMut<Hover>,
    mut explain: ResMut<ExplainRequest>,
    result: Res<ExplainResult>,
    flights: Res<Flights>,
    time: Res<Time<Real>>,
    window: Single<&Window, With<PrimaryWindow>>,
    mut out: MessageWriter<LabCommand>,
) -> Result {
    let ctx = contexts.ctx_mut()?.clone();
    let zoom = if lab.presenter {
        theme::PRESENTER_ZOOM
    } else {
        1.0
    };
    if state.zoom != zoom {
        ctx.set_zoom_factor(zoom);
        state.zoom = zoom;
    }
    let mut send = |c: LabCommand| {
        out.write(c);
    };
    shortcuts(&ctx, &lab, &driver, &mut state, &mut send);

    let mut root = egui::Ui::new(
        ctx.clone(),
        "lnlab-root".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    top_bar(&mut root, &lab, &driver, &mut send);
    if !lab.presenter {
        egui::Panel::bottom("charts")
            .resizable(false)
            .exact_size(CHART_HEIGHT + 62.0)
            .show(&mut root, |ui| {
                plots::show(
                    ui,
                    &mut plots,
                    &lab,
                    driver.session.view().has_market(),
                    CHART_HEIGHT,
                );
            });
        egui::Panel::left("run")
            .resizable(true)
            .default_size(250.0)
            .show(&mut root, |ui| {
                run_panel(ui, &lab, &driver, &mut state, &mut send)
            });
    }
    if lab.selection.is_some() {
        egui::Panel::right("inspector")
            .resizable(true)
            .default_size(320.0)
            .show(&mut root, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    inspector(
                        ui,
                        &lab,
                        &driver,
                        &mut state,
                        &mut explain,
                        &result,
                        &mut send,
                    )
                });
            });
    } else {
        explain.0 = None;
    }

    // The graph: whatever the panels left.
    let rect = root.available_rect_before_wrap();
    *area = GraphArea {
        min: Vec2::new(rect.min.x, rect.min.y),
        max: Vec2::new(rect.max.x, rect.max.y),
        pixels_per_point: ctx.pixels_per_point(),
        scale_factor: window.scale_factor(),
    };
    let response = root.allocate_rect(rect, Sense::click_and_drag());
    if !lab.unattended {
        graph_input(
            &ctx, &response, &driver, &lab, &area, &mut cam, &mut hover, &mut send,
        );
        hover_tooltip(&response, &driver, &hover);
    }
    let painter = root.painter_at(rect);
    overlays(
        &painter,
        &driver,
        &lab,
        &area,
        &cam,
        &flights,
        time.elapsed_secs(),
    );

    dialogs(&ctx, &mut lab, &mut state, &mut plots, &mut send);
    Ok(())
}

fn shortcuts(
    ctx: &egui::Context,
    lab: &Lab,
    driver: &SimDriver,
    state: &mut UiState,
    send: &mut impl FnMut(LabCommand),
) {
    if ctx.egui_wants_keyboard_input() {
        return;
    }
    let pressed = |m: Modifiers, k: Key| ctx.input_mut(|i| i.consume_key(m, k));
    if pressed(Modifiers::COMMAND, Key::O) {
        state.dialog = Some(FileDialog::new(DialogMode::Open, lab));
    }
    if pressed(Modifiers::COMMAND | Modifiers::SHIFT, Key::S) {
        state.dialog = Some(FileDialog::new(DialogMode::Save, lab));
    }
    if pressed(Modifiers::COMMAND, Key::S) {
        send(LabCommand::SaveScene(lab.path.clone()));
    }
    if pressed(Modifiers::COMMAND, Key::Q) {
        send(LabCommand::Quit);
    }
    let plain = |k: Key| pressed(Modifiers::NONE, k);
    if plain(Key::Space) {
        send(LabCommand::TogglePause);
    }
    if plain(Key::Period) {
        send(LabCommand::Step);
    }
    if plain(Key::R) {
        send(LabCommand::Reset);
    }
    if plain(Key::Plus) || plain(Key::Equals) {
        send(LabCommand::SetSpeed(faster(lab.speed, 2.0)));
    }
    if plain(Key::Minus) {
        send(LabCommand::SetSpeed(faster(lab.speed, 0.5)));
    }
    if plain(Key::M) {
        send(LabCommand::SetSpeed(match lab.speed {
            Speed::Max => Speed::Times(1.0),
            Speed::Times(_) => Speed::Max,
        }));
    }
    if plain(Key::T) {
        send(LabCommand::SetAgents(match lab.agents {
            AgentMode::Learning => AgentMode::Paused,
            AgentMode::Paused => AgentMode::Frozen,
            AgentMode::Frozen => AgentMode::Learning,
        }));
    }
    if plain(Key::C) {
        let kinds = RouterKind::ALL;
        let i = kinds.iter().position(|k| k.to_string() == lab.policy);
        let next = kinds[i.map_or(0, |i| (i + 1) % kinds.len())];
        send(LabCommand::SetPolicy(next.to_string()));
    }
    if plain(Key::F) {
        send(LabCommand::Fit);
    }
    if plain(Key::P) {
        send(LabCommand::SetPresenter(!lab.presenter));
    }
    if plain(Key::H) || plain(Key::F1) {
        send(LabCommand::ToggleHelp);
    }
    if plain(Key::F12) {
        send(LabCommand::Screenshot(screenshot_name()));
    }
    if plain(Key::Escape) {
        state.dialog = None;
        send(LabCommand::ClearSelection);
    }
    let net = driver.session.view().network();
    match lab.selection {
        Some(Selection::Channel(id)) => {
            if let Some(ch) = net.channel(id) {
                if plain(Key::J) {
                    send(LabCommand::Inject(jam(ch.scid)));
                }
                if plain(Key::D) {
                    send(LabCommand::Inject(drain(ch.scid, Direction::Forward)));
                }
                if plain(Key::K) {
                    send(LabCommand::Inject(Command::CloseChannel { scid: ch.scid }));
                }
            }
        }
        Some(Selection::Node(id)) => {
            if plain(Key::O) {
                send(LabCommand::Inject(toggle_online(driver, id)));
            }
            if plain(Key::G) {
                send(LabCommand::Inject(spike(id)));
            }
        }
        None => {}
    }
}

fn faster(speed: Speed, factor: f64) -> Speed {
    match speed {
        Speed::Times(x) => Speed::Times((x * factor).clamp(0.05, 100_000.0)),
        Speed::Max if factor < 1.0 => Speed::Times(1000.0),
        Speed::Max => Speed::Max,
    }
}

fn screenshot_name() -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    PathBuf::from(format!("lnlab-{secs}.png"))
}

fn top_bar(ui: &mut egui::Ui, lab: &Lab, driver: &SimDriver, send: &mut impl FnMut(LabCommand)) {
    egui::Panel::top("controls").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.heading(RichText::new(&lab.scene.name).strong());
            let engine = driver.session.view();
            ui.label(
                RichText::new(format!("t = {:.1} s", engine.now_ms() as f64 / 1000.0)).monospace(),
            );
            ui.separator();
            let play = if lab.paused { "▶ play" } else { "⏸ pause" };
            if ui.button(play).on_hover_text("Space").clicked() {
                send(LabCommand::TogglePause);
            }
            if ui.button("step").on_hover_text(". (one event)").clicked() {
                send(LabCommand::Step);
            }
            if ui.button("reset").on_hover_text("R").clicked() {
                send(LabCommand::Reset);
            }
            ui.separator();
            let mut max = lab.speed == Speed::Max;
            let mut x = match lab.speed {
                Speed::Times(x) => x,
                Speed::Max => 1000.0,
            };
            ui.label("speed");
            let slider = ui.add_enabled(
                !max,
                egui::Slider::new(&mut x, 0.1..=10_000.0)
                    .logarithmic(true)
                    .suffix(" sim s/s")
                    .max_decimals(1),
            );
            if slider.changed() {
                send(LabCommand::SetSpeed(Speed::Times(x)));
            }
            if ui
                .toggle_value(&mut max, "max")
                .on_hover_text("M")
                .changed()
            {
                send(LabCommand::SetSpeed(if max {
                    Speed::Max
                } else {
                    Speed::Times(x)
                }));
            }
            if lab.has_agents() {
                ui.separator();
                ui.label("agents");
                for mode in [AgentMode::Learning, AgentMode::Paused, AgentMode::Frozen] {
                    if ui
                        .selectable_label(lab.agents == mode, mode.label())
                        .on_hover_text("T cycles")
                        .clicked()
                    {
                        send(LabCommand::SetAgents(mode));
                    }
                }
            }
            ui.separator();
            let label = if lab.has_agents() {
                "other nodes"
            } else {
                "routing"
            };
            egui::ComboBox::from_label(label)
                .selected_text(&lab.policy)
                .show_ui(ui, |ui| {
                    for k in RouterKind::ALL {
                        let name = k.to_string();
                        if ui.selectable_label(lab.policy == name, &name).clicked() {
                            send(LabCommand::SetPolicy(name));
                        }
                    }
                });
            if lab.presenter {
                ui.separator();
                let m = engine.metrics();
                ui.label(
                    RichText::new(format!(
                        "success {:.1}%  ·  {} payments",
                        100.0 * m.success_rate(),
                        m.succeeded + m.failed
                    ))
                    .strong(),
                );
                if ui.button("exit presenter").on_hover_text("P").clicked() {
                    send(LabCommand::SetPresenter(false));
                }
            }
        });
    });
}

fn run_panel(
    ui: &mut egui::Ui,
    lab: &Lab,
    driver: &SimDriver,
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
    ui.label(RichText::new(lab.path.display().to_string()).small().weak());
    if lab.dirty {
        ui.colored_label(theme::egui(theme::REMOTE), "unsaved changes");
    }
    ui.separator();
    let t = driver.session.view();
    let m = t.metrics();
    let net = t.network();
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

#[allow(clippy::too_many_arguments)]
fn graph_input(
    ctx: &egui::Context,
    response: &egui::Response,
    driver: &SimDriver,
    lab: &Lab,
    area: &GraphArea,
    cam: &mut ViewCam,
    hover: &mut Hover,
    send: &mut impl FnMut(LabCommand),
) {
    if response.dragged() {
        let d = response.drag_delta();
        let k = area.world_per_point(cam);
        cam.center += Vec2::new(-d.x, d.y) * k;
    }
    let pointer = response.hover_pos();
    if let Some(p) = pointer {
        let (scroll, zoom) = ctx.input(|i| (i.smooth_scroll_delta.y, i.zoom_delta()));
        let factor = (-scroll * 0.002).exp() / zoom;
        if (factor - 1.0).abs() > 1e-4 {
            let at = Vec2::new(p.x, p.y);
            let before = area.to_world(cam, at);
            cam.world_per_px = (cam.world_per_px * factor).clamp(1e-6, 1e6);
            let after = area.to_world(cam, at);
            cam.center += before - after;
        }
    }
    *hover = match pointer {
        Some(p) if !response.dragged() => pick(driver, lab, area, cam, Vec2::new(p.x, p.y)),
        _ => Hover::default(),
    };
    if response.clicked() {
        match (hover.node, hover.channel) {
            (Some(n), _) => send(LabCommand::SelectNode(n.0)),
            (None, Some(c)) => {
                if let Some(ch) = driver.session.view().network().channel(c) {
                    send(LabCommand::SelectChannel(ch.scid));
                }
            }
            _ => send(LabCommand::ClearSelection),
        }
    }
}

/// The node under the pointer (within its circle plus a few points), else the nearest
/// channel within a few points.
fn pick(driver: &SimDriver, lab: &Lab, area: &GraphArea, cam: &ViewCam, p: Vec2) -> Hover {
    let engine = driver.session.view();
    let net = engine.network();
    let w = area.to_world(cam, p);
    let wpp = area.world_per_point(cam);
    let sizes = NodeSizes::new(engine, lab.presenter);
    let mut best: Option<(f32, NodeId)> = None;
    for (id, node) in net.nodes() {
        let r = (sizes.radius_px(id) + 4.0) * cam.world_per_px;
        let d = world_pos(node.position).distance(w);
        if d <= r.max(6.0 * wpp) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, id));
        }
    }
    if let Some((_, id)) = best {
        return Hover {
            node: Some(id),
            channel: None,
        };
    }
    let mut best: Option<(f32, ChannelId)> = None;
    let reach = 5.0 * wpp;
    for (id, a, b, _) in net.channels() {
        let (Some(na), Some(nb)) = (net.node(a), net.node(b)) else {
            continue;
        };
        let (pa, pb) = (world_pos(na.position), world_pos(nb.position));
        let ab = pb - pa;
        let t = ((w - pa).dot(ab) / ab.length_squared().max(1e-12)).clamp(0.0, 1.0);
        let d = (pa + ab * t).distance(w);
        if d <= reach && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, id));
        }
    }
    Hover {
        node: None,
        channel: best.map(|(_, id)| id),
    }
}

fn hover_tooltip(response: &egui::Response, driver: &SimDriver, hover: &Hover) {
    let engine = driver.session.view();
    let net = engine.network();
    if let Some(id) = hover.node
        && let Some(node) = net.node(id)
    {
        let s = engine
            .metrics()
            .nodes
            .get(id.index())
            .copied()
            .unwrap_or_default();
        let group = driver.session.view().group_of(id);
        response.clone().on_hover_ui_at_pointer(|ui| {
            ui.strong(&node.alias);
            ui.label(format!(
                "{:?}{}",
                node.role,
                if group.is_some() { " · PPO agent" } else { "" }
            ));
            ui.label(format!("capacity {} sat", net.node_capacity_sat(id)));
            ui.label(format!(
                "forwarded {} sat, earned {} sat",
                s.forwarded_msat / 1000,
                s.fees_earned_msat / 1000
            ));
            ui.label(RichText::new("click to inspect").weak());
        });
    } else if let Some(id) = hover.channel
        && let Some(ch) = net.channel(id)
    {
        let f = ch.side(Direction::Forward);
        let b = ch.side(Direction::Backward);
        response.clone().on_hover_ui_at_pointer(|ui| {
            ui.strong(format!("channel {}", ch.scid));
            ui.label(format!(
                "{} sat: {} | {}",
                ch.capacity_sat,
                f.balance_msat / 1000,
                b.balance_msat / 1000
            ));
            ui.label(format!("HTLCs {} | {}", f.slots_used(), b.slots_used()));
        });
    }
}

/// Aliases (when few enough nodes are on screen) and the L402 badges.
fn overlays(
    painter: &egui::Painter,
    driver: &SimDriver,
    lab: &Lab,
    area: &GraphArea,
    cam: &ViewCam,
    flights: &Flights,
    now_s: f32,
) {
    let net = driver.session.view().network();
    let rect = painter.clip_rect();
    let to_screen = |p: [f32; 2]| {
        let s = area.to_screen(cam, world_pos(p));
        egui::pos2(s.x, s.y)
    };
    let on_screen: Vec<(NodeId, egui::Pos2)> = net
        .nodes()
        .map(|(id, n)| (id, to_screen(n.position)))
        .filter(|(_, p)| rect.contains(*p))
        .collect();
    let font = FontId::proportional(if lab.presenter { 15.0 } else { 12.0 });
    if on_screen.len() <= 40 {
        for (id, p) in &on_screen {
            let Some(node) = net.node(*id) else { continue };
            painter.text(
                *p + egui::vec2(0.0, 16.0),
                Align2::CENTER_TOP,
                &node.alias,
                font.clone(),
                theme::egui_alpha(theme::TEXT, 0.85),
            );
        }
    }
    for b in &flights.badges {
        let Some(node) = net.node(b.node) else {
            continue;
        };
        let age = badge_age(b, now_s);
        let p = to_screen(node.position) + egui::vec2(14.0, -14.0 - 26.0 * age);
        if !rect.contains(p) {
            continue;
        }
        let alpha = 1.0 - age * age;
        let galley = painter.layout_no_wrap(b.text.clone(), font.clone(), Color32::WHITE);
        let r = egui::Rect::from_min_size(p, galley.size()).expand(3.0);
        painter.rect_filled(r, 4.0, theme::egui_alpha(b.color, 0.85 * alpha));
        painter.galley(p, galley, theme::egui_alpha(theme::TEXT, alpha));
    }
    if lab.paused {
        painter.text(
            rect.right_top() + egui::vec2(-12.0, 10.0),
            Align2::RIGHT_TOP,
            "paused",
            FontId::proportional(if lab.presenter { 26.0 } else { 18.0 }),
            theme::egui(theme::REMOTE),
        );
    }
}
