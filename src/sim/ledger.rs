//! An append-only table indexed by ids that only grow (payments, attempts, drawn
//! arrivals), whose entries can be dropped once nothing refers to them. Runs with a
//! payment limit keep everything; the lab's open-ended runs drop what ended minutes ago,
//! so memory stays flat however long a class watches.
//!
//! Entries are boxed, so a dropped entry that cannot leave the front yet (an older one is
//! still live, say a payment held at an offline node) costs one pointer. `sweep` looks at
//! each entry once when it comes of age, and again only while it is still live.

use std::collections::VecDeque;
use std::ops::{Index, IndexMut};

#[derive(Clone, Debug)]
pub struct Ledger<T> {
    /// Id of the first slot still kept.
    base: usize,
    items: VecDeque<Option<Box<T>>>,
    /// Ids below this have been looked at by `sweep`.
    swept: usize,
    /// Entries `sweep` found of age but still live, to look at again.
    pinned: Vec<usize>,
}

impl<T> Default for Ledger<T> {
    fn default() -> Self {
        Ledger {
            base: 0,
            items: VecDeque::new(),
            swept: 0,
            pinned: Vec::new(),
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

    /// The first id whose slot is still kept (entries below it are gone).
    pub fn first_id(&self) -> usize {
        self.base
    }

    /// How many entries are still kept.
    pub fn kept(&self) -> usize {
        self.items.iter().filter(|s| s.is_some()).count()
    }

    pub fn push(&mut self, item: T) {
        self.items.push_back(Some(Box::new(item)));
    }

    /// The entry with this id, unless it was never given or has been dropped.
    pub fn get(&self, id: usize) -> Option<&T> {
        id.checked_sub(self.base)
            .and_then(|i| self.items.get(i))
            .and_then(|s| s.as_deref())
    }

    pub fn get_mut(&mut self, id: usize) -> Option<&mut T> {
        id.checked_sub(self.base)
            .and_then(|i| self.items.get_mut(i))
            .and_then(|s| s.as_deref_mut())
    }

    /// Drop entries from the front while `droppable` says so; returns how many.
    pub fn drop_front_while(&mut self, mut droppable: impl FnMut(&T) -> bool) -> usize {
        let mut n = 0;
        while let Some(front) = self.items.front() {
            match front {
                Some(t) if !droppable(t) => break,
                _ => {}
            }
            self.items.pop_front();
            self.base += 1;
            n += 1;
        }
        self.swept = self.swept.max(self.base);
        n
    }

    /// Drop every entry that has come of age and is done. `age(entry)` says whether the
    /// entry is old enough to look at (entries come of age in id order: the look stops at
    /// the first that is not); `done(entry)` whether nothing refers to it any more.
    pub fn sweep(&mut self, mut age: impl FnMut(&T) -> bool, mut done: impl FnMut(&T) -> bool) {
        let mut still = Vec::new();
        for id in std::mem::take(&mut self.pinned) {
            let i = id - self.base;
            match self.items[i].as_deref() {
                Some(t) if done(t) => self.items[i] = None,
                Some(_) => still.push(id),
                None => {}
            }
        }
        while self.swept < self.len() {
            let i = self.swept - self.base;
            let Some(t) = self.items[i].as_deref() else {
                self.swept += 1;
                continue;
            };
            if !age(t) {
                break;
            }
            if done(t) {
                self.items[i] = None;
            } else {
                still.push(self.swept);
            }
            self.swept += 1;
        }
        self.pinned = still;
        while self.items.front().is_some_and(Option::is_none) {
            self.items.pop_front();
            self.base += 1;
        }
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
        // Stops at the first entry to keep, even if later ones could go.
        assert_eq!(l.drop_front_while(|&v| v != 50), 1);
        assert_eq!(l[5], 50);
    }

    #[test]
    fn a_live_entry_does_not_hold_back_the_ones_after_it() {
        let mut l = Ledger::default();
        for i in 0..10 {
            l.push(i);
        }
        let live = std::cell::Cell::new(3);
        // Of age: below 8. Done: all but the live one.
        l.sweep(|&v| v < 8, |&v| v != live.get());
        assert_eq!(l.first_id(), 3, "the live entry stays, so its slot stays");
        assert_eq!(l[3], 3);
        assert_eq!(l.kept(), 3, "entries 3, 8 and 9");
        assert_eq!(l.get(4), None);
        assert_eq!(l[8], 8);
        // Once it is done too, everything of age goes.
        live.set(99);
        l.sweep(|&v| v < 9, |_| true);
        assert_eq!(l.first_id(), 9);
        assert_eq!(l[9], 9);
    }
}
