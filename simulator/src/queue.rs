//! The event queue: a timing wheel of `(key, event)` entries with an overflow heap. The key is
//! `(time, seq)`, where `seq` is assigned at scheduling time; that makes the order total and
//! deterministic: same-time events run in the order they were scheduled.
//!
//! Time is cut into slots of 2^20 ns (1.05 ms). Events of the next 16,384 slots (17 s) go into
//! the slot's vector in O(1); later ones wait in a binary heap and move into the wheel as it
//! turns. When the wheel reaches a slot, that slot's events are sorted once and popped in order;
//! events scheduled into the current slot join its back when they sort last, and a small heap
//! otherwise. This works because the simulation is monotone: nothing is scheduled before the last
//! popped event. Events stay in contiguous vectors and move at most twice, which keeps the queue
//! fast when millions of events are pending (a binary heap is memory-bound there, and a radix
//! heap moves entries many times). Cancellation is lazy: the key goes into a set and the entry is
//! skipped when it comes up.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};

use crate::time::SimTime;

/// The order of events: time, then scheduling sequence.
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

const SLOT_BITS: u32 = 20;
const SLOTS: u64 = 1 << 14;
const WORDS: usize = (SLOTS / 64) as usize;

fn slot_of(key: Key) -> u64 {
    key.time >> SLOT_BITS
}

/// An event beyond the wheel, ordered by key alone (earliest on top of the heap).
struct Far<E>(Key, E);

impl<E> PartialEq for Far<E> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl<E> Eq for Far<E> {}
impl<E> PartialOrd for Far<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Far<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

/// A deterministic priority queue of events with lazy cancellation.
pub struct EventQueue<E> {
    /// Events of the current slot, in key order: the slot's events sorted once, plus events
    /// scheduled later that sort after all of them (the common case), appended at the back.
    current: VecDeque<(Key, E)>,
    /// Events scheduled into the current slot that sort before its last event. A heap, so that a
    /// burst of them (many replicas' short CPU jobs within one slot) never shifts the deque.
    early: BinaryHeap<Reverse<Far<E>>>,
    current_slot: u64,
    /// `wheel[s % SLOTS]` holds the events of slot `s`, for `current_slot < s < current_slot + SLOTS`.
    wheel: Vec<Vec<(Key, E)>>,
    /// Bit `s % SLOTS` is set when that wheel slot holds events.
    occupied: [u64; WORDS],
    overflow: BinaryHeap<Reverse<Far<E>>>,
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
            current: VecDeque::new(),
            early: BinaryHeap::new(),
            current_slot: 0,
            wheel: (0..SLOTS).map(|_| Vec::new()).collect(),
            occupied: [0; WORDS],
            overflow: BinaryHeap::new(),
            last: Key::default(),
            // Sequence numbers start at 1 so that every key is above the initial `last`.
            next_seq: 1,
            cancelled: HashSet::default(),
            live: 0,
        }
    }

    fn place(&mut self, key: Key, event: E) {
        let slot = slot_of(key);
        if slot == self.current_slot {
            if self.current.back().is_none_or(|(last, _)| *last < key) {
                self.current.push_back((key, event));
            } else {
                self.early.push(Reverse(Far(key, event)));
            }
        } else if slot < self.current_slot + SLOTS {
            let index = (slot % SLOTS) as usize;
            self.wheel[index].push((key, event));
            self.occupied[index / 64] |= 1 << (index % 64);
        } else {
            self.overflow.push(Reverse(Far(key, event)));
        }
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

    /// The first occupied wheel slot after the current one, in time order.
    fn next_occupied(&self) -> Option<u64> {
        let start = (self.current_slot + 1) % SLOTS;
        // Scan the words circularly from `start`; the first word is masked below `start`.
        for step in 0..=WORDS {
            let word_index = (start as usize / 64 + step) % WORDS;
            let mut word = self.occupied[word_index];
            if step == 0 {
                word &= u64::MAX << (start % 64);
            }
            if step == WORDS {
                word &= !(u64::MAX << (start % 64));
            }
            if word != 0 {
                let index = (word_index * 64) as u64 + u64::from(word.trailing_zeros());
                let ahead = (index + SLOTS - start) % SLOTS + 1;
                return Some(self.current_slot + ahead);
            }
        }
        None
    }

    /// Moves the wheel to the next slot holding events and makes it current.
    fn advance(&mut self) -> bool {
        let next = match (self.next_occupied(), self.overflow.peek()) {
            (Some(slot), _) => slot,
            (None, Some(Reverse(Far(key, _)))) => slot_of(*key),
            (None, None) => return false,
        };
        self.current_slot = next;
        while let Some(Reverse(Far(key, _))) = self.overflow.peek() {
            if slot_of(*key) >= next + SLOTS {
                break;
            }
            let Reverse(Far(key, event)) = self.overflow.pop().expect("peeked");
            let index = (slot_of(key) % SLOTS) as usize;
            self.wheel[index].push((key, event));
            self.occupied[index / 64] |= 1 << (index % 64);
        }
        let index = (next % SLOTS) as usize;
        self.occupied[index / 64] &= !(1 << (index % 64));
        // Take the slot's events in key order. The slot starts empty again without keeping an
        // allocation: retained capacity in thousands of slots would add up to more than the
        // events pending at any time.
        let mut events = std::mem::take(&mut self.wheel[index]);
        events.sort_unstable_by_key(|entry| entry.0);
        self.current = VecDeque::from(events);
        true
    }

    /// Removes and returns the earliest live event, skipping cancelled ones.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        loop {
            let from_early = match (self.current.front(), self.early.peek()) {
                (Some((front, _)), Some(Reverse(Far(early, _)))) => early < front,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            let next = if from_early {
                self.early.pop().map(|Reverse(Far(key, event))| (key, event))
            } else {
                self.current.pop_front()
            };
            let Some((key, event)) = next else {
                if self.advance() {
                    continue;
                }
                return None;
            };
            self.last = key;
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

    /// Delays from ties through one slot and the wheel's span to far beyond it (overflow).
    fn delays() -> impl proptest::strategy::Strategy<Value = u64> {
        use proptest::prelude::*;
        prop_oneof![0u64..3, 0u64..1_000_000, 0u64..(1 << 32), (1u64 << 32)..(1 << 36)]
    }

    proptest::proptest! {
        /// Interleaved pushes (never before the last pop) and pops come out in (time, seq) order.
        #[test]
        fn matches_a_sorted_reference(ops in proptest::collection::vec((0u64..50, delays(), proptest::bool::ANY), 1..400)) {
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
