//! The run panel on the left: file buttons (open, save as, help, presenter), the scene's
//! path and unsaved state, the run's counters (payments, fees, HTLCs in flight, agents,
//! L402) and the event log.

use crate::ecs::lab::state::{DialogMode, FileDialog, Lab, LabCommand, UiState};
use crate::ecs::lab::theme;
use crate::ecs::sim::SimDriver;
use bevy_egui::egui::{self, RichText};

pub(super) fn run_panel(
    ui: &mut egui::Ui,
    lab: &Lab,
    driver: &SimDriver,
    state: &mut UiState,
    send: &mut impl FnMut(LabCommand),
) {
    ui.horizontal(|ui| {
        if ui.button("open…").on_hover_text("Ctrl+O").clicked() {
            state.dialog = Some(FileDialog::new(DialogMode::Open, lab));
        }
        if ui
            .button("save as…")
            .on_hover_text("Ctrl+S saves in place")
            .clicked()
        {
            state.dialog = Some(FileDialog::new(DialogMode::Save, lab));
        }
        if ui.button("help").on_hover_text("H").clicked() {
            send(LabCommand::ToggleHelp);
        }
        if ui.button("presenter").on_hover_text("P").clicked() {
            send(LabCommand::SetPresenter(true));
        }
    });
    ui.label(RichText::new(lab.path.display().to_string()).small().weak());
    if lab.dirty {
        ui.colored_label(theme::egui(theme::REMOTE), "unsaved changes");
    }
    ui.separator();
    let t = driver.session.view();
    let m = t.metrics();
    let net = t.network();
    let (in_flight_msat, htlcs) = net.in_flight_totals();
    egui::Grid::new("counters")
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            let mut row = |k: &str, v: String| {
                ui.label(k);
                ui.label(RichText::new(v).monospace());
                ui.end_row();
            };
            row(
                "nodes / channels",
                format!("{} / {}", net.node_count(), net.channel_count()),
            );
            row("payments", format!("{}", m.payments));
            row("succeeded", format!("{}", m.succeeded));
            row("failed", format!("{}", m.failed));
            row("success rate", format!("{:.1}%", 100.0 * m.success_rate()));
            row("fees paid", format!("{} sat", m.fees_paid_msat / 1000));
            row(
                "HTLCs in flight",
                format!("{htlcs} ({} sat)", in_flight_msat / 1000),
            );
            row("hub gini", format!("{:.3}", m.hub_gini(net.node_count())));
            if t.has_agents() {
                row("agent decisions", format!("{}", t.decisions()));
                row("PPO updates", format!("{}", t.update_rows().len()));
            }
            if let Some(r) = t.l402_report() {
                row("L402 calls", format!("{}", r.calls_requested));
                row(
                    "402 / paid / served",
                    format!("{} / {} / {}", r.challenged, r.paid, r.served),
                );
            }
        });
    ui.separator();
    ui.strong("events");
    egui::ScrollArea::vertical()
        .stick_to_bottom(true)
        .show(ui, |ui| {
            for line in &lab.log {
                let text = format!("{:>7.1}s  {}", line.sim_ms as f64 / 1000.0, line.text);
                let rt = RichText::new(text).monospace().small();
                if line.error {
                    ui.colored_label(theme::egui(theme::FAILURE), rt);
                } else {
                    ui.label(rt);
                }
            }
        });
}
