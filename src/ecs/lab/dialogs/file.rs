//! The file dialog for opening and saving scenes: a path field, the folder's listing
//! (folders and `.ron` files; "up" climbs), and the button that sends
//! [`LabCommand::OpenScene`] or [`LabCommand::SaveScene`].

use crate::ecs::lab::state::{DialogMode, FileDialog, Lab, LabCommand};
use bevy_egui::egui::{self, RichText};
use std::path::PathBuf;

/// The dialog, if open; it closes on its answer or on cancel.
pub(super) fn show(
    ctx: &egui::Context,
    lab: &Lab,
    dialog: &mut Option<FileDialog>,
    send: &mut impl FnMut(LabCommand),
) {
    let mut close_dialog = false;
    if let Some(d) = dialog.as_mut() {
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
        *dialog = None;
    }
}
