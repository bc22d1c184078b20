//! Certified calls: a caller (a client, or one replica of a committee) sends a request to a
//! shard's primary, resends it to every replica of the shard when no answer comes in time, and
//! accepts a result once f + 1 of the shard's replicas replied with it.

use std::collections::BTreeMap;
use std::rc::Rc;

use smallvec::SmallVec;

use simulator::{Context, NodeId, TimerId};

use super::accounts::ShardId;
use super::txs::{Op, TxId};
use super::{Role, ShardTimer, Sharding};
use crate::pbft::{Request, RequestId, Submit, View};

/// A call waiting for its result.
struct Call {
    request: Rc<Request>,
    /// (replica node, result, view) of each reply so far.
    replies: SmallVec<[(NodeId, u64, View); 4]>,
    timer: TimerId,
    op: Op,
    tx: TxId,
}

/// A node's calls in progress, and the view it believes each shard is in.
pub(super) struct Calls {
    views: Vec<View>,
    outstanding: BTreeMap<(ShardId, u64), Call>,
}

impl Calls {
    /// No calls yet, to any of `shards` shards.
    pub(super) fn new(shards: usize) -> Self {
        Calls { views: vec![0; shards], outstanding: BTreeMap::new() }
    }

    /// Forgets every call (the node crashed, and its timers with it).
    pub(super) fn clear(&mut self) {
        self.outstanding.clear();
    }
}

impl Sharding {
    /// `node` asks shard `shard` to do `op` for `tx`, as request `number` of its slot there.
    pub(super) fn call(
        &mut self,
        node: NodeId,
        shard: ShardId,
        number: u64,
        op: Op,
        tx: TxId,
        ctx: &mut Context<'_, Self>,
    ) {
        let request = self.request(self.slot(node, shard), number, op, tx, shard);
        let calls = &mut self.calls[node as usize];
        let view = calls.views[usize::from(shard)];
        let timer = ctx.set_timer(self.config.consensus.client_timeout, ShardTimer::Retransmit { shard, number });
        calls
            .outstanding
            .insert((shard, number), Call { request: request.clone(), replies: SmallVec::new(), timer, op, tx });
        self.groups[usize::from(shard)].submit(node, Submit::Primary(view), request, ctx, &mut self.shards);
    }

    /// A call went unanswered for a client timeout: it goes to every replica of the shard.
    pub(super) fn retransmit(&mut self, node: NodeId, shard: ShardId, number: u64, ctx: &mut Context<'_, Self>) {
        let timeout = self.config.consensus.client_timeout;
        let Some(call) = self.calls[node as usize].outstanding.get_mut(&(shard, number)) else { return };
        call.timer = ctx.set_timer(timeout, ShardTimer::Retransmit { shard, number });
        let request = call.request.clone();
        self.groups[usize::from(shard)].submit(node, Submit::Everyone, request, ctx, &mut self.shards);
    }

    /// A reply from replica `from` of `shard` reached `node`.
    pub(super) fn on_reply(
        &mut self,
        node: NodeId,
        from: NodeId,
        shard: ShardId,
        (view, request, result): (View, RequestId, u64),
        ctx: &mut Context<'_, Self>,
    ) {
        if self.groups[usize::from(shard)].replica_of(from).is_none() {
            return;
        }
        let f = self.f() as usize;
        let calls = &mut self.calls[node as usize];
        let Some(call) = calls.outstanding.get_mut(&(shard, request.number)) else { return };
        if call.request.id != request || call.replies.iter().any(|&(r, _, _)| r == from) {
            return;
        }
        call.replies.push((from, result, view));
        let matching = call.replies.iter().filter(|&&(_, r, _)| r == result);
        if matching.clone().count() <= f {
            return;
        }
        let seen = matching.map(|&(_, _, v)| v).max().unwrap_or(0);
        let call = calls.outstanding.remove(&(shard, request.number)).expect("present");
        ctx.cancel_timer(call.timer);
        let believed = &mut calls.views[usize::from(shard)];
        *believed = (*believed).max(seen);
        match self.roles[node as usize] {
            Some(Role::Client(c)) => self.client_accepted(c, shard, call.op, call.tx, result, ctx),
            Some(Role::Replica(own)) => self.committee_accepted(node, own, shard, call.op, call.tx, result, ctx),
            None => {}
        }
    }
}
