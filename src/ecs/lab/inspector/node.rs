//! The inspector for a node: what it is (pubkey, role, how it routes, online), what it
//! earned, forwarded and caused to fail, its channels (balances, fees, HTLCs; a peer's
//! name selects the channel), the buttons that take it offline, send it a demand spike or
//! open a channel from it to the next node clicked,
//! and, for an agent, its policy's probabilities for a destination and amount the user
//! picks (asked through [`ExplainRequest`], answered by `control`).

use super::edit::OpenForm;
use super::{alias, spike, toggle_online};
use crate::ecs::lab::state::{ExplainRequest, ExplainResult, Lab, LabCommand, UiState};
use crate::ecs::lab::theme;
use crate::ecs::sim::SimDriver;
use crate::network::NodeId;
use crate::sim::command::Command;
use bevy_egui::egui::{self, RichText};

#[allow(clippy::too_many_arguments)]
pub(super) fn show(
    ui: &mut egui::Ui,
    lab: &Lab,
    driver: &SimDriver,
    id: NodeId,
    state: &mut UiState,
    explain: &mut ExplainRequest,
    result: &ExplainResult,
    send: &mut impl FnMut(LabCommand),
) {
    let t = driver.session.view();
    let net = t.network();
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
    if ui
        .button("remove this node")
        .on_hover_text(
            "its channels close (each once its HTLCs resolve: nothing is lost) and it leaves \
             the network; undo brings it back",
        )
        .clicked()
    {
        send(LabCommand::Inject(Command::RemoveNode { node: id }));
    }
    // Opening a channel: arm it here, then click the other end.
    match state.open.as_mut() {
        Some(form) if form.from != id => {
            let open = form.ui(ui, &alias(net, form.from), &node.alias);
            if open {
                send(LabCommand::Inject(form.command(id)));
            }
            if open || ui.button("cancel").clicked() {
                state.open = None;
            }
        }
        Some(_) => {
            ui.label("now click the node at the other end");
            if ui.button("cancel").clicked() {
                state.open = None;
            }
        }
        None => {
            if ui.button("open a channel from here…").clicked() {
                state.open = Some(OpenForm::new(id));
            }
        }
    }
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
                        if ui.link(alias(net, *peer)).clicked() {
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
            ui.label(alias(net, NodeId(state.destination)));
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
                        ui.label(format!("-> {}", alias(net, e.peer)));
                        // What the agent has learnt of that way lately, for this destination.
                        if e.failure_rate_toward >= 0.05 {
                            ui.label(
                                egui::RichText::new(format!(
                                    "failed {:.0}% lately",
                                    100.0 * e.failure_rate_toward
                                ))
                                .color(theme::egui(theme::FAILURE)),
                            )
                            .on_hover_text(
                                "How often payments this agent sent that way toward this \
                                 destination failed lately (an input of its policy)",
                            );
                        }
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
