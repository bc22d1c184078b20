//! FairShare contention: every access link is a processor-sharing server. The `n` transfers on a
//! link each get `capacity / n`, like parallel TCP flows.
//!
//! A transfer from `a` to `b` starts on `a`'s uplink when sent. Its first bit reaches `b`'s
//! downlink one latency L later, and from then on it shares the downlink too. It is delivered when
//! it has finished on both links, but never before its last bit has left the uplink plus L:
//! `deliver = max(uplink done + L, downlink done)`. Uncontended this is exactly
//! `t + S·8/min(U_a, D_b) + L`.
//!
//! Simplification: exact coupling of uplinks and downlinks is max-min fairness, where capacity a
//! transfer cannot use (because it is slower at its other end) goes to the other transfers.
//! Here each link shares its capacity among its own transfers without regard to the other end, so
//! a transfer limited elsewhere still holds an equal share of a link for as long as that link
//! takes to serve its bytes. When every transfer's bottleneck share is the same at both ends (all
//! symmetric cases, a single shared uplink or downlink) the result is exact; otherwise transfers
//! can finish later than under max-min (see the tests for a worked case).
//!
//! Each link keeps a virtual clock: the bits served so far to every transfer present. A transfer
//! joining with S bits finishes when the clock passes `clock at join + S`, so transfers finish in
//! the order of these tags, a min-heap holds them, and only the link's next finish is an event:
//! O(log n) per transfer however many share the link. Clock and tags are in units of 10^-9 bit so
//! that rate [bit/s] × time [ns] is exact; increments are rounded down and finish times up.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{LinkCapacities, Scheduler, Transit};
use crate::network::NetEvent;
use crate::queue::EventKey;
use crate::slab::Slab;
use crate::time::{SimDuration, SimTime};
use crate::topology::NodeId;
use crate::units::{Bandwidth, div_ceil_u128};

/// A transfer's progress through the two links.
struct Progress<T> {
    payload: T,
    latency: SimDuration,
    finished: Finished,
}

/// Which link has finished serving a transfer, while the other has not. The downlink's finish
/// time is not kept: when the uplink finishes later, delivery is one latency after it anyway.
#[derive(Copy, Clone)]
enum Finished {
    Neither,
    /// The last bit left the uplink at this time.
    Uplink(SimTime),
    Downlink,
}

/// A transfer on a link: (finish tag, arrival order, transfer id), unique by the arrival order.
type Finish = (u128, u64, u32);

/// The transfers present on a link, by finish: the earliest in the link's own record, the others
/// in a heap. Most links hold one transfer at a time, and then a link event does not touch the
/// heap's separate allocation, which would be one more cache miss.
#[derive(Default)]
struct Finishes {
    /// The earliest finish; `None` only when no transfer is present.
    earliest: Option<Finish>,
    later: BinaryHeap<Reverse<Finish>>,
}

impl Finishes {
    fn push(&mut self, finish: Finish) {
        match self.earliest {
            Some(earliest) if earliest <= finish => self.later.push(Reverse(finish)),
            Some(earliest) => {
                self.later.push(Reverse(earliest));
                self.earliest = Some(finish);
            }
            None => self.earliest = Some(finish),
        }
    }

    fn peek(&self) -> Option<&Finish> {
        self.earliest.as_ref()
    }

    fn pop(&mut self) -> Option<Finish> {
        let earliest = self.earliest.take()?;
        self.earliest = self.later.pop().map(|Reverse(next)| next);
        Some(earliest)
    }

    fn len(&self) -> usize {
        usize::from(self.earliest.is_some()) + self.later.len()
    }
}

/// One access link as a processor-sharing server.
struct SharedLink {
    /// Capacity in bit/s; `None` for an unlimited link, which never holds a transfer. Kept here
    /// rather than looked up so that a link event touches one record.
    capacity: Option<u64>,
    /// Bits served to each present transfer since the start, in 10^-9 bit.
    clock: u128,
    updated: SimTime,
    /// The transfers present.
    present: Finishes,
    /// The scheduled finish event. It may be early (transfers joined since): the event then
    /// finds nothing finished and schedules the next one.
    next_finish: Option<EventKey>,
}

impl SharedLink {
    fn new(bandwidth: Bandwidth) -> Self {
        SharedLink {
            capacity: bandwidth.bits_per_sec(),
            clock: 0,
            updated: SimTime::ZERO,
            present: Finishes::default(),
            next_finish: None,
        }
    }

    fn held_capacity(&self) -> u64 {
        self.capacity.expect("only finite links hold transfers")
    }

    fn advance(&mut self, now: SimTime) {
        let capacity = self.held_capacity();
        let served = u128::from(capacity) * u128::from(now.since(self.updated).0);
        if let Some(each) = served.checked_div(self.present.len() as u128) {
            self.clock += each;
        }
        self.updated = now;
    }

    /// Makes sure a finish event is scheduled no later than the earliest finish. A transfer
    /// joining only delays the others, so the existing event is kept unless the newcomer itself
    /// finishes first; this spares a cancellation per join.
    fn reschedule<T>(&mut self, now: SimTime, event: NetEvent<T>, sched: &mut impl Scheduler<T>) {
        let Some(&(tag, _, _)) = self.present.peek() else { return };
        let capacity = self.held_capacity();
        let n = self.present.len() as u128;
        let at = now + SimDuration(div_ceil_u128(tag.saturating_sub(self.clock) * n, u128::from(capacity)));
        match self.next_finish {
            Some(scheduled) if scheduled.time() <= at => {}
            Some(stale) => {
                sched.cancel_net(stale);
                self.next_finish = Some(sched.schedule_cancellable_net(at, event));
            }
            None => self.next_finish = Some(sched.schedule_cancellable_net(at, event)),
        }
    }
}

pub(super) struct FairShareLinks<T> {
    transfers: Slab<Progress<T>>,
    uplinks: Vec<SharedLink>,
    downlinks: Vec<SharedLink>,
    arrivals: u64,
    finished: Vec<u32>,
}

fn bits(bytes: u64) -> u128 {
    u128::from(bytes) * 8_000_000_000
}

impl<T: Transit> FairShareLinks<T> {
    pub(super) fn new(caps: &LinkCapacities) -> Self {
        FairShareLinks {
            transfers: Slab::default(),
            uplinks: (0..caps.nodes() as NodeId).map(|node| SharedLink::new(caps.upload(node))).collect(),
            downlinks: (0..caps.nodes() as NodeId).map(|node| SharedLink::new(caps.download(node))).collect(),
            arrivals: 0,
            finished: Vec::new(),
        }
    }

    pub(super) fn send(&mut self, now: SimTime, payload: T, latency: SimDuration, sched: &mut impl Scheduler<T>) {
        let (from, to, bytes) = (payload.sender(), payload.receiver(), payload.wire_bytes());
        let queued = bytes > 0 && self.uplinks[from as usize].capacity.is_some();
        let finished = if queued { Finished::Neither } else { Finished::Uplink(now) };
        let id = self.transfers.insert(Progress { payload, latency, finished });
        if queued {
            self.join(now, Side::Up(from), id, bytes, sched);
        }
        sched.schedule_net(now + latency, NetEvent::Arrive { transfer: id, to });
    }

    /// The first bit reached the receiver: the transfer starts sharing its downlink.
    pub(super) fn arrive(&mut self, now: SimTime, id: u32, to: NodeId, sched: &mut impl Scheduler<T>) {
        let bytes = self.transfers.get(id).payload.wire_bytes();
        if bytes > 0 && self.downlinks[to as usize].capacity.is_some() {
            self.join(now, Side::Down(to), id, bytes, sched);
        } else {
            self.downlink_finished(now, id, sched);
        }
    }

    /// The earliest transfers on a link have been fully served.
    pub(super) fn link_done(&mut self, now: SimTime, side: Side, sched: &mut impl Scheduler<T>) {
        let mut finished = std::mem::take(&mut self.finished);
        let link = self.link(side);
        link.next_finish = None;
        link.advance(now);
        while let Some(&(tag, _, id)) = link.present.peek() {
            if tag > link.clock {
                break;
            }
            link.present.pop();
            finished.push(id);
        }
        link.reschedule(now, side.event(), sched);
        for id in finished.drain(..) {
            match side {
                Side::Up(_) => self.uplink_finished(now, id, sched),
                Side::Down(_) => self.downlink_finished(now, id, sched),
            }
        }
        self.finished = finished;
    }

    /// Starts loading the record that handling `event` reads first.
    pub(super) fn prefetch(&self, event: &NetEvent<T>) {
        match event {
            NetEvent::Arrive { transfer, to } => {
                self.transfers.prefetch(*transfer);
                crate::prefetch::prefetch(&self.downlinks[*to as usize]);
            }
            NetEvent::UplinkDone(node) => crate::prefetch::prefetch(&self.uplinks[*node as usize]),
            NetEvent::DownlinkDone(node) => crate::prefetch::prefetch(&self.downlinks[*node as usize]),
            NetEvent::FifoArrive(_) => {}
        }
    }

    /// Starts loading `node`'s uplink record.
    pub(super) fn prefetch_uplink(&self, node: NodeId) {
        crate::prefetch::prefetch(&self.uplinks[node as usize]);
    }

    fn link(&mut self, side: Side) -> &mut SharedLink {
        match side {
            Side::Up(node) => &mut self.uplinks[node as usize],
            Side::Down(node) => &mut self.downlinks[node as usize],
        }
    }

    fn join(&mut self, now: SimTime, side: Side, id: u32, bytes: u64, sched: &mut impl Scheduler<T>) {
        let order = self.arrivals;
        self.arrivals += 1;
        let link = self.link(side);
        link.advance(now);
        link.present.push((link.clock + bits(bytes), order, id));
        link.reschedule(now, side.event(), sched);
    }

    fn uplink_finished(&mut self, now: SimTime, id: u32, sched: &mut impl Scheduler<T>) {
        let progress = self.transfers.get_mut(id);
        match progress.finished {
            Finished::Downlink => {
                let done = self.transfers.remove(id);
                sched.schedule_delivery(now + done.latency, done.payload);
            }
            _ => progress.finished = Finished::Uplink(now),
        }
    }

    fn downlink_finished(&mut self, now: SimTime, id: u32, sched: &mut impl Scheduler<T>) {
        let progress = self.transfers.get_mut(id);
        match progress.finished {
            Finished::Uplink(sent) => {
                let done = self.transfers.remove(id);
                sched.schedule_delivery((sent + done.latency).max(now), done.payload);
            }
            _ => progress.finished = Finished::Downlink,
        }
    }
}

/// Which link of which node.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// The node's uplink.
    Up(NodeId),
    /// The node's downlink.
    Down(NodeId),
}

impl Side {
    fn event<T>(self) -> NetEvent<T> {
        match self {
            Side::Up(node) => NetEvent::UplinkDone(node),
            Side::Down(node) => NetEvent::DownlinkDone(node),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::EventQueue;

    /// A message of `bytes` from `from` to `to`.
    #[derive(Debug, PartialEq)]
    struct Parcel {
        from: NodeId,
        to: NodeId,
        bytes: u64,
    }

    impl Transit for Parcel {
        fn sender(&self) -> NodeId {
            self.from
        }
        fn receiver(&self) -> NodeId {
            self.to
        }
        fn wire_bytes(&self) -> u64 {
            self.bytes
        }
    }

    enum Event {
        Net(NetEvent<Parcel>),
        Deliver(Parcel),
        Send { msg: Parcel, latency: SimDuration },
    }

    impl Scheduler<Parcel> for EventQueue<Event> {
        fn schedule_net(&mut self, at: SimTime, event: NetEvent<Parcel>) {
            self.push(at, Event::Net(event));
        }
        fn schedule_cancellable_net(&mut self, at: SimTime, event: NetEvent<Parcel>) -> EventKey {
            self.push_cancellable(at, Event::Net(event))
        }
        fn cancel_net(&mut self, key: EventKey) {
            self.cancel(key);
        }
        fn schedule_delivery(&mut self, at: SimTime, payload: Parcel) {
            self.push(at, Event::Deliver(payload));
        }
    }

    const MS: u64 = 1_000_000;

    /// Sends `(at ms, from, bytes, latency ms)` to node 2, whose downlink carries 8 Mbit/s (a byte
    /// per microsecond) while uplinks are unlimited; returns each sender's delivery time in ms.
    fn deliveries(sends: &[(f64, NodeId, u64, f64)]) -> Vec<(NodeId, f64)> {
        let mut links = FairShareLinks::new(&LinkCapacities::new([
            (Bandwidth::Unlimited, Bandwidth::Unlimited),
            (Bandwidth::Unlimited, Bandwidth::Unlimited),
            (Bandwidth::Unlimited, Bandwidth::BitsPerSec(8_000_000)),
        ]));
        let mut queue = EventQueue::new();
        let ns = |ms: f64| SimDuration((ms * MS as f64) as u64);
        for &(at, from, bytes, latency) in sends {
            queue
                .push(SimTime::ZERO + ns(at), Event::Send { msg: Parcel { from, to: 2, bytes }, latency: ns(latency) });
        }
        let mut delivered = Vec::new();
        while let Some((now, event)) = queue.pop() {
            match event {
                Event::Send { msg, latency } => links.send(now, msg, latency, &mut queue),
                Event::Net(NetEvent::DownlinkDone(node)) => links.link_done(now, Side::Down(node), &mut queue),
                Event::Net(NetEvent::UplinkDone(node)) => links.link_done(now, Side::Up(node), &mut queue),
                Event::Net(NetEvent::Arrive { transfer, to }) => links.arrive(now, transfer, to, &mut queue),
                Event::Net(NetEvent::FifoArrive(_)) => unreachable!("no Fifo links here"),
                Event::Deliver(msg) => delivered.push((msg.from, now.0 as f64 / MS as f64)),
            }
        }
        delivered
    }

    #[test]
    fn a_later_send_that_arrives_first_is_served_first() {
        // 10,000 bytes arrive at 10 ms; 1,000 bytes sent at 1 ms arrive at 3 ms and are served
        // alone.
        assert_eq!(deliveries(&[(0.0, 0, 10_000, 10.0), (1.0, 1, 1_000, 2.0)]), vec![(1, 4.0), (0, 20.0)]);
    }

    #[test]
    fn an_arrival_shares_the_downlink_from_its_first_bit_on() {
        // From 12 ms both share 0.5 byte/µs: the newcomer's 1,000 bytes take 2 ms, during which
        // the first transfer gets 1,000 of its remaining 8,000; the last 7,000 take 7 ms alone.
        assert_eq!(deliveries(&[(0.0, 0, 10_000, 10.0), (11.0, 1, 1_000, 1.0)]), vec![(1, 14.0), (0, 21.0)]);
        // Both on their way at once, the later-sent arriving first (3 ms) with 3,000 bytes: alone
        // until 5 ms it gets 2,000; then both share, its last 1,000 take 2 ms, and the other's
        // 4,000 bytes, 1,000 of them served by 7 ms, end 3 ms later.
        assert_eq!(deliveries(&[(0.0, 0, 4_000, 5.0), (1.0, 1, 3_000, 2.0)]), vec![(1, 7.0), (0, 10.0)]);
    }

    proptest::proptest! {
        /// Pushes and pops interleaved at random come out in order, as from a sorted set.
        #[test]
        fn finishes_pop_in_order(ops in proptest::collection::vec((0u128..40, proptest::bool::ANY), 1..200)) {
            let mut finishes = Finishes::default();
            let mut reference = std::collections::BTreeSet::new();
            for (order, (tag, pop)) in ops.into_iter().enumerate() {
                let finish = (tag, order as u64, order as u32);
                finishes.push(finish);
                reference.insert(finish);
                if pop {
                    proptest::prop_assert_eq!(finishes.pop(), reference.pop_first());
                }
                proptest::prop_assert_eq!(finishes.peek(), reference.first());
                proptest::prop_assert_eq!(finishes.len(), reference.len());
            }
            while let Some(expected) = reference.pop_first() {
                proptest::prop_assert_eq!(finishes.pop(), Some(expected));
            }
            proptest::prop_assert_eq!(finishes.pop(), None);
        }
    }
}
