//! A monotone priority queue on `u64` keys (a radix heap), for Dijkstra searches: each
//! popped key is at least the one popped before it, so an item only needs sorting by the
//! highest bit in which its key differs from that last key. Pushing is appending to one of
//! 64 buckets; popping empties the lowest non-empty bucket only when the items of the last
//! key are used up, spreading its items into lower buckets. An item moves down at most 64
//! times, in practice once or twice, against a binary heap's ~log2(n) sift steps per pop.
//! Among equal keys it pops the largest item first: the order of a
//! `BinaryHeap<(Reverse(key), item)>`, so it replaces one without changing a search's
//! results.

use std::collections::BinaryHeap;

#[derive(Debug)]
pub struct RadixHeap<T> {
    /// The last key popped (0 when new or cleared): every key in the heap is at least this.
    last: u64,
    /// The items whose key is `last`, largest first.
    ties: BinaryHeap<T>,
    /// Bucket `i` holds the keys whose highest bit differing from `last` is bit `i`.
    buckets: [Vec<(u64, T)>; 64],
    len: usize,
}

impl<T: Ord> Default for RadixHeap<T> {
    fn default() -> Self {
        RadixHeap {
            last: 0,
            ties: BinaryHeap::new(),
            buckets: std::array::from_fn(|_| Vec::new()),
            len: 0,
        }
    }
}

impl<T: Ord> RadixHeap<T> {
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Add an item. Its key must not be below the last key popped (the queue is monotone);
    /// a smaller one is raised to it, so a misuse costs order, never memory safety.
    pub fn push(&mut self, key: u64, item: T) {
        debug_assert!(key >= self.last, "radix heap: {key} below {}", self.last);
        self.len += 1;
        if key <= self.last {
            self.ties.push(item);
        } else {
            let bit = u64::BITS - 1 - (key ^ self.last).leading_zeros();
            self.buckets[bit as usize].push((key, item));
        }
    }

    /// Remove and return an item of the smallest key (the largest such item).
    pub fn pop(&mut self) -> Option<(u64, T)> {
        if self.is_empty() {
            return None;
        }
        if self.ties.is_empty() {
            let i = self.buckets.iter().position(|b| !b.is_empty())?;
            let mut spill = std::mem::take(&mut self.buckets[i]);
            self.last = spill.iter().map(|&(k, _)| k).min()?;
            // Every key of bucket i shares its bits above i with the new last key, so each
            // lands among the ties or in a bucket below i.
            for (key, item) in spill.drain(..) {
                self.len -= 1;
                self.push(key, item);
            }
            // Keep the emptied bucket's allocation for later pushes.
            self.buckets[i] = spill;
        }
        self.len -= 1;
        self.ties.pop().map(|item| (self.last, item))
    }

    /// Empty the queue, keeping its allocations.
    pub fn clear(&mut self) {
        for b in &mut self.buckets {
            b.clear();
        }
        self.ties.clear();
        self.last = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cmp::Reverse;

    proptest! {
        /// Used as Dijkstra uses it (pushes interleaved with pops, never below the last
        /// key popped), it pops exactly what a binary heap of (Reverse(key), item) pops:
        /// the smallest key, and among equal keys the largest item.
        #[test]
        fn pops_what_a_binary_heap_pops_under_monotone_use(
            ops in proptest::collection::vec((any::<bool>(), 0u64..1 << 40, 0u32..8), 1..400),
        ) {
            let mut heap = RadixHeap::default();
            let mut model = BinaryHeap::new();
            let mut last = 0u64;
            for (pop, delta, item) in ops {
                if pop && !model.is_empty() {
                    let (Reverse(want_key), want_item) = model.pop().expect("non-empty");
                    prop_assert_eq!(heap.pop(), Some((want_key, want_item)));
                    last = want_key;
                } else {
                    // Keys at the last one popped (ties), near it, and far beyond it.
                    let key = last + delta % (1 << (delta % 41));
                    heap.push(key, item);
                    model.push((Reverse(key), item));
                }
                prop_assert_eq!(heap.is_empty(), model.is_empty());
            }
            while let Some((Reverse(key), item)) = model.pop() {
                prop_assert_eq!(heap.pop(), Some((key, item)));
                last = key;
            }
            prop_assert!(heap.pop().is_none());
            heap.push(last + 3, 1);
            heap.clear();
            prop_assert!(heap.is_empty() && heap.pop().is_none());
        }
    }
}
