//! Bounds on values users give (scene files, commands, lessons), chosen so that sums and
//! products of them cannot overflow the engine's integer arithmetic.

/// The largest channel a scene or command may open: all the bitcoin there will be.
pub const MAX_CAPACITY_SAT: u64 = 21_000_000 * 100_000_000;

/// Longest time setting accepted (a year of simulated time), so sums of times cannot
/// overflow.
pub const MAX_DURATION_MS: u64 = 365 * 24 * 3_600_000;
