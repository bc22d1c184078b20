//! The event queue: a timing wheel of small `(key, payload index)` entries with an overflow heap;
//! the events themselves wait in a slab and move only when scheduled and when popped. The key is
//! `(time, seq)`, where `seq` is assigned at scheduling time; that makes the order total and
//! deterministic: same-time events run in the order they were scheduled.
//!
//! Time is cut into slots of 2^20 ns (1.05 ms). Entries of the next 16,384 slots (17 s) go into
//! the slot's vector in O(1); later ones wait in a binary heap and move into the wheel as it
//! turns. When the wheel reaches a slot, that slot's entries are sorted once and popped in order;
//! entries scheduled into the current slot join its back when they sort last, and a small heap
//! otherwise. This works because the simulation is monotone: nothing is scheduled before the last
//! popped event. Entries stay in contiguous vectors and move at most twice, which keeps the queue
//! fast when millions of events are pending (a binary heap is memory-bound there, and a radix
//! heap moves entries many times).
//!
//! Cancellation frees the event's payload at once; its entry stays in the wheel and is skipped when
//! it comes up, because the payload slot it points to is empty or holds an event of another `seq`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::slab::Slab;
use crate::time::SimTime;

/// The order of events: time, then scheduling sequence.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    time: u64,
    seq: u64,
}

/// A scheduled event as the wheel holds it. Ordered by key alone (`payload` is unique per live
/// key, so the derived order agrees).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Entry {
    key: Key,
    payload: u32,
}

/// A handle to a scheduled event, used to cancel it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventKey(Entry);

const SLOT_BITS: u32 = 20;
const SLOTS: u64 = 1 << 14;
const WORDS: usize = (SLOTS / 64) as usize;

/// Wheel slots this close ahead of the current one get a recycled buffer on their first entry.
const RECYCLE_AHEAD: u64 = 256;
/// Buffers larger than this are freed rather than recycled, and at most `MAX_SPARE` wait for
/// reuse: recycling holds at most (`RECYCLE_AHEAD` + `MAX_SPARE`) × this many entries beyond the
/// pending ones. One slot is emptied for each slot that fills, so a few spares are enough.
const RECYCLE_MAX_CAPACITY: usize = 1 << 14;
const MAX_SPARE: usize = 16;

fn slot_of(key: Key) -> u64 {
    key.time >> SLOT_BITS
}

/// A deterministic priority queue of events with cancellation.
pub struct EventQueue<E> {
    /// Pending events with their `seq`, which tells a live entry from a cancelled one.
    payloads: Slab<(u64, E)>,
    /// Entries of the current slot in key order from `cursor` on: the slot's entries sorted once,
    /// then entries scheduled into it later that sort after all of them (the common case).
    current: Vec<Entry>,
    cursor: usize,
    /// Entries scheduled into the current slot that sort before its last entry. A heap, so that a
    /// burst of them (many replicas' short CPU jobs within one slot) costs O(log n) each.
    early: BinaryHeap<Reverse<Entry>>,
    current_slot: u64,
    /// `wheel[s % SLOTS]` holds the entries of slot `s`, for `current_slot < s < current_slot + SLOTS`.
    wheel: Vec<Vec<Entry>>,
    /// Bit `s % SLOTS` is set when that wheel slot holds entries.
    occupied: [u64; WORDS],
    /// Emptied slot buffers, reused by the next slots to fill so that busy slots do not grow
    /// their vectors from nothing each time.
    spare: Vec<Vec<Entry>>,
    overflow: BinaryHeap<Reverse<Entry>>,
    /// Scratch space for sorting a slot.
    sort_words: Vec<u64>,
    sorted: Vec<Entry>,
    /// Key of the last popped entry; every pending key is larger.
    last: Key,
    next_seq: u64,
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
            payloads: Slab::default(),
            current: Vec::new(),
            cursor: 0,
            early: BinaryHeap::new(),
            current_slot: 0,
            wheel: (0..SLOTS).map(|_| Vec::new()).collect(),
            occupied: [0; WORDS],
            spare: Vec::new(),
            overflow: BinaryHeap::new(),
            sort_words: Vec::new(),
            sorted: Vec::new(),
            last: Key::default(),
            // Sequence numbers start at 1 so that every key is above the initial `last`.
            next_seq: 1,
            live: 0,
        }
    }

    fn place(&mut self, entry: Entry) {
        let slot = slot_of(entry.key);
        if slot == self.current_slot {
            if self.current.last().is_none_or(|last| last.key < entry.key) {
                self.current.push(entry);
            } else {
                self.early.push(Reverse(entry));
            }
        } else if slot < self.current_slot + SLOTS {
            self.file_in_wheel(slot, entry);
        } else {
            self.overflow.push(Reverse(entry));
        }
    }

    /// Files an entry into a future slot. A slot receives its entries in `seq` order among equal
    /// times: entries from the overflow heap arrive in key order and before any entry scheduled
    /// straight into the slot (possible only once the slot is within the wheel's span, when the
    /// overflow holds nothing for it any more), and those arrive in `seq` order.
    fn file_in_wheel(&mut self, slot: u64, entry: Entry) {
        let index = (slot % SLOTS) as usize;
        let entries = &mut self.wheel[index];
        if entries.capacity() == 0
            && slot < self.current_slot + RECYCLE_AHEAD
            && let Some(buffer) = self.spare.pop()
        {
            *entries = buffer;
        }
        entries.push(entry);
        self.occupied[index / 64] |= 1 << (index % 64);
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
        let entry = Entry { key, payload: self.payloads.insert((key.seq, event)) };
        self.place(entry);
        self.live += 1;
        EventKey(entry)
    }

    /// Whether `entry` is still pending: its payload slot holds the event it was scheduled with.
    fn is_pending(&self, entry: Entry) -> bool {
        self.payloads.try_get(entry.payload).is_some_and(|(seq, _)| *seq == entry.key.seq)
    }

    /// Cancels a pending event; returns false if it already ran or was cancelled.
    pub fn cancel(&mut self, key: EventKey) -> bool {
        if !self.is_pending(key.0) {
            return false;
        }
        self.payloads.remove(key.0.payload);
        self.live -= 1;
        true
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

    /// Moves the wheel to the next slot holding entries and makes it current.
    fn advance(&mut self) -> bool {
        let next = match (self.next_occupied(), self.overflow.peek()) {
            (Some(slot), _) => slot,
            (None, Some(Reverse(entry))) => slot_of(entry.key),
            (None, None) => return false,
        };
        self.current_slot = next;
        while let Some(Reverse(entry)) = self.overflow.peek() {
            let slot = slot_of(entry.key);
            if slot >= next + SLOTS {
                break;
            }
            let Reverse(entry) = self.overflow.pop().expect("peeked");
            self.file_in_wheel(slot, entry);
        }
        let index = (next % SLOTS) as usize;
        self.occupied[index / 64] &= !(1 << (index % 64));
        // The slot's vector is left without an allocation: capacity kept in thousands of slots
        // would add up to more than the entries pending at any time; `spare` recycles instead.
        let mut finished = std::mem::replace(&mut self.current, std::mem::take(&mut self.wheel[index]));
        if finished.capacity() <= RECYCLE_MAX_CAPACITY && self.spare.len() < MAX_SPARE {
            finished.clear();
            self.spare.push(finished);
        }
        self.sort_current();
        self.cursor = 0;
        true
    }

    /// Puts the new current slot's entries in key order. Sorting one word per entry, its time
    /// within the slot above its index, is several times cheaper than sorting the entries, and
    /// gives key order because a slot receives its entries in `seq` order among equal times (see
    /// [`EventQueue::file_in_wheel`]).
    fn sort_current(&mut self) {
        const INDEX_BITS: u32 = 64 - SLOT_BITS;
        let mut words = std::mem::take(&mut self.sort_words);
        words.clear();
        words.extend(self.current.iter().enumerate().map(|(index, entry)| {
            debug_assert!((index as u64) < 1 << INDEX_BITS);
            ((entry.key.time & ((1 << SLOT_BITS) - 1)) << INDEX_BITS) | index as u64
        }));
        words.sort_unstable();
        let mut sorted = std::mem::take(&mut self.sorted);
        sorted.clear();
        sorted.extend(words.iter().map(|&word| self.current[(word & ((1 << INDEX_BITS) - 1)) as usize]));
        self.sorted = std::mem::replace(&mut self.current, sorted);
        self.sort_words = words;
    }

    /// Removes and returns the earliest live event, skipping cancelled ones.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        loop {
            let front = self.current.get(self.cursor);
            let from_early = match (front, self.early.peek()) {
                (Some(front), Some(Reverse(early))) => early.key < front.key,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            let next = if from_early {
                self.early.pop().map(|Reverse(entry)| entry)
            } else {
                front.copied().inspect(|_| self.cursor += 1)
            };
            let Some(entry) = next else {
                if self.advance() {
                    continue;
                }
                return None;
            };
            self.last = entry.key;
            if !self.is_pending(entry) {
                continue;
            }
            let (_, event) = self.payloads.remove(entry.payload);
            self.live -= 1;
            return Some((SimTime(entry.key.time), event));
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
