//! What egui paints over the graph: node aliases (when few enough are on screen), the
//! L402 badges rising from clients and services, and the "paused" mark.

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
