//! Storage of the wheel slots' events: fixed-size chunks carved from one arena, chained per slot
//! in arrival order. A slot grows by linking another chunk, so no event is ever copied to make
//! room, and the chunks of a slot that has run go straight back to a free list. The next slot to
//! fill takes the chunk freed last, which is still in cache.

use std::mem::ManuallyDrop;

/// Entries per chunk: small enough that the thousands of sparsely filled future slots (timers)
/// waste little, large enough that a slot's events sit in a few contiguous runs.
const CHUNK_BITS: u32 = 3;
const CHUNK: usize = 1 << CHUNK_BITS;
const NONE: u32 = u32::MAX;

/// A slot's entries: chunks linked from `head` to `tail`, the first `len` places used.
#[derive(Copy, Clone, Debug)]
pub(super) struct Chain {
    head: u32,
    tail: u32,
    len: u32,
}

impl Chain {
    pub(super) const EMPTY: Chain = Chain { head: NONE, tail: NONE, len: 0 };

    /// Number of entries.
    pub(super) fn len(self) -> usize {
        self.len as usize
    }
}

/// `CHUNK` places; a place is `None` when free or already taken. Aligned to a cache line, so
/// that an entry of 64 bytes (a typical event) occupies one line rather than straddling two.
///
/// Places are `ManuallyDrop` so that filling one is a plain store: assigning an `Option` would
/// first read the old value to drop it, a load that misses the cache and stalls on most pushes,
/// although a place being filled is always `None`. [`Chunks`] drops what is left when dropped.
#[repr(align(64))]
struct Chunk<T>([ManuallyDrop<Option<T>>; CHUNK]);

/// The arena of chunks.
pub(super) struct Chunks<T> {
    places: Vec<Chunk<T>>,
    /// The chunk after each chunk in its chain.
    next: Vec<u32>,
    /// Chunks holding nothing, the most recently freed last.
    free: Vec<u32>,
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks { places: Vec::new(), next: Vec::new(), free: Vec::new() }
    }
}

/// Where the `index`-th entry of a chain lies, given its chunks in order.
#[inline]
pub(super) fn place_of(chunks: &[u32], index: usize) -> usize {
    ((chunks[index >> CHUNK_BITS] as usize) << CHUNK_BITS) | (index & (CHUNK - 1))
}

impl<T> Chunks<T> {
    fn allocate(&mut self) -> u32 {
        if let Some(chunk) = self.free.pop() {
            self.next[chunk as usize] = NONE;
            return chunk;
        }
        let chunk = u32::try_from(self.next.len()).ok().filter(|&c| c != NONE).expect("fewer than 2^32 - 1 chunks");
        self.next.push(NONE);
        self.places.push(Chunk(std::array::from_fn(|_| ManuallyDrop::new(None))));
        chunk
    }

    /// Appends `value` to `chain`; returns the chunk it opened, if it needed a new one.
    #[inline(always)]
    pub(super) fn push(&mut self, chain: &mut Chain, value: T) -> Option<u32> {
        let offset = chain.len as usize & (CHUNK - 1);
        let opened = (offset == 0).then(|| {
            let chunk = self.allocate();
            match chain.tail {
                NONE => chain.head = chunk,
                tail => self.next[tail as usize] = chunk,
            }
            chain.tail = chunk;
            chunk
        });
        self.places[chain.tail as usize].0[offset] = ManuallyDrop::new(Some(value));
        chain.len = chain.len.checked_add(1).expect("fewer than 2^32 events in one slot");
        opened
    }

    /// Appends the chunks of `chain`, in order, to `out`.
    pub(super) fn chunks_of(&self, chain: Chain, out: &mut Vec<u32>) {
        let mut chunk = chain.head;
        while chunk != NONE {
            out.push(chunk);
            chunk = self.next[chunk as usize];
        }
    }

    #[inline]
    fn at(&self, place: usize) -> &ManuallyDrop<Option<T>> {
        &self.places[place >> CHUNK_BITS].0[place & (CHUNK - 1)]
    }

    /// The entry at `place`, unless taken.
    #[inline]
    pub(super) fn get(&self, place: usize) -> Option<&T> {
        self.at(place).as_ref()
    }

    /// Starts loading the entry at `place` into the cache.
    #[inline]
    pub(super) fn prefetch(&self, place: usize) {
        crate::prefetch::prefetch(self.at(place));
    }

    /// Takes the entry at `place` out.
    #[inline]
    pub(super) fn take(&mut self, place: usize) -> Option<T> {
        Option::take(&mut self.places[place >> CHUNK_BITS].0[place & (CHUNK - 1)])
    }

    /// Returns chunks whose entries have all been taken to the free list.
    pub(super) fn release(&mut self, chunks: impl DoubleEndedIterator<Item = u32>) {
        // Reversed, so that the chain's first chunk is the next one reused.
        for chunk in chunks.rev() {
            debug_assert!(self.places[chunk as usize].0.iter().all(|place| place.is_none()));
            self.free.push(chunk);
        }
    }
}

impl<T> Drop for Chunks<T> {
    fn drop(&mut self) {
        for chunk in &mut self.places {
            for place in &mut chunk.0 {
                drop(Option::take(place));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_keep_arrival_order_and_reuse_released_chunks() {
        let mut store = Chunks::default();
        let (mut a, mut b) = (Chain::EMPTY, Chain::EMPTY);
        for i in 0..20 {
            store.push(if i % 3 == 0 { &mut a } else { &mut b }, i);
        }
        let mut chunks = Vec::new();
        store.chunks_of(a, &mut chunks);
        let values: Vec<i32> = (0..a.len()).map(|i| *store.get(place_of(&chunks, i)).unwrap()).collect();
        assert_eq!(values, (0..20).filter(|i| i % 3 == 0).collect::<Vec<_>>());
        for i in 0..a.len() {
            store.take(place_of(&chunks, i));
        }
        let arena = store.next.len();
        store.release(chunks.drain(..));
        let mut c = Chain::EMPTY;
        for i in 0..a.len() as i32 {
            store.push(&mut c, i);
        }
        assert_eq!(store.next.len(), arena, "released chunks are reused before the arena grows");
        store.chunks_of(b, &mut chunks);
        let values: Vec<i32> = (0..b.len()).map(|i| *store.get(place_of(&chunks, i)).unwrap()).collect();
        assert_eq!(values, (0..20).filter(|i| i % 3 != 0).collect::<Vec<_>>());
    }

    #[test]
    fn entries_left_behind_are_dropped_with_the_store() {
        let shared = std::rc::Rc::new(());
        let mut store = Chunks::default();
        let mut chain = Chain::EMPTY;
        for _ in 0..11 {
            store.push(&mut chain, std::rc::Rc::clone(&shared));
        }
        assert_eq!(std::rc::Rc::strong_count(&shared), 12);
        drop(store);
        assert_eq!(std::rc::Rc::strong_count(&shared), 1);
    }
}
