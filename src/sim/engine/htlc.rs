//! HTLCs hop by hop: the node at the head of an attempt decides, checks and offers the
//! next HTLC (add: lock amount and fees, take a slot); the destination settles, and settles
//! and failures walk back toward the sender one hop at a time after each upstream node's
//! processing delay. A closing channel goes once its last HTLC resolves.

use super::payment::Hop;
use super::queue::Event;
use super::{AttemptId, Engine, SimEvent};
use crate::network::{ChannelId, Direction, NodeId, ShortChannelId};
use crate::routing::{Decision, DecisionContext, LocalView, PaymentView};
use crate::sim::failure::FailureReason;

impl Engine {
    /// The node at the head of `attempt` decides and, if it can, offers the next HTLC.
    pub(super) fn forward_from(&mut self, attempt_id: AttemptId, node: NodeId) {
        let a = &self.attempts[attempt_id as usize];
        let payment = &self.payments[a.payment as usize];
        let req = payment.request;
        if node == req.receiver {
            // The destination claims the payment: settle the last hop now.
            match a.hops.len().checked_sub(1) {
                Some(last) => self.on_settle(attempt_id, last),
                None => self.fail_at(attempt_id, None, FailureReason::NoRoute),
            }
            return;
        }
        let hop_index = a.hops.len();
        // Source-routed attempts follow their onion; others ask this node's router.
        let decision = match &a.route {
            Some(route) => match route.hops.get(hop_index) {
                Some(h) => Decision::Forward {
                    channel: h.channel,
                    direction: h.direction,
                },
                None => Decision::Fail(FailureReason::NoRoute),
            },
            None if self.is_external(node) => {
                // Only reachable without an answer while winding down.
                self.pending.retain(|p| p.attempt != attempt_id);
                match self.resolved.iter().position(|(id, _)| *id == attempt_id) {
                    Some(i) => self.resolved.swap_remove(i).1,
                    None => Decision::Fail(FailureReason::NoRoute),
                }
            }
            None => {
                let view = PaymentView {
                    sender: req.sender,
                    destination: req.receiver,
                    amount_msat: req.amount_msat,
                    fee_budget_msat: a.fee_budget_msat,
                    cltv_budget: a.cltv_budget,
                    route_nodes: &a.nodes,
                    attempt: payment.attempts,
                    elapsed_ms: self.now_ms - payment.started_ms,
                };
                let ctx = DecisionContext {
                    now_ms: self.now_ms,
                    node,
                    gossip: &self.gossip,
                    local: LocalView::new(&self.network, node),
                    payment: view,
                    settings: &self.routing,
                };
                let router = self.node_router.get(node.index()).copied().unwrap_or(0) as usize;
                self.routers[router].decide(&ctx)
            }
        };
        let (channel, direction) = match decision {
            Decision::Forward { channel, direction } => (channel, direction),
            Decision::Route(route)
                if hop_index == 0 && !route.hops.is_empty() && !self.routing.hop_by_hop =>
            {
                let first = route.hops[0];
                self.attempts[attempt_id as usize].route = Some(route);
                (first.channel, first.direction)
            }
            Decision::Route(route) => match route.hops.first() {
                Some(h) => (h.channel, h.direction),
                None => {
                    let at = (hop_index > 0).then_some(hop_index);
                    return self.fail_at(attempt_id, at, FailureReason::NoRoute);
                }
            },
            Decision::Fail(reason) => {
                let at = if hop_index == 0 {
                    None
                } else {
                    Some(hop_index)
                };
                return self.fail_at(attempt_id, at, reason);
            }
        };
        if let Err(reason) = self.try_add(attempt_id, node, channel, direction) {
            self.fail_at(attempt_id, Some(hop_index), reason);
        }
    }

    /// Checks a real forwarding node makes, in order, then the HTLC add itself.
    fn try_add(
        &mut self,
        attempt_id: AttemptId,
        node: NodeId,
        channel: ChannelId,
        direction: Direction,
    ) -> Result<(), FailureReason> {
        let a = &self.attempts[attempt_id as usize];
        let hop_index = a.hops.len();
        let req = self.payments[a.payment as usize].request;
        let (from, to) = self
            .network
            .direction_endpoints(channel, direction)
            .ok_or(FailureReason::ChannelDisabled)?;
        if from != node {
            return Err(FailureReason::ChannelDisabled);
        }
        if hop_index as u32 >= self.routing.max_hops || a.nodes.contains(&to) {
            return Err(FailureReason::TooManyHops);
        }
        let ch = self
            .network
            .channel(channel)
            .ok_or(FailureReason::ChannelDisabled)?;
        let policy = ch.side(direction).policy;
        let is_sender = hop_index == 0;
        let (amount_msat, cltv, fee_msat, budget_after, cltv_after) = match &a.route {
            Some(route) => {
                let h = route.hops[hop_index];
                if h.scid != ch.scid {
                    return Err(FailureReason::ChannelDisabled);
                }
                if !is_sender {
                    // What arrived must pay this node's current fee and CLTV delta.
                    let incoming = a.hops[hop_index - 1];
                    let fee = policy.fee_msat(h.amount_msat);
                    if incoming.amount_msat < h.amount_msat.saturating_add(fee) {
                        return Err(FailureReason::FeeInsufficient);
                    }
                    if incoming.cltv < h.cltv + u32::from(policy.cltv_expiry_delta) {
                        return Err(FailureReason::CltvBudgetExhausted);
                    }
                }
                let fee = if is_sender {
                    0
                } else {
                    a.hops[hop_index - 1].amount_msat - h.amount_msat
                };
                (h.amount_msat, h.cltv, fee, a.fee_budget_msat, a.cltv_budget)
            }
            None => {
                // Hop by hop: each node takes its fee from the attempt's fee budget and its
                // CLTV delta from the CLTV budget; the HTLC reserves the rest of the budget.
                let fee = if is_sender {
                    0
                } else {
                    policy.fee_msat(req.amount_msat)
                };
                let delta = if is_sender {
                    0
                } else {
                    u32::from(policy.cltv_expiry_delta)
                };
                let budget = a
                    .fee_budget_msat
                    .checked_sub(fee)
                    .ok_or(FailureReason::FeeInsufficient)?;
                let cltv_left = a
                    .cltv_budget
                    .checked_sub(delta)
                    .ok_or(FailureReason::CltvBudgetExhausted)?;
                let amount = req.amount_msat + budget;
                (
                    amount,
                    self.routing.final_cltv_delta + cltv_left,
                    fee,
                    budget,
                    cltv_left,
                )
            }
        };
        if !self.is_online(to) {
            return Err(FailureReason::NodeOffline);
        }
        let htlc_id = self.next_htlc_id;
        self.network
            .channel_mut(channel)
            .expect("checked above")
            .add_htlc(direction, htlc_id, amount_msat)?;
        self.next_htlc_id += 1;
        let scid = self
            .network
            .channel(channel)
            .map(|c| c.scid)
            .unwrap_or(ShortChannelId(0));
        let now_ms = self.now_ms;
        let a = &mut self.attempts[attempt_id as usize];
        a.hops.push(Hop {
            channel,
            direction,
            scid,
            from,
            to,
            amount_msat,
            cltv,
            htlc_id,
            fee_msat,
            added_ms: now_ms,
        });
        a.nodes.push(to);
        a.fee_budget_msat = budget_after;
        a.cltv_budget = cltv_after;
        self.emit(SimEvent::HtlcAdded {
            attempt: attempt_id,
            hop: hop_index as u32,
            channel,
            direction,
        });
        self.schedule_decide(attempt_id, to);
        Ok(())
    }

    /// Settle `hop` now and pass the preimage upstream after the upstream node's delay.
    pub(super) fn on_settle(&mut self, attempt_id: AttemptId, hop: usize) {
        let a = &self.attempts[attempt_id as usize];
        let h = a.hops[hop];
        // Hop-by-hop HTLCs reserve the unspent fee budget; only what downstream fees need
        // is paid, the rest returns to the offering node (a no-op for source routes).
        let amount = self.payments[a.payment as usize].request.amount_msat;
        let settled_msat = amount + a.hops[hop + 1..].iter().map(|d| d.fee_msat).sum::<u64>();
        let ch = self
            .network
            .channel_mut(h.channel)
            .expect("channels with HTLCs stay open");
        let locked = ch
            .settle_htlc(h.direction, h.htlc_id)
            .expect("HTLC in flight");
        let refund = locked - settled_msat.min(locked);
        ch.shift_balance(h.direction.reverse(), refund);
        self.after_resolution(h.channel);
        if hop > 0 {
            let stats = self.metrics.node_mut(h.from);
            stats.forwarded_msat += settled_msat;
            stats.fees_earned_msat += h.fee_msat;
            self.metrics.fees_earned_msat += h.fee_msat;
        }
        self.emit(SimEvent::HtlcSettled {
            attempt: attempt_id,
            hop: hop as u32,
        });
        if hop == 0 {
            self.attempt_succeeded(attempt_id);
        } else {
            let delay = self.delay_of(h.from);
            self.schedule(
                delay,
                Event::Settle {
                    attempt: attempt_id,
                    hop: hop as u32 - 1,
                },
            );
        }
    }

    /// The attempt fails at hop `at` (its channel could not be used); `None` means the
    /// sender failed before offering anything.
    fn fail_at(&mut self, attempt_id: AttemptId, at: Option<usize>, reason: FailureReason) {
        let a = &mut self.attempts[attempt_id as usize];
        a.failure = Some((at, reason));
        let failing_node = at.map(|i| a.nodes[i]);
        if let Some(n) = failing_node {
            self.metrics.node_mut(n).failures_caused += 1;
        }
        self.emit(SimEvent::AttemptFailed {
            attempt: attempt_id,
            reason,
            failing_node,
        });
        match at {
            Some(i) if i > 0 => self.on_fail(attempt_id, i - 1),
            _ => self.attempt_failed(attempt_id),
        }
    }

    pub(super) fn on_fail(&mut self, attempt_id: AttemptId, hop: usize) {
        let h = self.attempts[attempt_id as usize].hops[hop];
        self.network
            .channel_mut(h.channel)
            .expect("channels with HTLCs stay open")
            .fail_htlc(h.direction, h.htlc_id)
            .expect("HTLC in flight");
        self.after_resolution(h.channel);
        self.emit(SimEvent::HtlcFailed {
            attempt: attempt_id,
            hop: hop as u32,
        });
        if hop == 0 {
            self.attempt_failed(attempt_id);
        } else {
            let delay = self.delay_of(h.from);
            self.schedule(
                delay,
                Event::Fail {
                    attempt: attempt_id,
                    hop: hop as u32 - 1,
                },
            );
        }
    }
    /// A channel that was asked to close goes once its last HTLC resolves.
    pub(super) fn after_resolution(&mut self, channel: ChannelId) {
        if let Some(ch) = self.network.channel(channel)
            && ch.closing
            && ch.in_flight_count() == 0
        {
            // Gossip learnt of the close when it was asked for (see CloseChannel).
            self.network.remove_channel(channel);
        }
    }
}
