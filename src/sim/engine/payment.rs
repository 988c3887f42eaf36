//! Payments and their attempts: starting a payment, each attempt's life, retrying within
//! `max_attempts` and the payment timeout, what the sender's router learns from every
//! attempt, the metrics and per-payment records of resolved payments, and forgetting old
//! payments in open-ended runs.
//!
//! **Multi-part payments** (`routing.mpp`): every attempt is one part and carries its own
//! amount. A part the sender finds no route for is halved (lnd's split) and the other half
//! becomes a part of its own; the receiver holds arriving parts until they add up to the
//! payment, then settles them all, or fails them all back with `mpp_timeout` after
//! [`MPP_TIMEOUT_MS`]. A failed part's amount is sent again as a new part, within the
//! payment's attempt budget and timeout; once the sender gives up, the payment fails when
//! its last part is back.

use super::{AttemptId, Engine, PaymentId, SimEvent};
use crate::network::FailureReason;
use crate::network::{ChannelId, Direction, NodeId, ShortChannelId};
use crate::routing::settings::MPP_TIMEOUT_MS;
use crate::routing::{AttemptOutcome, HopRecord, Route};
use crate::sim::metrics::PaymentRecord;
use crate::sim::workload::PaymentRequest;

/// A payment's life.
#[derive(Clone, Debug)]
pub struct Payment {
    pub request: PaymentRequest,
    pub started_ms: u64,
    pub attempts: u32,
    pub status: PaymentStatus,
    /// The attempt now in flight, or the last one.
    pub last_attempt: Option<AttemptId>,
    /// Its parts: what is in flight, held at the receiver and settled.
    pub parts: Parts,
}

/// Where a payment's parts are (one part without multi-part payments).
#[derive(Clone, Debug, Default)]
pub struct Parts {
    /// The amount in parts not yet failed back (in flight, held or settled).
    pub committed_msat: u64,
    /// Parts not yet resolved at the sender.
    pub in_flight: u32,
    pub failed: u32,
    /// Parts the receiver holds, waiting for the rest.
    pub held: Vec<AttemptId>,
    /// When the receiver fails what it holds back, if it holds anything.
    pub held_until_ms: Option<u64>,
    /// The parts the receiver settled (the payment succeeded).
    pub settled: Vec<AttemptId>,
    /// The payment was split at least once.
    pub split: bool,
    /// A part was found unroutable (the oracle's count takes each payment once).
    pub unroutable_counted: bool,
    /// The sender stopped sending new parts, for this reason: the payment fails when its
    /// last part is back.
    pub given_up: Option<FailureReason>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    InFlight,
    Succeeded { at_ms: u64, fees_msat: u64 },
    Failed { at_ms: u64, reason: FailureReason },
}

/// One HTLC of an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hop {
    pub channel: ChannelId,
    pub direction: Direction,
    pub scid: ShortChannelId,
    pub from: NodeId,
    pub to: NodeId,
    /// Locked on this hop's channel.
    pub amount_msat: u64,
    pub cltv: u32,
    pub htlc_id: u64,
    /// Fee `from` charges for this hop (0 for the sender's own hop).
    pub fee_msat: u64,
    /// When the HTLC was offered.
    pub added_ms: u64,
    /// The attempt's fee and CLTV budgets when `from` decided this hop: what it has again
    /// if it retries locally (see [`Attempt::local_retries`]).
    pub(super) budgets_before: (u64, u32),
}

/// One try at delivering a payment.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub payment: PaymentId,
    /// What this attempt delivers to the receiver: the payment's amount, or a part of it.
    pub amount_msat: u64,
    pub hops: Vec<Hop>,
    /// Visited nodes, the sender first.
    pub nodes: Vec<NodeId>,
    /// The onion, for source-routed attempts.
    pub(super) route: Option<Route>,
    /// Hop-by-hop attempts: fees and CLTV still available.
    pub(super) fee_budget_msat: u64,
    pub(super) cltv_budget: u32,
    /// Where and why it failed: the hop index whose channel failed (may equal `hops.len()`
    /// when the HTLC was never added) and the reason.
    pub failure: Option<(Option<usize>, FailureReason)>,
    pub resolved: bool,
    /// The channel each local retry left, at the node that left it: that node does not
    /// take it again within this attempt (see [`Attempt::local_retries`]).
    pub abandoned: Vec<(NodeId, ChannelId)>,
}

impl Attempt {
    /// Local retries so far: a forwarding node that took a failure back and chose another
    /// channel instead of failing the attempt back to the sender, as a trampoline node
    /// retries its leg (see [`Engine::set_local_retries`]). Not counted as attempts.
    pub fn local_retries(&self) -> u32 {
        self.abandoned.len() as u32
    }
}

impl Engine {
    /// In a run without a payment limit (the lab), forget payments that ended before
    /// `cutoff_ms`, their attempts, and arrivals already started, so memory stays flat.
    /// Runs with a limit keep everything: their reports and records need it.
    pub fn forget_before(&mut self, cutoff_ms: u64) {
        if self.payment_limit.is_some() {
            return;
        }
        self.starts.drop_front_while(Option::is_none);
        // A payment that succeeded may still have parts settling back (the first part home
        // told the sender): it ends with its last part.
        let ended = |p: &Payment| match p.status {
            PaymentStatus::InFlight => false,
            PaymentStatus::Succeeded { at_ms, .. } | PaymentStatus::Failed { at_ms, .. } => {
                at_ms < cutoff_ms && p.parts.in_flight == 0
            }
        };
        let old = |p: &Payment| p.started_ms < cutoff_ms;
        // Attempts first (they name their payment); a payment already gone is old and
        // ended. A payment held at an offline node stays, and holds back nothing else.
        let payments = &self.payments;
        self.attempts.sweep(
            |a| payments.get(a.payment.index()).is_none_or(old),
            |a| a.resolved && payments.get(a.payment.index()).is_none_or(ended),
        );
        let attempts = &self.attempts;
        self.payments.sweep(old, |p| {
            ended(p)
                && p.last_attempt
                    .is_none_or(|a| attempts.get(a.index()).is_none())
        });
    }

    /// Start a payment now, outside the workload (L402 clients, the UI, tests). It counts
    /// toward the payment limit like a workload payment.
    pub fn start_payment(&mut self, request: PaymentRequest) -> PaymentId {
        self.begin_payment(request)
    }

    pub(super) fn begin_payment(&mut self, request: PaymentRequest) -> PaymentId {
        let id = PaymentId(self.payments.len() as u32);
        self.payments.push(Payment {
            request,
            started_ms: self.now_ms,
            attempts: 0,
            status: PaymentStatus::InFlight,
            last_attempt: None,
            parts: Parts::default(),
        });
        self.metrics.payments += 1;
        self.metrics.volume_msat += request.amount_msat;
        self.emit(SimEvent::PaymentStarted { payment: id });
        self.start_attempt(id, request.amount_msat);
        id
    }

    /// Send `amount_msat` of `payment` (all of it, or a part) as a new attempt.
    fn start_attempt(&mut self, payment: PaymentId, amount_msat: u64) {
        let p = &mut self.payments[payment.index()];
        p.attempts += 1;
        p.parts.in_flight += 1;
        p.parts.committed_msat += amount_msat;
        let req = p.request;
        let attempt = AttemptId(self.attempts.len() as u32);
        p.last_attempt = Some(attempt);
        let cltv_budget = self
            .routing
            .cltv_limit
            .saturating_sub(self.routing.final_cltv_delta);
        self.attempts.push(Attempt {
            payment,
            amount_msat,
            hops: Vec::new(),
            nodes: vec![req.sender],
            route: None,
            fee_budget_msat: self.routing.fee_limit_msat(amount_msat),
            cltv_budget,
            failure: None,
            resolved: false,
            abandoned: Vec::new(),
        });
        self.schedule_decide(attempt, req.sender);
    }

    fn outcome_hops(&self, attempt_id: AttemptId) -> Vec<HopRecord> {
        let a = &self.attempts[attempt_id.index()];
        let mut hops: Vec<HopRecord> = a
            .hops
            .iter()
            .map(|h| HopRecord {
                channel: h.channel,
                direction: h.direction,
                from: h.from,
                to: h.to,
                amount_msat: h.amount_msat,
                capacity_msat: self
                    .network
                    .channel(h.channel)
                    .map_or(0, |c| c.capacity_msat()),
            })
            .collect();
        // A failure at a hop that was never added: report the channel that was tried.
        if let Some((Some(i), _)) = a.failure
            && i == a.hops.len()
            && let Some(route) = &a.route
            && let Some(rh) = route.hops.get(i)
        {
            hops.push(HopRecord {
                channel: rh.channel,
                direction: rh.direction,
                from: a.nodes[i],
                to: rh.to,
                amount_msat: rh.amount_msat,
                capacity_msat: self
                    .network
                    .channel(rh.channel)
                    .map_or(0, |c| c.capacity_msat()),
            });
        }
        hops
    }

    fn learn(&mut self, attempt_id: AttemptId, failure: Option<FailureReason>) {
        let hops = self.outcome_hops(attempt_id);
        let a = &self.attempts[attempt_id.index()];
        let req = self.payments[a.payment.index()].request;
        let outcome = AttemptOutcome {
            now_ms: self.now_ms,
            sender: req.sender,
            destination: req.receiver,
            amount_msat: a.amount_msat,
            hops: &hops,
            failure,
        };
        let router = self
            .node_router
            .get(req.sender.index())
            .copied()
            .unwrap_or(0) as usize;
        self.routers[router].learn(&outcome);
    }

    /// A part reached the receiver. Without multi-part payments, or when the parts held
    /// now add up to the payment, the receiver settles them all; otherwise it holds this one
    /// (and starts the clock on failing them back).
    pub(super) fn part_arrived(&mut self, attempt_id: AttemptId) {
        let a = &self.attempts[attempt_id.index()];
        let pid = a.payment;
        let amount_msat = a.amount_msat;
        let p = &mut self.payments[pid.index()];
        if amount_msat >= p.request.amount_msat && p.parts.held.is_empty() {
            p.parts.settled.push(attempt_id);
            self.settle_last_hop(attempt_id);
            return;
        }
        p.parts.held.push(attempt_id);
        let attempts = &self.attempts;
        let held_msat: u64 = p
            .parts
            .held
            .iter()
            .map(|h| attempts[h.index()].amount_msat)
            .sum();
        if held_msat >= p.request.amount_msat {
            let held = std::mem::take(&mut p.parts.held);
            p.parts.held_until_ms = None;
            p.parts.settled.extend(&held);
            for part in held {
                self.settle_last_hop(part);
            }
        } else if p.parts.held_until_ms.is_none() {
            let until_ms = self.now_ms + MPP_TIMEOUT_MS;
            p.parts.held_until_ms = Some(until_ms);
            self.schedule(
                MPP_TIMEOUT_MS,
                super::queue::Event::MppTimeout { payment: pid },
            );
        }
    }

    fn settle_last_hop(&mut self, attempt_id: AttemptId) {
        let last = self.attempts[attempt_id.index()].hops.len() - 1;
        self.walk_back(attempt_id, last, super::htlc::Resolution::Settle);
    }

    /// The receiver's wait for the rest of a payment's parts ran out: it fails every part
    /// it holds back.
    pub(super) fn mpp_timeout(&mut self, pid: PaymentId) {
        let now_ms = self.now_ms;
        let Some(p) = self
            .payments
            .get_mut(pid.index())
            .filter(|p| p.parts.held_until_ms.is_some_and(|t| t <= now_ms))
        else {
            // Completed (or forgotten) since the clock was started.
            return;
        };
        p.parts.held_until_ms = None;
        for part in std::mem::take(&mut p.parts.held) {
            let at = self.attempts[part.index()].hops.len();
            self.fail_at(part, Some(at), FailureReason::MppTimeout);
        }
    }

    pub(super) fn attempt_succeeded(&mut self, attempt_id: AttemptId) {
        self.attempts[attempt_id.index()].resolved = true;
        self.emit(SimEvent::AttemptResolved {
            attempt: attempt_id,
            succeeded: true,
            at_ms: self.now_ms,
        });
        self.learn(attempt_id, None);
        let pid = self.attempts[attempt_id.index()].payment;
        let p = &mut self.payments[pid.index()];
        p.parts.in_flight -= 1;
        if p.status != PaymentStatus::InFlight {
            // A later part of a payment that already succeeded (the first settle back
            // told the sender).
            return;
        }
        let parts = p.parts.settled.len() as u64;
        let split = p.parts.split;
        let fees_msat: u64 = p
            .parts
            .settled
            .iter()
            .flat_map(|part| &self.attempts[part.index()].hops)
            .map(|h| h.fee_msat)
            .sum();
        let hops = self.attempts[attempt_id.index()].hops.len() as u64;
        let p = &mut self.payments[pid.index()];
        p.status = PaymentStatus::Succeeded {
            at_ms: self.now_ms,
            fees_msat,
        };
        let m = &mut self.metrics;
        m.succeeded += 1;
        m.volume_succeeded_msat += p.request.amount_msat;
        m.fees_paid_msat += fees_msat;
        m.hops_succeeded += hops;
        m.attempts += u64::from(p.attempts);
        m.parts_succeeded += parts;
        m.mpp_payments += u64::from(split);
        m.latencies_ms.push(self.now_ms - p.started_ms);
        self.emit(SimEvent::PaymentSucceeded {
            payment: pid,
            fees_msat,
        });
        self.record(pid);
    }

    pub(super) fn attempt_failed(&mut self, attempt_id: AttemptId) {
        let a = &mut self.attempts[attempt_id.index()];
        a.resolved = true;
        let (failure_at, reason) = a.failure.expect("failed attempts carry a reason");
        let pid = a.payment;
        let amount_msat = a.amount_msat;
        self.emit(SimEvent::AttemptResolved {
            attempt: attempt_id,
            succeeded: false,
            at_ms: self.now_ms,
        });
        self.learn(attempt_id, Some(reason));
        let p = &mut self.payments[pid.index()];
        p.parts.in_flight -= 1;
        p.parts.failed += 1;
        p.parts.committed_msat -= amount_msat;
        let deadline = p.started_ms.saturating_add(self.routing.timeout_ms);
        // The sender finding no route ends the payment; an intermediate node finding none
        // (hop-by-hop routing) is one failed attempt like any other.
        let sender_gave_up = matches!(failure_at, None | Some(0));
        let final_reason = if let Some(reason) = p.parts.given_up {
            Some(reason)
        } else if reason == FailureReason::NoRoute && sender_gave_up {
            Some(reason)
        } else if self.now_ms >= deadline {
            Some(FailureReason::Timeout)
        } else if p.parts.failed >= self.routing.max_attempts {
            Some(reason)
        } else {
            None
        };
        match final_reason {
            None => self.start_attempt(pid, amount_msat),
            Some(reason) if p.parts.in_flight > 0 => {
                // Other parts are still out: the payment fails when the last is back.
                p.parts.given_up = Some(reason);
            }
            Some(reason) => {
                let p = &mut self.payments[pid.index()];
                p.status = PaymentStatus::Failed {
                    at_ms: self.now_ms,
                    reason,
                };
                self.metrics.failed += 1;
                self.metrics.attempts += u64::from(p.attempts);
                *self.metrics.failure_reasons.entry(reason).or_default() += 1;
                self.emit(SimEvent::PaymentFailed {
                    payment: pid,
                    reason,
                });
                self.record(pid);
            }
        }
    }

    /// The sender found no route for `attempt_id`'s amount: with multi-part payments, halve
    /// the part (when the halves stay above the minimum and a part is free) and send the
    /// other half as a part of its own. Returns whether it split; the caller asks the
    /// router again for the smaller amount.
    pub(super) fn split_part(&mut self, attempt_id: AttemptId) -> bool {
        let Some((max_parts, min_part_msat)) = self.routing.mpp else {
            return false;
        };
        let a = &self.attempts[attempt_id.index()];
        let pid = a.payment;
        let half_msat = a.amount_msat / 2;
        let p = &self.payments[pid.index()];
        if half_msat < min_part_msat || p.parts.in_flight >= max_parts || p.parts.given_up.is_some()
        {
            return false;
        }
        // As lnd does, a sender whose channels together cannot carry this part does not
        // split it (the parts would only be held at the receiver and time out).
        if self.network.movable_msat(p.request.sender, true) < a.amount_msat {
            return false;
        }
        let rest_msat = a.amount_msat - half_msat;
        let a = &mut self.attempts[attempt_id.index()];
        a.amount_msat = half_msat;
        a.fee_budget_msat = self.routing.fee_limit_msat(half_msat);
        let p = &mut self.payments[pid.index()];
        p.parts.split = true;
        p.parts.committed_msat -= rest_msat;
        self.start_attempt(pid, rest_msat);
        true
    }

    fn record(&mut self, pid: PaymentId) {
        if self.records.is_none() {
            return;
        }
        let p = &self.payments[pid.index()];
        let alias = |n: NodeId| {
            self.network
                .node(n)
                .map(|n| n.alias.clone())
                .unwrap_or_default()
        };
        let a = p.last_attempt.map(|id| &self.attempts[id.index()]);
        let route = a
            .map(|a| {
                a.nodes
                    .iter()
                    .map(|&n| alias(n))
                    .collect::<Vec<_>>()
                    .join(">")
            })
            .unwrap_or_default();
        let failing_hop = a
            .and_then(|a| a.failure)
            .and_then(|(at, _)| at)
            .and_then(|i| a.map(|a| alias(a.nodes[i])))
            .unwrap_or_default();
        let (outcome, reason, fees, end) = match p.status {
            PaymentStatus::Succeeded { at_ms, fees_msat } => {
                ("succeeded", String::new(), fees_msat, at_ms)
            }
            PaymentStatus::Failed { at_ms, reason } => ("failed", reason.to_string(), 0, at_ms),
            PaymentStatus::InFlight => ("in_flight", String::new(), 0, self.now_ms),
        };
        let rec = PaymentRecord {
            time_ms: p.started_ms,
            sender: alias(p.request.sender),
            receiver: alias(p.request.receiver),
            amount_msat: p.request.amount_msat,
            outcome,
            failure_reason: reason,
            failing_hop,
            route,
            fees_msat: fees,
            latency_ms: end - p.started_ms,
            attempts: p.attempts,
        };
        if let Some(r) = &mut self.records {
            r.push(rec);
        }
    }
}
