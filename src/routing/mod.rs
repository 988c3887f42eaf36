//! Routing: the [`Router`] trait that decides the next hop of a payment at a node from what
//! that node can know, the shared path-finding machinery, and the baseline routers.

use std::fmt;
use std::str::FromStr;

/// The baseline routers a scene or the CLI can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouterKind {
    Random,
    Shortest,
    Cheapest,
    Lnd,
    Ldk,
}

impl RouterKind {
    pub const ALL: [RouterKind; 5] =
        [RouterKind::Random, RouterKind::Shortest, RouterKind::Cheapest, RouterKind::Lnd, RouterKind::Ldk];

    pub fn as_str(self) -> &'static str {
        match self {
            RouterKind::Random => "random",
            RouterKind::Shortest => "shortest",
            RouterKind::Cheapest => "cheapest",
            RouterKind::Lnd => "lnd",
            RouterKind::Ldk => "ldk",
        }
    }

    pub fn parse(name: &str) -> Result<Self, String> {
        RouterKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name.trim().to_ascii_lowercase())
            .ok_or_else(|| {
                format!("unknown routing policy `{name}` (expected random, shortest, cheapest, lnd or ldk)")
            })
    }
}

impl FromStr for RouterKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RouterKind::parse(s)
    }
}

impl fmt::Display for RouterKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
