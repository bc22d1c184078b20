//! A shard's account locks, and the transfers waiting for them. No-wait: a transfer that finds an
//! account locked by another is refused. Wait-die: it waits if it is older than every holder
//! (issued earlier; ties by id) and is refused otherwise, so a transfer only ever waits for
//! younger ones and waiting never closes a cycle.

use std::collections::BTreeMap;

use simulator::SimTime;

use super::txs::{Op, TxId};
use crate::pbft::RequestId;

/// A transaction's age: older ones were issued earlier (ties broken by id).
pub type Age = (SimTime, TxId);

/// What a transfer meets at the locks of its accounts.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No other transaction holds them.
    Free,
    /// Wait-die: held by younger transactions only; the transfer waits.
    Wait,
    /// Held: refused.
    Refused,
}

/// A request whose transfer waits for locks; it is answered once the transfer is decided.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Waiter {
    /// The transaction.
    pub tx: TxId,
    /// What it asked (prepare, begin, intra-shard transfer).
    pub op: Op,
    /// The request to answer.
    pub request: RequestId,
}

/// The locks of one shard's accounts.
#[derive(Debug, Default)]
pub struct LockTable {
    held: BTreeMap<u32, (TxId, Age)>,
    wait_die: bool,
    /// Waiting transfers, in the order they started waiting.
    waiting: Vec<Waiter>,
}

impl LockTable {
    /// No locks; transfers that meet one wait when `wait_die`.
    pub fn new(wait_die: bool) -> Self {
        LockTable { wait_die, ..LockTable::default() }
    }

    /// What `tx` of `age` meets at the locks of `accounts`.
    pub fn verdict(&self, accounts: impl IntoIterator<Item = u32>, tx: TxId, age: Age) -> Verdict {
        let mut holders = accounts.into_iter().filter_map(|a| self.held.get(&a)).filter(|(holder, _)| *holder != tx);
        let Some(first) = holders.next() else { return Verdict::Free };
        if self.wait_die && std::iter::once(first).chain(holders).all(|(_, held_by)| age < *held_by) {
            Verdict::Wait
        } else {
            Verdict::Refused
        }
    }

    /// `tx` of `age` locks `accounts`.
    pub fn take(&mut self, accounts: impl IntoIterator<Item = u32>, tx: TxId, age: Age) {
        for account in accounts {
            self.held.insert(account, (tx, age));
        }
    }

    /// `tx` releases its locks on `accounts`.
    pub fn release(&mut self, accounts: impl IntoIterator<Item = u32>, tx: TxId) {
        for account in accounts {
            if self.held.get(&account).is_some_and(|(holder, _)| *holder == tx) {
                self.held.remove(&account);
            }
        }
    }

    /// Locks held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// The transactions holding locks.
    pub fn holders(&self) -> impl Iterator<Item = TxId> + '_ {
        self.held.values().map(|(tx, _)| *tx)
    }

    /// `waiter` waits.
    pub fn wait(&mut self, waiter: Waiter) {
        self.waiting.push(waiter);
    }

    /// The waiting transfers, oldest wait first.
    pub fn waiters(&self) -> Vec<Waiter> {
        self.waiting.clone()
    }

    /// `tx` no longer waits (it got its locks, was refused, or was told to abort); its waiter.
    pub fn stop_waiting(&mut self, tx: TxId) -> Option<Waiter> {
        let i = self.waiting.iter().position(|w| w.tx == tx)?;
        Some(self.waiting.remove(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn age(ms: u64, tx: TxId) -> Age {
        (SimTime::ZERO + simulator::SimDuration::from_millis(ms), tx)
    }

    #[test]
    fn no_wait_refuses_and_wait_die_lets_only_the_older_wait() {
        for wait_die in [false, true] {
            let mut locks = LockTable::new(wait_die);
            locks.take([1, 2], 5, age(10, 5));
            assert_eq!(locks.verdict([3], 6, age(20, 6)), Verdict::Free);
            assert_eq!(locks.verdict([2], 5, age(10, 5)), Verdict::Free, "its own locks");
            assert_eq!(locks.verdict([2, 3], 6, age(20, 6)), Verdict::Refused, "younger dies");
            let older = if wait_die { Verdict::Wait } else { Verdict::Refused };
            assert_eq!(locks.verdict([2, 3], 4, age(5, 4)), older);
            locks.release([1, 2], 5);
            assert_eq!((locks.len(), locks.verdict([2], 6, age(20, 6))), (0, Verdict::Free));
        }
    }
}
