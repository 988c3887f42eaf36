//! What each sender has learnt from its own payments, kept apart per sender: a map from
//! the sender to its own map (per node pair for lnd's mission control, per channel
//! direction for LDK's liquidity bounds). A router only ever consults the memory of the
//! node it decides for, so one sender's failures never steer another's searches. A sender
//! whose memory is empty counts as knowing nothing (it may then share cached trees).

use crate::network::NodeId;
use rustc_hash::FxHashMap as HashMap;
use std::hash::Hash;

#[derive(Clone, Debug)]
pub struct PerSender<K, V> {
    senders: HashMap<NodeId, HashMap<K, V>>,
}

impl<K, V> Default for PerSender<K, V> {
    fn default() -> Self {
        PerSender {
            senders: HashMap::default(),
        }
    }
}

impl<K: Eq + Hash, V> PerSender<K, V> {
    /// `sender`'s memory, or `None` when it has learnt nothing.
    pub fn of(&self, sender: NodeId) -> Option<&HashMap<K, V>> {
        self.senders.get(&sender).filter(|m| !m.is_empty())
    }

    /// `sender`'s memory, to learn into (created empty on first use).
    pub fn of_mut(&mut self, sender: NodeId) -> &mut HashMap<K, V> {
        self.senders.entry(sender).or_default()
    }

    /// Everything `sender` remembers, in the map's order (nothing for an unknown sender).
    pub fn entries(&self, sender: NodeId) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.senders.get(&sender).into_iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn senders_keep_their_own_memory() {
        let mut memory: PerSender<u32, &str> = PerSender::default();
        let (a, b) = (NodeId(1), NodeId(2));
        assert!(memory.of(a).is_none());
        assert_eq!(memory.entries(a).count(), 0);
        memory.of_mut(a).insert(7, "seven");
        memory.of_mut(a).insert(8, "eight");
        // A memory opened but left empty still counts as knowing nothing.
        memory.of_mut(b);
        assert!(memory.of(b).is_none());
        assert_eq!(memory.entries(b).count(), 0);
        assert_eq!(memory.of(a).map(|m| m.len()), Some(2));
        let mut learnt: Vec<_> = memory.entries(a).map(|(&k, &v)| (k, v)).collect();
        learnt.sort();
        assert_eq!(learnt, [(7, "seven"), (8, "eight")]);
        memory.of_mut(b).insert(7, "other");
        assert_eq!(memory.of(a).and_then(|m| m.get(&7)), Some(&"seven"));
        assert_eq!(memory.of(b).and_then(|m| m.get(&7)), Some(&"other"));
    }
}
