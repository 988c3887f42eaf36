//! The modal questions: the error dialog (a scene that failed to open, start or save;
//! the previous scene keeps running) and, on quit with unsaved edits, save / quit without
//! saving / cancel.

use crate::ecs::lab::state::{Lab, LabCommand};
use bevy_egui::egui::{self, RichText};

/// The error dialog, while the lab holds an error to show.
pub(super) fn error(ctx: &egui::Context, lab: &mut Lab) {
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
}

/// The unsaved-changes question, while it is open.
pub(super) fn confirm_quit(ctx: &egui::Context, lab: &mut Lab, send: &mut impl FnMut(LabCommand)) {
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
