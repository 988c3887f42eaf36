//! The inspector for a channel: its endpoints and capacity, each direction's balance,
//! HTLCs in flight, slots and policy, and the buttons that drain a direction, edit its
//! fees, jam it or close it.

use super::edit::FeeForm;
use super::{alias, drain, jam};
use crate::ecs::lab::state::{ExplainRequest, LabCommand, UiState};
use crate::ecs::lab::theme;
use crate::ecs::sim::SimDriver;
use crate::network::{ChannelId, Direction};
use crate::sim::command::Command;
use bevy_egui::egui::{self, RichText};

pub(super) fn show(
    ui: &mut egui::Ui,
    driver: &SimDriver,
    id: ChannelId,
    state: &mut UiState,
    explain: &mut ExplainRequest,
    send: &mut impl FnMut(LabCommand),
) {
    let net = driver.session.view().network();
    explain.0 = None;
    let (Some(ch), Some((a, b))) = (net.channel(id), net.endpoints(id)) else {
        ui.label("this channel is gone");
        return;
    };
    ui.label(
        RichText::new(format!("channel {}", ch.scid))
            .size(20.0)
            .strong(),
    );
    ui.label(format!("{} ↔ {}", alias(net, a), alias(net, b)));
    ui.label(format!("capacity {} sat", ch.capacity_sat));
    if ch.closing {
        ui.colored_label(theme::egui(theme::REMOTE), "closing (waits for its HTLCs)");
    }
    for (dir, from, to) in [(Direction::Forward, a, b), (Direction::Backward, b, a)] {
        let s = ch.side(dir);
        ui.separator();
        ui.strong(format!("{} -> {}", alias(net, from), alias(net, to)));
        egui::Grid::new(("side", dir.index()))
            .num_columns(2)
            .show(ui, |ui| {
                let mut row = |k: &str, v: String| {
                    ui.label(k);
                    ui.label(RichText::new(v).monospace());
                    ui.end_row();
                };
                row("balance", format!("{} sat", s.balance_msat / 1000));
                row("in flight", format!("{} sat", s.in_flight_msat() / 1000));
                row(
                    "HTLC slots",
                    format!("{} / {}", s.slots_used(), s.slots_used() + s.slots_free()),
                );
                let p = &s.policy;
                row(
                    "fee",
                    format!("{} msat + {} ppm", p.fee_base_msat, p.fee_rate_ppm),
                );
                row("cltv delta", format!("{}", p.cltv_expiry_delta));
                row(
                    "htlc min / max",
                    format!("{} / {} msat", p.htlc_minimum_msat, p.htlc_maximum_msat),
                );
                row("disabled", format!("{}", p.disabled));
            });
        if ui
            .button(format!(
                "drain 90% {} -> {} (D)",
                alias(net, from),
                alias(net, to)
            ))
            .clicked()
        {
            send(LabCommand::Inject(drain(ch.scid, dir)));
        }
        let editing = state
            .fees
            .as_mut()
            .filter(|f| f.scid == ch.scid && f.direction == dir);
        match editing {
            Some(form) => {
                let apply = form.ui(ui);
                if apply {
                    send(LabCommand::Inject(form.command()));
                }
                if apply || ui.button("cancel").clicked() {
                    state.fees = None;
                }
            }
            None => {
                if ui.button("edit fees").clicked() {
                    state.fees = Some(FeeForm::new(ch.scid, dir, &s.policy));
                }
            }
        }
    }
    ui.separator();
    ui.horizontal(|ui| {
        if ui.button("jam 60 s (J)").clicked() {
            send(LabCommand::Inject(jam(ch.scid)));
        }
        if ui.button("close (K)").clicked() {
            send(LabCommand::Inject(Command::CloseChannel { scid: ch.scid }));
        }
    });
}
