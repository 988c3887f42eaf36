//! The inspector panel: what a selected node (`node`) or channel (`channel`) is, the
//! congestion buttons that act on it, and the topology edits (`edit`). This file draws the panel's header and holds the
//! edits the buttons and the keyboard shortcuts share (jam, drain, demand spike, offline /
//! online), as the engine's own commands carried by [`LabCommand`]s.

mod channel;
pub(super) mod edit;
mod node;

use super::state::{ExplainRequest, ExplainResult, Lab, LabCommand, Selection, UiState};
use crate::ecs::sim::SimDriver;
use crate::network::{Direction, Network, NodeId};
use crate::sim::command::Command;
use bevy_egui::egui;

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

/// A node's alias, or `?` for a node that is gone.
fn alias(net: &Network, n: NodeId) -> String {
    net.node(n).map_or("?".to_string(), |n| n.alias.clone())
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
    ui.horizontal(|ui| {
        ui.heading("inspector");
        if ui.small_button("close").on_hover_text("Esc").clicked() {
            send(LabCommand::ClearSelection);
        }
    });
    match lab.selection {
        Some(Selection::Node(id)) => {
            node::show(ui, lab, driver, id, state, explain, result, send);
        }
        Some(Selection::Channel(id)) => channel::show(ui, driver, id, state, explain, send),
        None => {}
    }
}
