//! The inspector's topology edits as forms: opening a channel between two clicked nodes
//! (capacity, how the balance is split, fees) and changing one direction's fee policy.
//! A form only builds the engine's own command; the lab injects it like any other edit,
//! so it lands in the timeline, keeps the engine's invariants, and can be undone.

use crate::network::{ChannelPolicy, Direction, NodeId, ShortChannelId};
use crate::sim::command::Command;
use bevy_egui::egui;

/// A channel being opened from `from` to the next node the user clicks.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenForm {
    pub from: NodeId,
    pub capacity_sat: u64,
    /// The share of the capacity on `from`'s side, in percent.
    pub from_share_pct: f64,
    pub fee_base_msat: u64,
    pub fee_rate_ppm: u64,
}

impl OpenForm {
    pub fn new(from: NodeId) -> Self {
        OpenForm {
            from,
            capacity_sat: 1_000_000,
            from_share_pct: 50.0,
            fee_base_msat: 1_000,
            fee_rate_ppm: 1,
        }
    }

    /// The engine command opening this channel to `to` (both directions with these fees,
    /// lnd's other defaults).
    pub fn command(&self, to: NodeId) -> Command {
        let share = self.from_share_pct.clamp(0.0, 100.0) / 100.0;
        let capacity_msat = self.capacity_sat.saturating_mul(1_000);
        Command::OpenChannel {
            node1: self.from,
            node2: to,
            capacity_sat: self.capacity_sat,
            node1_balance_msat: Some((capacity_msat as f64 * share).round() as u64),
            policy: Some(ChannelPolicy {
                fee_base_msat: self.fee_base_msat,
                fee_rate_ppm: self.fee_rate_ppm,
                ..ChannelPolicy::lnd_default(self.capacity_sat)
            }),
            scid: None,
        }
    }

    /// The form's fields; returns whether "open" was pressed.
    pub fn ui(&mut self, ui: &mut egui::Ui, from: &str, to: &str) -> bool {
        ui.strong(format!("open a channel {from} ↔ {to}"));
        egui::Grid::new("open-channel")
            .num_columns(2)
            .show(ui, |ui| {
                ui.label("capacity");
                ui.add(
                    egui::DragValue::new(&mut self.capacity_sat)
                        .range(20_000..=100_000_000)
                        .speed(10_000)
                        .suffix(" sat"),
                );
                ui.end_row();
                ui.label(format!("{from}'s share"));
                ui.add(egui::Slider::new(&mut self.from_share_pct, 0.0..=100.0).suffix(" %"));
                ui.end_row();
                fee_rows(ui, &mut self.fee_base_msat, &mut self.fee_rate_ppm);
            });
        ui.button("open").clicked()
    }
}

/// A new fee policy for one direction of a channel.
#[derive(Clone, Debug, PartialEq)]
pub struct FeeForm {
    pub scid: ShortChannelId,
    pub direction: Direction,
    pub fee_base_msat: u64,
    pub fee_rate_ppm: u64,
    pub cltv_expiry_delta: u16,
}

impl FeeForm {
    pub fn new(scid: ShortChannelId, direction: Direction, policy: &ChannelPolicy) -> Self {
        FeeForm {
            scid,
            direction,
            fee_base_msat: policy.fee_base_msat,
            fee_rate_ppm: policy.fee_rate_ppm,
            cltv_expiry_delta: policy.cltv_expiry_delta,
        }
    }

    /// The engine command setting these fees (the direction's other terms unchanged).
    pub fn command(&self) -> Command {
        Command::SetPolicy {
            scid: self.scid,
            direction: self.direction,
            fee_base_msat: Some(self.fee_base_msat),
            fee_rate_ppm: Some(self.fee_rate_ppm),
            cltv_expiry_delta: Some(self.cltv_expiry_delta),
            htlc_minimum_msat: None,
            htlc_maximum_msat: None,
            disabled: None,
        }
    }

    /// The form's fields; returns whether "apply" was pressed.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> bool {
        egui::Grid::new(("fees", self.direction.index()))
            .num_columns(2)
            .show(ui, |ui| {
                fee_rows(ui, &mut self.fee_base_msat, &mut self.fee_rate_ppm);
                ui.label("cltv delta");
                ui.add(egui::DragValue::new(&mut self.cltv_expiry_delta).range(1..=2016));
                ui.end_row();
            });
        ui.button("apply").clicked()
    }
}

/// The two fee fields both forms show, as grid rows.
fn fee_rows(ui: &mut egui::Ui, fee_base_msat: &mut u64, fee_rate_ppm: &mut u64) {
    ui.label("fee base");
    ui.add(egui::DragValue::new(fee_base_msat).suffix(" msat"));
    ui.end_row();
    ui.label("fee rate");
    ui.add(egui::DragValue::new(fee_rate_ppm).suffix(" ppm"));
    ui.end_row();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::command::TimedCommand;

    /// The forms build valid timeline entries that say what the user set.
    #[test]
    fn forms_build_the_commands_they_show() {
        let mut open = OpenForm::new(NodeId(2));
        open.capacity_sat = 3_000_000;
        open.from_share_pct = 25.0;
        open.fee_rate_ppm = 500;
        let command = open.command(NodeId(7));
        let Command::OpenChannel {
            node1,
            node2,
            node1_balance_msat,
            policy: Some(policy),
            ..
        } = &command
        else {
            panic!("{command:?}")
        };
        assert_eq!((*node1, *node2), (NodeId(2), NodeId(7)));
        assert_eq!(*node1_balance_msat, Some(750_000_000));
        assert_eq!((policy.fee_base_msat, policy.fee_rate_ppm), (1_000, 500));
        let entry = TimedCommand { at_ms: 0, command };
        assert!(entry.validate(8).is_ok());
        assert!(
            entry.validate(5).is_err(),
            "node 7 is not in a 5-node scene"
        );

        let scid: ShortChannelId = "800000x1x0".parse().unwrap();
        let mut fees = FeeForm::new(scid, Direction::Backward, &ChannelPolicy::lnd_default(1));
        fees.fee_rate_ppm = 2_000;
        let command = fees.command();
        assert!(matches!(
            command,
            Command::SetPolicy {
                direction: Direction::Backward,
                fee_rate_ppm: Some(2_000),
                fee_base_msat: Some(1_000),
                disabled: None,
                ..
            }
        ));
        assert!(TimedCommand { at_ms: 0, command }.validate(8).is_ok());
    }
}
