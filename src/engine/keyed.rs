//! A slab whose keys carry a generation, so that a key outliving its entry is recognised as
//! stale instead of reaching whatever entry reused the slot.
//!
//! Keys are handed to OCaml as immediate ints: `generation << 32 | index`, with generations
//! below 2^30, so every key is a non-negative OCaml int on 64-bit platforms.
//!
//! A slab that empties gives back its memory beyond [`RETAINED_CAPACITY`] entries: the tables
//! of tasks and awaited promises grow with the number alive at once, and a burst of a million
//! tasks would otherwise keep some 60 MB for the life of the process. Generations go on
//! counting across that, so keys from before stay stale.

use slab::Slab;

const GENERATION_MASK: u32 = (1 << 30) - 1;

/// Entries an empty slab keeps room for.
const RETAINED_CAPACITY: usize = 1024;

/// A slab of `T` addressed by generation-checked `i64` keys.
pub(crate) struct KeyedSlab<T> {
    entries: Slab<(u32, T)>,
    generation: u32,
}

impl<T> KeyedSlab<T> {
    pub(crate) const fn new() -> Self {
        KeyedSlab {
            entries: Slab::new(),
            generation: 0,
        }
    }

    #[inline]
    pub(crate) fn insert(&mut self, value: T) -> i64 {
        self.generation = self.generation.wrapping_add(1) & GENERATION_MASK;
        let index = self.entries.insert((self.generation, value));
        (i64::from(self.generation) << 32) | index as i64
    }

    #[inline]
    fn index(&self, key: i64) -> Option<usize> {
        let index = (key & 0xffff_ffff) as usize;
        let generation = (key >> 32) as u32;
        match self.entries.get(index) {
            Some((g, _)) if *g == generation => Some(index),
            _ => None,
        }
    }

    #[inline]
    pub(crate) fn get(&self, key: i64) -> Option<&T> {
        let index = self.index(key)?;
        Some(&self.entries[index].1)
    }

    #[inline]
    pub(crate) fn get_mut(&mut self, key: i64) -> Option<&mut T> {
        let index = self.index(key)?;
        Some(&mut self.entries[index].1)
    }

    #[inline]
    pub(crate) fn remove(&mut self, key: i64) -> Option<T> {
        let index = self.index(key)?;
        let (_, value) = self.entries.remove(index);
        self.release_spare_if_empty();
        Some(value)
    }

    /// Removes every entry; keys given out so far become stale.
    pub(crate) fn take_all(&mut self) -> Vec<T> {
        let all = self.entries.drain().map(|(_, value)| value).collect();
        self.release_spare_if_empty();
        all
    }

    #[inline]
    fn release_spare_if_empty(&mut self) {
        if self.entries.is_empty() && self.entries.capacity() > RETAINED_CAPACITY {
            self.entries = Slab::with_capacity(RETAINED_CAPACITY);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_find_their_entries_and_go_stale_once_removed() {
        let mut slab = KeyedSlab::new();
        let a = slab.insert("a");
        let b = slab.insert("b");
        assert!(a >= 0 && b >= 0 && a != b);
        assert_eq!(slab.remove(a), Some("a"));
        assert_eq!(slab.remove(a), None, "a removed key is stale");
        // The freed index is reused, under a new generation.
        let c = slab.insert("c");
        assert_eq!(c & 0xffff_ffff, a & 0xffff_ffff);
        assert_ne!(c, a);
        assert_eq!(slab.get_mut(a), None);
        assert_eq!(slab.get_mut(c), Some(&mut "c"));
        assert_eq!(slab.get(c), Some(&"c"));
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.len(), 2);
        let _ = b;
    }

    #[test]
    fn an_emptied_slab_gives_its_memory_back_and_old_keys_stay_stale() {
        let mut slab = KeyedSlab::new();
        let keys: Vec<i64> = (0..100_000).map(|i| slab.insert(i)).collect();
        assert!(slab.entries.capacity() >= 100_000);
        for &key in &keys[1..] {
            assert!(slab.remove(key).is_some());
        }
        assert!(
            slab.entries.capacity() >= 100_000,
            "not released while an entry is left"
        );
        assert_eq!(slab.remove(keys[0]), Some(0));
        assert!(slab.entries.capacity() <= RETAINED_CAPACITY);
        // Index 0 is reused by the fresh slab; the key that had it is still refused.
        let fresh = slab.insert(7);
        assert_eq!(fresh & 0xffff_ffff, keys[0] & 0xffff_ffff);
        assert_eq!(slab.remove(keys[0]), None);
        assert_eq!(slab.remove(fresh), Some(7));
    }

    #[test]
    fn take_all_releases_the_memory_too() {
        let mut slab = KeyedSlab::new();
        let keys: Vec<i64> = (0..5_000).map(|i| slab.insert(i)).collect();
        assert_eq!(slab.take_all().len(), 5_000);
        assert!(slab.entries.capacity() <= RETAINED_CAPACITY);
        assert!(keys.iter().all(|&key| slab.get_mut(key).is_none()));
    }
}
