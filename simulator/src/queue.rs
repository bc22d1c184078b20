//! The event queue: a radix heap of `(key, event)` entries. The key is `time · 2^64 + seq`, where
//! `seq` is assigned at scheduling time; that makes the order total and deterministic:
//! same-time events run in the order they were scheduled.
//!
//! A radix heap works because the simulation is monotone: nothing is scheduled before the last
//! popped `(time, seq)`. Entries live in buckets by the highest bit in which their key differs
//! from the last popped key; popping refills bucket 0 from the lowest non-empty bucket. Each entry
//! moves down a bucket only a few times, and buckets are contiguous vectors holding the events
//! themselves, which keeps the queue fast when millions of events are pending (a binary heap is
//! memory-bound there). Cancellation is lazy: the key goes into a set and the entry is skipped
//! when it comes up.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use crate::time::SimTime;

/// The order of events: time, then scheduling sequence. Two `u64`s rather than one `u128`, so
/// that queue entries need only 8-byte alignment (entries are moved between buckets).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    time: u64,
    seq: u64,
}

/// Hashes a key by its sequence number alone (unique per event), with one multiplication: the
/// cancellation set is hot when links reschedule often, and it is never iterated.
#[derive(Default)]
struct SeqHasher(u64);

impl Hasher for SeqHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0 ^ value).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A handle to a scheduled event, used to cancel it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventKey(Key);

const BUCKETS: usize = 129;

/// A deterministic priority queue of events with lazy cancellation.
pub struct EventQueue<E> {
    buckets: Vec<Vec<(Key, E)>>,
    /// Bit `i` of word `i / 64` is set when bucket `i` is non-empty, so the lowest non-empty
    /// bucket is found without scanning the buckets themselves.
    occupied: [u64; BUCKETS.div_ceil(64)],
    /// Key of the last popped entry; every pending key is larger.
    last: Key,
    next_seq: u64,
    /// Keys cancelled but not yet popped. Only looked up, never iterated.
    cancelled: HashSet<Key, BuildHasherDefault<SeqHasher>>,
    live: usize,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            buckets: (0..BUCKETS).map(|_| Vec::new()).collect(),
            occupied: [0; BUCKETS.div_ceil(64)],
            last: Key::default(),
            // Sequence numbers start at 1 so that every key is above the initial `last`.
            next_seq: 1,
            cancelled: HashSet::default(),
            live: 0,
        }
    }

    #[inline]
    /// Index of the highest bit in which `key` differs from `last`, counting the 128-bit
    /// `time · 2^64 + seq` from 1; 0 when equal.
    fn bucket(&self, key: Key) -> usize {
        let time = key.time ^ self.last.time;
        if time != 0 {
            128 - time.leading_zeros() as usize
        } else {
            64 - (key.seq ^ self.last.seq).leading_zeros() as usize
        }
    }

    #[inline]
    fn place(&mut self, key: Key, event: E) {
        let b = self.bucket(key);
        self.buckets[b].push((key, event));
        self.occupied[b / 64] |= 1 << (b % 64);
    }

    fn lowest_occupied(&self) -> Option<usize> {
        self.occupied.iter().enumerate().find(|(_, w)| **w != 0).map(|(i, w)| i * 64 + w.trailing_zeros() as usize)
    }

    /// Schedules `event` at `time` and returns a key that can cancel it.
    ///
    /// # Panics
    /// In debug builds, if `time` is earlier than the last popped event (a logic error).
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) -> EventKey {
        let key = Key { time: time.0, seq: self.next_seq };
        self.next_seq += 1;
        debug_assert!(key > self.last, "event scheduled in the past");
        self.place(key, event);
        self.live += 1;
        EventKey(key)
    }

    /// Cancels a pending event; returns false if it already ran or was cancelled.
    pub fn cancel(&mut self, key: EventKey) -> bool {
        if key.0 <= self.last {
            return false;
        }
        let fresh = self.cancelled.insert(key.0);
        if fresh {
            self.live -= 1;
        }
        fresh
    }

    /// Removes and returns the earliest live event, skipping cancelled ones.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        loop {
            if self.buckets[0].is_empty() {
                let i = self.lowest_occupied()?;
                let mut moving = std::mem::take(&mut self.buckets[i]);
                self.occupied[i / 64] &= !(1 << (i % 64));
                self.last = moving.iter().map(|&(k, _)| k).min().expect("bucket is not empty");
                for (key, event) in moving.drain(..) {
                    self.place(key, event);
                }
                // Keep the emptied bucket's allocation for reuse.
                self.buckets[i] = moving;
            }
            let (key, event) = self.buckets[0].pop().expect("bucket 0 was just filled");
            if self.buckets[0].is_empty() {
                self.occupied[0] &= !1;
            }
            if !self.cancelled.is_empty() && self.cancelled.remove(&key) {
                continue;
            }
            self.live -= 1;
            return Some((SimTime(key.time), event));
        }
    }

    /// Number of live (not cancelled) pending events.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no live event is pending.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_scheduling_order() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), "c");
        q.push(SimTime(1), "a");
        q.push(SimTime(5), "d");
        q.push(SimTime(1), "b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(t, e)| (t.0, e)).collect();
        assert_eq!(order, vec![(1, "a"), (1, "b"), (5, "c"), (5, "d")]);
    }

    #[test]
    fn cancelled_events_never_pop_and_stale_keys_do_nothing() {
        let mut q = EventQueue::new();
        let a = q.push(SimTime(1), 'a');
        q.push(SimTime(2), 'b');
        assert!(q.cancel(a));
        assert!(!q.cancel(a));
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop(), Some((SimTime(2), 'b')));
        let c = q.push(SimTime(3), 'c');
        assert!(!q.cancel(a));
        assert_eq!(q.pop(), Some((SimTime(3), 'c')));
        assert!(!q.cancel(c), "already ran");
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
    }

    proptest::proptest! {
        /// Interleaved pushes (never before the last pop) and pops come out in (time, seq) order.
        #[test]
        fn matches_a_sorted_reference(ops in proptest::collection::vec((0u64..50, 0u64..1_000_000, proptest::bool::ANY), 1..400)) {
            let mut q = EventQueue::new();
            let mut reference = std::collections::BTreeSet::new();
            let mut now = 0u64;
            for (seq, (pops, delay, wide)) in ops.into_iter().enumerate() {
                let time = now + if wide { delay } else { delay % 3 };
                q.push(SimTime(time), seq);
                reference.insert((time, seq));
                for _ in 0..pops % 3 {
                    let expected = reference.pop_first();
                    let got = q.pop().map(|(t, s)| (t.0, s));
                    proptest::prop_assert_eq!(got, expected);
                    if let Some((t, _)) = got {
                        now = t;
                    }
                }
            }
            while let Some(expected) = reference.pop_first() {
                proptest::prop_assert_eq!(q.pop().map(|(t, s)| (t.0, s)), Some(expected));
            }
            proptest::prop_assert_eq!(q.pop(), None);
        }
    }
}
