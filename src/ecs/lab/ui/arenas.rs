//! The arenas on screen: the free area split into one viewport per arena (two side by
//! side, three or four in a grid), all looking through the one camera, so a pan or zoom in
//! any viewport moves them all (and a node picked or dragged in one is the same node in
//! all). The first arena is drawn by the graph's renderer;
//! the others are painted here with the same meshes (liquidity bars, congestion glow, node
//! discs sized by what they forwarded), without pulses. Each viewport is framed and named
//! in its arena's colour. Beside them: the scoreboard (each arena's success, fees, latency,
//! attempts and hub gini, with its difference from the first arena), and the run panel's
//! controls that open and close arenas.

use crate::ecs::lab::arena::{Arenas, ScoreRow};
use crate::ecs::lab::state::{GraphArea, Hover, Lab, LabCommand, UiState, ViewCam, world_pos};
use crate::ecs::lab::theme;
use crate::ecs::lab::view::build_meshes;
use bevy::prelude::Vec2;
use bevy_egui::egui::{self, Align2, FontId, RichText};

/// One viewport per arena: side by side for two, a 2x2 grid for three or four.
pub(super) fn cells(rect: egui::Rect, n: usize) -> Vec<egui::Rect> {
    if n <= 1 {
        return vec![rect];
    }
    let (cols, rows) = if n == 2 { (2, 1) } else { (2, 2) };
    let size = egui::vec2(rect.width() / cols as f32, rect.height() / rows as f32);
    (0..n)
        .map(|i| {
            let min = rect.min + egui::vec2((i % cols) as f32 * size.x, (i / cols) as f32 * size.y);
            egui::Rect::from_min_size(min, size).shrink(2.0)
        })
        .collect()
}

/// The graph area of one viewport (for mapping world positions into it).
pub(super) fn area_of(cell: egui::Rect, like: &GraphArea) -> GraphArea {
    GraphArea {
        min: Vec2::new(cell.min.x, cell.min.y),
        max: Vec2::new(cell.max.x, cell.max.y),
        ..*like
    }
}

/// Paint arenas 2.. into their viewports, then frame and name every viewport.
pub(super) fn paint(
    painter: &egui::Painter,
    lab: &Lab,
    arenas: &Arenas,
    hover: &Hover,
    cam: &ViewCam,
    viewports: &[GraphArea],
    first_done: bool,
) {
    let rect = |a: &GraphArea| {
        egui::Rect::from_min_max(egui::pos2(a.min.x, a.min.y), egui::pos2(a.max.x, a.max.y))
    };
    let cells: Vec<egui::Rect> = viewports.iter().map(rect).collect();
    for ((l, &cell), area) in arenas
        .lanes
        .iter()
        .zip(cells.iter().skip(1))
        .zip(viewports.iter().skip(1))
    {
        let clipped = painter.with_clip_rect(cell);
        clipped.rect_filled(cell, 0.0, theme::egui(theme_background()));
        let meshes = build_meshes(l.lane.session.view(), lab, hover, cam.world_per_px, false);
        for buffers in &meshes {
            let mesh = buffers.to_egui(|w| {
                let s = area.to_screen(cam, w);
                egui::pos2(s.x, s.y)
            });
            clipped.add(egui::Shape::mesh(mesh));
        }
        // Aliases, when few nodes are on screen, as in the first viewport.
        let net = l.lane.session.view().network();
        if net.node_count() <= 40 {
            let font = FontId::proportional(if lab.presenter { 15.0 } else { 12.0 });
            for (_, node) in net.nodes() {
                let s = area.to_screen(cam, world_pos(node.position));
                clipped.text(
                    egui::pos2(s.x, s.y + 16.0),
                    Align2::CENTER_TOP,
                    &node.alias,
                    font.clone(),
                    theme::egui_alpha(theme::TEXT, 0.85),
                );
            }
        }
    }
    let font = FontId::proportional(if lab.presenter { 20.0 } else { 14.0 });
    for (i, &cell) in cells.iter().enumerate() {
        let color = theme::egui(theme::arena(i));
        painter.rect_stroke(
            cell,
            3.0,
            egui::Stroke::new(2.0, color),
            egui::StrokeKind::Inside,
        );
        let finished = match i {
            0 => first_done,
            _ => arenas.lanes.get(i - 1).is_some_and(|l| l.lane.finished),
        };
        let name = if finished {
            format!("{} (done)", lab.arena_label(i))
        } else {
            lab.arena_label(i)
        };
        let galley = painter.layout_no_wrap(name, font.clone(), egui::Color32::BLACK);
        let at = cell.min + egui::vec2(8.0, 6.0);
        painter.rect_filled(
            egui::Rect::from_min_size(at, galley.size()).expand(4.0),
            4.0,
            color,
        );
        painter.galley(at, galley, egui::Color32::BLACK);
    }
}

/// The window's background (the renderer clears only the first viewport).
fn theme_background() -> theme::Rgb {
    let c = theme::BACKGROUND.to_srgba();
    let byte = |v: f32| (v * 255.0).round() as u8;
    [byte(c.red), byte(c.green), byte(c.blue)]
}

/// The scoreboard: one row per arena, each figure with its difference from the first
/// arena's (green where it is better, red where worse; hub concentration is neither).
pub(super) fn scoreboard(ui: &mut egui::Ui, rows: &[ScoreRow]) {
    let Some(first) = rows.first() else {
        return;
    };
    egui::Grid::new("scoreboard")
        .num_columns(1 + first.columns().len())
        .striped(true)
        .spacing([18.0, 2.0])
        .show(ui, |ui| {
            ui.strong("arena");
            for (name, _, _) in first.columns() {
                ui.strong(name);
            }
            ui.strong("payments");
            ui.end_row();
            for (i, row) in rows.iter().enumerate() {
                ui.colored_label(
                    theme::egui(theme::arena(i)),
                    RichText::new(&row.label).strong(),
                );
                for ((_, value, more_is_better), (_, base, _)) in
                    row.columns().into_iter().zip(first.columns())
                {
                    ui.horizontal(|ui| {
                        ui.label(RichText::new(format_value(value)).monospace());
                        if i > 0 {
                            let delta = value - base;
                            let color = match more_is_better {
                                _ if delta.abs() < 1e-12 => theme::TEXT,
                                None => theme::TEXT,
                                Some(more) if (delta > 0.0) == more => theme::SUCCESS,
                                Some(_) => theme::FAILURE,
                            };
                            ui.label(
                                RichText::new(format!("({delta:+.3})"))
                                    .monospace()
                                    .small()
                                    .color(theme::egui(color)),
                            );
                        }
                    });
                }
                ui.label(RichText::new(row.report.payments.to_string()).monospace());
                ui.end_row();
            }
        });
}

fn format_value(v: f64) -> String {
    if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// The run panel's arena controls: a list of set-ups to compare, and open / close.
pub(super) fn controls(
    ui: &mut egui::Ui,
    lab: &Lab,
    state: &mut UiState,
    send: &mut impl FnMut(LabCommand),
) {
    egui::CollapsingHeader::new("compare policies (arenas)")
        .default_open(!lab.arenas.is_empty())
        .show(ui, |ui| {
            if state.arena_list.is_empty() {
                state.arena_list = if !lab.arenas.is_empty() {
                    // The arenas open now (from `--arena` or a lesson), as they are spelt.
                    let lanes: Vec<String> = lab.arenas.iter().map(ToString::to_string).collect();
                    lanes.join(",")
                } else if lab.scene.agents.is_some() {
                    "scene,lnd".into()
                } else {
                    "lnd,cheapest".into()
                };
            }
            ui.add(
                egui::TextEdit::singleline(&mut state.arena_list)
                    .desired_width(f32::INFINITY)
                    .hint_text("scene,lnd,oracle"),
            )
            .on_hover_text(
                "2 to 4, comma-separated: scene (its own agents), random, shortest, \
                 cheapest, lnd, ldk, oracle, or ppo:CHECKPOINT (frozen)",
            );
            ui.horizontal(|ui| {
                if ui
                    .button("compare")
                    .on_hover_text("start the scene over with one viewport per policy")
                    .clicked()
                {
                    let list = state
                        .arena_list
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .collect();
                    send(LabCommand::SetArenas(list));
                }
                if !lab.arenas.is_empty() && ui.button("close arenas").clicked() {
                    send(LabCommand::SetArenas(Vec::new()));
                }
            });
        });
}
