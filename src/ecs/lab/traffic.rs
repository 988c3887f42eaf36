//! The traffic overlay's data: what each channel carried over the last minute of simulated
//! time (settled HTLC amounts, so a payment counts on every hop it crossed), the largest
//! such volume (for scaling the drawing), and whether the overlay is shown. The feed
//! records settles as they are observed; the view draws channels by their share of the
//! busiest one, and the dump lists the busiest channels.

use crate::network::ChannelId;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// How far back the overlay looks, in simulated milliseconds.
pub const WINDOW_MS: u64 = 60_000;

#[derive(Debug, Default)]
pub struct Traffic {
    /// The overlay is drawn (key V, or the side panel's checkbox).
    pub on: bool,
    /// Settles in the window, oldest first: (when, channel, amount).
    recent: VecDeque<(u64, ChannelId, u64)>,
    per_channel: FxHashMap<ChannelId, u64>,
    max_msat: u64,
}

impl Traffic {
    /// A settle of `amount_msat` over `channel` at `at_ms`.
    pub fn record(&mut self, at_ms: u64, channel: ChannelId, amount_msat: u64) {
        self.recent.push_back((at_ms, channel, amount_msat));
        let v = self.per_channel.entry(channel).or_default();
        *v += amount_msat;
        self.max_msat = self.max_msat.max(*v);
    }

    /// Drop what is older than the window at `now_ms`.
    pub fn expire(&mut self, now_ms: u64) {
        let cutoff = now_ms.saturating_sub(WINDOW_MS);
        let mut dropped = false;
        while let Some(&(at, channel, amount)) = self.recent.front() {
            if at >= cutoff {
                break;
            }
            self.recent.pop_front();
            dropped = true;
            if let Some(v) = self.per_channel.get_mut(&channel) {
                *v -= amount;
                if *v == 0 {
                    self.per_channel.remove(&channel);
                }
            }
        }
        if dropped {
            self.max_msat = self.per_channel.values().copied().max().unwrap_or(0);
        }
    }

    /// What `channel` carried in the window.
    pub fn volume_msat(&self, channel: ChannelId) -> u64 {
        self.per_channel.get(&channel).copied().unwrap_or(0)
    }

    /// `channel`'s volume as a share of the busiest channel's (0 when nothing moved).
    pub fn share(&self, channel: ChannelId) -> f32 {
        if self.max_msat == 0 {
            return 0.0;
        }
        self.volume_msat(channel) as f32 / self.max_msat as f32
    }

    /// The `n` busiest channels, busiest first (ties by channel id).
    pub fn busiest(&self, n: usize) -> Vec<(ChannelId, u64)> {
        let mut all: Vec<(ChannelId, u64)> =
            self.per_channel.iter().map(|(&c, &v)| (c, v)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }

    /// Forget everything (a new run), keeping whether the overlay is shown.
    pub fn clear(&mut self) {
        *self = Traffic {
            on: self.on,
            ..Traffic::default()
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_slides_and_the_scale_follows_the_busiest_channel() {
        let (a, b) = (ChannelId(1), ChannelId(2));
        let mut t = Traffic::default();
        t.record(0, a, 500);
        t.record(10_000, b, 200);
        t.record(20_000, a, 100);
        assert_eq!((t.volume_msat(a), t.volume_msat(b)), (600, 200));
        assert_eq!(t.busiest(5), vec![(a, 600), (b, 200)]);
        assert!((t.share(b) - 200.0 / 600.0).abs() < 1e-6);
        // At 65 s the first settle (at 0) has left the window; the rest stay.
        t.expire(65_000);
        assert_eq!((t.volume_msat(a), t.volume_msat(b)), (100, 200));
        assert_eq!(t.busiest(1), vec![(b, 200)]);
        assert!((t.share(b) - 1.0).abs() < 1e-6);
        t.expire(200_000);
        assert_eq!(t.busiest(5), vec![]);
        assert_eq!(t.share(a), 0.0);
        t.on = true;
        t.record(200_000, a, 1);
        t.clear();
        assert!(t.on && t.busiest(5).is_empty());
    }
}
