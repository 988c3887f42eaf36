//! Why a payment attempt failed, in BOLT 4 terms, plus the payment-level outcomes (no route,
//! timeout) that a sender's payment loop reports.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// `temporary_channel_failure`: the forwarding node lacks outbound balance.
    InsufficientLiquidity,
    /// `fee_insufficient`: the HTLC does not pay the node's current fee (stale gossip), or,
    /// hop by hop, its fee budget pays for none of the node's ways on that gossip shows
    /// (a trampoline node's `trampoline_fee_insufficient`).
    FeeInsufficient,
    /// `channel_disabled` (or the channel is closing or gone).
    ChannelDisabled,
    /// The outgoing direction has no free HTLC slot (`max_accepted_htlcs`).
    HtlcSlotsFull,
    /// `amount_below_minimum`.
    AmountBelowMinimum,
    /// Above the direction's `htlc_maximum_msat`.
    AmountAboveMaximum,
    /// `expiry_too_soon` / `incorrect_cltv_expiry`: the CLTV budget cannot cover this hop.
    CltvBudgetExhausted,
    /// `unknown_next_peer`: the next node is offline.
    NodeOffline,
    /// The sender's router found no usable path.
    NoRoute,
    /// The payment's deadline passed before an attempt succeeded.
    Timeout,
    /// The HTLC would revisit a node or exceed the hop limit (hop by hop: no way on that
    /// gossip shows fits the attempt's hop budget, `PpoConfig::max_extra_hops`).
    TooManyHops,
    /// `mpp_timeout`: the receiver held this part, but the rest of the payment's parts did
    /// not arrive in time, so it failed every part it held back.
    MppTimeout,
}

impl FailureReason {
    pub const ALL: [FailureReason; 12] = [
        FailureReason::InsufficientLiquidity,
        FailureReason::FeeInsufficient,
        FailureReason::ChannelDisabled,
        FailureReason::HtlcSlotsFull,
        FailureReason::AmountBelowMinimum,
        FailureReason::AmountAboveMaximum,
        FailureReason::CltvBudgetExhausted,
        FailureReason::NodeOffline,
        FailureReason::NoRoute,
        FailureReason::Timeout,
        FailureReason::TooManyHops,
        FailureReason::MppTimeout,
    ];

    /// The stable snake_case name used in reports and CSV files.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureReason::InsufficientLiquidity => "insufficient_liquidity",
            FailureReason::FeeInsufficient => "fee_insufficient",
            FailureReason::ChannelDisabled => "channel_disabled",
            FailureReason::HtlcSlotsFull => "htlc_slots_full",
            FailureReason::AmountBelowMinimum => "amount_below_minimum",
            FailureReason::AmountAboveMaximum => "amount_above_maximum",
            FailureReason::CltvBudgetExhausted => "cltv_budget_exhausted",
            FailureReason::NodeOffline => "node_offline",
            FailureReason::NoRoute => "no_route",
            FailureReason::Timeout => "timeout",
            FailureReason::TooManyHops => "too_many_hops",
            FailureReason::MppTimeout => "mpp_timeout",
        }
    }

    /// Whether the failure says something about the liquidity of the failing channel (as
    /// opposed to its policy or the node), which is what probabilistic routers learn from.
    pub fn is_liquidity(self) -> bool {
        matches!(
            self,
            FailureReason::InsufficientLiquidity | FailureReason::HtlcSlotsFull
        )
    }

    /// Whether the failure is one of the way (a channel, a node or the budget on it), so
    /// that another way might still work, as opposed to the payment's own end (its
    /// deadline, or the receiver giving up on missing parts).
    pub fn is_routing_failure(self) -> bool {
        !matches!(self, FailureReason::Timeout | FailureReason::MppTimeout)
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
