//! A small thread-local cache of freed heap blocks, by layout, for the futures [`spawn`]
//! boxes before their first poll.
//!
//! [`spawn`] must pin a future before polling it, and cannot move it afterwards, so it boxes
//! every future, even one that turns out to be ready on that first poll (no task is created).
//! For such calls the allocation and its `free` were a quarter of the cost. Here the block of
//! a future that finished on its first poll, or later as a task, is kept, and the next future
//! of the same layout is written into it.
//!
//! Invariants:
//! - every cached block was allocated by the global allocator with exactly the layout stored
//!   next to it, and holds no value (its previous contents were dropped in place);
//! - a block taken from the cache is owned by the `Box` built on it and freed by that `Box`
//!   (with `Layout::new::<T>()`, the layout it was cached under), or cached again;
//! - at most [`SLOTS`] blocks are kept per thread; they are released only at thread exit
//!   (never, for the OCaml main thread, which is the only user).
//!
//! [`spawn`]: crate::rust_to_ocaml::future::spawn

use std::alloc::Layout;
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;

/// Blocks kept per thread (one per distinct layout in use, typically a handful).
const SLOTS: usize = 4;

type Entry = Option<(Layout, NonNull<u8>)>;

struct Cache {
    entries: [Cell<Entry>; SLOTS],
}

impl Drop for Cache {
    fn drop(&mut self) {
        for entry in &self.entries {
            if let Some((layout, ptr)) = entry.take() {
                // SAFETY: cached blocks came from the global allocator with this layout and
                // hold no value (module invariant).
                unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) };
            }
        }
    }
}

thread_local! {
    static CACHE: Cache = const {
        Cache {
            entries: [const { Cell::new(None) }; SLOTS],
        }
    };
}

#[inline]
fn take(layout: Layout) -> Option<NonNull<u8>> {
    CACHE
        .try_with(|cache| {
            for entry in &cache.entries {
                if let Some((l, ptr)) = entry.get() {
                    if l == layout {
                        entry.set(None);
                        return Some(ptr);
                    }
                }
            }
            None
        })
        .ok()
        .flatten()
}

/// `Box::pin(make())`, reusing a cached block of the same layout if there is one. The value
/// is made once the block is found, so that it can be written straight into it.
#[inline(always)]
pub(crate) fn pin_with<T>(make: impl FnOnce() -> T) -> Pin<Box<T>> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        return Box::pin(make());
    }
    match take(layout) {
        Some(ptr) => {
            // `make` is user code: if it panics, the block (still holding no value) goes back
            // to the cache instead of being lost.
            let guard = Taken { layout, ptr };
            let value = make();
            std::mem::forget(guard);
            let ptr = ptr.as_ptr().cast::<T>();
            // SAFETY: the block was allocated by the global allocator with `Layout::new::<T>()`
            // and holds no value (module invariant), so writing a `T` and owning it with a
            // `Box` (which frees it with the same layout) is what `Box::new` would do.
            unsafe {
                ptr.write(value);
                Pin::new_unchecked(Box::from_raw(ptr))
            }
        }
        None => Box::pin(make()),
    }
}

/// A block taken from the cache, holding no value yet: put back if dropped (an unwind out of
/// the value's `make`), forgotten once the value is written into it.
struct Taken {
    layout: Layout,
    ptr: NonNull<u8>,
}

impl Drop for Taken {
    #[cold]
    fn drop(&mut self) {
        // SAFETY: taken from the cache (global allocator, this layout) and never written.
        unsafe { keep(self.layout, self.ptr) };
    }
}

/// Keeps an empty block for the next [`pin_with`] of that layout; frees it when the thread's
/// cache is gone.
///
/// # Safety
/// `ptr` was allocated by the global allocator with `layout`, holds no value, and is owned by
/// the caller, who gives it up.
#[inline(always)]
unsafe fn keep(layout: Layout, ptr: NonNull<u8>) {
    let kept = CACHE
        .try_with(|cache| {
            for entry in &cache.entries {
                if entry.get().is_none() {
                    entry.set(Some((layout, ptr)));
                    return true;
                }
            }
            // Full: replace the first entry (the newest layout is the likeliest to recur).
            if let Some((old_layout, old)) = cache.entries[0].replace(Some((layout, ptr))) {
                // SAFETY: a cached block: global allocator, this layout, no value.
                unsafe { std::alloc::dealloc(old.as_ptr(), old_layout) };
            }
            true
        })
        .unwrap_or(false);
    if !kept {
        // SAFETY: the function's contract (global allocator, this layout, no value); the
        // thread's cache is gone (thread exit).
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) };
    }
}

/// Drops the boxed value in place and keeps its block for the next [`pin_with`] of that layout.
/// Returns the panic its destructor raised, if any (the block is then freed, not kept).
/// Inlined into the stub of every ready call, as `pin_with` is.
#[inline(always)]
pub(crate) fn recycle<T>(boxed: Pin<Box<T>>) -> Option<Box<dyn std::any::Any + Send>> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        return catch_unwind(AssertUnwindSafe(|| drop(boxed))).err();
    }
    // SAFETY: the value is not moved: it is dropped in place below, as `Pin` allows.
    let raw = Box::into_raw(unsafe { Pin::into_inner_unchecked(boxed) });
    // SAFETY: `raw` owns a valid `T` (from the box); it is dropped once, here.
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| unsafe { raw.drop_in_place() })) {
        // The value counts as dropped (unwinding dropped the rest of it); free the block.
        // SAFETY: the block came from `Box<T>`, i.e. the global allocator with `layout`.
        unsafe { std::alloc::dealloc(raw.cast(), layout) };
        return Some(panic);
    }
    // SAFETY: `raw` came from a `Box`, so it is non-null.
    let ptr = unsafe { NonNull::new_unchecked(raw.cast::<u8>()) };
    // SAFETY: the block came from `Box<T>` (global allocator, `layout`), its value is dropped.
    unsafe { keep(layout, ptr) };
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_make_returns_the_block_to_the_cache() {
        let first = pin_with(|| [7u64; 5]);
        let block = &*first as *const [u64; 5];
        assert!(recycle(first).is_none());
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            pin_with::<[u64; 5]>(|| panic!("make panicked"))
        }));
        assert!(panicked.is_err());
        // The block the panicking `make` had taken is the one the next value gets.
        let next = pin_with(|| [9u64; 5]);
        assert_eq!(&*next as *const [u64; 5], block);
        assert_eq!(*next, [9u64; 5]);
        assert!(recycle(next).is_none());
    }
}
