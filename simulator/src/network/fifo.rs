//! Fifo contention: each uplink and downlink serves one transfer at a time, in the order transfers
//! reach it. A transfer holds the sender's uplink for `S·8/U`; its first bit reaches the receiver's
//! downlink L later and is served once the downlink is free, but cannot finish before its last bit
//! has crossed the wire (`uplink done + L`). The receiver's downlink therefore also stays busy for a
//! transfer slowed by its sender, the simplification of treating each access link as a single
//! serial server.

use super::{LinkCapacities, Scheduler, Transit};
use crate::network::NetEvent;
use crate::time::{SimDuration, SimTime};
use crate::topology::NodeId;

/// A transfer whose first bit has reached the receiver's downlink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FifoArrival<T> {
    payload: T,
    /// Earliest possible delivery: last bit sent + latency.
    not_before: SimTime,
}

impl<T: Transit> FifoArrival<T> {
    /// The receiving node.
    pub fn receiver(&self) -> NodeId {
        self.payload.receiver()
    }
}

pub(super) struct FifoLinks {
    uplink_free: Vec<SimTime>,
    downlink_free: Vec<SimTime>,
    /// Whether any downlink is unlimited. When none is, sending need not look at the receiver's
    /// capacity, a cache miss per message on large networks.
    unlimited_downlinks: bool,
}

impl FifoLinks {
    pub(super) fn new(caps: &LinkCapacities) -> Self {
        let nodes = caps.nodes();
        FifoLinks {
            uplink_free: vec![SimTime::ZERO; nodes],
            downlink_free: vec![SimTime::ZERO; nodes],
            unlimited_downlinks: caps.any_unlimited_download(),
        }
    }

    pub(super) fn send<T: Transit>(
        &mut self,
        now: SimTime,
        payload: T,
        latency: SimDuration,
        caps: &LinkCapacities,
        sched: &mut impl Scheduler<T>,
    ) {
        let (from, to) = (payload.sender(), payload.receiver());
        let uplink = &mut self.uplink_free[from as usize];
        let start = (*uplink).max(now);
        let sent = start + caps.upload(from).transfer_time(payload.wire_bytes());
        *uplink = sent;
        let not_before = sent + latency;
        if self.unlimited_downlinks && caps.download(to).bits_per_sec().is_none() {
            // An unlimited downlink never queues: delivery time is already known.
            sched.schedule_delivery(not_before, payload);
        } else {
            sched.schedule_net(start + latency, NetEvent::FifoArrive(FifoArrival { payload, not_before }));
        }
    }

    pub(super) fn arrive<T: Transit>(
        &mut self,
        now: SimTime,
        arrival: FifoArrival<T>,
        caps: &LinkCapacities,
        sched: &mut impl Scheduler<T>,
    ) {
        let to = arrival.receiver();
        let downlink = &mut self.downlink_free[to as usize];
        let start = (*downlink).max(now);
        let done = (start + caps.download(to).transfer_time(arrival.payload.wire_bytes())).max(arrival.not_before);
        *downlink = done;
        sched.schedule_delivery(done, arrival.payload);
    }
}
