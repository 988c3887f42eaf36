//! Pointer input over the graph: drag to pan (or, from a node, to move the node), wheel or
//! pinch to zoom around the pointer,
//! picking the node or channel under it (the same sizes the meshes are drawn with), click to
//! select, and the hover tooltip. Moves the camera; everything else is a [`LabCommand`].

use crate::ecs::lab::state::{GraphArea, Hover, Lab, LabCommand, ViewCam, world_pos};
use crate::ecs::lab::view::NodeSizes;
use crate::ecs::sim::SimDriver;
use crate::network::{ChannelId, Direction, NodeId};
use bevy::prelude::*;
use bevy_egui::egui::{self, RichText};

#[allow(clippy::too_many_arguments)]
pub(super) fn graph_input(
    ctx: &egui::Context,
    response: &egui::Response,
    driver: &SimDriver,
    lab: &Lab,
    area: &GraphArea,
    cam: &mut ViewCam,
    hover: &mut Hover,
    send: &mut impl FnMut(LabCommand),
) {
    let pointer = response.hover_pos();
    // A drag that starts on a node moves the node; anywhere else it pans.
    if response.drag_started() {
        hover.dragging = hover.node;
    }
    let moved_to = |p: egui::Pos2, cam: &ViewCam| {
        let w = area.to_world(cam, Vec2::new(p.x, p.y));
        [w.x, -w.y]
    };
    match (hover.dragging, pointer) {
        (Some(node), Some(p)) if response.dragged() || response.drag_stopped() => {
            let done = response.drag_stopped();
            send(LabCommand::MoveNode {
                node: node.0,
                to: moved_to(p, cam),
                done,
            });
            if done {
                hover.dragging = None;
            }
        }
        // Released outside the graph: the drag ends where the node last was.
        (Some(node), None) if response.drag_stopped() => {
            if let Some(n) = driver.session.view().network().node(node) {
                send(LabCommand::MoveNode {
                    node: node.0,
                    to: n.position,
                    done: true,
                });
            }
            hover.dragging = None;
        }
        (None, _) if response.dragged() => {
            let d = response.drag_delta();
            let k = area.world_per_point(cam);
            cam.center += Vec2::new(-d.x, d.y) * k;
        }
        _ => {}
    }
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
    let dragging = hover.dragging;
    *hover = match pointer {
        Some(p) if !response.dragged() => pick(driver, lab, area, cam, Vec2::new(p.x, p.y)),
        _ => Hover::default(),
    };
    hover.dragging = dragging;
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
            dragging: None,
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
        dragging: None,
    }
}

pub(super) fn hover_tooltip(response: &egui::Response, driver: &SimDriver, hover: &Hover) {
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
