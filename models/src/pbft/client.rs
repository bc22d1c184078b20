//! Clients: they send requests to the primary they believe in, accept a result once f + 1
//! replicas reply with the same one, and resend to every replica when that takes too long.
//! Clients are load generators: their CPU is not modelled.

use std::collections::BTreeMap;
use std::rc::Rc;

use simulator::sampling::standard_exponential;
use simulator::{Context, NodeId, SimDuration, SimTime, TimerId};

use super::config::Load;
use super::group::{ReplicaGroup, Submit};
use super::messages::{Payload, Request, RequestId, View};
use super::{ClientSide, Pbft, PbftTimer};

struct Outstanding {
    sent: SimTime,
    /// (replica, result, view) of each reply so far.
    replies: Vec<(u32, u64, View)>,
    timer: TimerId,
}

/// One client.
pub(super) struct Client {
    index: u32,
    node: NodeId,
    view: View,
    next_number: u64,
    outstanding: BTreeMap<u64, Outstanding>,
    /// Latencies of requests accepted after the warm-up.
    pub(super) latencies: Vec<SimDuration>,
    /// Requests accepted in total.
    pub(super) accepted: u64,
    /// When the last request was accepted.
    pub(super) last_accept: Option<SimTime>,
    /// Requests resent to all replicas.
    pub(super) retransmissions: u64,
}

impl Client {
    pub(super) fn new(index: u32, node: NodeId) -> Self {
        Client {
            index,
            node,
            view: 0,
            next_number: 0,
            outstanding: BTreeMap::new(),
            latencies: Vec::new(),
            accepted: 0,
            last_accept: None,
            retransmissions: 0,
        }
    }

    pub(super) fn start(&mut self, group: &mut ReplicaGroup, side: &mut ClientSide, ctx: &mut Context<'_, Pbft>) {
        match group.config().load {
            Load::Closed { window } => {
                for _ in 0..window {
                    self.issue(group, side, ctx);
                }
            }
            Load::Open { rate } => self.schedule_arrival(rate, ctx),
        }
    }

    fn schedule_arrival(&mut self, rate: f64, ctx: &mut Context<'_, Pbft>) {
        let gap = SimDuration::from_secs_f64_rounded(standard_exponential(ctx.rng()) / rate);
        ctx.set_timer(gap, PbftTimer::Arrival);
    }

    pub(super) fn on_arrival(&mut self, group: &mut ReplicaGroup, side: &mut ClientSide, ctx: &mut Context<'_, Pbft>) {
        self.issue(group, side, ctx);
        if let Load::Open { rate } = group.config().load
            && !self.exhausted(group)
        {
            self.schedule_arrival(rate, ctx);
        }
    }

    fn exhausted(&self, group: &ReplicaGroup) -> bool {
        group.config().requests.is_some_and(|limit| self.next_number >= limit)
    }

    /// Request `number` of this client: the configured size and execution cost, and the keys the
    /// workload draws for it.
    fn request(&self, number: u64, group: &ReplicaGroup, side: &ClientSide) -> Rc<Request> {
        let id = RequestId { client: self.index, number };
        let config = group.config();
        let access = side.keys.as_ref().map(|keys| keys.access(id)).unwrap_or_default();
        Rc::new(Request {
            id,
            payload: Payload { bytes: config.request_size.bytes(), cost: config.costs.execute, access, op: 0 },
        })
    }

    fn issue(&mut self, group: &mut ReplicaGroup, side: &mut ClientSide, ctx: &mut Context<'_, Pbft>) {
        if self.exhausted(group) {
            return;
        }
        let number = self.next_number;
        self.next_number += 1;
        let request = self.request(number, group, side);
        group.submit(self.node, Submit::Primary(self.view), request, ctx, &mut side.app);
        let timer = ctx.set_timer(group.config().client_timeout, PbftTimer::Retransmit { number });
        self.outstanding.insert(number, Outstanding { sent: ctx.now(), replies: Vec::new(), timer });
    }

    pub(super) fn on_retransmit(
        &mut self,
        number: u64,
        group: &mut ReplicaGroup,
        side: &mut ClientSide,
        ctx: &mut Context<'_, Pbft>,
    ) {
        if !self.outstanding.contains_key(&number) {
            return;
        }
        self.retransmissions += 1;
        let request = self.request(number, group, side);
        group.submit(self.node, Submit::Everyone, request, ctx, &mut side.app);
        let timer = ctx.set_timer(group.config().client_timeout, PbftTimer::Retransmit { number });
        self.outstanding.get_mut(&number).expect("checked above").timer = timer;
    }

    /// A reply from `from`: `result` for `request`, sent in `view`.
    pub(super) fn on_reply(
        &mut self,
        from: NodeId,
        (view, request, result): (View, RequestId, u64),
        group: &mut ReplicaGroup,
        side: &mut ClientSide,
        ctx: &mut Context<'_, Pbft>,
    ) {
        let Some(outstanding) = self.outstanding.get_mut(&request.number) else { return };
        if group.replica_of(from).is_none() || outstanding.replies.iter().any(|(r, _, _)| *r == from) {
            return;
        }
        outstanding.replies.push((from, result, view));
        let matching: Vec<View> =
            outstanding.replies.iter().filter(|(_, r, _)| *r == result).map(|(_, _, v)| *v).collect();
        if matching.len() <= group.f() as usize {
            return;
        }
        let done = self.outstanding.remove(&request.number).expect("present");
        ctx.cancel_timer(done.timer);
        self.view = self.view.max(matching.into_iter().max().unwrap_or(0));
        self.accepted += 1;
        self.last_accept = Some(ctx.now());
        side.throughput.add(ctx.now(), 1.0);
        if ctx.now() >= SimTime::ZERO + group.config().warmup {
            self.latencies.push(ctx.now().since(done.sent));
        }
        if let Load::Closed { .. } = group.config().load {
            self.issue(group, side, ctx);
        }
    }
}
