//! Transactions, the operations shards order for them, and what an observer outside the system
//! records of each (when it was issued, decided and finished everywhere).

use smallvec::SmallVec;

use simulator::SimTime;

use super::accounts::{Parties, ShardId};

/// A transaction's index in the run's table.
pub type TxId = u32;

/// What a request asks a shard to do for a transaction.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Execute a transaction that touches this shard alone.
    Intra,
    /// Two-phase commit, coordinator shard: prepare here and coordinate the others.
    Begin,
    /// Two-phase commit: check funds, lock the accounts, vote.
    Prepare,
    /// Apply the transaction's part here and release the locks.
    Commit,
    /// Release the locks.
    Abort,
    /// Tell the vote; a shard that has not voted votes no (the coordinator gave up waiting).
    Resolve,
    /// Relay: debit the payer and send relay transactions to the receivers' shards.
    Debit,
    /// Relay: credit this shard's receivers.
    Credit,
    /// Two-phase commit driven by a client that went silent: this shard, holding the locks too
    /// long, asks the other shards to resolve and decides in the client's stead.
    Recover,
}

const OPS: [Op; 9] =
    [Op::Intra, Op::Begin, Op::Prepare, Op::Commit, Op::Abort, Op::Resolve, Op::Debit, Op::Credit, Op::Recover];

impl Op {
    /// The request payload's `op` for this operation on `tx`.
    pub fn encode(self, tx: TxId) -> u64 {
        (u64::from(tx) << 4) | self as u64
    }

    /// The operation and transaction of an encoded `op`.
    pub fn decode(op: u64) -> (Op, TxId) {
        (OPS[(op & 15) as usize], (op >> 4) as TxId)
    }

    /// Whether a request for it carries the whole transaction (the others carry its id, a
    /// decision or a vote).
    pub fn carries_transaction(self) -> bool {
        matches!(self, Op::Intra | Op::Begin | Op::Prepare | Op::Debit | Op::Credit)
    }
}

/// A vote or an outcome on the wire: yes / committed.
pub const YES: u64 = 1;
/// A vote or an outcome on the wire: no / aborted.
pub const NO: u64 = 0;

/// A transfer and its fate.
#[derive(Clone, Debug)]
pub struct Tx {
    /// Payer first, then receivers.
    pub parties: Parties,
    /// What each receiver gets.
    pub amount: u64,
    /// The issuing client's index.
    pub client: u32,
    /// When the client issued it.
    pub issued: SimTime,
    /// The shards it touches, the payer's first.
    pub shards: SmallVec<[ShardId; 4]>,
    /// The first decision any shard applied: committed or not.
    pub decision: Option<bool>,
    /// Shards that applied the decision (relay: the debit and the credits).
    pub applied: u8,
    /// When the last of its shards applied the decision.
    pub finished: Option<SimTime>,
}

impl Tx {
    /// Whether it touches more than one shard.
    pub fn is_cross_shard(&self) -> bool {
        self.shards.len() > 1
    }

    /// What the payer pays in total.
    pub fn total(&self) -> u64 {
        self.amount * (self.parties.len() as u64 - 1)
    }

    /// The shards it touches other than `shard`, in order.
    pub fn others(&self, shard: ShardId) -> impl Iterator<Item = ShardId> + '_ {
        self.shards.iter().copied().filter(move |&s| s != shard)
    }
}
