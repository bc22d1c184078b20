//! A committee replica's part after its shard executes an operation: the coordinator shard
//! collects votes and hands its group the decision, a shard that decided (or debited, for relay)
//! calls the other shards, and once they all acknowledged, tells the client.

use std::collections::BTreeMap;

use smallvec::SmallVec;

use simulator::{Context, NodeId, SimDuration, SimTime, TimerId};

use super::accounts::ShardId;
use super::config::Mechanism;
use super::txs::{Op, TxId, YES};
use super::{Done, Role, ShardMsg, ShardTimer, Sharding};

/// What a replica is doing for a transaction its shard coordinates or relays.
enum Drive {
    /// Collecting the other shards' votes (by position among them); `coordination` numbers the
    /// decision the committee will order; the timer aborts when the votes take too long (none
    /// when recovering a client's commit: that decision follows from the votes alone).
    Voting { votes: SmallVec<[Option<bool>; 3]>, timer: Option<TimerId>, coordination: u64 },
    /// The decision (or the relay transactions) went out; shards yet to acknowledge.
    Finishing { pending: usize, committed: bool },
}

/// A replica's transactions in progress.
#[derive(Default)]
pub(super) struct Drives {
    drives: BTreeMap<TxId, Drive>,
}

impl Drives {
    /// Forgets everything (the replica crashed).
    pub(super) fn clear(&mut self) {
        self.drives.clear();
    }
}

impl Sharding {
    /// The replica at `node` executed `done`.
    pub(super) fn executed(&mut self, node: NodeId, done: Done, ctx: &mut Context<'_, Self>) {
        let Done { shard, op, tx, executed, answer } = done;
        if let (Some(request), Some(result)) = (answer, executed.result) {
            self.groups[usize::from(shard)].answer(node, request, result, ctx, &mut self.shards);
        }
        if let Some(committed) = executed.settled {
            self.tell_client(tx, committed, ctx);
        }
        if executed.calls.is_empty() {
            return;
        }
        let drives = &mut self.drives[node as usize].drives;
        match op {
            Op::Begin | Op::Recover => {
                let Some(coordination) = executed.coordination else { return };
                let timer =
                    (op == Op::Begin).then(|| ctx.set_timer(self.config.vote_timeout, ShardTimer::VoteTimeout { tx }));
                let votes = SmallVec::from_elem(None, executed.calls.len());
                drives.insert(tx, Drive::Voting { votes, timer, coordination });
            }
            Op::Commit | Op::Abort | Op::Debit => {
                if let Some(Drive::Voting { timer: Some(timer), .. }) = drives.get(&tx) {
                    ctx.cancel_timer(*timer);
                }
                let committed = executed.result == Some(YES);
                drives.insert(tx, Drive::Finishing { pending: executed.calls.len(), committed });
            }
            _ => return,
        }
        for &(shard, number, op) in &executed.calls {
            self.call(node, shard, number, op, tx, ctx);
        }
    }

    /// The call of the replica at `node` (of shard `own`) to `shard` for `op` on `tx` returned
    /// `result`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn committee_accepted(
        &mut self,
        node: NodeId,
        own: ShardId,
        shard: ShardId,
        op: Op,
        tx: TxId,
        result: u64,
        ctx: &mut Context<'_, Self>,
    ) {
        let position = self.shards.txs[tx as usize].others(own).position(|s| s == shard).expect("involved");
        let Some(drive) = self.drives[node as usize].drives.get_mut(&tx) else { return };
        match (op, drive) {
            (Op::Prepare | Op::Resolve, Drive::Voting { votes, coordination, .. }) => {
                votes[position].get_or_insert(result == YES);
                let refused = votes.contains(&Some(false));
                if refused || votes.iter().all(Option::is_some) {
                    let (coordination, decision) = (*coordination, if refused { Op::Abort } else { Op::Commit });
                    self.decide(node, own, (false, coordination), decision, tx, ctx);
                }
            }
            (Op::Commit | Op::Abort | Op::Credit, Drive::Finishing { pending, committed }) => {
                *pending -= 1;
                if *pending == 0 {
                    let committed = *committed;
                    self.drives[node as usize].drives.remove(&tx);
                    self.tell_client(tx, committed, ctx);
                }
            }
            _ => {}
        }
    }

    /// The coordinator replica at `node` waited `vote_timeout` for the votes on `tx`: it hands its
    /// group an abort (which loses if the group ordered the decision first).
    pub(super) fn committee_vote_timeout(&mut self, node: NodeId, own: ShardId, tx: TxId, ctx: &mut Context<'_, Self>) {
        if let Some(&Drive::Voting { coordination, .. }) = self.drives[node as usize].drives.get(&tx) {
            self.decide(node, own, (true, coordination), Op::Abort, tx, ctx);
        }
    }

    /// Two-phase commit driven by the client: the replica scans for stale locks twice per
    /// `recovery_after`.
    pub(super) fn arm_recovery_scan(&self, ctx: &mut Context<'_, Self>) {
        if self.config.mechanism == Mechanism::TwoPhaseClient {
            ctx.set_timer(SimDuration(self.config.recovery_after.0 / 2), ShardTimer::RecoveryScan);
        }
    }

    /// The replica at `node` hands its group a `Recover` for every transaction whose locks its
    /// shard has held longer than `recovery_after`; each is numbered by the transaction, so the
    /// group orders it once whichever replicas hand it.
    pub(super) fn recovery_scan(&mut self, node: NodeId, own: ShardId, ctx: &mut Context<'_, Self>) {
        let Some(since) = ctx.now().0.checked_sub(self.config.recovery_after.0) else { return };
        for tx in self.shards.ledgers[usize::from(own)].stale(SimTime(since)) {
            let request = self.request(self.own_slot(true), u64::from(tx), Op::Recover, tx, own);
            self.groups[usize::from(own)].deliver(node, request, ctx, &mut self.shards);
            self.after(node, ctx);
        }
    }

    /// Hands the replica's group the decision on `tx`, numbered `coordination` among the
    /// decisions taken on the votes or (`timed_out`) on a timeout: every correct replica hands the
    /// same one under the same request id, and the group orders it once.
    fn decide(
        &mut self,
        node: NodeId,
        own: ShardId,
        (timed_out, coordination): (bool, u64),
        decision: Op,
        tx: TxId,
        ctx: &mut Context<'_, Self>,
    ) {
        let request = self.request(self.own_slot(timed_out), coordination, decision, tx, own);
        self.groups[usize::from(own)].deliver(node, request, ctx, &mut self.shards);
        self.after(node, ctx);
    }

    /// A client asks the replica at `node` how `tx` ended: the replica answers once it is done
    /// with it (nothing left to acknowledge) and its shard settled it.
    pub(super) fn on_query(&mut self, node: NodeId, from: NodeId, tx: TxId, ctx: &mut Context<'_, Self>) {
        let Some(Role::Replica(own)) = self.roles[node as usize] else { return };
        let record = &self.shards.txs[tx as usize];
        let asker = self.client_nodes.get(record.client as usize) == Some(&from);
        if !asker || record.shards[0] != own || self.drives[node as usize].drives.contains_key(&tx) {
            return;
        }
        if let Some(committed) = self.shards.ledgers[usize::from(own)].settled(tx) {
            ctx.send(from, ShardMsg::Outcome { tx, committed });
        }
    }

    /// The replica tells the client of `tx` how it ended.
    fn tell_client(&mut self, tx: TxId, committed: bool, ctx: &mut Context<'_, Self>) {
        let client = self.client_nodes[self.shards.txs[tx as usize].client as usize];
        ctx.send(client, ShardMsg::Outcome { tx, committed });
    }
}
