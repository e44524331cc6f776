//! A slab whose keys carry a generation, so that a key outliving its entry is recognised as
//! stale instead of reaching whatever entry reused the slot.
//!
//! Keys are handed to OCaml as immediate ints: `generation << 32 | index`, with generations
//! below 2^30, so every key is a non-negative OCaml int on 64-bit platforms.

use slab::Slab;

const GENERATION_MASK: u32 = (1 << 30) - 1;

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
    pub(crate) fn get_mut(&mut self, key: i64) -> Option<&mut T> {
        let index = self.index(key)?;
        Some(&mut self.entries[index].1)
    }

    #[inline]
    pub(crate) fn remove(&mut self, key: i64) -> Option<T> {
        let index = self.index(key)?;
        Some(self.entries.remove(index).1)
    }

    /// Removes every entry; keys given out so far become stale.
    pub(crate) fn take_all(&mut self) -> Vec<T> {
        self.entries.drain().map(|(_, value)| value).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
