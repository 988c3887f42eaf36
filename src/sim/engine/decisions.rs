//! Decisions from outside: nodes whose forwarding choices come from an outside decider
//! (PPO agents). The engine registers a [`PendingDecision`] when such a node must decide,
//! stops before the node forwards until the decision is given, and offers what the node
//! can know ([`DecisionContext`]) for computing features.

use super::queue::Event;
use super::{AttemptId, Engine};
use crate::network::NodeId;
use crate::routing::{Decision, DecisionContext, LocalView, PaymentView};

/// A forwarding decision the engine waits for, at a node whose decisions come from
/// outside (PPO agents). Resolve it with [`Engine::resolve_decision`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingDecision {
    pub attempt: AttemptId,
    pub node: NodeId,
    /// When the node will forward (the decision must be in by then).
    pub due_ms: u64,
}

impl Engine {
    /// Hand the decisions of `nodes` to an outside decider (PPO agents): the engine stops
    /// before such a node forwards until [`Engine::resolve_decision`] gives its choice.
    pub fn set_external(&mut self, nodes: &[NodeId]) {
        for n in nodes {
            if let Some(e) = self.external.get_mut(n.index()) {
                *e = true;
            }
        }
    }

    /// Let outside-decided `nodes` retry locally: a node that takes a failure back from
    /// downstream decides again (another channel; not the one that failed) instead of
    /// failing the attempt back, while the attempt has had fewer than `limit` local
    /// retries in all. Trampoline nodes retry their leg this way; a source-routed attempt
    /// never does, and neither does the sender (its retry is a new attempt).
    pub fn set_local_retries(&mut self, nodes: &[NodeId], limit: u32) {
        for &n in nodes {
            if !self.is_external(n) {
                continue;
            }
            let i = n.index();
            if self.local_retry_limit.len() <= i {
                self.local_retry_limit.resize(i + 1, 0);
            }
            self.local_retry_limit[i] = limit;
        }
    }

    /// Whether `node` retries `attempt` locally after a failure that came back to it.
    pub(super) fn retries_locally(&self, attempt: AttemptId, node: NodeId) -> bool {
        let a = &self.attempts[attempt.index()];
        let limit = self.local_retry_limit.get(node.index()).copied();
        a.route.is_none()
            && a.nodes.first() != Some(&node)
            && limit.is_some_and(|limit| a.local_retries() < limit)
            && a.failure
                .is_some_and(|(_, reason)| reason.is_routing_failure())
    }

    pub fn is_external(&self, node: NodeId) -> bool {
        self.external.get(node.index()).copied().unwrap_or(false)
    }

    /// Decisions the engine is waiting for (oldest first).
    pub fn pending_decisions(&self) -> &[PendingDecision] {
        &self.pending
    }

    /// What the deciding node of a pending decision can know, for computing features.
    pub fn decision_context(&self, pending: &PendingDecision) -> DecisionContext<'_> {
        let a = &self.attempts[pending.attempt.index()];
        let payment = &self.payments[a.payment.index()];
        DecisionContext {
            now_ms: self.event_ms,
            node: pending.node,
            gossip: &self.gossip,
            local: LocalView::new(&self.network, pending.node),
            payment: PaymentView {
                sender: payment.request.sender,
                destination: payment.request.receiver,
                amount_msat: a.amount_msat,
                fee_budget_msat: a.fee_budget_msat,
                cltv_budget: a.cltv_budget,
                route_nodes: &a.nodes,
                attempt: payment.attempts,
                elapsed_ms: self.event_ms.saturating_sub(payment.started_ms),
            },
            settings: &self.routing,
        }
    }

    /// What `node` would know deciding a fresh payment of `amount_msat` to `destination`
    /// that it sends itself (`route_nodes` is `[node]`), with the sender's fee and CLTV
    /// budgets. For explaining a policy in the lab; no payment is created.
    pub fn probe_context<'a>(
        &'a self,
        node: NodeId,
        destination: NodeId,
        amount_msat: u64,
        route_nodes: &'a [NodeId],
    ) -> DecisionContext<'a> {
        let r = &self.routing;
        DecisionContext {
            now_ms: self.now_ms,
            node,
            gossip: &self.gossip,
            local: LocalView::new(&self.network, node),
            payment: PaymentView {
                sender: node,
                destination,
                amount_msat,
                fee_budget_msat: r.fee_limit_msat(amount_msat),
                cltv_budget: r.cltv_limit.saturating_sub(r.final_cltv_delta),
                route_nodes,
                attempt: 1,
                elapsed_ms: 0,
            },
            settings: &self.routing,
        }
    }

    /// Lower the fee budget of a hop-by-hop attempt still at its sender (a pending decision
    /// with no hop yet), as a wallet that escalates its budget over retries does. A budget
    /// is never raised, and a source-routed or already forwarded attempt keeps its own.
    pub fn tighten_fee_budget(&mut self, attempt: AttemptId, fee_budget_msat: u64) {
        if let Some(a) = self.attempts.get_mut(attempt.index())
            && a.hops.is_empty()
            && a.route.is_none()
            && self.pending.iter().any(|p| p.attempt == attempt)
        {
            a.fee_budget_msat = a.fee_budget_msat.min(fee_budget_msat);
        }
    }

    /// Give the decision for a pending attempt; it takes effect when the node forwards.
    pub fn resolve_decision(&mut self, attempt: AttemptId, decision: Decision) {
        if let Some(i) = self.pending.iter().position(|p| p.attempt == attempt) {
            self.pending.remove(i);
            self.resolved.push((attempt, decision));
        }
    }

    pub(super) fn waits_for_outside(&self, attempt: AttemptId) -> bool {
        self.pending.iter().any(|p| p.attempt == attempt)
    }

    /// Schedule the head node of `attempt` to decide after its processing delay; at an
    /// outside-decided node this also registers the pending decision.
    pub(super) fn schedule_decide(&mut self, attempt: AttemptId, node: NodeId) {
        let delay = self.delay_of(node);
        let receiver = self.payments[self.attempts[attempt.index()].payment.index()]
            .request
            .receiver;
        let follows_onion = self.attempts[attempt.index()].route.is_some();
        if self.is_external(node) && node != receiver && !follows_onion {
            self.pending.push(PendingDecision {
                attempt,
                node,
                due_ms: self.now_ms + delay,
            });
        }
        self.schedule(delay, Event::Decide { attempt });
    }
}
