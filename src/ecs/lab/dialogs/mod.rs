//! The lab's dialogs, drawn over everything after the panels: help (the shortcut list)
//! and a chart shown large, here; the file dialog for opening and saving scenes (`file`);
//! the error dialog and the unsaved-changes question on quit (`prompts`). Answers are
//! [`LabCommand`]s; closing a dialog only changes the lab's own state.

mod file;
mod prompts;

use super::plots::{self, Chart, Plots};
use super::state::{Lab, LabCommand, SHORTCUTS, UiState};
use bevy_egui::egui::{self, Align2, RichText};

/// Every dialog that is open, in drawing order.
pub(super) fn dialogs(
    ctx: &egui::Context,
    lab: &mut Lab,
    state: &mut UiState,
    plots: &mut Plots,
    send: &mut impl FnMut(LabCommand),
) {
    help(ctx, lab, send);
    if let Some(chart) = plots.expanded {
        large_chart(ctx, lab, plots, chart);
    }
    file::show(ctx, lab, &mut state.dialog, send);
    prompts::error(ctx, lab);
    prompts::confirm_quit(ctx, lab, send);
}

/// The help window: what the drawing means and the shortcuts.
fn help(ctx: &egui::Context, lab: &Lab, send: &mut impl FnMut(LabCommand)) {
    if lab.help {
        let mut open = true;
        egui::Window::new("help")
            .open(&mut open)
            .collapsible(false)
            .anchor(Align2::CENTER_CENTER, egui::vec2(0.0, 0.0))
            .show(ctx, |ui| {
                ui.label("Nodes are sized by forwarded volume and coloured by role (agents by group).");
                ui.label("Channels show liquidity: teal is node1's side, amber node2's; a red glow means full HTLC slots.");
                ui.label("White pulses are HTLCs offered; green runs back on settle, red from the failing hop; violet pays for L402.");
                ui.separator();
                egui::Grid::new("keys").num_columns(2).striped(true).show(ui, |ui| {
                    for (k, what) in SHORTCUTS {
                        ui.label(RichText::new(*k).monospace().strong());
                        ui.label(*what);
                        ui.end_row();
                    }
                });
            });
        if !open {
            send(LabCommand::ToggleHelp);
        }
    }
}

/// One chart in its own window, large.
fn large_chart(ctx: &egui::Context, lab: &Lab, plots: &mut Plots, chart: Chart) {
    let mut open = true;
    egui::Window::new(chart.title())
        .open(&mut open)
        .default_size(egui::vec2(720.0, 420.0))
        .show(ctx, |ui| {
            let w = ui.available_width();
            plots::chart_ui(ui, plots, lab, chart, w, 380.0);
        });
    if !open {
        plots.expanded = None;
    }
}
