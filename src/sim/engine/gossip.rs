//! Gossip: policy changes, channel announcements and closes reach the other nodes' shared
//! view only after the gossip delay. Queued updates, and the gossip view rebuilt when the
//! topology the nodes know changes.

use super::Engine;
use super::queue::Event;
use crate::network::{ChannelId, Direction, GossipPolicy, GossipView, ShortChannelId};

#[derive(Clone, Debug)]
pub(super) enum GossipUpdate {
    Policy {
        channel: ChannelId,
        scid: ShortChannelId,
        direction: Direction,
        policy: GossipPolicy,
    },
    /// A new channel's announcement.
    Announce { scid: ShortChannelId },
    /// A closed channel's spend seen on chain.
    Forget { scid: ShortChannelId },
}

impl Engine {
    pub(super) fn queue_gossip(&mut self, update: GossipUpdate) {
        let index = self.gossip_updates.len() as u32;
        self.gossip_updates.push(update);
        self.schedule(self.sim.gossip_delay_ms, Event::Gossip { update: index });
    }

    /// A new gossip view after a topology change: only announced, not-forgotten channels,
    /// with the policies the network knew so far.
    fn rebuild_gossip(&mut self) {
        let epoch = self.gossip.epoch + 1;
        let (hidden, gone) = (&self.unannounced, &self.forgotten);
        self.gossip = GossipView::rebuild(&self.network, epoch, Some(&self.gossip), |scid| {
            !hidden.contains(&scid) && !gone.contains(&scid)
        });
    }

    pub(super) fn on_gossip(&mut self, update: usize) {
        match self.gossip_updates[update].clone() {
            GossipUpdate::Policy {
                channel,
                scid,
                direction,
                policy,
            } => {
                if self
                    .network
                    .channel(channel)
                    .is_some_and(|c| c.scid == scid)
                {
                    self.gossip.update_policy(channel, direction, policy);
                }
            }
            GossipUpdate::Announce { scid } => {
                self.unannounced.remove(&scid);
                self.rebuild_gossip();
            }
            GossipUpdate::Forget { scid } => {
                self.forgotten.insert(scid);
                self.rebuild_gossip();
            }
        }
        for r in &mut self.routers {
            r.gossip_changed(&self.gossip);
        }
    }
}
