//! What a forwarding node checks before it offers an HTLC, as one pure function
//! ([`check_htlc_forward`]): from what the node knows ([`ForwardCheck`]) to the HTLC's
//! terms ([`HtlcTerms`]) or the BOLT 4 reason to fail. No engine state is touched here; the
//! HTLC add itself is in `htlc`.

use crate::network::FailureReason;
use crate::network::{Channel, Direction, NodeId};
use crate::routing::Route;
use crate::routing::RoutingSettings;

/// What the node at the head of an attempt knows when it is about to offer the next HTLC.
#[derive(Clone, Copy, Debug)]
pub(super) struct ForwardCheck<'a> {
    /// The node about to offer the HTLC (the sender, for the first hop).
    pub(super) node: NodeId,
    /// The chosen direction's source and destination, and whether the destination is up.
    pub(super) from: NodeId,
    pub(super) to: NodeId,
    pub(super) to_online: bool,
    /// The channel as it is now (the offering node knows its own channels exactly).
    pub(super) channel: &'a Channel,
    pub(super) direction: Direction,
    /// Index of the hop to add (0: the sender's own hop).
    pub(super) hop_index: usize,
    /// Nodes the attempt visited so far, the sender first.
    pub(super) visited: &'a [NodeId],
    /// Amount and CLTV of the HTLC that reached `node` (`None` at the sender).
    pub(super) incoming: Option<(u64, u32)>,
    /// The onion, for source-routed attempts.
    pub(super) route: Option<&'a Route>,
    /// What the payment delivers to its destination.
    pub(super) amount_msat: u64,
    /// Hop-by-hop attempts: fees and CLTV still available.
    pub(super) fee_budget_msat: u64,
    pub(super) cltv_budget: u32,
    pub(super) settings: &'a RoutingSettings,
}

/// What the next HTLC carries, once every check passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct HtlcTerms {
    /// Locked on the outgoing channel.
    pub(super) amount_msat: u64,
    pub(super) cltv: u32,
    /// Fee `node` keeps for this hop (0 at the sender).
    pub(super) fee_msat: u64,
    /// The attempt's fee and CLTV budgets after this hop (unchanged for onions).
    pub(super) fee_budget_msat: u64,
    pub(super) cltv_budget: u32,
}

/// The checks a real forwarding node makes before it offers an HTLC, in the order it makes
/// them: the channel is its own, the hop limit and loops, the onion names this channel,
/// the incoming HTLC pays this node's fee and CLTV delta (or, hop by hop, the attempt's
/// budgets cover them), the next node is up, and the channel can carry the amount. Pure:
/// it reads its inputs and returns the HTLC's terms or the BOLT 4 reason to fail.
pub(super) fn check_htlc_forward(c: &ForwardCheck<'_>) -> Result<HtlcTerms, FailureReason> {
    if c.from != c.node {
        return Err(FailureReason::ChannelDisabled);
    }
    if c.hop_index as u32 >= c.settings.max_hops || c.visited.contains(&c.to) {
        return Err(FailureReason::TooManyHops);
    }
    let policy = c.channel.side(c.direction).policy;
    let terms = match c.route {
        Some(route) => {
            let h = route.hops[c.hop_index];
            if h.scid != c.channel.scid {
                return Err(FailureReason::ChannelDisabled);
            }
            if let Some((in_amount_msat, in_cltv)) = c.incoming {
                // What arrived must pay this node's current fee and CLTV delta.
                let fee = policy.fee_msat(h.amount_msat);
                if in_amount_msat < h.amount_msat.saturating_add(fee) {
                    return Err(FailureReason::FeeInsufficient);
                }
                if in_cltv < h.cltv + u32::from(policy.cltv_expiry_delta) {
                    return Err(FailureReason::CltvBudgetExhausted);
                }
            }
            HtlcTerms {
                amount_msat: h.amount_msat,
                cltv: h.cltv,
                fee_msat: c
                    .incoming
                    .map_or(0, |(in_amount_msat, _)| in_amount_msat - h.amount_msat),
                fee_budget_msat: c.fee_budget_msat,
                cltv_budget: c.cltv_budget,
            }
        }
        None => {
            // Hop by hop: each node takes its fee from the attempt's fee budget and its
            // CLTV delta from the CLTV budget; the HTLC reserves the rest of the budget.
            let (fee, delta) = match c.incoming {
                None => (0, 0),
                Some(_) => (
                    policy.fee_msat(c.amount_msat),
                    u32::from(policy.cltv_expiry_delta),
                ),
            };
            let budget = c
                .fee_budget_msat
                .checked_sub(fee)
                .ok_or(FailureReason::FeeInsufficient)?;
            let cltv_left = c
                .cltv_budget
                .checked_sub(delta)
                .ok_or(FailureReason::CltvBudgetExhausted)?;
            HtlcTerms {
                amount_msat: c.amount_msat + budget,
                cltv: c.settings.final_cltv_delta + cltv_left,
                fee_msat: fee,
                fee_budget_msat: budget,
                cltv_budget: cltv_left,
            }
        }
    };
    if !c.to_online {
        return Err(FailureReason::NodeOffline);
    }
    c.channel.can_forward(c.direction, terms.amount_msat)?;
    Ok(terms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{ChannelId, ChannelPolicy, HalfChannel, ShortChannelId};
    use crate::routing::RouteHop;

    const SCID: ShortChannelId = ShortChannelId(7);

    fn channel(balance_msat: u64) -> Channel {
        let policy = ChannelPolicy {
            fee_base_msat: 1_000,
            fee_rate_ppm: 1_000,
            cltv_expiry_delta: 40,
            ..ChannelPolicy::lnd_default(1_000_000)
        };
        Channel::new(
            SCID,
            1_000_000,
            [
                HalfChannel::new(policy, balance_msat),
                HalfChannel::new(policy, 1_000_000_000 - balance_msat),
            ],
        )
    }

    /// Node 1 forwards over `ch` (forward direction) to node 2; node 0 sent the payment.
    fn check<'a>(
        ch: &'a Channel,
        settings: &'a RoutingSettings,
        incoming: Option<(u64, u32)>,
        route: Option<&'a Route>,
    ) -> ForwardCheck<'a> {
        let visited: &'static [NodeId] = if incoming.is_some() {
            &[NodeId(0), NodeId(1)]
        } else {
            &[NodeId(1)]
        };
        ForwardCheck {
            node: NodeId(1),
            from: NodeId(1),
            to: NodeId(2),
            to_online: true,
            channel: ch,
            direction: Direction::Forward,
            hop_index: visited.len() - 1,
            visited,
            incoming,
            route,
            amount_msat: 100_000_000,
            fee_budget_msat: 50_000,
            cltv_budget: 500,
            settings,
        }
    }

    fn onion(amount_msat: u64, cltv: u32) -> Route {
        let hop = |to: u32| RouteHop {
            channel: ChannelId(0),
            direction: Direction::Forward,
            scid: SCID,
            to: NodeId(to),
            amount_msat,
            cltv,
        };
        Route {
            hops: vec![hop(1), hop(2)],
        }
    }

    #[test]
    fn hop_by_hop_takes_fee_and_delta_from_the_budgets() {
        let (ch, settings) = (channel(500_000_000), RoutingSettings::default());
        // The sender pays no fee to itself; its HTLC reserves the whole budget.
        let sender = check_htlc_forward(&check(&ch, &settings, None, None)).unwrap();
        assert_eq!(sender.fee_msat, 0);
        assert_eq!(sender.amount_msat, 100_050_000);
        assert_eq!(sender.cltv, settings.final_cltv_delta + 500);
        // 1_000 base + 1_000 ppm of 100_000_000 = 101_000 msat: more than the budget.
        let fwd = check(&ch, &settings, Some((100_050_000, 540)), None);
        assert_eq!(
            check_htlc_forward(&fwd),
            Err(FailureReason::FeeInsufficient)
        );
        let rich = ForwardCheck {
            fee_budget_msat: 200_000,
            ..fwd
        };
        let terms = check_htlc_forward(&rich).unwrap();
        assert_eq!(terms.fee_msat, 101_000);
        assert_eq!(terms.fee_budget_msat, 99_000);
        assert_eq!(terms.amount_msat, 100_099_000);
        assert_eq!(terms.cltv_budget, 460);
        assert_eq!(terms.cltv, settings.final_cltv_delta + 460);
        let late = ForwardCheck {
            cltv_budget: 39,
            ..rich
        };
        assert_eq!(
            check_htlc_forward(&late),
            Err(FailureReason::CltvBudgetExhausted)
        );
    }

    #[test]
    fn an_onion_must_pay_the_current_fee_and_delta() {
        let (ch, settings) = (channel(500_000_000), RoutingSettings::default());
        let route = onion(100_000_000, 100);
        let with =
            |incoming| check_htlc_forward(&check(&ch, &settings, Some(incoming), Some(&route)));
        assert_eq!(
            with((100_100_999, 140)),
            Err(FailureReason::FeeInsufficient)
        );
        assert_eq!(
            with((100_101_000, 139)),
            Err(FailureReason::CltvBudgetExhausted)
        );
        // The node keeps what arrived beyond what it forwards; the budgets stay as they were.
        assert_eq!(
            with((100_150_000, 140)),
            Ok(HtlcTerms {
                amount_msat: 100_000_000,
                cltv: 100,
                fee_msat: 150_000,
                fee_budget_msat: 50_000,
                cltv_budget: 500,
            })
        );
        let other = Channel {
            scid: ShortChannelId(8),
            ..ch.clone()
        };
        assert_eq!(
            check_htlc_forward(&check(
                &other,
                &settings,
                Some((100_150_000, 140)),
                Some(&route)
            )),
            Err(FailureReason::ChannelDisabled)
        );
    }

    #[test]
    fn checks_come_in_a_forwarding_nodes_order() {
        let settings = RoutingSettings::default();
        let (empty, full) = (channel(0), channel(500_000_000));
        let base = check(&full, &settings, None, None);
        let not_ours = ForwardCheck {
            from: NodeId(3),
            ..base
        };
        assert_eq!(
            check_htlc_forward(&not_ours),
            Err(FailureReason::ChannelDisabled)
        );
        // A loop is refused before anything else about the next node.
        let back = ForwardCheck {
            to: NodeId(1),
            to_online: false,
            ..base
        };
        assert_eq!(check_htlc_forward(&back), Err(FailureReason::TooManyHops));
        let too_far = ForwardCheck {
            hop_index: settings.max_hops as usize,
            ..base
        };
        assert_eq!(
            check_htlc_forward(&too_far),
            Err(FailureReason::TooManyHops)
        );
        // An offline next node is reported before the channel's own limits.
        let offline = ForwardCheck {
            channel: &empty,
            to_online: false,
            ..base
        };
        assert_eq!(
            check_htlc_forward(&offline),
            Err(FailureReason::NodeOffline)
        );
        let dry = ForwardCheck {
            channel: &empty,
            ..base
        };
        assert_eq!(
            check_htlc_forward(&dry),
            Err(FailureReason::InsufficientLiquidity)
        );
    }
}
