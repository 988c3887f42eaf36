//! How senders route and retry: the scene's `routing` section (baseline router, attempts,
//! timeout, hop, CLTV and fee limits, path cache, hop-by-hop forwarding, multi-part
//! payments), and the checks it makes of itself.

use super::RouterKind;
use crate::limits::MAX_DURATION_MS;
use serde::{Deserialize, Serialize};

/// How senders route and retry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingSettings {
    /// The baseline router: random, shortest, cheapest, lnd or ldk (written as a string).
    pub policy: RouterKind,
    /// Attempts per payment, the first included.
    pub max_attempts: u32,
    /// A payment that has not succeeded by then stops retrying (lnd's default is 60 s).
    pub timeout_ms: u64,
    /// Routes longer than this fail with `too_many_hops` (lnd allows 20).
    pub max_hops: u32,
    /// Largest total CLTV a sender accepts (lnd's `CltvLimit` default is 2016).
    pub cltv_limit: u32,
    /// The receiver's `min_final_cltv_expiry_delta`.
    pub final_cltv_delta: u32,
    /// Fee limit as a fraction of the amount, in ppm (lncli's default is 5%).
    pub fee_limit_ppm: u64,
    /// Floor under the fee limit, for small payments.
    pub fee_limit_floor_msat: u64,
    /// Reuse destination-rooted shortest-path trees across payments (see `routing::cache`).
    pub path_cache: bool,
    /// Every node decides the next hop itself (routers' routes are cut to their first
    /// hop); fees come out of a budget the sender sets. Scenes with agents need this so
    /// that agent nodes on the way get to decide.
    pub hop_by_hop: bool,
    /// Multi-part payments, `Some((max_parts, min_part_msat))`: when no single route can
    /// carry a part, the sender halves it (as lnd does) down to `min_part_msat`, with at
    /// most `max_parts` parts in flight; the receiver settles once every part has arrived,
    /// or fails them all back after [`MPP_TIMEOUT_MS`]. Parts share the payment's timeout
    /// and attempt budget. `None` (the default in written scenes): one part.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mpp: Option<(u32, u64)>,
}

/// How long a receiver holds the parts of an incomplete multi-part payment before failing
/// them back (BOLT 4 asks for at least about 60 s, which lnd uses).
pub const MPP_TIMEOUT_MS: u64 = 60_000;
/// lnd's default `--max_parts`.
pub const DEFAULT_MAX_PARTS: u32 = 16;
/// The smallest part lnd splits down to (10,000 sat).
pub const DEFAULT_MIN_PART_MSAT: u64 = 10_000_000;

impl Default for RoutingSettings {
    fn default() -> Self {
        RoutingSettings {
            policy: RouterKind::Lnd,
            max_attempts: 10,
            timeout_ms: 60_000,
            max_hops: 20,
            cltv_limit: 2016,
            final_cltv_delta: 80,
            fee_limit_ppm: 50_000,
            fee_limit_floor_msat: 10_000,
            path_cache: true,
            hop_by_hop: false,
            mpp: None,
        }
    }
}

impl RoutingSettings {
    /// Ranges the parser cannot check; errors name the field (`routing.max_hops ...`).
    pub fn validate(&self) -> Result<(), String> {
        if self.max_attempts == 0 {
            return Err("routing.max_attempts must be at least 1".into());
        }
        if self.max_hops == 0 || self.max_hops > 64 {
            return Err(format!(
                "routing.max_hops must be between 1 and 64, got {}",
                self.max_hops
            ));
        }
        if let Some((max_parts, min_part_msat)) = self.mpp {
            if !(2..=128).contains(&max_parts) {
                return Err(format!(
                    "routing.mpp's max_parts must be between 2 and 128, got {max_parts}"
                ));
            }
            if min_part_msat == 0 {
                return Err("routing.mpp's min_part_msat must be at least 1".into());
            }
        }
        if self.timeout_ms > MAX_DURATION_MS {
            return Err(format!(
                "routing.timeout_ms {} is longer than a year",
                self.timeout_ms
            ));
        }
        Ok(())
    }

    pub fn fee_limit_msat(&self, amount_msat: u64) -> u64 {
        let pct = u128::from(amount_msat) * u128::from(self.fee_limit_ppm) / 1_000_000;
        (pct as u64).max(self.fee_limit_floor_msat)
    }
}
