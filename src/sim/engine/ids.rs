//! Identifier newtypes for the engine's payments and attempts, so that a payment id can
//! never be passed where an attempt id is expected (both index a ledger by number). They
//! serialise and print as the bare number, as the plain integers they replace did.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A payment, by the order it started in (an index into [`super::Engine::payments`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PaymentId(pub u32);

/// One try at delivering a payment, by the order it started in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttemptId(pub u32);

impl PaymentId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl AttemptId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for AttemptId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_serialise_and_print_as_bare_numbers() {
        assert_eq!(serde_json::to_string(&PaymentId(12)).unwrap(), "12");
        assert_eq!(serde_json::to_string(&Some(AttemptId(3))).unwrap(), "3");
        assert_eq!(
            serde_json::from_str::<PaymentId>("7").unwrap(),
            PaymentId(7)
        );
        assert_eq!(format!("#{}", PaymentId(12)), "#12");
        assert_eq!(AttemptId(5).index(), 5);
    }
}
