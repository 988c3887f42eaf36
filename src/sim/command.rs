//! The one command type for changing a running simulation. Scripted timeline events and
//! live commands from the lab's UI are both [`Command`]s, and the engine applies them
//! between events, so every edit keeps the channel invariants.

use crate::limits::{MAX_CAPACITY_SAT, MAX_DURATION_MS};
use crate::network::{ChannelPolicy, Direction, NodeId, ShortChannelId};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Command {
    /// Fill every free HTLC slot of the channel (one direction, or both when `None`) with
    /// minimum-size HTLCs held for `duration_ms`, as a slot-jamming attacker would.
    JamChannel {
        scid: ShortChannelId,
        direction: Option<Direction>,
        duration_ms: u64,
    },
    /// Fast jamming: a stream of attack HTLCs over one direction, `rate_per_s` of them
    /// (at most 1,000: one per simulated millisecond), each
    /// locking `amount_msat` and a slot for `hold_ms` before it fails back (payments sent
    /// only to fail, so the channel stays busy without anything held for long), for
    /// `duration_ms`. An HTLC that finds no free slot or balance is not sent.
    FastJam {
        scid: ShortChannelId,
        direction: Direction,
        rate_per_s: f64,
        amount_msat: u64,
        hold_ms: u64,
        duration_ms: u64,
    },
    /// Move `fraction` (0..=1) of `direction`'s spendable balance to the other side.
    DrainChannel {
        scid: ShortChannelId,
        direction: Direction,
        fraction: f64,
    },
    /// An extra Poisson stream of payments toward `node` for `duration_ms`.
    DemandSpike {
        node: NodeId,
        rate_per_s: f64,
        duration_ms: u64,
    },
    NodeOffline {
        node: NodeId,
    },
    NodeOnline {
        node: NodeId,
    },
    /// Change a direction's policy. The forwarding node enforces it at once; the rest of
    /// the network learns it after the gossip delay.
    SetPolicy {
        scid: ShortChannelId,
        direction: Direction,
        #[serde(default)]
        fee_base_msat: Option<u64>,
        #[serde(default)]
        fee_rate_ppm: Option<u64>,
        #[serde(default)]
        cltv_expiry_delta: Option<u16>,
        #[serde(default)]
        htlc_minimum_msat: Option<u64>,
        #[serde(default)]
        htlc_maximum_msat: Option<u64>,
        #[serde(default)]
        disabled: Option<bool>,
    },
    /// Open a channel. Balances follow the scene's liquidity model unless given; policies
    /// default to lnd's; the short channel id is assigned when not given.
    OpenChannel {
        node1: NodeId,
        node2: NodeId,
        capacity_sat: u64,
        #[serde(default)]
        node1_balance_msat: Option<u64>,
        #[serde(default)]
        policy: Option<ChannelPolicy>,
        #[serde(default)]
        scid: Option<ShortChannelId>,
    },
    /// Close a channel. With HTLCs in flight it stops taking new ones and goes once they
    /// resolve.
    CloseChannel {
        scid: ShortChannelId,
    },
    /// Add a node (no channels yet: open some to it). It gets the next id (the scene's
    /// nodes, then the nodes added before it, in timeline order), forwards with the
    /// other nodes' baseline router, and is not drawn as a sender or receiver by the
    /// workload (a demand spike can send to it).
    AddNode {
        alias: String,
        #[serde(default)]
        role: crate::network::Role,
        /// Layout position (scene units); `None` puts it at the origin.
        #[serde(default)]
        pos: Option<(f32, f32)>,
    },
    /// Remove a node: its channels close (no new HTLCs; each goes once its HTLCs resolve,
    /// so HTLCs it was forwarding settle or fail back as usual and nothing is lost), an
    /// offline node comes back to finish that work, and the workload no longer draws it as
    /// a sender or receiver (a payment started to or from it otherwise, by the L402 market,
    /// fails: it has no channels). Its id stays taken.
    RemoveNode {
        node: NodeId,
    },
    /// Switch every node that is not an agent to this baseline router, from now on (what
    /// the lab's router menu does after t = 0). The new router starts with nothing learnt.
    SetRouter {
        policy: crate::routing::RouterKind,
    },
}

impl Command {
    /// A short human label, for markers on plots and the event log.
    pub fn label(&self) -> String {
        match self {
            Command::JamChannel { scid, .. } => format!("jam {scid}"),
            Command::FastJam { scid, .. } => format!("fast jam {scid}"),
            Command::DrainChannel { scid, .. } => format!("drain {scid}"),
            Command::DemandSpike { node, .. } => format!("demand spike -> {node}"),
            Command::NodeOffline { node } => format!("{node} offline"),
            Command::NodeOnline { node } => format!("{node} online"),
            Command::SetPolicy { scid, .. } => format!("policy {scid}"),
            Command::OpenChannel { node1, node2, .. } => format!("open {node1}-{node2}"),
            Command::CloseChannel { scid } => format!("close {scid}"),
            Command::SetRouter { policy } => format!("routing: {policy}"),
            Command::AddNode { alias, .. } => format!("add node {alias}"),
            Command::RemoveNode { node } => format!("remove node {node}"),
        }
    }
}

/// A command at a point of simulated time, as scenes script them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimedCommand {
    pub at_ms: u64,
    pub command: Command,
}

impl TimedCommand {
    /// This entry against a network of `nodes` nodes: nodes exist and values are in range
    /// (what scene validation checks for each timeline entry, and what the lab checks
    /// before it adds an edit to the working scene's timeline).
    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        let node_ok = |id: NodeId| id.0 < nodes;
        let ok = self.at_ms <= MAX_DURATION_MS
            && match &self.command {
                Command::DemandSpike {
                    node,
                    rate_per_s,
                    duration_ms,
                } => {
                    node_ok(*node)
                        && rate_per_s.is_finite()
                        && *rate_per_s > 0.0
                        && *duration_ms <= MAX_DURATION_MS
                }
                Command::NodeOffline { node }
                | Command::NodeOnline { node }
                | Command::RemoveNode { node } => node_ok(*node),
                Command::AddNode { alias, pos, .. } => {
                    !alias.trim().is_empty()
                        && alias.len() <= 64
                        && pos.is_none_or(|(x, y)| x.is_finite() && y.is_finite())
                }
                Command::OpenChannel {
                    node1,
                    node2,
                    capacity_sat,
                    ..
                } => {
                    node_ok(*node1)
                        && node_ok(*node2)
                        && node1 != node2
                        && (1..=MAX_CAPACITY_SAT).contains(capacity_sat)
                }
                Command::DrainChannel { fraction, .. } => (0.0..=1.0).contains(fraction),
                Command::JamChannel { duration_ms, .. } => *duration_ms <= MAX_DURATION_MS,
                Command::FastJam {
                    rate_per_s,
                    amount_msat,
                    hold_ms,
                    duration_ms,
                    ..
                } => {
                    rate_per_s.is_finite()
                        && (0.001..=1_000.0).contains(rate_per_s)
                        && *amount_msat > 0
                        && *hold_ms <= MAX_DURATION_MS
                        && *duration_ms <= MAX_DURATION_MS
                }
                _ => true,
            };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "({}): names a missing node or an out-of-range value",
                self.command.label()
            ))
        }
    }
}

/// The fields of a [`Command::SetPolicy`]: each one given replaces the policy's value.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PolicyEdit {
    pub fee_base_msat: Option<u64>,
    pub fee_rate_ppm: Option<u64>,
    cltv_expiry_delta: Option<u16>,
    pub htlc_minimum_msat: Option<u64>,
    htlc_maximum_msat: Option<u64>,
    pub disabled: Option<bool>,
}

impl PolicyEdit {
    /// The edit a command makes to a direction's policy (none but for `SetPolicy`).
    pub fn of(command: &Command) -> PolicyEdit {
        match *command {
            Command::SetPolicy {
                fee_base_msat,
                fee_rate_ppm,
                cltv_expiry_delta,
                htlc_minimum_msat,
                htlc_maximum_msat,
                disabled,
                ..
            } => PolicyEdit {
                fee_base_msat,
                fee_rate_ppm,
                cltv_expiry_delta,
                htlc_minimum_msat,
                htlc_maximum_msat,
                disabled,
            },
            _ => PolicyEdit::default(),
        }
    }

    /// Replace each of `p`'s values that the edit gives (the engine's live policy, or a
    /// scene channel's before the run starts).
    pub fn apply_to(self, p: &mut ChannelPolicy) {
        if let Some(v) = self.fee_base_msat {
            p.fee_base_msat = v;
        }
        if let Some(v) = self.fee_rate_ppm {
            p.fee_rate_ppm = v;
        }
        if let Some(v) = self.cltv_expiry_delta {
            p.cltv_expiry_delta = v;
        }
        if let Some(v) = self.htlc_minimum_msat {
            p.htlc_minimum_msat = v;
        }
        if let Some(v) = self.htlc_maximum_msat {
            p.htlc_maximum_msat = v;
        }
        if let Some(v) = self.disabled {
            p.disabled = v;
        }
    }
}
