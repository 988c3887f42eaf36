//! The top bar: the scene's name and clock, play / step / reset / undo / redo, the speed slider, the
//! agents' mode, the routing policy of the other nodes, and in presenter mode the headline
//! numbers.

use crate::ecs::lab::state::{AgentMode, Lab, LabCommand, Speed};
use crate::ecs::sim::SimDriver;
use crate::routing::RouterKind;
use bevy_egui::egui::{self, RichText};

pub(super) fn top_bar(
    ui: &mut egui::Ui,
    lab: &Lab,
    driver: &SimDriver,
    send: &mut impl FnMut(LabCommand),
) {
    egui::Panel::top("controls").show(ui, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.heading(RichText::new(&lab.scene.name).strong());
            let engine = driver.session.view();
            ui.label(
                RichText::new(format!("t = {:.1} s", engine.now_ms() as f64 / 1000.0)).monospace(),
            );
            ui.separator();
            let play = if lab.paused { "▶ play" } else { "⏸ pause" };
            if ui.button(play).on_hover_text("Space").clicked() {
                send(LabCommand::TogglePause);
            }
            if ui.button("step").on_hover_text(". (one event)").clicked() {
                send(LabCommand::Step);
            }
            if ui.button("reset").on_hover_text("R").clicked() {
                send(LabCommand::Reset);
            }
            let undo = ui
                .add_enabled(!lab.undo.is_empty(), egui::Button::new("undo"))
                .on_hover_text("Ctrl+Z: take back the last edit (replays the run to now)");
            if undo.clicked() {
                send(LabCommand::Undo);
            }
            let redo = ui
                .add_enabled(!lab.redo.is_empty(), egui::Button::new("redo"))
                .on_hover_text("Ctrl+Y");
            if redo.clicked() {
                send(LabCommand::Redo);
            }
            ui.separator();
            let mut max = lab.speed == Speed::Max;
            let mut x = match lab.speed {
                Speed::Times(x) => x,
                Speed::Max => 1000.0,
            };
            ui.label("speed");
            let slider = ui.add_enabled(
                !max,
                egui::Slider::new(&mut x, 0.1..=10_000.0)
                    .logarithmic(true)
                    .suffix(" sim s/s")
                    .max_decimals(1),
            );
            if slider.changed() {
                send(LabCommand::SetSpeed(Speed::Times(x)));
            }
            if ui
                .toggle_value(&mut max, "max")
                .on_hover_text("M")
                .changed()
            {
                send(LabCommand::SetSpeed(if max {
                    Speed::Max
                } else {
                    Speed::Times(x)
                }));
            }
            if lab.has_agents() {
                ui.separator();
                ui.label("agents");
                for mode in [AgentMode::Learning, AgentMode::Paused, AgentMode::Frozen] {
                    if ui
                        .selectable_label(lab.agents == mode, mode.label())
                        .on_hover_text("T cycles")
                        .clicked()
                    {
                        send(LabCommand::SetAgents(mode));
                    }
                }
            }
            ui.separator();
            let label = if lab.has_agents() {
                "other nodes"
            } else {
                "routing"
            };
            // Arenas fix each viewport's policy (the scoreboard names them).
            if lab.arenas.is_empty() {
                egui::ComboBox::from_label(label)
                    .selected_text(&lab.policy)
                    .show_ui(ui, |ui| {
                        for k in RouterKind::ALL {
                            let name = k.to_string();
                            if ui.selectable_label(lab.policy == name, &name).clicked() {
                                send(LabCommand::SetPolicy(name));
                            }
                        }
                    });
            } else {
                ui.label(format!("{} arenas", lab.arenas.len()));
            }
            if lab.presenter {
                ui.separator();
                let m = engine.metrics();
                ui.label(
                    RichText::new(format!(
                        "success {:.1}%  ·  {} payments",
                        100.0 * m.success_rate(),
                        m.succeeded + m.failed
                    ))
                    .strong(),
                );
                if ui.button("exit presenter").on_hover_text("P").clicked() {
                    send(LabCommand::SetPresenter(false));
                }
            }
        });
    });
}
