//! Identifier newtypes for the network model: nodes, channels, channel directions and
//! BOLT 7 short channel ids. They exist so that a node index can never be passed where a
//! channel index is expected, and so that ids print the way Lightning users read them.

use petgraph::stable_graph::{EdgeIndex, NodeIndex};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A node of the simulated network. Stable across edits (backed by a `StableGraph` index).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

/// A channel of the simulated network. Stable across edits; a closed channel's slot may be
/// reused by a later channel, so code holding ids across time also checks the [`ShortChannelId`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelId(pub u32);

impl NodeId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
    pub(crate) fn graph_index(self) -> NodeIndex<u32> {
        NodeIndex::new(self.0 as usize)
    }
}

impl ChannelId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
    pub(crate) fn graph_index(self) -> EdgeIndex<u32> {
        EdgeIndex::new(self.0 as usize)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}", self.0)
    }
}

/// One of the two directions of a channel. `Forward` goes from `node1` to `node2`, and is
/// governed by `node1`'s policy and paid from `node1`'s balance (as in `describegraph`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Direction {
    Forward,
    Backward,
}

impl Direction {
    pub const BOTH: [Direction; 2] = [Direction::Forward, Direction::Backward];

    pub fn index(self) -> usize {
        match self {
            Direction::Forward => 0,
            Direction::Backward => 1,
        }
    }
    pub fn reverse(self) -> Direction {
        match self {
            Direction::Forward => Direction::Backward,
            Direction::Backward => Direction::Forward,
        }
    }
}

/// A BOLT 7 short channel id: block height (24 bits), transaction index (24 bits) and output
/// index (16 bits). Written `BLOCKxTXxOUT` in scenes, as `lncli` and CLN print it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShortChannelId(pub u64);

impl ShortChannelId {
    pub fn new(block: u32, tx_index: u32, output: u16) -> Self {
        ShortChannelId(
            (u64::from(block & 0xff_ffff) << 40)
                | (u64::from(tx_index & 0xff_ffff) << 16)
                | u64::from(output),
        )
    }
    pub fn block(self) -> u32 {
        (self.0 >> 40) as u32
    }
    pub fn tx_index(self) -> u32 {
        ((self.0 >> 16) & 0xff_ffff) as u32
    }
    pub fn output(self) -> u16 {
        (self.0 & 0xffff) as u16
    }
}

impl fmt::Display for ShortChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}x{}", self.block(), self.tx_index(), self.output())
    }
}

impl FromStr for ShortChannelId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a short channel id (expected BLOCKxTXxOUT or a u64)");
        if let Ok(raw) = s.parse::<u64>() {
            return Ok(ShortChannelId(raw));
        }
        let mut parts = s.split('x');
        let (Some(b), Some(t), Some(o), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let block: u32 = b.parse().map_err(|_| bad())?;
        let tx: u32 = t.parse().map_err(|_| bad())?;
        let out: u16 = o.parse().map_err(|_| bad())?;
        if block > 0xff_ffff || tx > 0xff_ffff {
            return Err(bad());
        }
        Ok(ShortChannelId::new(block, tx, out))
    }
}

impl Serialize for ShortChannelId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ShortChannelId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scid_round_trips_through_text_and_u64() {
        let scid = ShortChannelId::new(829_000, 1234, 1);
        let text = scid.to_string();
        assert_eq!(text, "829000x1234x1");
        assert_eq!(text.parse::<ShortChannelId>().unwrap(), scid);
        assert_eq!(scid.0.to_string().parse::<ShortChannelId>().unwrap(), scid);
        assert!("12x".parse::<ShortChannelId>().is_err());
        assert!("99999999x1x1".parse::<ShortChannelId>().is_err());
    }
}
