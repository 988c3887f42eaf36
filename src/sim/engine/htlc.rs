//! HTLCs hop by hop: the node at the head of an attempt decides, checks the next HTLC
//! (`forward_check`) and offers it (add: lock amount and fees, take a slot); the
//! destination settles, and settles and failures walk back toward the sender one hop at a
//! time after each upstream node's processing delay, through one routine (`walk_back`). A
//! closing channel goes once its last HTLC resolves.

use super::forward_check::{ForwardCheck, check_htlc_forward};
use super::payment::Hop;
use super::queue::Event;
use super::{AttemptId, Engine, SimEvent};
use crate::network::FailureReason;
use crate::network::{ChannelId, Direction, NodeId};
use crate::routing::{Decision, DecisionContext, LocalView, PaymentView};

impl Engine {
    /// The node at the head of `attempt` decides and, if it can, offers the next HTLC.
    pub(super) fn forward_from(&mut self, attempt_id: AttemptId, node: NodeId) {
        let a = &self.attempts[attempt_id.index()];
        let payment = &self.payments[a.payment.index()];
        let req = payment.request;
        if node == req.receiver {
            // The destination claims the payment (or holds this part for the rest).
            match a.hops.len() {
                0 => self.fail_at(attempt_id, None, FailureReason::NoRoute),
                _ => self.part_arrived(attempt_id),
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
            None => self.ask_router(attempt_id, node),
        };
        // Multi-part payments: no route for this part's amount at the sender, so halve the
        // part and ask again (an outside decider decides the smaller part afresh).
        let mut decision = decision;
        while hop_index == 0 && is_no_route(&decision) && self.split_part(attempt_id) {
            if self.is_external(node) {
                return self.schedule_decide(attempt_id, node);
            }
            decision = self.ask_router(attempt_id, node);
        }
        let (channel, direction) = match decision {
            Decision::Forward { channel, direction } => (channel, direction),
            Decision::Route(route)
                if hop_index == 0 && !route.hops.is_empty() && !self.routing.hop_by_hop =>
            {
                let first = route.hops[0];
                self.attempts[attempt_id.index()].route = Some(route);
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
                let at = (hop_index > 0).then_some(hop_index);
                return self.fail_at(attempt_id, at, reason);
            }
            Decision::Unroutable(cause) => {
                // Counted once per payment: the sender finding no route ends it (the first
                // part found unroutable, with multi-part payments).
                let parts =
                    &mut self.payments[self.attempts[attempt_id.index()].payment.index()].parts;
                if hop_index == 0 && !parts.unroutable_counted {
                    parts.unroutable_counted = true;
                    self.metrics.unroutable.count(cause);
                }
                let at = (hop_index > 0).then_some(hop_index);
                return self.fail_at(attempt_id, at, FailureReason::NoRoute);
            }
        };
        if let Err(reason) = self.try_add(attempt_id, node, channel, direction) {
            self.fail_at(attempt_id, Some(hop_index), reason);
        }
    }

    /// What `node`'s own router decides for the attempt at its head.
    fn ask_router(&mut self, attempt_id: AttemptId, node: NodeId) -> Decision {
        let a = &self.attempts[attempt_id.index()];
        let payment = &self.payments[a.payment.index()];
        let req = payment.request;
        let view = PaymentView {
            sender: req.sender,
            destination: req.receiver,
            amount_msat: a.amount_msat,
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

    /// Check the HTLC `node` offers over `channel` in `direction` (with
    /// [`check_htlc_forward`]), then add it.
    fn try_add(
        &mut self,
        attempt_id: AttemptId,
        node: NodeId,
        channel: ChannelId,
        direction: Direction,
    ) -> Result<(), FailureReason> {
        let a = &self.attempts[attempt_id.index()];
        let hop_index = a.hops.len();
        // Endpoints and channel are one graph edge: both are there or neither is.
        let (from, to) = self
            .network
            .direction_endpoints(channel, direction)
            .ok_or(FailureReason::ChannelDisabled)?;
        let ch = self
            .network
            .channel(channel)
            .ok_or(FailureReason::ChannelDisabled)?;
        let terms = check_htlc_forward(&ForwardCheck {
            node,
            from,
            to,
            to_online: self.is_online(to),
            channel: ch,
            direction,
            hop_index,
            visited: &a.nodes,
            incoming: hop_index
                .checked_sub(1)
                .map(|i| (a.hops[i].amount_msat, a.hops[i].cltv)),
            route: a.route.as_ref(),
            amount_msat: a.amount_msat,
            fee_budget_msat: a.fee_budget_msat,
            cltv_budget: a.cltv_budget,
            settings: &self.routing,
        })?;
        let scid = ch.scid;
        let htlc_id = self.next_htlc_id;
        // The channel's own guard repeats `can_forward`: it cannot fail after the check.
        self.network
            .channel_mut(channel)
            .expect("checked above")
            .add_htlc(direction, htlc_id, terms.amount_msat)?;
        self.next_htlc_id += 1;
        let now_ms = self.now_ms;
        let a = &mut self.attempts[attempt_id.index()];
        let budgets_before = (a.fee_budget_msat, a.cltv_budget);
        a.hops.push(Hop {
            channel,
            direction,
            scid,
            from,
            to,
            amount_msat: terms.amount_msat,
            cltv: terms.cltv,
            htlc_id,
            fee_msat: terms.fee_msat,
            added_ms: now_ms,
            budgets_before,
        });
        a.nodes.push(to);
        a.fee_budget_msat = terms.fee_budget_msat;
        a.cltv_budget = terms.cltv_budget;
        self.emit(SimEvent::HtlcAdded {
            attempt: attempt_id,
            hop: hop_index as u32,
            channel,
            direction,
        });
        self.schedule_decide(attempt_id, to);
        Ok(())
    }

    /// The attempt fails at hop `at` (its channel could not be used); `None` means the
    /// sender failed before offering anything.
    pub(super) fn fail_at(
        &mut self,
        attempt_id: AttemptId,
        at: Option<usize>,
        reason: FailureReason,
    ) {
        let a = &mut self.attempts[attempt_id.index()];
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
            Some(i) if i > 0 => self.walk_back(attempt_id, i - 1, Resolution::Fail),
            _ => self.attempt_failed(attempt_id),
        }
    }

    /// Resolve `hop`'s HTLC now, the way `how` says, and pass the resolution upstream
    /// after the upstream node's processing delay; at the sender's own hop the attempt
    /// ends. Settles and failures both walk back through here, one hop per event.
    pub(super) fn walk_back(&mut self, attempt_id: AttemptId, hop: usize, how: Resolution) {
        let a = &self.attempts[attempt_id.index()];
        let h = a.hops[hop];
        let settled_msat = match how {
            Resolution::Settle => {
                // Hop-by-hop HTLCs reserve the unspent fee budget; only what downstream
                // fees need is paid, the rest returns to the offering node (a no-op for
                // source routes).
                let amount = a.amount_msat;
                let settled_msat =
                    amount + a.hops[hop + 1..].iter().map(|d| d.fee_msat).sum::<u64>();
                let ch = self
                    .network
                    .channel_mut(h.channel)
                    .expect("channels with HTLCs stay open");
                let locked = ch
                    .settle_htlc(h.direction, h.htlc_id)
                    .expect("HTLC in flight");
                let refund = locked - settled_msat.min(locked);
                ch.shift_balance(h.direction.reverse(), refund);
                Some(settled_msat)
            }
            Resolution::Fail => {
                self.network
                    .channel_mut(h.channel)
                    .expect("channels with HTLCs stay open")
                    .fail_htlc(h.direction, h.htlc_id)
                    .expect("HTLC in flight");
                None
            }
        };
        self.after_resolution(h.channel);
        if let Some(settled_msat) = settled_msat
            && hop > 0
        {
            let stats = self.metrics.node_mut(h.from);
            stats.forwarded_msat += settled_msat;
            stats.fees_earned_msat += h.fee_msat;
            self.metrics.fees_earned_msat += h.fee_msat;
        }
        self.emit(how.sim_event(attempt_id, hop as u32, &h));
        if how == Resolution::Fail && self.retries_locally(attempt_id, h.from) {
            return self.retry_locally(attempt_id, hop);
        }
        if hop > 0 {
            let delay = self.delay_of(h.from);
            self.schedule(delay, how.event(attempt_id, hop as u32 - 1));
        } else {
            match how {
                Resolution::Settle => self.attempt_succeeded(attempt_id),
                Resolution::Fail => self.attempt_failed(attempt_id),
            }
        }
    }

    /// `hop` failed back to the node that offered it, which retries locally: the attempt
    /// forgets that hop and everything after it, the node gets back the budgets it had
    /// when it chose that hop, and it decides again after its processing delay, without
    /// the channel it just left.
    fn retry_locally(&mut self, attempt_id: AttemptId, hop: usize) {
        let a = &mut self.attempts[attempt_id.index()];
        let h = a.hops[hop];
        a.abandoned.push((h.from, h.channel));
        a.hops.truncate(hop);
        a.nodes.truncate(hop + 1);
        (a.fee_budget_msat, a.cltv_budget) = h.budgets_before;
        a.failure = None;
        self.metrics.local_retries += 1;
        self.emit(SimEvent::RetriedLocally {
            attempt: attempt_id,
            hop: hop as u32,
            node: h.from,
        });
        self.schedule_decide(attempt_id, h.from);
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

/// Whether a decision means the deciding node has no route for the amount.
fn is_no_route(decision: &Decision) -> bool {
    match decision {
        Decision::Fail(FailureReason::NoRoute) | Decision::Unroutable(_) => true,
        Decision::Route(route) => route.hops.is_empty(),
        Decision::Forward { .. } | Decision::Fail(_) => false,
    }
}

/// How an attempt's HTLCs resolve on the way back to the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Resolution {
    /// The preimage goes back: each HTLC settles, the amount moves to the next node and
    /// forwarding nodes earn their fees.
    Settle,
    /// The failure goes back: each HTLC is released and nothing moves.
    Fail,
}

impl Resolution {
    /// The event that resolves `hop` of `attempt` this way.
    fn event(self, attempt: AttemptId, hop: u32) -> Event {
        match self {
            Resolution::Settle => Event::Settle { attempt, hop },
            Resolution::Fail => Event::Fail { attempt, hop },
        }
    }

    /// What the trace says when `hop` (index `index`) of `attempt` resolved this way.
    fn sim_event(self, attempt: AttemptId, index: u32, hop: &Hop) -> SimEvent {
        match self {
            Resolution::Settle => SimEvent::HtlcSettled {
                attempt,
                hop: index,
            },
            Resolution::Fail => SimEvent::HtlcFailed {
                attempt,
                hop: index,
                channel: hop.channel,
                direction: hop.direction,
            },
        }
    }
}
