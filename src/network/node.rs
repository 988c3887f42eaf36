//! Nodes of the simulated network: alias, public key, role in the lab's story, layout
//! position, processing delay and whether the node is online.

use super::delay::DelayModel;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A 33-byte compressed secp256k1 public key, written as 66 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PubKey(pub [u8; 33]);

impl PubKey {
    /// A deterministic key-shaped identifier for synthetic nodes (prefix 02 + 32 bytes).
    pub fn synthetic(rng: &mut impl rand::Rng) -> Self {
        let mut bytes = [0u8; 33];
        bytes[0] = 0x02;
        rng.fill(&mut bytes[1..]);
        PubKey(bytes)
    }
}

impl fmt::Display for PubKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PubKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PubKey({self})")
    }
}

impl FromStr for PubKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a public key (expected 66 hex digits)");
        if s.len() != 66 || !s.is_ascii() {
            return Err(bad());
        }
        let mut out = [0u8; 33];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        if out[0] != 0x02 && out[0] != 0x03 {
            return Err(format!(
                "`{s}` is not a compressed public key (must start 02 or 03)"
            ));
        }
        Ok(PubKey(out))
    }
}

impl Serialize for PubKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PubKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What a node is for in the lab. Roles colour the drawing and steer the workload
/// (merchant-weighted receivers, L402 services).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    #[default]
    Router,
    Merchant,
    Client,
    ApiService,
}

/// A node as the engine keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub alias: String,
    pub pubkey: PubKey,
    pub role: Role,
    /// Layout position in scene units (the drawing fits the graph to the window).
    pub position: [f32; 2],
    /// Processing delay before this node forwards or relays a resolution; `None` uses the
    /// scene default.
    pub processing_delay: Option<DelayModel>,
    pub online: bool,
    /// The node left the network (a `RemoveNode` edit): it keeps its id, so every other id
    /// stays valid, but it has no channels once its HTLCs resolved, and [`Network::nodes`]
    /// no longer lists it.
    ///
    /// [`Network::nodes`]: super::Network::nodes
    pub removed: bool,
}

impl Node {
    /// An online router named `n{i}` at the origin, for tests that build networks by hand.
    #[cfg(test)]
    pub fn router_for_tests(i: usize) -> Node {
        Node {
            alias: format!("n{i}"),
            pubkey: PubKey([2; 33]),
            role: Role::Router,
            position: [0.0, 0.0],
            processing_delay: None,
            online: true,
            removed: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pubkey_parses_and_prints_back() {
        let hex = "0341a7227fab90a8ec55fdccc5c3d2dbb407b0924f7ccbad2b594f5891ac4a1c9f";
        let key: PubKey = hex.parse().unwrap();
        assert_eq!(key.to_string(), hex);
        assert!("04aa".parse::<PubKey>().is_err());
        assert!(hex.replace("03", "05").parse::<PubKey>().is_err());
        assert!(hex.replace('a', "g").parse::<PubKey>().is_err());
    }
}
