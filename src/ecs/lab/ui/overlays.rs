//! What egui paints over the graph: node aliases (when few enough are on screen), the
//! L402 badges rising from clients and services, the "paused" mark, and the colour key
//! (always shown, presenter mode included: roles, liquidity sides, pulses, congestion).

use crate::ecs::lab::feed::{Flights, badge_age};
use crate::ecs::lab::state::{GraphArea, Lab, ViewCam, world_pos};
use crate::ecs::lab::theme;
use crate::ecs::sim::SimDriver;
use crate::network::NodeId;
use bevy_egui::egui::{self, Align2, Color32, FontId};

/// Aliases (when few enough nodes are on screen) and the L402 badges.
pub(super) fn overlays(
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
    let key = colour_key(painter, lab);
    if let Some(text) = &lab.caption {
        caption(painter, text, lab.presenter, key.right());
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

/// The colour key in the graph's bottom-left corner; returns where it is.
fn colour_key(painter: &egui::Painter, lab: &Lab) -> egui::Rect {
    // Small type even in presenter mode (which zooms everything already).
    let font = &FontId::proportional(11.0);
    use crate::network::Role;
    let mut entries: Vec<(theme::Rgb, &str, bool)> = vec![
        (theme::role(Role::Router), "router", false),
        (theme::role(Role::Merchant), "merchant", false),
        (theme::role(Role::Client), "client", false),
        (theme::role(Role::ApiService), "API", false),
    ];
    if let Some(agents) = &lab.scene.agents {
        for (i, g) in agents.groups.iter().enumerate().take(4) {
            entries.push((theme::group(i), g.name.as_str(), false));
        }
    }
    entries.extend([
        (theme::LOCAL, "node1's balance", true),
        (theme::REMOTE, "node2's balance", true),
        (theme::IN_FLIGHT, "HTLC offered", true),
        (theme::SUCCESS, "settled", true),
        (theme::FAILURE, "failed back", true),
        (theme::L402, "L402 payment", true),
        (theme::CONGESTION, "slots filling", true),
    ]);
    if lab.traffic.on {
        entries.push((theme::TRAFFIC, "traffic, last 60 s", true));
    }
    let rect = painter.clip_rect();
    let line = font.size + 5.0;
    let width = 8.0 + 18.0 + 8.0 * font.size;
    let height = line * entries.len() as f32 + 8.0;
    let key = egui::Rect::from_min_size(
        rect.left_bottom() + egui::vec2(10.0, -10.0 - height),
        egui::vec2(width, height),
    );
    painter.rect_filled(key, 4.0, Color32::from_black_alpha(150));
    for (i, (color, label, is_line)) in entries.iter().enumerate() {
        let y = key.top() + 4.0 + line * (i as f32 + 0.5);
        let x = key.left() + 8.0;
        let c = theme::egui(*color);
        if *is_line {
            painter.line_segment(
                [egui::pos2(x, y), egui::pos2(x + 12.0, y)],
                egui::Stroke::new(3.0, c),
            );
        } else {
            painter.circle_filled(egui::pos2(x + 6.0, y), 5.0, c);
        }
        painter.text(
            egui::pos2(x + 18.0, y),
            Align2::LEFT_CENTER,
            *label,
            font.clone(),
            theme::egui_alpha(theme::TEXT, 0.9),
        );
    }
    key
}

/// The lesson's narration at the bottom of the graph, right of the colour key (whose
/// right edge is `key_right`), wrapped, on a dark band.
fn caption(painter: &egui::Painter, text: &str, presenter: bool, key_right: f32) {
    let clip = painter.clip_rect();
    let rect =
        egui::Rect::from_x_y_ranges((key_right + 16.0)..=(clip.right() - 16.0), clip.y_range());
    let size = if presenter { 22.0 } else { 18.0 };
    let width = rect.width().max(200.0);
    let galley = painter.layout(
        text.to_string(),
        FontId::proportional(size),
        theme::egui(theme::TEXT),
        width,
    );
    let at = egui::pos2(
        rect.center().x - galley.size().x / 2.0,
        rect.bottom() - galley.size().y - 24.0,
    );
    let band = egui::Rect::from_min_size(at, galley.size()).expand(10.0);
    painter.rect_filled(band, 6.0, Color32::from_black_alpha(245));
    painter.galley(at, galley, theme::egui(theme::TEXT));
}
