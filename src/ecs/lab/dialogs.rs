//! The lab's dialogs: help (the shortcut list), a chart shown large, the file dialog for
//! opening and saving scenes (a directory listing plus a path field), the error dialog,
//! and the unsaved-changes question on quit.

use super::plots::{self, Plots};
use super::state::{DialogMode, Lab, LabCommand, SHORTCUTS, UiState};
use bevy_egui::egui::{self, Align2, RichText};
use std::path::PathBuf;

pub(super) fn dialogs(
    ctx: &egui::Context,
    lab: &mut Lab,
    state: &mut UiState,
    plots: &mut Plots,
    send: &mut impl FnMut(LabCommand),
) {
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
    if let Some(chart) = plots.expanded {
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
    let mut close_dialog = false;
    if let Some(d) = &mut state.dialog {
        let title = match d.mode {
            DialogMode::Open => "open scene",
            DialogMode::Save => "save scene as",
        };
        egui::Window::new(title)
            .collapsible(false)
            .default_size(egui::vec2(520.0, 380.0))
            .show(ctx, |ui| {
                ui.horizontal(|ui| {
                    ui.label("path");
                    ui.add(egui::TextEdit::singleline(&mut d.path).desired_width(400.0));
                });
                ui.horizontal(|ui| {
                    if ui.button("up").clicked()
                        && let Some(p) = std::fs::canonicalize(&d.dir)
                            .ok()
                            .and_then(|p| p.parent().map(|p| p.to_path_buf()))
                    {
                        d.dir = p;
                    }
                    ui.label(RichText::new(d.dir.display().to_string()).weak());
                });
                egui::ScrollArea::vertical()
                    .max_height(240.0)
                    .show(ui, |ui| {
                        let mut entries: Vec<(bool, PathBuf)> = std::fs::read_dir(&d.dir)
                            .map(|r| {
                                r.filter_map(|e| e.ok())
                                    .map(|e| (e.path().is_dir(), e.path()))
                                    .filter(|(dir, p)| {
                                        *dir || p.extension().is_some_and(|x| x == "ron")
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        entries.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
                        for (is_dir, p) in entries {
                            let name = p
                                .file_name()
                                .map_or(String::new(), |n| n.to_string_lossy().into_owned());
                            let label = if is_dir { format!("{name}/") } else { name };
                            if ui
                                .selectable_label(d.path == p.display().to_string(), label)
                                .clicked()
                            {
                                if is_dir {
                                    d.dir = p;
                                } else {
                                    d.path = p.display().to_string();
                                }
                            }
                        }
                    });
                ui.separator();
                ui.horizontal(|ui| {
                    let ok = match d.mode {
                        DialogMode::Open if lab.dirty => "discard unsaved changes and open",
                        DialogMode::Open => "open",
                        DialogMode::Save => "save",
                    };
                    if ui.button(ok).clicked() && !d.path.trim().is_empty() {
                        let path = PathBuf::from(d.path.trim());
                        send(match d.mode {
                            DialogMode::Open => LabCommand::OpenScene(path),
                            DialogMode::Save => LabCommand::SaveScene(path),
                        });
                        close_dialog = true;
                    }
                    if ui.button("cancel").clicked() {
                        close_dialog = true;
                    }
                });
            });
    }
    if close_dialog {
        state.dialog = None;
    }
    if let Some(message) = lab.error.clone() {
        let modal = egui::Modal::new(egui::Id::new("error")).show(ctx, |ui| {
            ui.set_max_width(520.0);
            ui.heading("something went wrong");
            ui.label(message);
            ui.label(RichText::new("The previous scene keeps running.").weak());
            ui.button("OK").clicked()
        });
        if modal.inner || modal.should_close() {
            lab.error = None;
        }
    }
    if lab.confirm_quit {
        let modal = egui::Modal::new(egui::Id::new("quit")).show(ctx, |ui| {
            ui.heading("save changes before quitting?");
            ui.label(format!("{} has edits that are not saved.", lab.scene.name));
            let mut answer = None;
            ui.horizontal(|ui| {
                if ui.button("save and quit").clicked() {
                    answer = Some(0);
                }
                if ui.button("quit without saving").clicked() {
                    answer = Some(1);
                }
                if ui.button("cancel").clicked() {
                    answer = Some(2);
                }
            });
            answer
        });
        let answer = modal.inner.or(modal.should_close().then_some(2));
        match answer {
            Some(0) => {
                send(LabCommand::SaveScene(lab.path.clone()));
                send(LabCommand::Quit);
                lab.confirm_quit = false;
            }
            Some(1) => {
                send(LabCommand::QuitNow);
                lab.confirm_quit = false;
            }
            Some(_) => lab.confirm_quit = false,
            None => {}
        }
    }
}
