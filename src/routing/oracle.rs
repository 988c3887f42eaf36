//! The `oracle` policy: an upper bound, not a baseline. It reads the true network through
//! [`LocalView::truth`] (no other router does): every balance net of the HTLCs in flight,
//! every free slot, every node's current fee policy and who is online. It sends along the
//! cheapest path that can carry the payment now, found by a backward search from the
//! destination over the true channels (amounts grow hop by hop by each node's true fee,
//! CLTV deltas add up, and the sender's fee and CLTV limits hold). When no such path exists
//! the payment is unroutable, and the oracle says why ([`Unroutable`]): no routing
//! decision could have delivered it on one path. The search keeps one label per node (the
//! cheapest), which is exact for balances, slots and fees; under the hop and CLTV limits a
//! cheap path that uses them up can hide a dearer one that fits, so near those limits an
//! `Unroutable::Cut` may be a route the oracle missed.

use super::search::HeapItem as Item;
use super::{Decision, DecisionContext, Route, RouteHop};
use crate::network::{ChannelId, Direction, Network, NodeId, ShortChannelId};
use serde::{Deserialize, Serialize};
use std::collections::BinaryHeap;

/// Why no path could carry a payment when it was sent. The two ends are judged by their
/// total over all usable channels (what a multi-part payment could use); a payment that
/// exceeds the sender's largest channel but not its total is a `Cut` on one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unroutable {
    /// The sender's spendable balance over all its usable channels is below the amount.
    SenderOutbound,
    /// What the receiver's online peers can send it over usable channels is below the
    /// amount (or the receiver is offline).
    ReceiverInbound,
    /// Both ends have enough, but every path between them is cut somewhere (balance, slots,
    /// HTLC limits, offline nodes, or the fee, CLTV and hop limits).
    Cut,
}

/// Unroutable payments by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnroutableCounts {
    pub sender_outbound: u64,
    pub receiver_inbound: u64,
    pub cut: u64,
}

impl UnroutableCounts {
    pub fn count(&mut self, cause: Unroutable) {
        match cause {
            Unroutable::SenderOutbound => self.sender_outbound += 1,
            Unroutable::ReceiverInbound => self.receiver_inbound += 1,
            Unroutable::Cut => self.cut += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.sender_outbound + self.receiver_inbound + self.cut
    }
}

/// A node's label in the backward search: the cheapest known way from it to the
/// destination, over channels that can carry the payment now.
#[derive(Clone, Copy, Debug, Default)]
struct Label {
    /// Fees to the destination, plus a tiny per-hop term that prefers shorter ties.
    dist: f64,
    /// What this node must receive (the destination: the payment amount).
    amount_msat: u64,
    /// The CLTV of the HTLC reaching this node, in blocks above the current height.
    cltv: u32,
    hops: u32,
    /// This node's next hop toward the destination.
    next: Option<(ChannelId, Direction, ShortChannelId, NodeId)>,
    stamp: u32,
    settled: bool,
}

/// Per-hop tie-break weight, in msat: far below any real fee difference.
const HOP_EPSILON: f64 = 1e-3;

/// The oracle router. Its buffers are reused across decisions; it keeps no memory.
#[derive(Default)]
pub struct OracleRouter {
    labels: Vec<Label>,
    heap: BinaryHeap<Item>,
    generation: u32,
}

impl OracleRouter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The cheapest route from `ctx.node` that can carry the payment now, or why none can.
    pub fn route(&mut self, ctx: &DecisionContext) -> Result<Route, Unroutable> {
        let net = ctx.local.truth();
        let p = &ctx.payment;
        let source = ctx.node;
        let destination = p.destination;
        let limits = super::search::Limits {
            fee_limit_msat: p.fee_budget_msat,
            ..super::search::Limits::new(ctx.settings, p.amount_msat)
        };
        // Hop by hop, an intermediate node may not lead back into the route so far.
        let on_route = |v: NodeId| v != source && p.route_nodes.contains(&v);
        let n = net.node_bound();
        super::search::next_generation(&mut self.labels, &mut self.generation, n);
        let generation = self.generation;
        self.heap.clear();
        let online = |v: NodeId| net.node(v).is_some_and(|n| n.online);
        if destination.index() < n && online(destination) && destination != source {
            self.labels[destination.index()] = Label {
                dist: 0.0,
                amount_msat: p.amount_msat,
                cltv: limits.final_cltv_delta,
                hops: 0,
                next: None,
                stamp: generation,
                settled: false,
            };
            self.heap.push(Item::new(0.0, 0.0, destination.0));
        }
        let mut found = false;
        while let Some(item) = self.heap.pop() {
            let (dist, u) = (item.key, NodeId(item.node()));
            let here = self.labels[u.index()];
            if here.settled || dist > here.dist {
                continue;
            }
            self.labels[u.index()].settled = true;
            if u == source {
                found = true;
                break;
            }
            if here.hops >= limits.max_hops {
                continue;
            }
            // Every channel of `u`, used backward: the peer forwards to `u`.
            for (channel, dir_from_u, peer) in net.channels_of(u) {
                let there = self.labels[peer.index()];
                if (there.stamp == generation && there.settled) || on_route(peer) {
                    continue;
                }
                if !online(peer) {
                    continue;
                }
                let Some(ch) = net.channel(channel) else {
                    continue;
                };
                let dir = dir_from_u.reverse();
                if ch.can_forward(dir, here.amount_msat).is_err() {
                    continue;
                }
                let (amount_v, cltv_v, fee) = if peer == source {
                    (here.amount_msat, here.cltv, 0)
                } else {
                    let policy = &ch.side(dir).policy;
                    let fee = policy.fee_msat(here.amount_msat);
                    let cltv_v = here.cltv + u32::from(policy.cltv_expiry_delta);
                    (here.amount_msat.saturating_add(fee), cltv_v, fee)
                };
                if amount_v - p.amount_msat > limits.fee_limit_msat || cltv_v > limits.cltv_limit {
                    continue;
                }
                let dist_v = here.dist + fee as f64 + HOP_EPSILON;
                if there.stamp != generation || dist_v < there.dist {
                    self.labels[peer.index()] = Label {
                        dist: dist_v,
                        amount_msat: amount_v,
                        cltv: cltv_v,
                        hops: here.hops + 1,
                        next: Some((channel, dir, ch.scid, u)),
                        stamp: generation,
                        settled: false,
                    };
                    self.heap.push(Item::new(dist_v, dist_v, peer.0));
                }
            }
        }
        if !found {
            return Err(classify(net, source, destination, p.amount_msat));
        }
        let mut hops = Vec::new();
        let mut v = source;
        while let Some((channel, direction, scid, to)) = self.labels[v.index()].next {
            let to_label = self.labels[to.index()];
            hops.push(RouteHop {
                channel,
                direction,
                scid,
                to,
                amount_msat: to_label.amount_msat,
                cltv: to_label.cltv,
            });
            v = to;
        }
        Ok(Route { hops })
    }
}

/// Why no path exists: the sender's side, the receiver's side, or a cut in between.
pub fn classify(net: &Network, sender: NodeId, receiver: NodeId, amount_msat: u64) -> Unroutable {
    let online = net.node(receiver).is_some_and(|n| n.online);
    if net.movable_msat(sender, true) < amount_msat {
        Unroutable::SenderOutbound
    } else if !online || net.movable_msat(receiver, false) < amount_msat {
        Unroutable::ReceiverInbound
    } else {
        Unroutable::Cut
    }
}

impl super::Router for OracleRouter {
    fn name(&self) -> &str {
        "oracle"
    }

    fn decide(&mut self, ctx: &DecisionContext) -> Decision {
        match self.route(ctx) {
            Ok(route) if ctx.node == ctx.payment.sender => Decision::Route(route),
            Ok(route) => Decision::Forward {
                channel: route.hops[0].channel,
                direction: route.hops[0].direction,
            },
            Err(cause) => Decision::Unroutable(cause),
        }
    }
}
