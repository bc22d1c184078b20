//! Clients: they issue transfers (open or closed loop), carry out the client's part of each
//! mechanism, and count a transaction done when it is finished everywhere it had to be.

use std::collections::BTreeMap;

use smallvec::SmallVec;

use simulator::sampling::standard_exponential;
use simulator::{Context, NodeId, SimDuration, TimerId};

use super::accounts::{Parties, ShardId};
use super::config::Mechanism;
use super::txs::{Op, Tx, TxId, YES};
use super::{ShardMsg, ShardTimer, Sharding};
use crate::pbft::Load;

/// Where one of a client's transactions stands.
enum Progress {
    /// Sent to its only shard.
    Intra,
    /// Two-phase commit driven by the client: the votes so far, by position in the transaction's
    /// shards.
    Voting { votes: SmallVec<[Option<bool>; 4]>, timer: TimerId },
    /// The decision went out; shards yet to acknowledge it.
    Deciding { pending: usize },
    /// The coordinator shard (or, for relay, the payer's shard) will say how it ended: the
    /// `Outcome` messages so far, from distinct replicas; the timer asks again when they are late
    /// (lost).
    Awaiting { replies: SmallVec<[(NodeId, bool); 4]>, timer: TimerId },
}

/// One client.
pub(super) struct ClientState {
    node: NodeId,
    /// The number of the next request to each shard.
    next_number: Vec<u64>,
    outstanding: BTreeMap<TxId, Progress>,
}

impl ClientState {
    pub(super) fn new(node: NodeId, shards: usize) -> Self {
        ClientState { node, next_number: vec![0; shards], outstanding: BTreeMap::new() }
    }

    fn number(&mut self, shard: ShardId) -> u64 {
        let next = &mut self.next_number[usize::from(shard)];
        *next += 1;
        *next - 1
    }
}

impl Sharding {
    pub(super) fn start_client(&mut self, c: u32, ctx: &mut Context<'_, Self>) {
        if !self.config.script.is_empty() {
            for (index, transfer) in self.config.script.iter().enumerate() {
                if transfer.client == c {
                    ctx.set_timer(transfer.at, ShardTimer::Scripted { index: index as u32 });
                }
            }
            return;
        }
        match self.config.load {
            Load::Closed { window } => {
                for _ in 0..window {
                    self.issue(c, ctx);
                }
            }
            Load::Open { rate } => schedule_arrival(rate, ctx),
        }
    }

    pub(super) fn on_arrival(&mut self, c: u32, ctx: &mut Context<'_, Self>) {
        if let Load::Open { rate } = self.config.load
            && ctx.now() < self.issue_until
        {
            self.issue(c, ctx);
            schedule_arrival(rate, ctx);
        }
    }

    /// Client `c` issues scripted transfer `index`.
    pub(super) fn on_scripted(&mut self, c: u32, index: u32, ctx: &mut Context<'_, Self>) {
        let transfer = &self.config.script[index as usize];
        let parties = transfer.accounts.iter().copied().collect();
        self.start(c, parties, transfer.amount, ctx);
    }

    /// Client `c` draws a transfer and starts it.
    fn issue(&mut self, c: u32, ctx: &mut Context<'_, Self>) {
        if ctx.now() >= self.issue_until || !self.config.script.is_empty() {
            return;
        }
        let (parties, amount) = self.shards.accounts.draw(ctx.rng());
        self.start(c, parties, amount, ctx);
    }

    /// Client `c` starts the transfer of `amount` from `parties[0]` to each other party.
    fn start(&mut self, c: u32, parties: Parties, amount: u64, ctx: &mut Context<'_, Self>) {
        let mut shards: SmallVec<[ShardId; 4]> = SmallVec::new();
        for &account in &parties {
            let shard = self.shards.accounts.shard_of(account);
            if !shards.contains(&shard) {
                shards.push(shard);
            }
        }
        let id = self.shards.txs.len() as TxId;
        let tx =
            Tx { parties, amount, client: c, issued: ctx.now(), shards, decision: None, applied: 0, finished: None };
        let (home, cross) = (tx.shards[0], tx.is_cross_shard());
        let involved = tx.shards.clone();
        self.shards.txs.push(tx);
        let progress = match (cross, self.config.mechanism) {
            (false, _) => {
                self.client_call(c, home, Op::Intra, id, ctx);
                Progress::Intra
            }
            (true, Mechanism::TwoPhaseClient) => {
                for &shard in &involved {
                    self.client_call(c, shard, Op::Prepare, id, ctx);
                }
                let timer = ctx.set_timer(self.config.vote_timeout, ShardTimer::VoteTimeout { tx: id });
                Progress::Voting { votes: SmallVec::from_elem(None, involved.len()), timer }
            }
            (true, Mechanism::TwoPhaseShard | Mechanism::Relay) => {
                let op = if self.config.mechanism == Mechanism::Relay { Op::Debit } else { Op::Begin };
                self.client_call(c, home, op, id, ctx);
                let timer = ctx.set_timer(self.config.consensus.client_timeout, ShardTimer::AskOutcome { tx: id });
                Progress::Awaiting { replies: SmallVec::new(), timer }
            }
        };
        self.clients[c as usize].outstanding.insert(id, progress);
    }

    fn client_call(&mut self, c: u32, shard: ShardId, op: Op, tx: TxId, ctx: &mut Context<'_, Self>) {
        let client = &mut self.clients[c as usize];
        let (node, number) = (client.node, client.number(shard));
        self.call(node, shard, number, op, tx, ctx);
    }

    /// Client `c`'s call to `shard` for `op` on `tx` returned `result`.
    pub(super) fn client_accepted(
        &mut self,
        c: u32,
        shard: ShardId,
        op: Op,
        tx: TxId,
        result: u64,
        ctx: &mut Context<'_, Self>,
    ) {
        let Some(progress) = self.clients[c as usize].outstanding.get_mut(&tx) else { return };
        match (op, &mut *progress) {
            (Op::Intra, Progress::Intra) => self.client_done(c, tx, ctx),
            (Op::Prepare | Op::Resolve, Progress::Voting { votes, timer }) => {
                let position = self.shards.txs[tx as usize].shards.iter().position(|&s| s == shard).expect("involved");
                votes[position].get_or_insert(result == YES);
                if votes.iter().any(Option::is_none) {
                    return;
                }
                let commit = votes.iter().all(|&v| v == Some(true));
                ctx.cancel_timer(*timer);
                let involved = self.shards.txs[tx as usize].shards.clone();
                *progress = Progress::Deciding { pending: involved.len() };
                for shard in involved {
                    self.client_call(c, shard, if commit { Op::Commit } else { Op::Abort }, tx, ctx);
                }
            }
            (Op::Commit | Op::Abort, Progress::Deciding { pending }) => {
                *pending -= 1;
                if *pending == 0 {
                    self.client_done(c, tx, ctx);
                }
            }
            _ => {}
        }
    }

    /// Client `c` has waited `vote_timeout` for the votes on `tx`: the shards that have not voted
    /// are asked to resolve (voting no if they have not voted yet).
    pub(super) fn client_vote_timeout(&mut self, c: u32, tx: TxId, ctx: &mut Context<'_, Self>) {
        let Some(Progress::Voting { votes, .. }) = self.clients[c as usize].outstanding.get(&tx) else { return };
        let silent: SmallVec<[ShardId; 4]> = self.shards.txs[tx as usize]
            .shards
            .iter()
            .zip(votes)
            .filter(|(_, vote)| vote.is_none())
            .map(|(&s, _)| s)
            .collect();
        for shard in silent {
            self.client_call(c, shard, Op::Resolve, tx, ctx);
        }
    }

    /// A replica told client node `node` how `tx` ended.
    pub(super) fn on_outcome(
        &mut self,
        node: NodeId,
        from: NodeId,
        tx: TxId,
        committed: bool,
        ctx: &mut Context<'_, Self>,
    ) {
        let Some(super::Role::Client(c)) = self.roles[node as usize] else { return };
        let home = self.shards.txs[tx as usize].shards[0];
        if self.groups[usize::from(home)].replica_of(from).is_none() {
            return;
        }
        let f = self.f() as usize;
        let Some(Progress::Awaiting { replies, timer }) = self.clients[c as usize].outstanding.get_mut(&tx) else {
            return;
        };
        if replies.iter().any(|&(r, _)| r == from) {
            return;
        }
        replies.push((from, committed));
        if replies.iter().filter(|&&(_, o)| o == committed).count() > f {
            ctx.cancel_timer(*timer);
            self.client_done(c, tx, ctx);
        }
    }

    /// Client `c` heard too few outcomes of `tx` in a client timeout (some were lost): it asks
    /// every replica of the shard it waits on, and keeps asking until it knows.
    pub(super) fn ask_outcome(&mut self, c: u32, tx: TxId, ctx: &mut Context<'_, Self>) {
        let timeout = self.config.consensus.client_timeout;
        let Some(Progress::Awaiting { timer, .. }) = self.clients[c as usize].outstanding.get_mut(&tx) else { return };
        *timer = ctx.set_timer(timeout, ShardTimer::AskOutcome { tx });
        let home = self.shards.txs[tx as usize].shards[0];
        for &replica in &self.committees[usize::from(home)] {
            ctx.send(replica, ShardMsg::Query { tx });
        }
    }

    /// Client `c` is done with `tx`; a closed-loop client issues the next.
    fn client_done(&mut self, c: u32, tx: TxId, ctx: &mut Context<'_, Self>) {
        self.clients[c as usize].outstanding.remove(&tx);
        if let Load::Closed { .. } = self.config.load {
            self.issue(c, ctx);
        }
    }
}

fn schedule_arrival(rate: f64, ctx: &mut Context<'_, Sharding>) {
    let gap = SimDuration::from_secs_f64_rounded(standard_exponential(ctx.rng()) / rate);
    ctx.set_timer(gap, ShardTimer::Arrival);
}
