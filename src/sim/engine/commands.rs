//! Commands: scripted timeline entries and live commands from the lab, applied between
//! events (jams, drains, demand spikes, nodes going offline and online, policy changes,
//! channels opening and closing), and the errors they return.

use super::gossip::GossipUpdate;
use super::queue::{ArrivalStream, Event};
use super::{Engine, SimEvent};
use crate::network::{
    Channel, ChannelId, ChannelPolicy, Direction, GossipPolicy, HalfChannel, NodeId, ShortChannelId,
};
use crate::rng::{rng_for, stream as streams};
use crate::sim::command::{Command, PolicyEdit};
use crate::sim::workload::WorkloadSampler;

#[derive(Clone, Debug)]
pub(super) struct Jam {
    channel: ChannelId,
    scid: ShortChannelId,
    htlcs: Vec<(Direction, u64)>,
    released: bool,
    /// A fast jam's stream; `None` for a slow jam (all slots at once).
    stream: Option<FastJamStream>,
}

/// A fast jam's attack HTLCs: one every `period_ms` until `until_ms`.
#[derive(Clone, Copy, Debug)]
struct FastJamStream {
    direction: Direction,
    period_ms: u64,
    amount_msat: u64,
    hold_ms: u64,
    until_ms: u64,
}

/// Errors applying a command (the engine state is unchanged when one is returned).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("no channel {0}")]
    UnknownChannel(ShortChannelId),
    #[error("no node {0}")]
    UnknownNode(NodeId),
    #[error("{0}")]
    Invalid(String),
}

impl Engine {
    /// Apply a command now (between events). Scripted timeline entries and live commands
    /// from the UI both come through here.
    pub fn apply(&mut self, command: Command) -> Result<(), CommandError> {
        let policy_edit = PolicyEdit::of(&command);
        match command {
            Command::SetRouter { policy } => {
                let nodes: Vec<NodeId> = self
                    .network
                    .nodes()
                    .map(|(id, _)| id)
                    .filter(|&id| !self.is_external(id))
                    .collect();
                let router = crate::routing::build_router(policy, self.seed);
                self.set_router_for(&nodes, router);
            }
            Command::JamChannel {
                scid,
                direction,
                duration_ms,
            } => self.jam_channel(scid, direction, duration_ms)?,
            Command::FastJam {
                scid,
                direction,
                rate_per_s,
                amount_msat,
                hold_ms,
                duration_ms,
            } => {
                if !(rate_per_s.is_finite() && (0.001..=1_000.0).contains(&rate_per_s)) {
                    return Err(CommandError::Invalid(format!(
                        "fast jam rate {rate_per_s} must be between 0.001 and 1,000 per second"
                    )));
                }
                let stream = FastJamStream {
                    direction,
                    period_ms: ((1000.0 / rate_per_s).round() as u64).max(1),
                    amount_msat: amount_msat.max(1),
                    hold_ms,
                    until_ms: self.now_ms.saturating_add(duration_ms),
                };
                let channel = self.find_channel(scid)?;
                let jam = self.jams.len() as u32;
                self.jams.push(Jam {
                    channel,
                    scid,
                    htlcs: Vec::new(),
                    released: false,
                    stream: Some(stream),
                });
                self.fast_jam_tick(jam as usize);
            }
            Command::DrainChannel {
                scid,
                direction,
                fraction,
            } => self.drain_channel(scid, direction, fraction)?,
            Command::DemandSpike {
                node,
                rate_per_s,
                duration_ms,
            } => self.demand_spike(node, rate_per_s, duration_ms)?,
            Command::NodeOffline { node } => self.node_offline(node)?,
            Command::NodeOnline { node } => self.node_online(node)?,
            Command::SetPolicy {
                scid, direction, ..
            } => self.set_policy(scid, direction, policy_edit)?,
            Command::OpenChannel {
                node1,
                node2,
                capacity_sat,
                node1_balance_msat,
                policy,
                scid,
            } => self.open_channel(node1, node2, capacity_sat, node1_balance_msat, policy, scid)?,
            Command::CloseChannel { scid } => self.close_channel(scid)?,
            Command::AddNode { alias, role, pos } => self.add_node(alias, role, pos),
            Command::RemoveNode { node } => self.remove_node(node)?,
        }
        self.emit(SimEvent::CommandApplied { at_ms: self.now_ms });
        Ok(())
    }

    /// The channel a command names.
    fn find_channel(&self, scid: ShortChannelId) -> Result<ChannelId, CommandError> {
        self.network
            .channel_by_scid(scid)
            .ok_or(CommandError::UnknownChannel(scid))
    }

    /// Whether the node a command names exists (and was not removed).
    fn check_node(&self, node: NodeId) -> Result<(), CommandError> {
        if self.network.is_live(node) {
            Ok(())
        } else {
            Err(CommandError::UnknownNode(node))
        }
    }

    /// A new node with no channels, forwarding with the router the other baseline nodes
    /// use now.
    fn add_node(&mut self, alias: String, role: crate::network::Role, pos: Option<(f32, f32)>) {
        let index = self.network.node_bound() as u64;
        let mut keys = rng_for(self.seed.wrapping_add(index), streams::KEYS);
        let (x, y) = pos.unwrap_or((0.0, 0.0));
        let id = self.network.add_node(crate::network::Node {
            alias,
            pubkey: crate::network::PubKey::synthetic(&mut keys),
            role,
            position: [x, y],
            processing_delay: None,
            online: true,
            removed: false,
        });
        // The router of the latest switch (every node that is not an agent has it).
        let router = self
            .node_router
            .iter()
            .zip(&self.external)
            .filter(|(_, external)| !**external)
            .map(|(r, _)| *r)
            .max()
            .unwrap_or(0);
        let i = id.index();
        if self.node_router.len() <= i {
            self.node_router.resize(i + 1, router);
            self.external.resize(i + 1, false);
        }
        self.node_router[i] = router;
        self.metrics.node_mut(id);
    }

    /// Take a node out of the network: close its channels (each goes once its HTLCs
    /// resolve), bring it back online if it was offline so that its pending HTLC work
    /// runs, and mark it removed (no new payments start or end at it).
    fn remove_node(&mut self, node: NodeId) -> Result<(), CommandError> {
        self.check_node(node)?;
        if !self.is_online(node) {
            self.set_online(node, true);
        }
        let scids: Vec<ShortChannelId> = self
            .network
            .channels_of(node)
            .into_iter()
            .filter_map(|(channel, _, _)| self.network.channel(channel))
            .filter(|c| !c.closing)
            .map(|c| c.scid)
            .collect();
        for scid in scids {
            self.close_channel(scid)?;
        }
        if let Some(n) = self.network.node_mut(node) {
            n.removed = true;
        }
        Ok(())
    }

    /// Fill the channel's free slots with minimum-size HTLCs until `duration_ms` from now.
    fn jam_channel(
        &mut self,
        scid: ShortChannelId,
        direction: Option<Direction>,
        duration_ms: u64,
    ) -> Result<(), CommandError> {
        let channel = self.find_channel(scid)?;
        let dirs: Vec<Direction> = match direction {
            Some(d) => vec![d],
            None => Direction::BOTH.to_vec(),
        };
        let mut htlcs = Vec::new();
        let ch = self.network.channel_mut(channel).expect("found");
        if ch.closing {
            return Err(CommandError::Invalid(format!("channel {scid} is closing")));
        }
        for d in dirs {
            let amount = ch.side(d).policy.htlc_minimum_msat.max(1);
            while ch.side(d).slots_free() > 0 && ch.side(d).balance_msat >= amount {
                ch.lock(d, self.next_htlc_id, amount);
                htlcs.push((d, self.next_htlc_id));
                self.next_htlc_id += 1;
            }
        }
        let jam = self.jams.len() as u32;
        self.jams.push(Jam {
            channel,
            scid,
            htlcs,
            released: false,
            stream: None,
        });
        self.schedule(duration_ms, Event::JamEnd { jam });
        Ok(())
    }

    /// Move `fraction` of `direction`'s balance to the other side.
    fn drain_channel(
        &mut self,
        scid: ShortChannelId,
        direction: Direction,
        fraction: f64,
    ) -> Result<(), CommandError> {
        if !(0.0..=1.0).contains(&fraction) {
            return Err(CommandError::Invalid(format!(
                "drain fraction {fraction} is not in 0..=1"
            )));
        }
        let channel = self.find_channel(scid)?;
        let ch = self.network.channel_mut(channel).expect("found");
        let amount = (ch.side(direction).balance_msat as f64 * fraction) as u64;
        ch.shift_balance(direction, amount);
        Ok(())
    }

    /// A new arrival stream toward `node` for `duration_ms`, with its own RNG stream.
    fn demand_spike(
        &mut self,
        node: NodeId,
        rate_per_s: f64,
        duration_ms: u64,
    ) -> Result<(), CommandError> {
        self.check_node(node)?;
        if !(rate_per_s.is_finite() && rate_per_s > 0.0) {
            return Err(CommandError::Invalid(format!(
                "spike rate {rate_per_s} must be positive"
            )));
        }
        let workload = crate::sim::workload::Workload {
            rate_per_s,
            ..self.workload.clone()
        };
        let stream = self.streams.len() as u64;
        let sampler = WorkloadSampler::new(&workload, &self.network);
        let mut rng = rng_for(self.seed ^ (stream << 32), streams::SPIKES);
        let next_ms = self.now_ms + sampler.next_gap_ms(&mut rng);
        self.streams.push(ArrivalStream {
            target: Some(node),
            until_ms: Some(self.now_ms.saturating_add(duration_ms)),
            next_ms,
            index: 0,
            rng,
            sampler,
            dropped_in_a_row: 0,
        });
        Ok(())
    }

    fn node_offline(&mut self, node: NodeId) -> Result<(), CommandError> {
        self.check_node(node)?;
        self.set_online(node, false);
        Ok(())
    }

    fn node_online(&mut self, node: NodeId) -> Result<(), CommandError> {
        self.check_node(node)?;
        self.set_online(node, true);
        Ok(())
    }

    /// Edit a direction's policy now; the other nodes learn it after the gossip delay.
    fn set_policy(
        &mut self,
        scid: ShortChannelId,
        direction: Direction,
        edit: PolicyEdit,
    ) -> Result<(), CommandError> {
        let channel = self.find_channel(scid)?;
        let ch = self.network.channel_mut(channel).expect("found");
        let p = &mut ch.side_mut(direction).policy;
        edit.apply_to(p);
        let policy = GossipPolicy::from(&*p);
        self.queue_gossip(GossipUpdate::Policy {
            channel,
            scid,
            direction,
            policy,
        });
        Ok(())
    }

    /// Open a channel now; the other nodes learn of it after the gossip delay.
    fn open_channel(
        &mut self,
        node1: NodeId,
        node2: NodeId,
        capacity_sat: u64,
        node1_balance_msat: Option<u64>,
        policy: Option<ChannelPolicy>,
        scid: Option<ShortChannelId>,
    ) -> Result<(), CommandError> {
        self.check_node(node1)?;
        self.check_node(node2)?;
        if capacity_sat == 0 || capacity_sat > crate::limits::MAX_CAPACITY_SAT {
            return Err(CommandError::Invalid(format!(
                "capacity_sat {capacity_sat} is out of range"
            )));
        }
        let cap_msat = capacity_sat * 1000;
        let node1_msat = match node1_balance_msat {
            Some(b) if b > cap_msat => {
                return Err(CommandError::Invalid(format!(
                    "balance {b} msat exceeds capacity"
                )));
            }
            Some(b) => b,
            None => self
                .liquidity
                .sample_node1_msat(capacity_sat, &mut self.liquidity_rng)
                .unwrap_or(cap_msat / 2),
        };
        let scid = scid.unwrap_or_else(|| self.fresh_scid());
        let p = policy.unwrap_or_else(|| ChannelPolicy::lnd_default(capacity_sat));
        let channel = Channel::new(
            scid,
            capacity_sat,
            [
                HalfChannel::new(p, node1_msat),
                HalfChannel::new(p, cap_msat - node1_msat),
            ],
        );
        self.network
            .add_channel(node1, node2, channel)
            .map_err(CommandError::Invalid)?;
        self.forgotten.remove(&scid);
        self.unannounced.insert(scid);
        self.queue_gossip(GossipUpdate::Announce { scid });
        Ok(())
    }

    /// Close a channel: at once if nothing is in flight, else when its last HTLC resolves.
    fn close_channel(&mut self, scid: ShortChannelId) -> Result<(), CommandError> {
        let channel = self.find_channel(scid)?;
        let ch = self.network.channel_mut(channel).expect("found");
        ch.closing = true;
        self.after_resolution(channel);
        // Peers see the close on chain only later; until then routes may still try it.
        self.queue_gossip(GossipUpdate::Forget { scid });
        Ok(())
    }

    fn fresh_scid(&self) -> ShortChannelId {
        let max = self
            .network
            .channels()
            .map(|(_, _, _, c)| c.scid.block())
            .max()
            .unwrap_or(800_000);
        let mut n = 0u32;
        loop {
            let scid = ShortChannelId::new(max + 1, n, 0);
            if self.network.channel_by_scid(scid).is_none() {
                return scid;
            }
            n += 1;
        }
    }

    pub(super) fn set_online(&mut self, node: NodeId, online: bool) {
        if let Some(n) = self.network.node_mut(node) {
            n.online = online;
        }
        if online {
            let (ready, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.deferred)
                .into_iter()
                .partition(|(n, _)| *n == node);
            self.deferred = rest;
            for (_, event) in ready {
                self.schedule(0, event);
            }
        }
    }

    /// A fast jam sends its next attack HTLC (if the direction has a free slot and the
    /// balance for it) and schedules its release and the next one.
    pub(super) fn fast_jam_tick(&mut self, jam: usize) {
        let Some(stream) = self.jams[jam].stream else {
            return;
        };
        if self.now_ms >= stream.until_ms || self.jams[jam].released {
            return;
        }
        let (channel, scid) = (self.jams[jam].channel, self.jams[jam].scid);
        if let Some(ch) = self.network.channel_mut(channel)
            && ch.scid == scid
            && !ch.closing
        {
            let d = stream.direction;
            // As an HTLC offered over the channel: the direction's own limits apply.
            if ch.can_forward(d, stream.amount_msat).is_ok() {
                let htlc = self.next_htlc_id;
                self.next_htlc_id += 1;
                ch.lock(d, htlc, stream.amount_msat);
                self.jams[jam].htlcs.push((d, htlc));
                self.schedule(
                    stream.hold_ms,
                    Event::FastJamRelease {
                        jam: jam as u32,
                        htlc,
                    },
                );
            }
        }
        if self.now_ms.saturating_add(stream.period_ms) < stream.until_ms {
            self.schedule(stream.period_ms, Event::FastJamTick { jam: jam as u32 });
        }
    }

    /// One of a fast jam's HTLCs fails back.
    pub(super) fn release_fast_jam_htlc(&mut self, jam: usize, htlc: u64) {
        let j = &mut self.jams[jam];
        let Some(i) = j.htlcs.iter().position(|&(_, id)| id == htlc) else {
            return;
        };
        let (d, id) = j.htlcs.swap_remove(i);
        let (channel, scid) = (j.channel, j.scid);
        if let Some(ch) = self.network.channel_mut(channel)
            && ch.scid == scid
        {
            ch.fail_htlc(d, id);
        }
        self.after_resolution(channel);
    }

    pub(super) fn release_jam(&mut self, jam: usize) {
        let j = &mut self.jams[jam];
        if j.released {
            return;
        }
        j.released = true;
        let (channel, scid) = (j.channel, j.scid);
        let htlcs = std::mem::take(&mut j.htlcs);
        if let Some(ch) = self.network.channel_mut(channel)
            && ch.scid == scid
        {
            for (d, id) in htlcs {
                ch.fail_htlc(d, id);
            }
        }
        self.after_resolution(channel);
    }
}
