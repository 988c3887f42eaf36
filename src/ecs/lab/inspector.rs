//! The inspector panel: what a selected node or channel is (balances, policies, fees,
//! forwarded volume, failures caused, HTLC slots), the congestion buttons that act on it,
//! and, for an agent node, its policy's probabilities for a destination and amount the
//! user picks. Buttons send [`LabCommand`]s carrying the engine's own commands.

use super::state::{ExplainRequest, ExplainResult, Lab, LabCommand, Selection, UiState};
use super::theme;
use crate::ecs::sim::SimDriver;
use crate::network::{Direction, NodeId};
use crate::sim::command::Command;
use bevy_egui::egui::{self, RichText};

pub(super) fn jam(scid: crate::network::ShortChannelId) -> Command {
    Command::JamChannel {
        scid,
        direction: None,
        duration_ms: 60_000,
    }
}

pub(super) fn drain(scid: crate::network::ShortChannelId, direction: Direction) -> Command {
    Command::DrainChannel {
        scid,
        direction,
        fraction: 0.9,
    }
}

pub(super) fn spike(node: NodeId) -> Command {
    Command::DemandSpike {
        node,
        rate_per_s: 20.0,
        duration_ms: 30_000,
    }
}

pub(super) fn toggle_online(driver: &SimDriver, node: NodeId) -> Command {
    let online = driver
        .session
        .view()
        .network()
        .node(node)
        .is_some_and(|n| n.online);
    if online {
        Command::NodeOffline { node }
    } else {
        Command::NodeOnline { node }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn inspector(
    ui: &mut egui::Ui,
    lab: &Lab,
    driver: &SimDriver,
    state: &mut UiState,
    explain: &mut ExplainRequest,
    result: &ExplainResult,
    send: &mut impl FnMut(LabCommand),
) {
    let t = driver.session.view();
    let net = t.network();
    let alias = |n: NodeId| net.node(n).map_or("?".to_string(), |n| n.alias.clone());
    ui.horizontal(|ui| {
        ui.heading("inspector");
        if ui.small_button("close").on_hover_text("Esc").clicked() {
            send(LabCommand::ClearSelection);
        }
    });
    match lab.selection {
        Some(Selection::Node(id)) => {
            let Some(node) = net.node(id) else {
                ui.label("this node is gone");
                return;
            };
            let s = t
                .metrics()
                .nodes
                .get(id.index())
                .copied()
                .unwrap_or_default();
            ui.label(RichText::new(&node.alias).size(20.0).strong());
            egui::Grid::new("node").num_columns(2).show(ui, |ui| {
                let mut row = |k: &str, v: String| {
                    ui.label(k);
                    ui.label(RichText::new(v).monospace());
                    ui.end_row();
                };
                row("node", format!("{}", id.0));
                let key = node.pubkey.to_string();
                row("pubkey", format!("{}…", &key[..16.min(key.len())]));
                row("role", format!("{:?}", node.role));
                let group = t.group_of(id).map(|g| t.group_names()[g].to_string());
                row(
                    "routing",
                    group.map_or(lab.policy.clone(), |g| format!("PPO agent ({g})")),
                );
                row("online", format!("{}", node.online));
                row("fees earned", format!("{} sat", s.fees_earned_msat / 1000));
                row("forwarded", format!("{} sat", s.forwarded_msat / 1000));
                row("failures caused", format!("{}", s.failures_caused));
            });
            ui.horizontal(|ui| {
                let label = if node.online {
                    "take offline (O)"
                } else {
                    "bring online (O)"
                };
                if ui.button(label).clicked() {
                    send(LabCommand::Inject(toggle_online(driver, id)));
                }
                if ui.button("demand spike here (G)").clicked() {
                    send(LabCommand::Inject(spike(id)));
                }
            });
            ui.separator();
            // Agents show their policy first; their channel list starts folded.
            let agent = t.group_of(id).is_some();
            egui::CollapsingHeader::new("channels")
                .default_open(!agent)
                .show(ui, |ui| {
                    let channels = net.channels_of(id);
                    egui::Grid::new("node-channels")
                        .num_columns(4)
                        .striped(true)
                        .show(ui, |ui| {
                            ui.label("peer");
                            ui.label("local / remote sat");
                            ui.label("fee");
                            ui.label("HTLCs");
                            ui.end_row();
                            for (cid, dir, peer) in channels.iter().take(60) {
                                let Some(ch) = net.channel(*cid) else {
                                    continue;
                                };
                                let out = ch.side(*dir);
                                let back = ch.side(dir.reverse());
                                if ui.link(alias(*peer)).clicked() {
                                    send(LabCommand::SelectChannel(ch.scid));
                                }
                                ui.label(format!(
                                    "{} / {}",
                                    out.balance_msat / 1000,
                                    back.balance_msat / 1000
                                ));
                                ui.label(format!(
                                    "{}+{}ppm",
                                    out.policy.fee_base_msat, out.policy.fee_rate_ppm
                                ));
                                ui.label(format!("{}", out.slots_used()));
                                ui.end_row();
                            }
                        });
                    if channels.len() > 60 {
                        ui.label(format!("… and {} more", channels.len() - 60));
                    }
                });
            if t.group_of(id).is_some() {
                ui.separator();
                ui.strong("policy: where would this agent send a payment?");
                let n = net.node_bound().max(1) as u32;
                state.destination = state.destination.min(n - 1);
                ui.horizontal(|ui| {
                    ui.label("to node");
                    ui.add(egui::DragValue::new(&mut state.destination).range(0..=n - 1));
                    ui.label(alias(NodeId(state.destination)));
                });
                ui.horizontal(|ui| {
                    ui.label("amount");
                    ui.add(
                        egui::Slider::new(&mut state.amount_sat, 1_000..=5_000_000)
                            .logarithmic(true)
                            .suffix(" sat"),
                    );
                });
                let request = (id, NodeId(state.destination), state.amount_sat * 1000);
                explain.0 = Some(request);
                match (&result.candidates, result.request == Some(request)) {
                    (Some(c), true) if c.is_empty() => {
                        ui.label("no usable channel for this payment");
                    }
                    (Some(c), true) => {
                        for e in c {
                            ui.horizontal(|ui| {
                                let bar = egui::ProgressBar::new(e.probability)
                                    .desired_width(110.0)
                                    .text(format!("{:.0}%", 100.0 * e.probability));
                                ui.add(bar);
                                ui.label(format!("-> {}", alias(e.peer)));
                            });
                        }
                    }
                    _ => {
                        ui.label("…");
                    }
                }
            } else {
                explain.0 = None;
            }
        }
        Some(Selection::Channel(id)) => {
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
            ui.label(format!("{} ↔ {}", alias(a), alias(b)));
            ui.label(format!("capacity {} sat", ch.capacity_sat));
            if ch.closing {
                ui.colored_label(theme::egui(theme::REMOTE), "closing (waits for its HTLCs)");
            }
            for (dir, from, to) in [(Direction::Forward, a, b), (Direction::Backward, b, a)] {
                let s = ch.side(dir);
                ui.separator();
                ui.strong(format!("{} -> {}", alias(from), alias(to)));
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
                    .button(format!("drain 90% {} -> {} (D)", alias(from), alias(to)))
                    .clicked()
                {
                    send(LabCommand::Inject(drain(ch.scid, dir)));
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
        None => {}
    }
}
