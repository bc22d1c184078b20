//! The replicated state of the shards: balances, locks and each transaction's part in each
//! shard, and the operations the shards order. A shard's state changes when the first of its
//! replicas executes an operation; every operation is idempotent, so the other replicas, executing
//! the same sequence, get the same outcome from the recorded state (a replica that skipped
//! sequence numbers by state transfer loses nothing). Alongside it, the checkers: atomicity (no
//! two shards apply different decisions, no shard commits without having voted yes),
//! conservation and double spends.

use std::collections::HashMap;

use smallvec::SmallVec;

use simulator::{SimDuration, SimTime};

use super::accounts::{Accounts, ShardId};
use super::bank::{Bank, record_decision};
use super::locks::{Age, LockTable, Verdict, Waiter};
use super::txs::{NO, Op, Tx, TxId, YES};
use crate::pbft::RequestId;

/// A transaction's part in one shard.
#[derive(Clone, Debug, Default)]
struct Part {
    /// The shard's vote, once given.
    vote: Option<bool>,
    /// The decision the shard applied.
    decided: Option<bool>,
    /// When the locks were taken, while held.
    locked_at: Option<SimTime>,
    /// The first request number of this shard's calls to each other shard of the transaction.
    call_numbers: SmallVec<[u64; 3]>,
    /// Whether this shard coordinates the transaction (as its coordinator shard, or recovering
    /// it), and the number of its decision on it.
    coordination: Option<u64>,
    /// Relay: whether the payer's shard debited (or rejected) it, and whether this shard credited.
    debited: Option<bool>,
    credited: bool,
    /// Its request here waits for locks (wait-die).
    waiting: bool,
    /// Requests of waiting transfers that were answered when this transaction's decision here
    /// released its locks (or when it stopped waiting itself), for the replicas that execute the
    /// decision later to answer too.
    resumed: Vec<Waiter>,
}

/// One shard's replicated state.
#[derive(Debug)]
pub struct Ledger {
    shard: ShardId,
    locks: LockTable,
    /// Locks were released since the waiting transfers were last tried.
    released: bool,
    parts: HashMap<TxId, Part>,
    /// The next request number of this shard's calls to each shard.
    next_call: Vec<u64>,
    /// The number of the next transaction this shard coordinates.
    next_coordination: u64,
    /// Operations applied (first executions), by whether they came after the warm-up.
    pub applied_ops: [u64; 2],
    /// (taken, held) of every lock released.
    pub lock_holds: Vec<(SimTime, SimDuration)>,
}

/// What executing an operation gives: the result replied to the caller, and the calls the shard's
/// replicas make next (to shard, request number, operation).
#[derive(Debug, Default)]
pub struct Executed {
    /// The reply: a vote, an outcome or an acknowledgement; `None` while the transfer waits for
    /// locks.
    pub result: Option<u64>,
    /// Calls to other shards.
    pub calls: SmallVec<[(ShardId, u64, Op); 3]>,
    /// The transaction's outcome is settled here and its client may be told (the coordinator
    /// shard's abort after a no vote, a rejected debit).
    pub settled: Option<bool>,
    /// `Begin`: the number of the decision the coordinator shard will order.
    pub coordination: Option<u64>,
    /// This first execution committed the transaction's part in this shard.
    pub committed_here: bool,
}

/// The shard's view of the transaction the operation is for, and where the run is.
pub struct Apply<'a> {
    /// The transaction.
    pub tx: &'a mut Tx,
    /// Its id.
    pub id: TxId,
    /// The shared balances and checkers.
    pub bank: &'a mut Bank,
    /// The time.
    pub now: SimTime,
    /// Whether the warm-up is over.
    pub measured: bool,
    /// Which shard holds each account.
    pub accounts: &'a Accounts,
    /// The request carrying the operation.
    pub request: RequestId,
}

impl Apply<'_> {
    fn age(&self) -> Age {
        (self.tx.issued, self.id)
    }
}

impl Ledger {
    /// The state of `shard` among `shards`; transfers that meet a lock wait when `wait_die`.
    pub fn new(shard: ShardId, shards: u32, wait_die: bool) -> Self {
        Ledger {
            shard,
            locks: LockTable::new(wait_die),
            released: false,
            parts: HashMap::new(),
            next_call: vec![0; shards as usize],
            next_coordination: 0,
            applied_ops: [0; 2],
            lock_holds: Vec::new(),
        }
    }

    /// Locks held.
    pub fn locks_held(&self) -> usize {
        self.locks.len()
    }

    /// Executes `op`: applied the first time, answered from the record after that.
    pub fn execute(&mut self, op: Op, a: Apply<'_>) -> Executed {
        let part = self.parts.get(&a.id);
        let waiting = part.is_some_and(|p| p.waiting);
        let first = match op {
            Op::Intra => a.tx.decision.is_none() && !waiting,
            Op::Begin | Op::Prepare => part.is_none_or(|p| p.vote.is_none()) && !waiting,
            Op::Resolve => part.is_none_or(|p| p.vote.is_none()),
            Op::Recover => part.is_none_or(|p| p.coordination.is_none()),
            Op::Commit | Op::Abort => part.is_none_or(|p| p.decided.is_none()),
            Op::Debit => part.is_none_or(|p| p.debited.is_none()),
            Op::Credit => part.is_none_or(|p| !p.credited),
        };
        if first {
            self.applied_ops[usize::from(a.measured)] += 1;
        }
        match op {
            Op::Intra => self.intra(first, a),
            Op::Begin => self.begin(first, a),
            Op::Prepare => Executed { result: self.prepare(first, &a, Op::Prepare), ..Executed::default() },
            Op::Resolve => Executed { result: Some(self.resolve(a.id)), ..Executed::default() },
            Op::Commit | Op::Abort => self.decide(op == Op::Commit, first, a),
            Op::Debit => self.debit(first, a),
            Op::Credit => self.credit(first, a),
            Op::Recover => self.recover(first, a),
        }
    }

    /// The transaction's accounts held by this shard, with their positions (0 is the payer).
    fn here<'t>(&self, a: &'t Apply<'_>) -> impl Iterator<Item = (usize, u32)> + 't {
        let (shard, accounts) = (self.shard, a.accounts);
        a.tx.parties.iter().copied().enumerate().filter(move |&(_, account)| accounts.shard_of(account) == shard)
    }

    /// The accounts `a` touches here.
    fn accounts_here(&self, a: &Apply<'_>) -> SmallVec<[u32; 4]> {
        self.here(a).map(|(_, account)| account).collect()
    }

    /// The locks `a`'s accounts here meet; a transfer that waits is recorded with its request.
    fn meet_locks(&mut self, a: &Apply<'_>, op: Op) -> Verdict {
        let verdict = self.locks.verdict(self.accounts_here(a), a.id, a.age());
        if verdict == Verdict::Wait {
            self.locks.wait(Waiter { tx: a.id, op, request: a.request });
            self.parts.entry(a.id).or_default().waiting = true;
        }
        verdict
    }

    fn intra(&mut self, first: bool, a: Apply<'_>) -> Executed {
        if first {
            let verdict = self.meet_locks(&a, Op::Intra);
            if verdict == Verdict::Wait {
                return Executed::default();
            }
            let ok = verdict == Verdict::Free && a.bank.balances[a.tx.parties[0] as usize] >= a.tx.total();
            if ok {
                a.bank.debit(a.tx.parties[0], a.tx.total());
                for &receiver in &a.tx.parties[1..] {
                    a.bank.credit(receiver, a.tx.amount);
                }
            }
            a.tx.decision = Some(ok);
            a.tx.applied = 1;
            a.tx.finished = Some(a.now);
        }
        let Some(committed) = a.tx.decision else { return Executed::default() };
        Executed { result: Some(answer(committed)), committed_here: first && committed, ..Executed::default() }
    }

    /// Checks funds and locks and votes: no if the funds are short, a lock is held (no-wait, or
    /// a younger holder under wait-die) or the shard was told to abort before; under wait-die a
    /// transfer older than every holder waits, and votes once it gets the locks or dies.
    fn prepare(&mut self, first: bool, a: &Apply<'_>, op: Op) -> Option<u64> {
        if first {
            let here: SmallVec<[(usize, u32); 4]> = self.here(a).collect();
            let funds = here
                .first()
                .is_none_or(|&(position, account)| position != 0 || a.bank.balances[account as usize] >= a.tx.total());
            let told_to_abort = self.parts.get(&a.id).is_some_and(|p| p.decided.is_some());
            let verdict = if funds && !told_to_abort { self.meet_locks(a, op) } else { Verdict::Refused };
            if verdict == Verdict::Wait {
                return None;
            }
            let part = self.parts.entry(a.id).or_default();
            let yes = verdict == Verdict::Free;
            if yes {
                self.locks.take(here.iter().map(|&(_, account)| account), a.id, a.age());
                part.locked_at = Some(a.now);
            }
            part.vote = Some(yes);
        }
        self.parts.get(&a.id).and_then(|p| p.vote).map(answer)
    }

    /// The coordinator shard prepares its own part and, if it can, asks the others to prepare;
    /// each call number is followed by the number of the decision that comes later.
    fn begin(&mut self, first: bool, a: Apply<'_>) -> Executed {
        let Some(vote) = self.prepare(first, &a, Op::Begin) else { return Executed::default() };
        let yes = vote == YES;
        if first && yes {
            self.coordinate(&a);
        }
        if first && !yes {
            {
                let part = self.parts.get_mut(&a.id).expect("prepared above");
                // Nobody else was asked: the transaction is over.
                part.decided = Some(false);
                record_decision(a.tx, a.bank, false);
                a.tx.finished = Some(a.now);
            }
        }
        if !yes {
            return Executed { result: Some(NO), settled: Some(false), ..Executed::default() };
        }
        let coordination = self.parts[&a.id].coordination;
        Executed { result: Some(YES), calls: self.calls(&a, 0, Op::Prepare), coordination, ..Executed::default() }
    }

    /// This shard takes on coordinating the transaction: a decision number, and two call numbers
    /// on each other shard (the question, then the decision).
    fn coordinate(&mut self, a: &Apply<'_>) {
        let numbers = a.tx.others(self.shard).map(|s| take(&mut self.next_call[usize::from(s)], 2)).collect();
        let coordination = take(&mut self.next_coordination, 1);
        let part = self.parts.entry(a.id).or_default();
        part.call_numbers = numbers;
        part.coordination = Some(coordination);
    }

    /// Two-phase commit driven by a client: this shard has held the transaction's locks too long
    /// and asks the other shards to resolve (each tells its vote, voting no if it had not voted);
    /// its replicas then decide from the votes as the client would have.
    fn recover(&mut self, first: bool, a: Apply<'_>) -> Executed {
        let undecided = self.parts.get(&a.id).is_some_and(|p| p.decided.is_none() && p.vote == Some(true));
        if first && undecided {
            self.coordinate(&a);
        }
        match self.parts.get(&a.id).and_then(|p| p.coordination) {
            Some(coordination) if undecided => Executed {
                result: Some(YES),
                calls: self.calls(&a, 0, Op::Resolve),
                coordination: Some(coordination),
                ..Executed::default()
            },
            _ => Executed { result: Some(YES), ..Executed::default() },
        }
    }

    /// Transactions whose locks here were taken before `since` and that this shard does not
    /// coordinate yet.
    pub fn stale(&self, since: SimTime) -> Vec<TxId> {
        let mut stale: Vec<TxId> = self
            .locks
            .holders()
            .filter(|id| self.parts[id].locked_at.is_some_and(|t| t < since) && self.parts[id].coordination.is_none())
            .collect();
        stale.sort_unstable();
        stale.dedup();
        stale
    }

    /// The calls this shard makes to the transaction's other shards, at `offset` from each
    /// recorded number.
    fn calls(&self, a: &Apply<'_>, offset: u64, op: Op) -> SmallVec<[(ShardId, u64, Op); 3]> {
        let numbers = &self.parts[&a.id].call_numbers;
        a.tx.others(self.shard).zip(numbers).map(|(s, &number)| (s, number + offset, op)).collect()
    }

    /// Tells the vote, voting no first if the shard has not voted (a waiting transfer stops
    /// waiting, and its request is answered no).
    fn resolve(&mut self, id: TxId) -> u64 {
        self.stop_waiting(id);
        let part = self.parts.entry(id).or_default();
        answer(*part.vote.get_or_insert(false))
    }

    /// `id` stops waiting for locks: its vote is no, and its request is among those to answer.
    fn stop_waiting(&mut self, id: TxId) {
        if let Some(waiter) = self.locks.stop_waiting(id) {
            let part = self.parts.entry(id).or_default();
            part.waiting = false;
            part.vote = Some(false);
            part.resumed.push(waiter);
        }
    }

    /// Applies the decision: the transfer's part here on commit, then the locks are released. At
    /// the coordinator shard the decision then goes to the other shards. The reply is the decision
    /// the shard applied.
    fn decide(&mut self, commit: bool, first: bool, a: Apply<'_>) -> Executed {
        let mut committed_here = false;
        if first {
            self.stop_waiting(a.id);
            let here: SmallVec<[(usize, u32); 4]> = self.here(&a).collect();
            let part = self.parts.entry(a.id).or_default();
            if commit && part.vote != Some(true) {
                a.bank.atomicity_violations += 1;
            } else if commit {
                committed_here = true;
                for &(position, account) in &here {
                    if position == 0 {
                        a.bank.debit(account, a.tx.total());
                    } else {
                        a.bank.credit(account, a.tx.amount);
                    }
                }
            }
            if let Some(taken) = part.locked_at.take() {
                self.locks.release(here.iter().map(|&(_, account)| account), a.id);
                self.lock_holds.push((taken, a.now.since(taken)));
                self.released = true;
            }
            part.decided = Some(commit);
            record_decision(a.tx, a.bank, commit);
            a.tx.applied += 1;
            if usize::from(a.tx.applied) == a.tx.shards.len() {
                a.tx.finished = Some(a.now);
            }
        }
        // A decision that lost the race to be ordered first (an abort after a timeout, say) is
        // answered and carried on with the one that won.
        let part = &self.parts[&a.id];
        let decided = part.decided == Some(true);
        let calls = if part.coordination.is_some() {
            self.calls(&a, 1, if decided { Op::Commit } else { Op::Abort })
        } else {
            SmallVec::new()
        };
        Executed { result: Some(answer(decided)), calls, committed_here, ..Executed::default() }
    }

    /// Relay, at the payer's shard: debits the payer (or rejects the transfer for want of funds)
    /// and credits the receivers here; the rest is in flight until the other shards credit it.
    fn debit(&mut self, first: bool, a: Apply<'_>) -> Executed {
        if first {
            let here: SmallVec<[(usize, u32); 4]> = self.here(&a).collect();
            let ok = a.bank.balances[a.tx.parties[0] as usize] >= a.tx.total();
            if ok {
                a.bank.debit(a.tx.parties[0], a.tx.total());
                for &(position, account) in &here[1..] {
                    debug_assert!(position > 0);
                    a.bank.credit(account, a.tx.amount);
                }
            }
            let numbers = a.tx.others(self.shard).map(|s| take(&mut self.next_call[usize::from(s)], 1)).collect();
            let part = self.parts.entry(a.id).or_default();
            part.debited = Some(ok);
            part.call_numbers = numbers;
            a.tx.decision = Some(ok);
            a.tx.applied = 1;
            if !ok {
                a.tx.finished = Some(a.now);
            }
        }
        if self.parts[&a.id].debited == Some(true) {
            let calls = self.calls(&a, 0, Op::Credit);
            Executed { result: Some(YES), calls, committed_here: first, ..Executed::default() }
        } else {
            Executed { result: Some(NO), settled: Some(false), ..Executed::default() }
        }
    }

    /// Relay, at a receiver's shard: credits the receivers here.
    fn credit(&mut self, first: bool, a: Apply<'_>) -> Executed {
        if first {
            let here: SmallVec<[(usize, u32); 4]> = self.here(&a).collect();
            for &(_, account) in &here {
                a.bank.credit(account, a.tx.amount);
            }
            self.parts.entry(a.id).or_default().credited = true;
            a.tx.applied += 1;
            if usize::from(a.tx.applied) == a.tx.shards.len() {
                a.tx.finished = Some(a.now);
            }
        }
        Executed { result: Some(YES), committed_here: first, ..Executed::default() }
    }
}

impl Ledger {
    /// Under wait-die, once a decision released locks: the waiting transfers, in the order they
    /// started waiting, each to try again with [`Ledger::retry`]; none otherwise.
    pub fn waiters_to_retry(&mut self) -> Vec<Waiter> {
        if !std::mem::take(&mut self.released) {
            return Vec::new();
        }
        let waiters = self.locks.waiters();
        for waiter in &waiters {
            self.locks.stop_waiting(waiter.tx);
            self.parts.entry(waiter.tx).or_default().waiting = false;
        }
        waiters
    }

    /// `waiter` tries again (it waits again if the locks are still held by younger transactions);
    /// once answered it is recorded under `released_by`, the transaction whose decision released
    /// the locks.
    /// Returns whether this committed the transfer's part here (an intra-shard transfer).
    pub fn retry(&mut self, waiter: Waiter, released_by: TxId, a: Apply<'_>) -> bool {
        let executed = match waiter.op {
            Op::Intra => self.intra(true, a),
            Op::Begin => self.begin(true, a),
            _ => Executed { result: self.prepare(true, &a, waiter.op), ..Executed::default() },
        };
        if executed.result.is_some() {
            self.parts.entry(released_by).or_default().resumed.push(waiter);
        }
        executed.committed_here
    }

    /// The waiting requests answered when `tx`'s decision here released its locks (or when `tx`
    /// stopped waiting itself).
    pub fn resumed(&self, tx: TxId) -> &[Waiter] {
        self.parts.get(&tx).map_or(&[], |p| &p.resumed)
    }
}

impl Ledger {
    /// The change this shard's applied part of cross-shard transaction `tx` made to the balances,
    /// worked out from the transaction and what the shard recorded of it (not from the balances):
    /// the payer's debit if it is here, plus the credits of the receivers here, once applied.
    pub fn applied_change(&self, id: TxId, tx: &Tx, accounts: &Accounts) -> i128 {
        let Some(part) = self.parts.get(&id) else { return 0 };
        let applied =
            (part.decided == Some(true) && part.vote == Some(true)) || part.debited == Some(true) || part.credited;
        if !applied {
            return 0;
        }
        let mut change = 0;
        for (position, &account) in tx.parties.iter().enumerate() {
            if accounts.shard_of(account) != self.shard {
                continue;
            }
            change += if position == 0 { -i128::from(tx.total()) } else { i128::from(tx.amount) };
        }
        change
    }

    /// How this shard, as the transaction's first, settled it: the decision it applied (two-phase
    /// commit) or whether it debited the payer (relay); `None` while it has not.
    pub fn settled(&self, id: TxId) -> Option<bool> {
        let part = self.parts.get(&id)?;
        part.decided.or(part.debited)
    }

    /// The result executing `op` on `tx` gave, for a caller that asks again; `None` if this shard
    /// never executed it.
    pub fn recall(&self, op: Op, id: TxId, tx: &Tx) -> Option<u64> {
        let part = self.parts.get(&id);
        match op {
            Op::Intra => tx.decision.map(answer),
            Op::Begin | Op::Prepare | Op::Resolve => part?.vote.map(answer),
            Op::Commit | Op::Abort => part?.decided.map(answer),
            Op::Debit => part?.debited.map(answer),
            Op::Credit => part.filter(|p| p.credited).map(|_| YES),
            Op::Recover => part.map(|_| YES),
        }
    }
}

fn answer(yes: bool) -> u64 {
    if yes { YES } else { NO }
}

/// Returns `*counter` and advances it by `by`.
fn take(counter: &mut u64, by: u64) -> u64 {
    let number = *counter;
    *counter += by;
    number
}
