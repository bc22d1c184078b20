//! Clients: they send requests to the primary they believe in, accept a result once f + 1
//! replicas reply with the same one, and resend to every replica when that takes too long.
//! Clients are load generators: their CPU is not modelled.

use std::collections::BTreeMap;

use simulator::sampling::standard_exponential;
use simulator::{Context, NodeId, SimDuration, SimTime, TimerId};

use super::config::Load;
use super::messages::{Body, RequestId, View};
use super::{Pbft, Shared, Targets, Timer};

struct Outstanding {
    sent: SimTime,
    /// (replica, result, view) of each reply so far.
    replies: Vec<(u32, u64, View)>,
    timer: TimerId,
}

/// One client.
pub(super) struct Client {
    index: u32,
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
    pub(super) fn new(index: u32) -> Self {
        Client {
            index,
            view: 0,
            next_number: 0,
            outstanding: BTreeMap::new(),
            latencies: Vec::new(),
            accepted: 0,
            last_accept: None,
            retransmissions: 0,
        }
    }

    pub(super) fn start(&mut self, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        match shared.config.load {
            Load::Closed { window } => {
                for _ in 0..window {
                    self.issue(shared, ctx);
                }
            }
            Load::Open { rate } => self.schedule_arrival(rate, ctx),
        }
    }

    fn schedule_arrival(&mut self, rate: f64, ctx: &mut Context<'_, Pbft>) {
        let gap = SimDuration::from_secs_f64_rounded(standard_exponential(ctx.rng()) / rate);
        ctx.set_timer(gap, Timer::Arrival);
    }

    pub(super) fn on_arrival(&mut self, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        self.issue(shared, ctx);
        if let Load::Open { rate } = shared.config.load
            && !self.exhausted(shared)
        {
            self.schedule_arrival(rate, ctx);
        }
    }

    fn exhausted(&self, shared: &Shared) -> bool {
        shared.config.requests.is_some_and(|limit| self.next_number >= limit)
    }

    fn issue(&mut self, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        if self.exhausted(shared) {
            return;
        }
        let number = self.next_number;
        self.next_number += 1;
        let request = RequestId { client: self.index, number };
        shared.transmit(
            shared.client_node(self.index),
            Targets::One(shared.primary(self.view)),
            Body::Request(request),
            ctx,
        );
        let timer = ctx.set_timer(shared.config.client_timeout, Timer::Retransmit { number });
        self.outstanding.insert(number, Outstanding { sent: ctx.now(), replies: Vec::new(), timer });
    }

    pub(super) fn on_retransmit(&mut self, number: u64, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        if !self.outstanding.contains_key(&number) {
            return;
        }
        self.retransmissions += 1;
        let request = RequestId { client: self.index, number };
        shared.transmit(shared.client_node(self.index), Targets::Replicas, Body::Request(request), ctx);
        let timer = ctx.set_timer(shared.config.client_timeout, Timer::Retransmit { number });
        self.outstanding.get_mut(&number).expect("checked above").timer = timer;
    }

    pub(super) fn on_reply(
        &mut self,
        from: NodeId,
        view: View,
        request: RequestId,
        result: u64,
        shared: &mut Shared,
        ctx: &mut Context<'_, Pbft>,
    ) {
        let Some(outstanding) = self.outstanding.get_mut(&request.number) else { return };
        if from >= shared.n || outstanding.replies.iter().any(|(r, _, _)| *r == from) {
            return;
        }
        outstanding.replies.push((from, result, view));
        let matching: Vec<View> =
            outstanding.replies.iter().filter(|(_, r, _)| *r == result).map(|(_, _, v)| *v).collect();
        if matching.len() <= shared.f as usize {
            return;
        }
        let done = self.outstanding.remove(&request.number).expect("present");
        ctx.cancel_timer(done.timer);
        self.view = self.view.max(matching.into_iter().max().unwrap_or(0));
        self.accepted += 1;
        self.last_accept = Some(ctx.now());
        shared.stats.throughput.add(ctx.now(), 1.0);
        if ctx.now() >= SimTime::ZERO + shared.config.warmup {
            self.latencies.push(ctx.now().since(done.sent));
        }
        if let Load::Closed { .. } = shared.config.load {
            self.issue(shared, ctx);
        }
    }
}
