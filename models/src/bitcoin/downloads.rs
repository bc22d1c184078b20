//! A node's block downloads in progress. Few run at once, so they sit in a short vector searched
//! in order, the first record and the first holders inside the node's own state: a message about
//! a block then touches one node record instead of chasing two heap allocations. A finished
//! download's record is kept for the next one.

use simulator::{NodeId, TimerId};
use smallvec::SmallVec;

/// Holders kept inline; a block is announced to a node by about this many peers before it has
/// validated the block on a Bitcoin-like topology.
const INLINE_HOLDERS: usize = 8;

/// The peers known to hold a block, in the order they became known.
pub(super) type Holders = SmallVec<[NodeId; INLINE_HOLDERS]>;

/// A block a node is fetching.
#[derive(Clone, Debug, Default)]
pub(super) struct Download {
    /// Peers known to have the block (announced or sent it), in order.
    pub(super) holders: Holders,
    /// The peer asked, or that delivered the block.
    pub(super) from: Option<NodeId>,
    /// Numbers the requests, so that a stale timeout is ignored.
    pub(super) attempt: u32,
    /// A compact block is in hand and its missing transactions are on their way.
    pub(super) rebuilding: bool,
    pub(super) timer: Option<TimerId>,
}

/// The downloads of one node, by block.
#[derive(Clone, Debug, Default)]
pub(super) struct Downloads {
    /// Each record with the block it belongs to; `None` marks a record free for reuse.
    records: SmallVec<[(Option<u32>, Download); 1]>,
}

impl Downloads {
    fn position(&self, block: u32) -> Option<usize> {
        self.records.iter().position(|(b, _)| *b == Some(block))
    }

    /// The download of `block`, if one is in progress.
    pub(super) fn get(&self, block: u32) -> Option<&Download> {
        self.position(block).map(|i| &self.records[i].1)
    }

    /// The download of `block`, mutably, if one is in progress.
    pub(super) fn get_mut(&mut self, block: u32) -> Option<&mut Download> {
        self.position(block).map(|i| &mut self.records[i].1)
    }

    /// The download of `block`, started afresh if none is in progress.
    pub(super) fn entry(&mut self, block: u32) -> &mut Download {
        let i = match self.position(block) {
            Some(i) => i,
            None => {
                let free = self.records.iter().position(|(b, _)| b.is_none());
                let i = free.unwrap_or_else(|| {
                    self.records.push((None, Download::default()));
                    self.records.len() - 1
                });
                self.records[i].0 = Some(block);
                i
            }
        };
        &mut self.records[i].1
    }

    /// Each download's block and the peer it was last asked from (or that delivered it).
    pub(super) fn requests(&self) -> impl Iterator<Item = (u32, NodeId)> + '_ {
        self.records.iter().filter_map(|(block, download)| Some(((*block)?, download.from?)))
    }

    /// Ends the download of `block`, keeping its record for reuse. Holders that outgrew the
    /// record are let go rather than kept for the next download: a list left on the heap would
    /// stay there, and every later message would chase it to another cache line.
    pub(super) fn remove(&mut self, block: u32) {
        if let Some(i) = self.position(block) {
            self.records[i] = (None, Download::default());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_record_starts_afresh() {
        let mut downloads = Downloads::default();
        let first = downloads.entry(7);
        first.holders.push(3);
        first.attempt = 2;
        first.from = Some(3);
        downloads.entry(8).holders.push(4);
        downloads.remove(7);
        assert!(downloads.get(7).is_none());
        let again = downloads.entry(9);
        assert!(again.holders.is_empty());
        assert_eq!((again.attempt, again.from), (0, None));
        assert_eq!(downloads.get(8).map(|d| d.holders.as_slice()), Some(&[4][..]));
        assert_eq!(downloads.records.len(), 2);
    }

    #[test]
    fn a_reused_record_keeps_its_holders_inline_again() {
        let mut downloads = Downloads::default();
        downloads.entry(1).holders.extend(0..INLINE_HOLDERS as NodeId + 1);
        assert!(downloads.get(1).is_some_and(|d| d.holders.spilled()));
        downloads.remove(1);
        let again = downloads.entry(2);
        again.holders.push(5);
        assert!(!again.holders.spilled());
    }
}
