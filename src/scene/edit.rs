//! Edits of a scene's base topology: what a topology edit made before the run has started
//! (the lab paused at t = 0) does to the scene itself. A node added goes into `nodes`, a
//! channel opened into `channels`, a channel closed leaves them, and a direction's policy
//! changes in place, so the saved scene has them as its own topology rather than as
//! timeline entries. Everything else (congestion, nodes going offline, node removal,
//! which would renumber nodes) stays a timeline entry, and so does an edit that the base
//! cannot hold exactly: one naming a node or channel that only the timeline creates, or a
//! channel closed before others whose balances the liquidity model draws (they would be
//! drawn again). A node added to the base is a scene node like the others: the workload
//! draws it as a sender and receiver.

use super::schema::{Scene, SceneChannel, SceneNode};
use crate::network::{ChannelPolicy, Direction, LiquidityModel, ShortChannelId};
use crate::sim::command::{Command, PolicyEdit};

/// Apply `command` to the base of `scene`. `Ok(true)`: the scene now holds it (and is
/// still valid); `Ok(false)`: the scene is unchanged and the edit belongs in the timeline;
/// `Err`: the edit is invalid for this scene.
pub fn apply_to_base(scene: &mut Scene, command: &Command) -> Result<bool, String> {
    let timeline_adds_nodes = scene
        .timeline
        .iter()
        .any(|e| matches!(e.command, Command::AddNode { .. }));
    let named_by_timeline = |scene: &Scene, scid: ShortChannelId| {
        scene.timeline.iter().any(|e| match &e.command {
            Command::JamChannel { scid: s, .. }
            | Command::FastJam { scid: s, .. }
            | Command::DrainChannel { scid: s, .. }
            | Command::SetPolicy { scid: s, .. }
            | Command::CloseChannel { scid: s } => *s == scid,
            Command::OpenChannel { scid: s, .. } => *s == Some(scid),
            _ => false,
        })
    };
    let mut edited = scene.clone();
    match command {
        // Nodes the timeline adds take the ids after the base's: a base node added now
        // would shift them.
        Command::AddNode { .. } if timeline_adds_nodes => return Ok(false),
        Command::AddNode { alias, role, pos } => edited.nodes.push(SceneNode {
            alias: alias.clone(),
            pubkey: None,
            role: *role,
            pos: *pos,
            processing_delay: None,
        }),
        Command::OpenChannel {
            node1,
            node2,
            capacity_sat,
            node1_balance_msat,
            policy,
            scid,
        } => {
            let base = scene.nodes.len() as u32;
            if node1.0 >= base || node2.0 >= base {
                return Ok(false);
            }
            let scid = scid.unwrap_or_else(|| fresh_scid(scene));
            let policy = policy.unwrap_or_else(|| ChannelPolicy::lnd_default(*capacity_sat));
            // The engine opens a channel with no balance given at half and half under an
            // explicit liquidity model, and so does the base.
            let node1_balance_msat = match (node1_balance_msat, scene.liquidity) {
                (None, LiquidityModel::Explicit) => Some(capacity_sat.saturating_mul(500)),
                (b, _) => *b,
            };
            edited.channels.push(SceneChannel {
                scid,
                node1: node1.0,
                node2: node2.0,
                capacity_sat: *capacity_sat,
                node1_balance_msat,
                node1_policy: Some(policy),
                node2_policy: Some(policy),
            });
        }
        Command::CloseChannel { scid } => {
            let Some(i) = scene.channels.iter().position(|c| c.scid == *scid) else {
                return Ok(false);
            };
            // The liquidity model draws balances channel by channel: taking one out would
            // draw the later ones again, unless their balances are given.
            let redraws = !matches!(scene.liquidity, LiquidityModel::Explicit)
                && scene.channels[i + 1..]
                    .iter()
                    .any(|c| c.node1_balance_msat.is_none());
            if redraws || named_by_timeline(scene, *scid) {
                return Ok(false);
            }
            edited.channels.remove(i);
        }
        Command::SetPolicy {
            scid, direction, ..
        } => {
            let Some(ch) = edited.channels.iter_mut().find(|c| c.scid == *scid) else {
                return Ok(false);
            };
            let capacity_sat = ch.capacity_sat;
            let side = match direction {
                Direction::Forward => &mut ch.node1_policy,
                Direction::Backward => &mut ch.node2_policy,
            };
            let p = side.get_or_insert_with(|| super::build::unusable_policy(capacity_sat));
            PolicyEdit::of(command).apply_to(p);
        }
        _ => return Ok(false),
    }
    super::io::validate(&edited)?;
    *scene = edited;
    Ok(true)
}

/// A short channel id no channel of the scene (or its timeline) uses: one block past the
/// highest.
fn fresh_scid(scene: &Scene) -> ShortChannelId {
    let timeline = scene.timeline.iter().filter_map(|e| match e.command {
        Command::OpenChannel { scid, .. } => scid,
        _ => None,
    });
    let max = scene
        .channels
        .iter()
        .map(|c| c.scid)
        .chain(timeline)
        .map(|s| s.block())
        .max()
        .unwrap_or(800_000);
    ShortChannelId::new(max + 1, 0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::NodeId;
    use crate::sim::command::TimedCommand;

    fn classroom() -> Scene {
        crate::scene::parse(include_str!("../../scenes/classroom.ron"), "c.ron".as_ref()).unwrap()
    }

    #[test]
    fn topology_edits_land_in_the_base_and_others_stay_in_the_timeline() {
        let original = classroom();
        let mut scene = original.clone();
        let open = Command::OpenChannel {
            node1: NodeId(0),
            node2: NodeId(2),
            capacity_sat: 2_000_000,
            node1_balance_msat: None,
            policy: None,
            scid: None,
        };
        assert_eq!(apply_to_base(&mut scene, &open), Ok(true));
        let added = scene.channels.last().unwrap();
        assert_eq!(
            (added.node1, added.node2, added.capacity_sat),
            (0, 2, 2_000_000)
        );
        assert!(original.channels.iter().all(|c| c.scid != added.scid));
        let scid = added.scid;
        let fees = Command::SetPolicy {
            scid,
            direction: Direction::Backward,
            fee_base_msat: Some(0),
            fee_rate_ppm: Some(777),
            cltv_expiry_delta: None,
            htlc_minimum_msat: None,
            htlc_maximum_msat: None,
            disabled: None,
        };
        assert_eq!(apply_to_base(&mut scene, &fees), Ok(true));
        let p = scene.channels.last().unwrap().node2_policy.unwrap();
        assert_eq!((p.fee_base_msat, p.fee_rate_ppm), (0, 777));
        let add = Command::AddNode {
            alias: "Zed".into(),
            role: crate::network::Role::Merchant,
            pos: Some((1.0, 2.0)),
        };
        assert_eq!(apply_to_base(&mut scene, &add), Ok(true));
        assert_eq!(scene.nodes.len(), original.nodes.len() + 1);
        assert_eq!(
            apply_to_base(&mut scene, &Command::CloseChannel { scid }),
            Ok(true)
        );
        assert_eq!(scene.channels.len(), original.channels.len());
        assert!(
            scene.timeline == original.timeline,
            "nothing went to the timeline"
        );
        // Not topology, or not the base's to hold: unchanged.
        let before = scene.clone();
        let offline = Command::NodeOffline { node: NodeId(3) };
        assert_eq!(apply_to_base(&mut scene, &offline), Ok(false));
        let remove = Command::RemoveNode { node: NodeId(3) };
        assert_eq!(apply_to_base(&mut scene, &remove), Ok(false));
        scene.timeline.push(TimedCommand {
            at_ms: 5_000,
            command: add.clone(),
        });
        assert_eq!(
            apply_to_base(&mut scene, &add),
            Ok(false),
            "would shift ids"
        );
        let to_added = Command::OpenChannel {
            node1: NodeId(0),
            node2: NodeId(before.nodes.len() as u32),
            capacity_sat: 2_000_000,
            node1_balance_msat: None,
            policy: None,
            scid: None,
        };
        assert_eq!(apply_to_base(&mut scene, &to_added), Ok(false));
        scene.timeline.pop();
        assert!(scene == before);
        // An edit the scene cannot hold is refused with the reason.
        let self_loop = Command::OpenChannel {
            node1: NodeId(1),
            node2: NodeId(1),
            capacity_sat: 1_000,
            node1_balance_msat: None,
            policy: None,
            scid: None,
        };
        assert!(apply_to_base(&mut scene, &self_loop).is_err());
        assert!(scene == before);
        // On a scene whose balances the liquidity model draws, closing a channel before
        // others would draw theirs again: it stays a timeline entry.
        let mut hubs =
            crate::scene::parse(include_str!("../../scenes/hubs.ron"), "h.ron".as_ref()).unwrap();
        let first = Command::CloseChannel {
            scid: hubs.channels[0].scid,
        };
        assert_eq!(apply_to_base(&mut hubs, &first), Ok(false));
        let last = Command::CloseChannel {
            scid: hubs.channels.last().unwrap().scid,
        };
        assert_eq!(apply_to_base(&mut hubs, &last), Ok(true));
    }
}
