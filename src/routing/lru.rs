//! A bounded slot table with least-recently-used eviction, for caches of expensive,
//! reusable search state (the path trees of `routing::cache`, the onward-estimate
//! searches of `rl::onward`). It owns the keys, the slots and the recency clock; what a
//! slot holds, when to empty the table (e.g. on a new gossip epoch) and what to do on a
//! miss stay with its user. Eviction is deterministic: a full table hands the slot of the
//! least recently used key to the new key, its old value included, so that large buffers
//! are reused rather than reallocated (the caller resets them).

use rustc_hash::FxHashMap as HashMap;
use std::hash::Hash;

#[derive(Debug)]
pub struct Lru<K, V> {
    capacity: usize,
    slots: Vec<V>,
    keys: Vec<K>,
    /// The clock reading of each slot's last use.
    last_used: Vec<u64>,
    index: HashMap<K, usize>,
    clock: u64,
}

impl<K: Copy + Eq + Hash, V> Lru<K, V> {
    /// A table of at most `capacity` slots (at least one).
    pub fn new(capacity: usize) -> Self {
        Lru {
            capacity: capacity.max(1),
            slots: Vec::new(),
            keys: Vec::new(),
            last_used: Vec::new(),
            index: HashMap::default(),
            clock: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Whether `key` has a slot (its recency is left alone).
    pub fn contains(&self, key: &K) -> bool {
        self.index.contains_key(key)
    }

    /// The value of `key`, which becomes the most recently used; `None` on a miss.
    pub fn get(&mut self, key: &K) -> Option<&mut V> {
        let slot = *self.index.get(key)?;
        Some(self.touch(slot))
    }

    /// Give `key` (not present) a slot and make it the most recently used: a new one from
    /// `new` while the table is below capacity, otherwise the slot of the least recently
    /// used key, which is dropped. The value returned is then either fresh or the evicted
    /// key's old value, for the caller to reset.
    pub fn insert_with(&mut self, key: K, new: impl FnOnce() -> V) -> &mut V {
        debug_assert!(!self.index.contains_key(&key), "key already has a slot");
        let slot = if self.slots.len() < self.capacity {
            self.slots.push(new());
            self.keys.push(key);
            self.last_used.push(0);
            self.slots.len() - 1
        } else {
            // Clock readings are distinct, so the least recently used slot is unique.
            let lru = (0..self.slots.len())
                .min_by_key(|&i| self.last_used[i])
                .expect("capacity is at least one");
            self.index.remove(&self.keys[lru]);
            self.keys[lru] = key;
            lru
        };
        self.index.insert(key, slot);
        self.touch(slot)
    }

    /// Forget every key and drop every value (the next insertions allocate afresh).
    pub fn clear(&mut self) {
        self.slots.clear();
        self.keys.clear();
        self.last_used.clear();
        self.index.clear();
    }

    fn touch(&mut self, slot: usize) -> &mut V {
        self.clock += 1;
        self.last_used[slot] = self.clock;
        &mut self.slots[slot]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Look `key` up, inserting `value` on a miss; whether it was a hit.
    fn request(lru: &mut Lru<u32, String>, key: u32) -> bool {
        if lru.get(&key).is_some() {
            return true;
        }
        *lru.insert_with(key, String::new) = format!("v{key}");
        false
    }

    #[test]
    fn evicts_the_least_recently_used_key_first() {
        let mut lru = Lru::new(3);
        for k in [1, 2, 3] {
            assert!(!request(&mut lru, k));
        }
        assert!(!request(&mut lru, 4)); // evicts 1
        assert!(!lru.contains(&1));
        assert!(!request(&mut lru, 5)); // evicts 2
        assert!(!lru.contains(&2));
        assert!(lru.contains(&3) && lru.contains(&4) && lru.contains(&5));
        assert!(!request(&mut lru, 1)); // evicts 3
        assert!(!lru.contains(&3));
        assert_eq!(lru.get(&4).cloned(), Some("v4".to_string()));
    }

    #[test]
    fn never_holds_more_than_its_capacity() {
        let mut lru = Lru::new(4);
        for k in 0..100 {
            request(&mut lru, k % 9);
            assert!(lru.len() <= 4);
        }
        assert_eq!(lru.len(), 4);
        // A capacity of zero is taken as one.
        let mut one = Lru::new(0);
        assert_eq!(one.capacity(), 1);
        request(&mut one, 1);
        request(&mut one, 2);
        assert_eq!(one.len(), 1);
        assert!(one.contains(&2) && !one.contains(&1));
    }

    #[test]
    fn hits_refresh_recency_and_lookups_do_not() {
        let mut lru = Lru::new(2);
        request(&mut lru, 1);
        request(&mut lru, 2);
        assert!(request(&mut lru, 1)); // 1 is now more recent than 2
        request(&mut lru, 3); // evicts 2
        assert!(lru.contains(&1) && !lru.contains(&2));
        // `contains` is not a use: 1 stays the least recently used.
        assert!(lru.contains(&1));
        request(&mut lru, 4); // evicts 1
        assert!(!lru.contains(&1) && lru.contains(&3) && lru.contains(&4));
    }

    #[test]
    fn an_evicted_slot_hands_its_value_to_the_new_key() {
        let mut lru: Lru<u32, Vec<u32>> = Lru::new(1);
        lru.insert_with(1, Vec::new).push(7);
        let mut made = false;
        let reused = lru.insert_with(2, || {
            made = true;
            Vec::new()
        });
        assert_eq!(reused, &vec![7]);
        assert!(!made);
        lru.clear();
        assert!(lru.is_empty() && !lru.contains(&2));
        assert!(lru.insert_with(2, Vec::new).is_empty());
    }
}
