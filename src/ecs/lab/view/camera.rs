//! The graph's camera: it renders into the area the panels leave free (a viewport that
//! follows [`GraphArea`]), looks where [`ViewCam`] says (the UI pans and zooms it), and fits
//! the whole graph into view when asked (start, open, `F`).

use crate::ecs::lab::state::{GraphArea, Lab, ViewCam, world_pos};
use crate::ecs::sim::SimDriver;
use bevy::camera::Viewport;
use bevy::prelude::*;

/// The camera that draws the graph (into the area between the panels).
#[derive(Component)]
pub(super) struct GraphCamera;

/// Fit the graph into the free area when asked (start, open, `F` key).
pub(super) fn fit(
    mut lab: ResMut<Lab>,
    area: Res<GraphArea>,
    driver: NonSend<SimDriver>,
    mut cam: ResMut<ViewCam>,
) {
    if !lab.fit_requested || !area.is_known() {
        return;
    }
    lab.fit_requested = false;
    let net = driver.session.view().network();
    let mut lo = Vec2::splat(f32::INFINITY);
    let mut hi = Vec2::splat(f32::NEG_INFINITY);
    for (_, n) in net.nodes() {
        let p = world_pos(n.position);
        lo = lo.min(p);
        hi = hi.max(p);
    }
    if !lo.is_finite() {
        return;
    }
    let size = (hi - lo).max(Vec2::splat(1e-3));
    let logical = (area.max - area.min) * area.logical_per_point();
    // A margin for node circles and labels.
    let fit = (size / (logical - Vec2::splat(60.0)).max(Vec2::splat(50.0))).max_element();
    cam.center = (lo + hi) / 2.0;
    cam.world_per_px = fit;
}

pub(super) fn sync_camera(
    cam: Res<ViewCam>,
    area: Res<GraphArea>,
    mut camera: Query<(&mut Camera, &mut Transform, &mut Projection), With<GraphCamera>>,
) {
    let Ok((mut camera, mut transform, mut projection)) = camera.single_mut() else {
        return;
    };
    transform.translation.x = cam.center.x;
    transform.translation.y = cam.center.y;
    if let Projection::Orthographic(o) = projection.as_mut()
        && o.scale != cam.world_per_px
    {
        o.scale = cam.world_per_px;
    }
    if area.is_known() {
        let pos = (area.min * area.pixels_per_point).max(Vec2::ZERO);
        let size = ((area.max - area.min) * area.pixels_per_point).max(Vec2::splat(1.0));
        let viewport = Viewport {
            physical_position: UVec2::new(pos.x as u32, pos.y as u32),
            physical_size: UVec2::new(size.x as u32, size.y as u32),
            ..default()
        };
        if camera
            .viewport
            .as_ref()
            .map(|v| (v.physical_position, v.physical_size))
            != Some((viewport.physical_position, viewport.physical_size))
        {
            camera.viewport = Some(viewport);
        }
    }
}
