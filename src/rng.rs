//! Seeded random streams. Every consumer of a run's seed draws from its own ChaCha stream,
//! named here by a tag, so adding draws in one place never shifts another's sequence. Every
//! tag in the crate is registered in [`stream`]; a test keeps them distinct.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The stream tags, one per consumer of the seed.
pub mod stream {
    /// Synthetic node keys (scene building).
    pub const KEYS: u64 = 1;
    /// Channel balances drawn from the liquidity model (scene building, drain commands).
    pub const LIQUIDITY: u64 = 2;
    /// Payment arrivals, endpoints and amounts.
    pub const WORKLOAD: u64 = 3;
    /// Processing delays at nodes.
    pub const DELAYS: u64 = 4;
    /// Random choices of the baseline routers.
    pub const ROUTER: u64 = 5;
    /// Force-directed layout (seed mixed with this tag).
    pub const LAYOUT: u64 = 6;
    /// Demand spikes injected during a run.
    pub const SPIKES: u64 = 7;
    /// Policy network initialisation.
    pub const NET_INIT: u64 = 0x0b17;
    /// PPO agents' action sampling and minibatch shuffles.
    pub const AGENTS: u64 = 0xa6e7;
    /// L402 servers' token ids and preimages.
    pub const L402_SERVER: u64 = 0x1402;
    /// L402 clients' call times and service picks.
    pub const L402_CLIENT: u64 = 0xc11e;
    /// Endpoints drawn again for an arrival that names a removed node (seed mixed with
    /// the arrival's key).
    pub const REDRAW: u64 = 8;

    /// Every tag above, for the distinctness check.
    #[cfg(test)]
    pub const ALL: [u64; 12] = [
        KEYS,
        LIQUIDITY,
        WORKLOAD,
        DELAYS,
        ROUTER,
        LAYOUT,
        SPIKES,
        NET_INIT,
        AGENTS,
        L402_SERVER,
        L402_CLIENT,
        REDRAW,
    ];
}

/// A ChaCha RNG for one stream of one seed.
pub fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn stream_tags_are_distinct_and_streams_differ() {
        let mut tags = stream::ALL.to_vec();
        tags.sort_unstable();
        tags.dedup();
        assert_eq!(tags.len(), stream::ALL.len(), "a tag is registered twice");
        let a: u64 = rng_for(9, stream::WORKLOAD).random();
        let b: u64 = rng_for(9, stream::DELAYS).random();
        let again: u64 = rng_for(9, stream::WORKLOAD).random();
        assert_ne!(a, b);
        assert_eq!(a, again);
    }
}
