//! A chain node's pool of pending transactions: per sender in nonce order, and a proposer picks
//! the best-paying sender's next transaction first, as execution clients build blocks.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use simulator::NodeId;

use super::TxId;

/// What block building needs to know of a pending transaction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Priority fee per gas: higher pays the proposer more.
    pub tip: u64,
    /// Blobs it carries.
    pub blobs: u32,
    /// Gas it uses.
    pub gas: u64,
    /// The most it pays per blob gas.
    pub max_blob_fee: u128,
}

/// Pending transactions of one node.
#[derive(Clone, Debug, Default)]
pub struct Mempool {
    by_sender: BTreeMap<NodeId, BTreeMap<u64, TxId>>,
}

impl Mempool {
    /// Adds `id`, the transaction of `sender` with `nonce`; false if it was already there.
    pub fn insert(&mut self, sender: NodeId, nonce: u64, id: TxId) -> bool {
        self.by_sender.entry(sender).or_default().insert(nonce, id).is_none()
    }

    /// Drops the transaction of `sender` with `nonce` (it was included in a block).
    pub fn remove(&mut self, sender: NodeId, nonce: u64) {
        if let Some(queue) = self.by_sender.get_mut(&sender) {
            queue.remove(&nonce);
            if queue.is_empty() {
                self.by_sender.remove(&sender);
            }
        }
    }

    /// The pending transactions of `sender`, in nonce order.
    pub fn of(&self, sender: NodeId) -> impl Iterator<Item = TxId> + '_ {
        self.by_sender.get(&sender).into_iter().flat_map(|queue| queue.values().copied())
    }

    /// Transactions pending.
    pub fn len(&self) -> usize {
        self.by_sender.values().map(BTreeMap::len).sum()
    }

    /// The transactions of a block with room for `blobs` blobs and `gas` gas at blob base fee
    /// `blob_fee`: repeatedly the highest tip among each sender's next nonce (`next_nonce`),
    /// skipping a sender whose next transaction does not fit or carries blobs it will not pay the
    /// fee for. Ties go to the lower id (the earlier submitted).
    pub fn pick(
        &self,
        candidate: impl Fn(TxId) -> Candidate,
        next_nonce: impl Fn(NodeId) -> u64,
        (mut blobs, mut gas, blob_fee): (u32, u64, u128),
    ) -> Vec<TxId> {
        let mut heap = BinaryHeap::new();
        for (&sender, queue) in &self.by_sender {
            let nonce = next_nonce(sender);
            if let Some(&id) = queue.get(&nonce) {
                heap.push((candidate(id).tip, Reverse(id), sender, nonce));
            }
        }
        let mut picked = Vec::new();
        while let Some((_, Reverse(id), sender, nonce)) = heap.pop() {
            let tx = candidate(id);
            if tx.blobs > blobs || tx.gas > gas || (tx.blobs > 0 && tx.max_blob_fee < blob_fee) {
                continue;
            }
            blobs -= tx.blobs;
            gas -= tx.gas;
            picked.push(id);
            if let Some(&next) = self.by_sender[&sender].get(&(nonce + 1)) {
                heap.push((candidate(next).tip, Reverse(next), sender, nonce + 1));
            }
        }
        picked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_by_tip_in_nonce_order_within_capacity() {
        let mut pool = Mempool::default();
        // Sender 1: nonces 0 and 1 with tips 1 and 9; sender 2: nonce 0 with tip 5, two blobs.
        let txs = [(1, 0, 1, 1), (1, 1, 9, 1), (2, 0, 5, 2)];
        for (id, &(sender, nonce, _, _)) in txs.iter().enumerate() {
            assert!(pool.insert(sender, nonce, id as TxId));
        }
        assert!(!pool.insert(1, 0, 0));
        let candidate = |id: TxId| Candidate {
            tip: txs[id as usize].2,
            blobs: txs[id as usize].3,
            gas: 1,
            max_blob_fee: if id == 2 { 10 } else { 1_000 },
        };
        // Sender 2 pays more than sender 1's next (nonce 0), so it goes first; then 0, then 1.
        assert_eq!(pool.pick(candidate, |_| 0, (9, 100, 1)), vec![2, 0, 1]);
        // Room for one blob: sender 2 does not fit and is skipped.
        assert_eq!(pool.pick(candidate, |_| 0, (1, 100, 1)), vec![0]);
        // A blob base fee above sender 2's cap leaves it waiting.
        assert_eq!(pool.pick(candidate, |_| 0, (9, 100, 11)), vec![0, 1]);
        // Sender 1's nonce 0 is already on chain: its nonce 1 competes at once.
        assert_eq!(pool.pick(candidate, |s| u64::from(s == 1), (9, 100, 1)), vec![1, 2]);
        pool.remove(1, 0);
        assert_eq!(pool.len(), 2);
        assert_eq!(pool.pick(candidate, |_| 1, (9, 100, 1)), vec![1]);
    }
}
