//! Pending timers by id. A `TimerId` names a slot of a table and the slot's generation, which
//! counts its uses: setting, cancelling and firing a timer are array accesses, and an id kept
//! after its timer fired or was cancelled matches no later timer of the same slot.

use crate::protocol::TimerId;
use crate::queue::EventKey;

/// One slot: its generation and, while its timer is pending, the timer's queue key.
#[derive(Clone, Debug, Default)]
struct Slot {
    generation: u32,
    key: Option<EventKey>,
}

/// The table of timers; freed slots are reused, the most recently freed first.
#[derive(Clone, Debug, Default)]
pub(crate) struct TimerTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

fn split(id: TimerId) -> (usize, u32) {
    ((id.0 & u64::from(u32::MAX)) as usize, (id.0 >> 32) as u32)
}

impl TimerTable {
    /// A fresh id for a timer about to be scheduled.
    pub(crate) fn reserve(&mut self) -> TimerId {
        let index = self.free.pop().unwrap_or_else(|| {
            self.slots.push(Slot::default());
            u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 pending timers")
        });
        TimerId(u64::from(self.slots[index as usize].generation) << 32 | u64::from(index))
    }

    /// Records the queue key of the timer scheduled under `id`.
    pub(crate) fn bind(&mut self, id: TimerId, key: EventKey) {
        let (index, generation) = split(id);
        let slot = &mut self.slots[index];
        debug_assert_eq!(slot.generation, generation, "a timer is bound once, right after it is set");
        slot.key = Some(key);
    }

    /// Ends the timer `id` (it fired or is cancelled) and returns its queue key, or `None` when
    /// it had ended already.
    pub(crate) fn release(&mut self, id: TimerId) -> Option<EventKey> {
        let (index, generation) = split(id);
        let slot = self.slots.get_mut(index).filter(|slot| slot.generation == generation)?;
        let key = slot.key.take()?;
        // Wrapping would take 2^32 timers in one slot; a stale id could then match again.
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index as u32);
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::EventQueue;
    use crate::time::SimTime;

    #[test]
    fn an_ended_timer_s_id_never_reaches_a_later_timer() {
        let mut queue = EventQueue::new();
        let mut table = TimerTable::default();
        let first = table.reserve();
        table.bind(first, queue.push_cancellable(SimTime(1), 'a'));
        assert!(table.release(first).is_some(), "cancelling a pending timer yields its key");
        assert_eq!(table.release(first), None, "a second cancel does nothing");
        let second = table.reserve();
        assert_ne!(second, first, "the slot is reused under a new generation");
        table.bind(second, queue.push_cancellable(SimTime(2), 'b'));
        assert_eq!(table.release(first), None, "the old id does not cancel the new timer");
        let third = table.reserve();
        table.bind(third, queue.push_cancellable(SimTime(3), 'c'));
        assert!(table.release(second).is_some() && table.release(third).is_some());
    }
}
