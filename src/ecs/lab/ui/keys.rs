//! Every keyboard shortcut (the list the help shows is `state::SHORTCUTS`): run controls,
//! speed, agents mode, routing policy, presenter mode, the traffic overlay, files, and the
//! congestion edits on the selected node or channel. Each key ends as a [`LabCommand`] (or
//! opens the file dialog); the session is only read.

use crate::ecs::lab::inspector::{drain, jam, spike, toggle_online};
use crate::ecs::lab::state::{
    AgentMode, DialogMode, FileDialog, Lab, LabCommand, Selection, Speed, UiState,
};
use crate::ecs::sim::SimDriver;
use crate::network::Direction;
use crate::routing::RouterKind;
use crate::sim::command::Command;
use bevy_egui::egui::{self, Key, Modifiers};
use std::path::PathBuf;

pub(super) fn shortcuts(
    ctx: &egui::Context,
    lab: &Lab,
    driver: &SimDriver,
    state: &mut UiState,
    send: &mut impl FnMut(LabCommand),
) {
    if ctx.egui_wants_keyboard_input() {
        return;
    }
    let pressed = |m: Modifiers, k: Key| ctx.input_mut(|i| i.consume_key(m, k));
    if pressed(Modifiers::COMMAND, Key::O) {
        state.dialog = Some(FileDialog::new(DialogMode::Open, lab));
    }
    if pressed(Modifiers::COMMAND | Modifiers::SHIFT, Key::S) {
        state.dialog = Some(FileDialog::new(DialogMode::Save, lab));
    }
    if pressed(Modifiers::COMMAND, Key::S) {
        send(LabCommand::SaveScene(lab.path.clone()));
    }
    if pressed(Modifiers::COMMAND | Modifiers::SHIFT, Key::Z) || pressed(Modifiers::COMMAND, Key::Y)
    {
        send(LabCommand::Redo);
    }
    if pressed(Modifiers::COMMAND, Key::Z) {
        send(LabCommand::Undo);
    }
    if pressed(Modifiers::COMMAND, Key::Q) {
        send(LabCommand::Quit);
    }
    let plain = |k: Key| pressed(Modifiers::NONE, k);
    if plain(Key::Space) {
        send(LabCommand::TogglePause);
    }
    if plain(Key::Period) {
        send(LabCommand::Step);
    }
    if plain(Key::R) {
        send(LabCommand::Reset);
    }
    if plain(Key::Plus) || plain(Key::Equals) {
        send(LabCommand::SetSpeed(faster(lab.speed, 2.0)));
    }
    if plain(Key::Minus) {
        send(LabCommand::SetSpeed(faster(lab.speed, 0.5)));
    }
    if plain(Key::M) {
        send(LabCommand::SetSpeed(match lab.speed {
            Speed::Max => Speed::Times(1.0),
            Speed::Times(_) => Speed::Max,
        }));
    }
    if plain(Key::T) {
        send(LabCommand::SetAgents(match lab.agents {
            AgentMode::Learning => AgentMode::Paused,
            AgentMode::Paused => AgentMode::Frozen,
            AgentMode::Frozen => AgentMode::Learning,
        }));
    }
    if plain(Key::C) {
        let kinds = RouterKind::ALL;
        let i = kinds.iter().position(|k| k.to_string() == lab.policy);
        let next = kinds[i.map_or(0, |i| (i + 1) % kinds.len())];
        send(LabCommand::SetPolicy(next.to_string()));
    }
    if plain(Key::F) {
        send(LabCommand::Fit);
    }
    if plain(Key::N) {
        send(LabCommand::NextStep);
    }
    if plain(Key::B) {
        send(LabCommand::PreviousStep);
    }
    if plain(Key::P) {
        send(LabCommand::SetPresenter(!lab.presenter));
    }
    if plain(Key::V) {
        send(LabCommand::SetTraffic(!lab.traffic.on));
    }
    if plain(Key::H) || plain(Key::F1) {
        send(LabCommand::ToggleHelp);
    }
    if plain(Key::F12) {
        send(LabCommand::Screenshot(screenshot_name()));
    }
    if plain(Key::Escape) {
        state.dialog = None;
        send(LabCommand::ClearSelection);
    }
    let net = driver.session.view().network();
    match lab.selection {
        Some(Selection::Channel(id)) => {
            if let Some(ch) = net.channel(id) {
                if plain(Key::J) {
                    send(LabCommand::Inject(jam(ch.scid)));
                }
                if plain(Key::D) {
                    send(LabCommand::Inject(drain(ch.scid, Direction::Forward)));
                }
                if plain(Key::K) {
                    send(LabCommand::Inject(Command::CloseChannel { scid: ch.scid }));
                }
            }
        }
        Some(Selection::Node(id)) => {
            if plain(Key::O) {
                send(LabCommand::Inject(toggle_online(driver, id)));
            }
            if plain(Key::G) {
                send(LabCommand::Inject(spike(id)));
            }
        }
        None => {}
    }
}

fn faster(speed: Speed, factor: f64) -> Speed {
    match speed {
        Speed::Times(x) => Speed::Times((x * factor).clamp(0.05, 100_000.0)),
        Speed::Max if factor < 1.0 => Speed::Times(1000.0),
        Speed::Max => Speed::Max,
    }
}

fn screenshot_name() -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    PathBuf::from(format!("lnlab-{secs}.png"))
}
