//! Fifo contention: each uplink and downlink serves one transfer at a time, in the order transfers
//! reach it. A transfer holds the sender's uplink for `S·8/U`; its first bit reaches the receiver's
//! downlink L later and is served once the downlink is free, but cannot finish before its last bit
//! has crossed the wire (`uplink done + L`). The receiver's downlink therefore also stays busy for a
//! transfer slowed by its sender, the simplification of treating each access link as a single
//! serial server.

use super::{LinkCapacities, Scheduler, Transfer};
use crate::network::{MsgId, NetEvent};
use crate::time::SimTime;
use crate::topology::NodeId;

/// A transfer whose first bit has reached the receiver's downlink.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FifoArrival {
    msg: MsgId,
    /// The receiver.
    pub(super) to: NodeId,
    bytes: u64,
    /// Earliest possible delivery: last bit sent + latency.
    not_before: SimTime,
}

pub(super) struct FifoLinks {
    uplink_free: Vec<SimTime>,
    downlink_free: Vec<SimTime>,
}

impl FifoLinks {
    pub(super) fn new(nodes: usize) -> Self {
        FifoLinks { uplink_free: vec![SimTime::ZERO; nodes], downlink_free: vec![SimTime::ZERO; nodes] }
    }

    pub(super) fn send(&mut self, now: SimTime, t: Transfer, caps: &LinkCapacities, sched: &mut impl Scheduler) {
        let uplink = &mut self.uplink_free[t.from as usize];
        let start = (*uplink).max(now);
        let sent = start + caps.upload[t.from as usize].transfer_time(t.bytes);
        *uplink = sent;
        let not_before = sent + t.latency;
        if caps.download[t.to as usize].bits_per_sec().is_none() {
            // An unlimited downlink never queues: delivery time is already known.
            sched.schedule_delivery(not_before, t.msg);
        } else {
            let arrival = FifoArrival { msg: t.msg, to: t.to, bytes: t.bytes, not_before };
            sched.schedule_net(start + t.latency, NetEvent::FifoArrive(arrival));
        }
    }

    pub(super) fn arrive(&mut self, now: SimTime, t: FifoArrival, caps: &LinkCapacities, sched: &mut impl Scheduler) {
        let not_before = t.not_before;
        let downlink = &mut self.downlink_free[t.to as usize];
        let start = (*downlink).max(now);
        let done = (start + caps.download[t.to as usize].transfer_time(t.bytes)).max(not_before);
        *downlink = done;
        sched.schedule_delivery(done, t.msg);
    }
}
