//! The event queue: a timing wheel of `(key, event)` entries with an overflow heap. The key is
//! `(time, seq)`, where `seq` is assigned at scheduling time; that makes the order total and
//! deterministic: same-time events run in the order they were scheduled.
//!
//! Time is cut into slots of 2^20 ns (1.05 ms). Events of the next 16,384 slots (17 s) are
//! appended to the slot's chain of chunks (`chunks.rs`) in O(1); later ones wait in a binary heap
//! and move into the wheel as it turns. When the wheel reaches a slot, one 64-bit word per entry
//! (its time within the slot above its index) is sorted (`radix.rs`), and the entries are popped
//! in the words' order without being moved around; events scheduled into the current slot join
//! its back when they sort last, and a small heap otherwise. This works because the simulation is
//! monotone: nothing is scheduled before the last popped event. Events stay in contiguous chunks
//! and move at most twice, which keeps the queue fast when millions of events are pending (a
//! binary heap is memory-bound there, and a radix heap moves entries many times). Cancellation is
//! lazy: the key goes into a set and the entry is skipped when it comes up, or dropped when it
//! leaves the overflow heap. Only events scheduled as cancellable are looked up in that set; most
//! events (deliveries, CPU jobs) never are, and skip the lookup.

mod chunks;
mod radix;

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashSet};

use crate::id_hash::BuildIdHasher;
use crate::time::SimTime;
use chunks::{Chain, Chunks, place_of};

/// The order of events: time, then scheduling sequence. The sequence number's lowest bit marks
/// an event that may be cancelled; the others count up, so the order is unchanged by it.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    time: u64,
    seq: u64,
}

const CANCELLABLE: u64 = 1;

impl Key {
    fn cancellable(self) -> bool {
        self.seq & CANCELLABLE != 0
    }
}

/// Hashes the sequence number alone: it is unique per event.
impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.seq);
    }
}

/// A handle to a scheduled event, used to cancel it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventKey(Key);

impl EventKey {
    /// When the event is scheduled.
    pub fn time(self) -> SimTime {
        SimTime(self.0.time)
    }
}

const SLOT_BITS: u32 = 20;
const SLOTS: u64 = 1 << 14;
const WORDS: usize = (SLOTS / 64) as usize;
/// Bits of a sort word that hold an entry's index in its slot; the bits above hold its time
/// within the slot.
const INDEX_BITS: u32 = 64 - SLOT_BITS;

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

/// The sort word of the entry at `index` of its slot.
fn sort_word(key: Key, index: usize) -> u64 {
    debug_assert!((index as u64) < 1 << INDEX_BITS);
    ((key.time & ((1 << SLOT_BITS) - 1)) << INDEX_BITS) | index as u64
}

fn index_of(word: u64) -> usize {
    (word & ((1 << INDEX_BITS) - 1)) as usize
}

/// A deterministic priority queue of events with lazy cancellation.
pub struct EventQueue<E> {
    /// Every slot's events, in chains of chunks; the current slot's are taken out as they pop.
    slots: Chunks<(Key, E)>,
    /// Events of the current slot in arrival order: the slot's events, then events scheduled into
    /// it later that sort after all of them (the common case).
    current: Chain,
    /// The current slot's chunks in order, to find its `i`-th event.
    current_chunks: Vec<u32>,
    /// Sort words of the current slot's events in key order; those before `cursor` have popped.
    order: Vec<u64>,
    sorter: radix::Sorter,
    cursor: usize,
    /// Events scheduled into the current slot that sort before its last event. A heap, so that a
    /// burst of them (many replicas' short CPU jobs within one slot) costs O(log n) each.
    early: BinaryHeap<Reverse<Far<E>>>,
    current_slot: u64,
    /// `wheel[s % SLOTS]` holds the events of slot `s`, for `current_slot < s < current_slot + SLOTS`.
    wheel: Vec<Chain>,
    /// Bit `s % SLOTS` is set when that wheel slot holds events.
    occupied: [u64; WORDS],
    overflow: BinaryHeap<Reverse<Far<E>>>,
    /// Key of the last popped entry; every pending key is larger.
    last: Key,
    next_seq: u64,
    /// Keys cancelled but not yet popped. Only looked up, never iterated.
    cancelled: HashSet<Key, BuildIdHasher>,
    /// Cancelled events still in the overflow heap. Long timers that are nearly always cancelled
    /// (a request timeout of ten minutes) would pile up there, and in `cancelled`, for as long as
    /// their timeout; once they are half the heap, it is rebuilt without them.
    overflow_cancelled: usize,
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
            slots: Chunks::default(),
            current: Chain::EMPTY,
            current_chunks: Vec::new(),
            order: Vec::new(),
            sorter: radix::Sorter::default(),
            cursor: 0,
            early: BinaryHeap::new(),
            current_slot: 0,
            wheel: vec![Chain::EMPTY; SLOTS as usize],
            occupied: [0; WORDS],
            overflow: BinaryHeap::new(),
            last: Key::default(),
            // Sequence numbers start above 0 so that every key is above the initial `last`.
            next_seq: 2,
            cancelled: HashSet::default(),
            overflow_cancelled: 0,
            live: 0,
        }
    }

    /// The key of the current slot's last event; once that has popped, the last popped key
    /// (every later key sorts after both).
    fn current_last(&self) -> Option<Key> {
        let word = *self.order.last()?;
        let place = place_of(&self.current_chunks, index_of(word));
        Some(self.slots.get(place).map_or(self.last, |(key, _)| *key))
    }

    /// Inlined (with `schedule`, `file_in_wheel` and `Chunks::push`) so that the caller's event
    /// is written straight into its place. Called, the event was first stored on the stack field
    /// by field and then copied in wider loads, which the processor cannot forward from those
    /// stores: a stall on about every push (2.5 % of bitcoin-10k's instructions went too).
    #[inline(always)]
    fn place(&mut self, key: Key, event: E) {
        let slot = slot_of(key);
        if slot == self.current_slot {
            if self.current_last().is_none_or(|last| last < key) {
                self.order.push(sort_word(key, self.current.len()));
                if let Some(opened) = self.slots.push(&mut self.current, (key, event)) {
                    self.current_chunks.push(opened);
                }
            } else {
                self.early.push(Reverse(Far(key, event)));
            }
        } else if slot < self.current_slot + SLOTS {
            self.file_in_wheel(slot, key, event);
        } else {
            self.overflow.push(Reverse(Far(key, event)));
        }
    }

    /// Files an event into a future slot. A slot receives its events in `seq` order among equal
    /// times, which is what makes sorting by (time, index) sort by key: events from the overflow
    /// heap arrive in key order and before any event scheduled straight into the slot (possible
    /// only once the slot is within the wheel's span, when the overflow holds nothing for it any
    /// more), and those arrive in `seq` order.
    #[inline(always)]
    fn file_in_wheel(&mut self, slot: u64, key: Key, event: E) {
        let index = (slot % SLOTS) as usize;
        self.slots.push(&mut self.wheel[index], (key, event));
        self.occupied[index / 64] |= 1 << (index % 64);
    }

    /// Schedules `event` at `time`, never to be cancelled.
    ///
    /// # Panics
    /// In debug builds, if `time` is earlier than the last popped event (a logic error).
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) {
        self.schedule(time, 0, event);
    }

    /// Schedules `event` at `time` and returns a key that can cancel it.
    ///
    /// # Panics
    /// In debug builds, if `time` is earlier than the last popped event (a logic error).
    #[inline]
    pub fn push_cancellable(&mut self, time: SimTime, event: E) -> EventKey {
        EventKey(self.schedule(time, CANCELLABLE, event))
    }

    #[inline(always)]
    fn schedule(&mut self, time: SimTime, flag: u64, event: E) -> Key {
        let key = Key { time: time.0, seq: self.next_seq | flag };
        self.next_seq += 2;
        debug_assert!(key > self.last, "event scheduled in the past");
        self.place(key, event);
        self.live += 1;
        key
    }

    /// Whether no event is pending at or before `time`, which must lie in the slot of the last
    /// popped event. A cancelled event not yet skipped still counts as pending.
    pub fn is_clear_until(&self, time: SimTime) -> bool {
        debug_assert_eq!(slot_of(Key { time: time.0, seq: 0 }), self.current_slot, "time outside the current slot");
        let after = |key: Key| key.time > time.0;
        self.current_front().is_none_or(after) && self.early.peek().is_none_or(|Reverse(Far(key, _))| after(*key))
    }

    /// Cancels a pending event; returns false if it already ran. An event may be cancelled at
    /// most once: a cancelled event leaves the queue's books when it is dropped, and a second
    /// cancellation after that would count it again.
    pub fn cancel(&mut self, key: EventKey) -> bool {
        if key.0 <= self.last {
            return false;
        }
        if !self.cancelled.insert(key.0) {
            debug_assert!(false, "an event cancelled twice");
            return false;
        }
        self.live -= 1;
        // Overflow holds exactly the pending keys beyond the wheel's span.
        if slot_of(key.0) >= self.current_slot + SLOTS {
            self.overflow_cancelled += 1;
            if 2 * self.overflow_cancelled > self.overflow.len() {
                self.drop_cancelled_overflow();
            }
        }
        true
    }

    /// Rebuilds the overflow heap without its cancelled events, in time linear in its size:
    /// at least half of it goes, so this costs O(1) per cancellation.
    fn drop_cancelled_overflow(&mut self) {
        let cancelled = &mut self.cancelled;
        self.overflow.retain(|Reverse(Far(key, _))| !(key.cancellable() && cancelled.remove(key)));
        self.overflow_cancelled = 0;
    }

    /// Whether `key`, which has left the queue without running, was cancelled; forgets it.
    fn take_cancelled(&mut self, key: Key) -> bool {
        key.cancellable() && self.cancelled.remove(&key)
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
            let slot = slot_of(*key);
            if slot >= next + SLOTS {
                break;
            }
            let Reverse(Far(key, event)) = self.overflow.pop().expect("peeked");
            if self.take_cancelled(key) {
                self.overflow_cancelled -= 1;
                continue;
            }
            self.file_in_wheel(slot, key, event);
        }
        let index = (next % SLOTS) as usize;
        self.occupied[index / 64] &= !(1 << (index % 64));
        // Every event of the finished slot has popped.
        self.slots.release(self.current_chunks.drain(..));
        self.current = std::mem::replace(&mut self.wheel[index], Chain::EMPTY);
        self.slots.chunks_of(self.current, &mut self.current_chunks);
        // Sorting small words is several times cheaper than sorting the (large) entries.
        self.order.clear();
        self.order.extend((0..self.current.len()).map(|index| {
            let place = place_of(&self.current_chunks, index);
            let (key, _) = self.slots.get(place).expect("a wheel slot holds pending events");
            sort_word(*key, index)
        }));
        self.sorter.sort(&mut self.order);
        self.cursor = 0;
        true
    }

    /// The key of the current slot's next event in order, if any.
    fn current_front(&self) -> Option<Key> {
        let word = *self.order.get(self.cursor)?;
        self.slots.get(place_of(&self.current_chunks, index_of(word))).map(|(key, _)| *key)
    }

    /// The event `ahead` places after the next one in the current slot's order, if the slot
    /// holds one there: a guess at what comes soon, for prefetching (the early heap and
    /// cancellations are not accounted for). Reading it must not wait on memory either, so the
    /// entry twice as far ahead starts loading now.
    pub fn peek_ahead(&self, ahead: usize) -> Option<&E> {
        if let Some(&far) = self.order.get(self.cursor + 2 * ahead) {
            self.slots.prefetch(place_of(&self.current_chunks, index_of(far)));
        }
        let word = *self.order.get(self.cursor + ahead)?;
        self.slots.get(place_of(&self.current_chunks, index_of(word))).map(|(_, event)| event)
    }

    /// Removes and returns the earliest live event, skipping cancelled ones.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        loop {
            // The early heap is usually empty, and then the slot's next event is taken unseen.
            let from_early = self
                .early
                .peek()
                .is_some_and(|Reverse(Far(early, _))| self.current_front().is_none_or(|front| *early < front));
            let next = if from_early {
                self.early.pop().map(|Reverse(Far(key, event))| (key, event))
            } else {
                self.order.get(self.cursor).map(|&word| {
                    self.cursor += 1;
                    self.slots.take(place_of(&self.current_chunks, index_of(word))).expect("each event pops once")
                })
            };
            let Some((key, event)) = next else {
                if self.advance() {
                    continue;
                }
                return None;
            };
            self.last = key;
            if self.take_cancelled(key) {
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
        let a = q.push_cancellable(SimTime(1), 'a');
        q.push(SimTime(2), 'b');
        assert!(q.cancel(a));
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop(), Some((SimTime(2), 'b')));
        let c = q.push_cancellable(SimTime(3), 'c');
        assert!(!q.cancel(a));
        assert_eq!(q.pop(), Some((SimTime(3), 'c')));
        assert!(!q.cancel(c), "already ran");
        assert!(q.is_empty());
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn cancelled_events_beyond_the_wheel_do_not_pile_up() {
        let mut q = EventQueue::new();
        let far = |offset: u64| SimTime((1 << 40) + offset);
        q.push(far(0), 0);
        for i in 1..1_000 {
            let key = q.push_cancellable(far(i), i);
            assert!(q.cancel(key));
            assert!(q.overflow.len() <= 3 && q.cancelled.len() <= 2, "{} left at {i}", q.overflow.len());
        }
        let last = q.push_cancellable(far(2_000), 2_000);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop(), Some((far(0), 0)));
        assert_eq!(q.pop(), Some((far(2_000), 2_000)));
        assert!(!q.cancel(last), "already ran");
        assert_eq!(q.pop(), None);
        assert!(q.cancelled.is_empty());
    }

    #[test]
    fn clear_until_sees_events_due_now_and_earlier_ones_in_the_early_heap() {
        let mut q = EventQueue::new();
        q.push(SimTime(5), 'a');
        q.push(SimTime(9), 'b');
        assert_eq!(q.pop(), Some((SimTime(5), 'a')));
        assert!(q.is_clear_until(SimTime(5)));
        assert!(!q.is_clear_until(SimTime(9)));
        q.push(SimTime(5), 'c');
        assert!(!q.is_clear_until(SimTime(5)), "an event at the same time is pending");
        assert_eq!(q.pop(), Some((SimTime(5), 'c')));
        q.push(SimTime(6), 'd');
        assert!(!q.is_clear_until(SimTime(7)), "an event scheduled before the slot's last one");
        assert!(q.is_clear_until(SimTime(5)));
    }

    #[test]
    fn peek_ahead_sees_the_slot_s_coming_events_in_order() {
        let mut q = EventQueue::new();
        // Filed into a later slot, which is sorted when the queue reaches it.
        let at = |offset: u64| SimTime((1 << SLOT_BITS) + offset);
        for (offset, name) in [(40, 'e'), (10, 'b'), (30, 'd'), (5, 'a'), (20, 'c')] {
            q.push(at(offset), name);
        }
        q.push(SimTime(5 << SLOT_BITS), 'z');
        assert_eq!(q.pop(), Some((at(5), 'a')));
        let coming: Vec<Option<char>> = (0..5).map(|ahead| q.peek_ahead(ahead).copied()).collect();
        assert_eq!(coming, vec![Some('b'), Some('c'), Some('d'), Some('e'), None], "the next slot is not in view");
        q.push(at(35), 'x');
        assert_eq!(q.peek_ahead(2), Some(&'d'), "events scheduled before the slot's last are not in view");
        assert_eq!(q.pop(), Some((at(10), 'b')));
        assert_eq!(q.peek_ahead(0), Some(&'c'));
    }

    /// Delays from ties through one slot and the wheel's span to far beyond it (overflow).
    fn delays() -> impl proptest::strategy::Strategy<Value = u64> {
        use proptest::prelude::*;
        prop_oneof![0u64..3, 0u64..1_000_000, 0u64..(1 << 32), (1u64 << 32)..(1 << 36)]
    }

    proptest::proptest! {
        /// Interleaved pushes (never before the last pop), cancellations and pops come out in
        /// (time, seq) order, and the queue never claims to be clear while an event is due.
        #[test]
        fn matches_a_sorted_reference(
            ops in proptest::collection::vec((0u64..50, delays(), proptest::bool::ANY, 0u8..4), 1..400),
        ) {
            let mut q = EventQueue::new();
            let mut reference = std::collections::BTreeSet::new();
            let mut cancellable = std::collections::VecDeque::new();
            let mut now = 0u64;
            for (seq, (pops, delay, wide, cancel)) in ops.into_iter().enumerate() {
                let time = now + if wide { delay } else { delay % 3 };
                match cancel {
                    0 => q.push(SimTime(time), seq),
                    _ => cancellable.push_back((q.push_cancellable(SimTime(time), seq), (time, seq))),
                }
                reference.insert((time, seq));
                if cancel == 3 && let Some((key, entry)) = cancellable.pop_front() {
                    proptest::prop_assert_eq!(q.cancel(key), reference.remove(&entry));
                }
                // Popping an empty queue may turn the wheel past `now` (over cancelled events),
                // after which nothing may be scheduled; a simulation stops there.
                for _ in 0..(pops % 3).min(reference.len() as u64) {
                    if q.is_clear_until(SimTime(now)) {
                        proptest::prop_assert!(reference.first().is_none_or(|&(t, _)| t > now));
                    }
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
