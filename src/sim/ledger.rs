//! An append-only table indexed by ids that only grow (payments, attempts, drawn
//! arrivals), whose oldest entries can be dropped once nothing refers to them. Runs with a
//! payment limit keep everything; the lab's open-ended runs drop what is minutes old, so
//! memory stays flat however long a class watches.

use std::collections::VecDeque;
use std::ops::{Index, IndexMut};

#[derive(Clone, Debug)]
pub struct Ledger<T> {
    /// Id of the first entry still kept.
    base: usize,
    items: VecDeque<T>,
}

impl<T> Default for Ledger<T> {
    fn default() -> Self {
        Ledger {
            base: 0,
            items: VecDeque::new(),
        }
    }
}

impl<T> Ledger<T> {
    /// The id the next entry gets (every id ever given is below it).
    pub fn len(&self) -> usize {
        self.base + self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first id still kept.
    pub fn first_id(&self) -> usize {
        self.base
    }

    pub fn push(&mut self, item: T) {
        self.items.push_back(item);
    }

    /// The entry with this id, unless it was never given or has been dropped.
    pub fn get(&self, id: usize) -> Option<&T> {
        id.checked_sub(self.base).and_then(|i| self.items.get(i))
    }

    pub fn get_mut(&mut self, id: usize) -> Option<&mut T> {
        id.checked_sub(self.base)
            .and_then(|i| self.items.get_mut(i))
    }

    /// The entries still kept, with their ids.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &T)> + '_ {
        self.items
            .iter()
            .enumerate()
            .map(move |(i, t)| (self.base + i, t))
    }

    /// Drop entries from the front while `droppable` says so; returns how many.
    pub fn drop_front_while(&mut self, mut droppable: impl FnMut(&T) -> bool) -> usize {
        let mut n = 0;
        while self.items.front().is_some_and(&mut droppable) {
            self.items.pop_front();
            self.base += 1;
            n += 1;
        }
        n
    }
}

/// Engine code only indexes entries it knows are kept (live payments and attempts).
impl<T> Index<usize> for Ledger<T> {
    type Output = T;
    fn index(&self, id: usize) -> &T {
        self.get(id)
            .unwrap_or_else(|| panic!("entry {id} was dropped or never existed"))
    }
}

impl<T> IndexMut<usize> for Ledger<T> {
    fn index_mut(&mut self, id: usize) -> &mut T {
        self.get_mut(id)
            .unwrap_or_else(|| panic!("entry {id} was dropped or never existed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_survive_dropping_the_front() {
        let mut l = Ledger::default();
        for i in 0..10 {
            l.push(i * 10);
        }
        assert_eq!(l.drop_front_while(|&v| v < 40), 4);
        assert_eq!(l.first_id(), 4);
        assert_eq!(l.len(), 10, "ids keep growing from where they were");
        assert_eq!(l[4], 40);
        assert_eq!(l.get(3), None);
        assert_eq!(l.get(10), None);
        l.push(100);
        assert_eq!(l[10], 100);
        assert_eq!(l.iter().next(), Some((4, &40)));
        // Stops at the first entry to keep, even if later ones could go.
        assert_eq!(l.drop_front_while(|&v| v != 50), 1);
        assert_eq!(l[5], 50);
    }
}
