//! Channels and their two directions: capacity, per-direction forwarding policy, balances
//! and the HTLCs in flight. This file owns the channel invariant and every operation that
//! moves money inside a channel; nothing else writes a balance.
//!
//! Invariant (checked by [`Channel::check_invariant`] in tests after every event):
//! `forward.balance + backward.balance + forward.in_flight + backward.in_flight ==
//! capacity_sat * 1000`, with every term non-negative (they are unsigned) and at most
//! `max_accepted_htlcs` HTLCs per direction.

use super::failure::FailureReason;
use super::ids::{Direction, ShortChannelId};
use serde::{Deserialize, Serialize};

/// BOLT 2's upper bound on HTLCs one side may offer, and lnd's default.
pub const DEFAULT_MAX_ACCEPTED_HTLCS: u16 = 483;

/// A direction's forwarding policy, as announced in `channel_update` (BOLT 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelPolicy {
    pub fee_base_msat: u64,
    pub fee_rate_ppm: u64,
    pub cltv_expiry_delta: u16,
    pub htlc_minimum_msat: u64,
    pub htlc_maximum_msat: u64,
    #[serde(default)]
    pub disabled: bool,
    #[serde(default = "default_max_htlcs")]
    pub max_accepted_htlcs: u16,
}

fn default_max_htlcs() -> u16 {
    DEFAULT_MAX_ACCEPTED_HTLCS
}

impl ChannelPolicy {
    /// lnd's defaults for a new channel of the given capacity.
    pub fn lnd_default(capacity_sat: u64) -> Self {
        ChannelPolicy {
            fee_base_msat: 1_000,
            fee_rate_ppm: 1,
            cltv_expiry_delta: 80,
            htlc_minimum_msat: 1_000,
            htlc_maximum_msat: capacity_sat.saturating_mul(990),
            disabled: false,
            max_accepted_htlcs: DEFAULT_MAX_ACCEPTED_HTLCS,
        }
    }

    /// Fee this direction's owner charges to forward `amount_msat` out over it (BOLT 7):
    /// `fee_base_msat + amount_msat * fee_rate_ppm / 1_000_000`, rounded down, saturating.
    pub fn fee_msat(&self, amount_msat: u64) -> u64 {
        forwarding_fee_msat(self.fee_base_msat, self.fee_rate_ppm, amount_msat)
    }
}

/// BOLT 7's fee: `fee_base_msat + amount_msat * fee_rate_ppm / 1_000_000`, rounded down and
/// saturating (real graphs announce rates up to 2^31 - 1 ppm).
#[inline]
pub fn forwarding_fee_msat(fee_base_msat: u64, fee_rate_ppm: u64, amount_msat: u64) -> u64 {
    let proportional = match amount_msat.checked_mul(fee_rate_ppm) {
        Some(product) => product / 1_000_000,
        None => u64::try_from(u128::from(amount_msat) * u128::from(fee_rate_ppm) / 1_000_000)
            .unwrap_or(u64::MAX),
    };
    fee_base_msat.saturating_add(proportional)
}

/// One HTLC offered over a direction and not yet resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InFlightHtlc {
    pub htlc_id: u64,
    pub amount_msat: u64,
}

/// One direction of a channel: the policy its source node enforces, the source node's
/// spendable balance, and the HTLCs the source node has offered and not yet resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct HalfChannel {
    pub policy: ChannelPolicy,
    /// The source node's balance, excluding what is locked in HTLCs.
    pub balance_msat: u64,
    in_flight: Vec<InFlightHtlc>,
    in_flight_msat: u64,
}

impl HalfChannel {
    pub fn new(policy: ChannelPolicy, balance_msat: u64) -> Self {
        HalfChannel {
            policy,
            balance_msat,
            in_flight: Vec::new(),
            in_flight_msat: 0,
        }
    }
    pub fn in_flight(&self) -> &[InFlightHtlc] {
        &self.in_flight
    }
    pub fn in_flight_msat(&self) -> u64 {
        self.in_flight_msat
    }
    pub fn slots_used(&self) -> usize {
        self.in_flight.len()
    }
    pub fn slots_free(&self) -> usize {
        usize::from(self.policy.max_accepted_htlcs).saturating_sub(self.in_flight.len())
    }
    /// Fraction of HTLC slots in use, for drawing congestion and for agent features.
    pub fn slot_occupancy(&self) -> f32 {
        let max = self.policy.max_accepted_htlcs.max(1);
        self.in_flight.len() as f32 / f32::from(max)
    }
}

/// A channel between `node1` and `node2` (endpoints are kept by the graph).
#[derive(Clone, Debug, PartialEq)]
pub struct Channel {
    pub scid: ShortChannelId,
    pub capacity_sat: u64,
    /// Indexed by [`Direction::index`]: `[node1 -> node2, node2 -> node1]`.
    pub sides: [HalfChannel; 2],
    /// Set when a close was requested while HTLCs were in flight: no new HTLCs are accepted
    /// and the channel is removed once the last one resolves.
    pub closing: bool,
}

impl Channel {
    pub fn new(scid: ShortChannelId, capacity_sat: u64, sides: [HalfChannel; 2]) -> Self {
        Channel {
            scid,
            capacity_sat,
            sides,
            closing: false,
        }
    }

    pub fn capacity_msat(&self) -> u64 {
        self.capacity_sat.saturating_mul(1000)
    }

    pub fn side(&self, dir: Direction) -> &HalfChannel {
        &self.sides[dir.index()]
    }

    pub fn side_mut(&mut self, dir: Direction) -> &mut HalfChannel {
        &mut self.sides[dir.index()]
    }

    /// Whether `dir` can carry an HTLC of `amount_msat` now, judged as its source node
    /// (which knows its own balance and slots exactly) would judge it.
    pub fn can_forward(&self, dir: Direction, amount_msat: u64) -> Result<(), FailureReason> {
        let side = self.side(dir);
        if side.policy.disabled || self.closing {
            return Err(FailureReason::ChannelDisabled);
        }
        if amount_msat < side.policy.htlc_minimum_msat {
            return Err(FailureReason::AmountBelowMinimum);
        }
        if amount_msat > side.policy.htlc_maximum_msat {
            return Err(FailureReason::AmountAboveMaximum);
        }
        if side.slots_free() == 0 {
            return Err(FailureReason::HtlcSlotsFull);
        }
        if side.balance_msat < amount_msat {
            return Err(FailureReason::InsufficientLiquidity);
        }
        Ok(())
    }

    /// Offer an HTLC over `dir`: lock `amount_msat` of the source's balance and take a slot.
    pub fn add_htlc(
        &mut self,
        dir: Direction,
        htlc_id: u64,
        amount_msat: u64,
    ) -> Result<(), FailureReason> {
        self.can_forward(dir, amount_msat)?;
        self.lock(dir, htlc_id, amount_msat);
        Ok(())
    }

    /// Lock an HTLC without policy checks (used for jamming HTLCs, which the jammer sends at
    /// the policy minimum; balance and slots are still respected by the caller).
    pub(crate) fn lock(&mut self, dir: Direction, htlc_id: u64, amount_msat: u64) {
        let side = self.side_mut(dir);
        debug_assert!(side.balance_msat >= amount_msat);
        side.balance_msat -= amount_msat;
        side.in_flight_msat += amount_msat;
        side.in_flight.push(InFlightHtlc {
            htlc_id,
            amount_msat,
        });
    }

    fn take(&mut self, dir: Direction, htlc_id: u64) -> Option<u64> {
        let side = self.side_mut(dir);
        let pos = side.in_flight.iter().position(|h| h.htlc_id == htlc_id)?;
        let htlc = side.in_flight.swap_remove(pos);
        side.in_flight_msat -= htlc.amount_msat;
        Some(htlc.amount_msat)
    }

    /// Settle an HTLC: its amount moves to the other side. Returns the amount, or `None` if
    /// no such HTLC is in flight.
    pub fn settle_htlc(&mut self, dir: Direction, htlc_id: u64) -> Option<u64> {
        let amount = self.take(dir, htlc_id)?;
        self.side_mut(dir.reverse()).balance_msat += amount;
        Some(amount)
    }

    /// Fail an HTLC: its amount returns to the offering side; nothing moves.
    pub fn fail_htlc(&mut self, dir: Direction, htlc_id: u64) -> Option<u64> {
        let amount = self.take(dir, htlc_id)?;
        self.side_mut(dir).balance_msat += amount;
        Some(amount)
    }

    /// Move `amount_msat` of settled balance from `dir`'s source to the other side (a
    /// rebalance or a drain). Clamped to what is available; returns what moved.
    pub fn shift_balance(&mut self, dir: Direction, amount_msat: u64) -> u64 {
        let moved = amount_msat.min(self.side(dir).balance_msat);
        self.side_mut(dir).balance_msat -= moved;
        self.side_mut(dir.reverse()).balance_msat += moved;
        moved
    }

    pub fn in_flight_count(&self) -> usize {
        self.sides[0].slots_used() + self.sides[1].slots_used()
    }

    /// Check the channel invariant; `Err` describes the first violation.
    pub fn check_invariant(&self) -> Result<(), String> {
        let total = u128::from(self.sides[0].balance_msat)
            + u128::from(self.sides[1].balance_msat)
            + u128::from(self.sides[0].in_flight_msat)
            + u128::from(self.sides[1].in_flight_msat);
        if total != u128::from(self.capacity_msat()) {
            return Err(format!(
                "channel {}: balances {} + {} + in-flight {} + {} = {} != capacity {}",
                self.scid,
                self.sides[0].balance_msat,
                self.sides[1].balance_msat,
                self.sides[0].in_flight_msat,
                self.sides[1].in_flight_msat,
                total,
                self.capacity_msat()
            ));
        }
        for (i, side) in self.sides.iter().enumerate() {
            let sum: u64 = side.in_flight.iter().map(|h| h.amount_msat).sum();
            if sum != side.in_flight_msat {
                return Err(format!(
                    "channel {} side {i}: in-flight sum drifted",
                    self.scid
                ));
            }
            if side.in_flight.len() > usize::from(side.policy.max_accepted_htlcs) {
                return Err(format!(
                    "channel {} side {i}: more HTLCs than slots",
                    self.scid
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(balance1: u64, balance2: u64) -> Channel {
        let cap = (balance1 + balance2) / 1000;
        let p = ChannelPolicy::lnd_default(cap);
        Channel::new(
            ShortChannelId::new(1, 1, 0),
            cap,
            [HalfChannel::new(p, balance1), HalfChannel::new(p, balance2)],
        )
    }

    #[test]
    fn fee_is_base_plus_proportional_and_saturates() {
        let mut p = ChannelPolicy::lnd_default(1_000_000);
        p.fee_base_msat = 1_000;
        p.fee_rate_ppm = 500;
        assert_eq!(p.fee_msat(2_000_000), 1_000 + 1_000);
        p.fee_rate_ppm = 2_147_483_647;
        p.fee_base_msat = u64::MAX - 5;
        assert_eq!(p.fee_msat(u64::MAX), u64::MAX);
    }

    #[test]
    fn settle_moves_and_fail_restores() {
        let mut c = channel(600_000, 400_000);
        c.add_htlc(Direction::Forward, 1, 100_000).unwrap();
        c.add_htlc(Direction::Forward, 2, 50_000).unwrap();
        c.check_invariant().unwrap();
        assert_eq!(c.settle_htlc(Direction::Forward, 1), Some(100_000));
        assert_eq!(c.fail_htlc(Direction::Forward, 2), Some(50_000));
        assert_eq!(c.sides[0].balance_msat, 500_000);
        assert_eq!(c.sides[1].balance_msat, 500_000);
        assert_eq!(c.settle_htlc(Direction::Forward, 1), None);
        c.check_invariant().unwrap();
    }

    #[test]
    fn add_rejects_with_the_matching_reason() {
        let mut c = channel(10_000, 10_000);
        assert_eq!(
            c.add_htlc(Direction::Forward, 1, 500),
            Err(FailureReason::AmountBelowMinimum)
        );
        assert_eq!(
            c.add_htlc(Direction::Forward, 1, 10_001),
            Err(FailureReason::InsufficientLiquidity)
        );
        c.sides[0].policy.htlc_maximum_msat = 5_000;
        assert_eq!(
            c.add_htlc(Direction::Forward, 1, 6_000),
            Err(FailureReason::AmountAboveMaximum)
        );
        c.sides[0].policy.max_accepted_htlcs = 1;
        c.add_htlc(Direction::Forward, 1, 1_000).unwrap();
        assert_eq!(
            c.add_htlc(Direction::Forward, 2, 1_000),
            Err(FailureReason::HtlcSlotsFull)
        );
        c.sides[1].policy.disabled = true;
        assert_eq!(
            c.add_htlc(Direction::Backward, 3, 1_000),
            Err(FailureReason::ChannelDisabled)
        );
    }
}
