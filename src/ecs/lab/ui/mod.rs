//! The egui side of the lab: one system, `ui`, lays the panels out each frame (top bar,
//! run panel, the charts strip, the inspector when something is selected), hands the free
//! area to the graph's camera, reads pointer and keyboard input, paints the overlays and
//! opens the dialogs. The parts live in their own files:
//! - `top_bar`: run controls, speed, agents mode, routing policy;
//! - `side_panel`: file buttons, counters and the event log;
//! - `keys`: every keyboard shortcut; `graph_input`: pan, zoom, picking, tooltips;
//! - `overlays`: aliases, L402 badges and the paused mark over the graph.
//!
//! The inspector (`super::inspector`), the dialogs (`super::dialogs`) and the charts
//! (`super::plots`) are drawn from here. All input ends as [`LabCommand`]s or camera
//! moves. The session is only read, through its view, to draw it.

mod arenas;
mod graph_input;
mod keys;
mod overlays;
mod side_panel;
mod top_bar;

use super::arena::Arenas;
use super::dialogs::dialogs;
use super::feed::Flights;
use super::inspector::inspector;
use super::plots::{self, Plots};
use super::state::{
    ExplainRequest, ExplainResult, GraphArea, Hover, Lab, LabCommand, UiState, ViewCam,
};
use super::theme;
use crate::ecs::sim::SimDriver;
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::egui::{self, Sense};
use bevy_egui::{EguiContexts, EguiPrimaryContextPass};
use graph_input::{graph_input, hover_tooltip};
use keys::shortcuts;
use overlays::overlays;
use side_panel::run_panel;
use top_bar::top_bar;

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
    lanes: NonSend<Arenas>,
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
    // Presenter mode keeps only the charts the lesson names (none without a lesson).
    if !lab.presenter || !lab.lesson_charts.is_empty() {
        egui::Panel::bottom("charts")
            .resizable(false)
            .exact_size(CHART_HEIGHT + 62.0)
            .show(&mut root, |ui| {
                if let Some(c) = plots::show(
                    ui,
                    &mut plots,
                    &lab,
                    driver.session.view().has_market(),
                    CHART_HEIGHT,
                ) {
                    send(c);
                }
            });
    }
    // The arenas' scoreboard, in presenter mode too: it is what a comparison is about.
    if !lab.arenas.is_empty() {
        egui::Panel::bottom("scoreboard")
            .resizable(false)
            .show(&mut root, |ui| arenas::scoreboard(ui, &lanes.scores));
    }
    if !lab.presenter {
        egui::Panel::left("run")
            .resizable(true)
            .default_size(250.0)
            .show(&mut root, |ui| {
                run_panel(ui, &lab, &driver, &lanes, &cam, &mut state, &mut send)
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

    // The graph: whatever the panels left, split into one viewport per arena; the first
    // is the renderer's and takes the pointer.
    let free = root.available_rect_before_wrap();
    let cells = arenas::cells(free, lab.arenas.len());
    let rect = cells[0];
    *area = GraphArea {
        min: Vec2::new(rect.min.x, rect.min.y),
        max: Vec2::new(rect.max.x, rect.max.y),
        pixels_per_point: ctx.pixels_per_point(),
        scale_factor: window.scale_factor(),
    };
    if cells.len() > 1 {
        let painter = root.painter_at(free);
        let viewports: Vec<GraphArea> = cells.iter().map(|c| arenas::area_of(*c, &area)).collect();
        let done = driver.engine_done;
        arenas::paint(&painter, &lab, &lanes, &hover, &cam, &viewports, done);
    }
    // Every viewport takes the pointer (they share the camera and the layout); the one
    // under it, or the one a drag started in, handles it. Tooltips read the first arena.
    let responses: Vec<egui::Response> = cells
        .iter()
        .map(|c| root.allocate_rect(*c, Sense::click_and_drag()))
        .collect();
    if !lab.unattended {
        let active = responses
            .iter()
            .position(|r| r.dragged() || r.drag_stopped())
            .or_else(|| responses.iter().position(|r| r.hovered()))
            .unwrap_or(0);
        let cell_area = arenas::area_of(cells[active], &area);
        let response = &responses[active];
        graph_input(
            &ctx, response, &driver, &lab, &cell_area, &mut cam, &mut hover, &mut send,
        );
        if active == 0 {
            hover_tooltip(response, &driver, &hover);
        }
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
