//! FairShare contention: concurrent transfers split link capacity equally (processor sharing).
//!
//! A transfer from `a` to `b` is a flow whose rate is `min(U_a / n_up(a), D_b / n_down(b))`, where
//! `n_up(a)` and `n_down(b)` count the flows currently on `a`'s uplink and `b`'s downlink. The flow
//! occupies both links from its start until its last bit is sent; the message is delivered one
//! latency after that. Uncontended this gives exactly `t + S·8/min(U_a, D_b) + L`.
//!
//! Simplification: exact coupling of uplinks and downlinks is max-min fairness, where capacity a
//! flow cannot use (because it is limited at its other end) is redistributed to the other flows.
//! Equal split does not redistribute, so a flow's rate is never above its max-min rate and
//! completion times are never earlier than the exact ones; when every flow's bottleneck share is the
//! same on both its links (all symmetric cases, and any link shared by flows that are not limited
//! elsewhere) the two agree exactly. The benefit is locality: a flow starting or ending changes the
//! rates of the flows on two links only. Rates are whole bits per second (rounded down) and
//! completion times are rounded up to the nanosecond.

use super::{LinkCapacities, Scheduler, Transfer};
use crate::network::NetEvent;
use crate::queue::EventKey;
use crate::slab::Slab;
use crate::time::SimTime;
use crate::topology::NodeId;
use crate::units::{Bandwidth, div_ceil_u128};

struct Flow {
    transfer: Transfer,
    /// Bits still to send, in units of 10^-9 bit (so that rate [bit/s] × time [ns] is exact).
    remaining: u128,
    /// Current rate in bits per second; 0 before the first rate assignment.
    rate: u64,
    updated: SimTime,
    done: Option<EventKey>,
}

pub(super) struct FairShareLinks {
    flows: Slab<Flow>,
    on_uplink: Vec<Vec<u32>>,
    on_downlink: Vec<Vec<u32>>,
    scratch: Vec<u32>,
}

/// Equal share of `capacity` among `flows` flows, in bits per second.
fn share(capacity: Bandwidth, flows: usize) -> u64 {
    match capacity {
        Bandwidth::Unlimited => u64::MAX,
        Bandwidth::BitsPerSec(bps) => bps / flows as u64,
    }
}

impl FairShareLinks {
    pub(super) fn new(nodes: usize) -> Self {
        FairShareLinks {
            flows: Slab::default(),
            on_uplink: vec![Vec::new(); nodes],
            on_downlink: vec![Vec::new(); nodes],
            scratch: Vec::new(),
        }
    }

    pub(super) fn send(&mut self, now: SimTime, t: Transfer, caps: &LinkCapacities, sched: &mut impl Scheduler) {
        let unlimited = caps.upload[t.from as usize].min(caps.download[t.to as usize]) == Bandwidth::Unlimited;
        if unlimited || t.bytes == 0 {
            sched.schedule_delivery(now + t.latency, t.msg);
            return;
        }
        let flow =
            Flow { transfer: t, remaining: u128::from(t.bytes) * 8_000_000_000, rate: 0, updated: now, done: None };
        let id = self.flows.insert(flow);
        self.on_uplink[t.from as usize].push(id);
        self.on_downlink[t.to as usize].push(id);
        self.rebalance(now, t.from, t.to, caps, sched);
    }

    pub(super) fn finish(&mut self, now: SimTime, id: u32, caps: &LinkCapacities, sched: &mut impl Scheduler) {
        let flow = self.flows.remove(id);
        let t = flow.transfer;
        remove_id(&mut self.on_uplink[t.from as usize], id);
        remove_id(&mut self.on_downlink[t.to as usize], id);
        sched.schedule_delivery(now + t.latency, t.msg);
        self.rebalance(now, t.from, t.to, caps, sched);
    }

    pub(super) fn sender(&self, id: u32) -> NodeId {
        self.flows.get(id).transfer.from
    }

    /// Re-rates every flow on `from`'s uplink and `to`'s downlink; only their shares changed.
    fn rebalance(&mut self, now: SimTime, from: NodeId, to: NodeId, caps: &LinkCapacities, sched: &mut impl Scheduler) {
        let mut affected = std::mem::take(&mut self.scratch);
        affected.clear();
        affected.extend_from_slice(&self.on_uplink[from as usize]);
        affected.extend_from_slice(&self.on_downlink[to as usize]);
        for &id in &affected {
            self.rerate(now, id, caps, sched);
        }
        self.scratch = affected;
    }

    fn rerate(&mut self, now: SimTime, id: u32, caps: &LinkCapacities, sched: &mut impl Scheduler) {
        let t = self.flows.get(id).transfer;
        let up = share(caps.upload[t.from as usize], self.on_uplink[t.from as usize].len());
        let down = share(caps.download[t.to as usize], self.on_downlink[t.to as usize].len());
        let rate = up.min(down).max(1);
        let flow = self.flows.get_mut(id);
        let progressed = u128::from(flow.rate) * u128::from(now.since(flow.updated).0);
        flow.remaining = flow.remaining.saturating_sub(progressed);
        flow.updated = now;
        if rate == flow.rate {
            return;
        }
        flow.rate = rate;
        if let Some(key) = flow.done.take() {
            sched.cancel_net(key);
        }
        let done_at = now + crate::time::SimDuration(div_ceil_u128(flow.remaining, u128::from(rate)));
        self.flows.get_mut(id).done = Some(sched.schedule_net(done_at, NetEvent::FlowDone(id)));
    }
}

fn remove_id(list: &mut Vec<u32>, id: u32) {
    let index = list.iter().position(|&x| x == id).expect("flow is registered on its links");
    list.swap_remove(index);
}

#[cfg(test)]
pub(crate) mod exact {
    //! Exact max-min fair rates by progressive filling, to check the equal-split simplification.

    /// Max-min fair rates of `flows` (uplink node, downlink node) given link capacities.
    pub fn max_min_rates(flows: &[(usize, usize)], up: &[f64], down: &[f64]) -> Vec<f64> {
        let mut rate = vec![0.0; flows.len()];
        let mut frozen = vec![false; flows.len()];
        let mut up_left = up.to_vec();
        let mut down_left = down.to_vec();
        while frozen.iter().any(|f| !f) {
            // The tightest link determines the next increment for all unfrozen flows on it.
            let mut best = f64::INFINITY;
            for (side_left, pick) in [(&up_left, 0usize), (&down_left, 1usize)] {
                for (node, &left) in side_left.iter().enumerate() {
                    let users = flows
                        .iter()
                        .zip(&frozen)
                        .filter(|((u, d), f)| !**f && if pick == 0 { *u == node } else { *d == node })
                        .count();
                    if users > 0 {
                        best = best.min(left / users as f64);
                    }
                }
            }
            for (i, &(u, d)) in flows.iter().enumerate() {
                if !frozen[i] {
                    rate[i] += best;
                    up_left[u] -= best;
                    down_left[d] -= best;
                }
            }
            for (i, &(u, d)) in flows.iter().enumerate() {
                if !frozen[i] && (up_left[u] <= 1e-9 || down_left[d] <= 1e-9) {
                    frozen[i] = true;
                }
            }
        }
        rate
    }
}

#[cfg(test)]
mod tests {
    use super::exact::max_min_rates;
    use proptest::prelude::*;

    /// Equal-split rates of `flows` given link capacities.
    fn equal_split_rates(flows: &[(usize, usize)], up: &[f64], down: &[f64]) -> Vec<f64> {
        flows
            .iter()
            .map(|&(u, d)| {
                let n_up = flows.iter().filter(|f| f.0 == u).count() as f64;
                let n_down = flows.iter().filter(|f| f.1 == d).count() as f64;
                (up[u] / n_up).min(down[d] / n_down)
            })
            .collect()
    }

    /// Flows (uplink node, downlink node), uplink capacities, downlink capacities.
    type Case = (Vec<(usize, usize)>, Vec<f64>, Vec<f64>);

    #[test]
    fn equal_split_matches_max_min_in_symmetric_cases() {
        // Two flows on one uplink; two flows into one downlink; a 3x3 all-to-all exchange.
        let cases: [Case; 3] = [
            (vec![(0, 1), (0, 2)], vec![10.0, 100.0, 100.0], vec![100.0; 3]),
            (vec![(0, 2), (1, 2)], vec![100.0; 3], vec![100.0, 100.0, 10.0]),
            (vec![(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)], vec![10.0; 3], vec![10.0; 3]),
        ];
        for (flows, up, down) in cases {
            assert_eq!(equal_split_rates(&flows, &up, &down), max_min_rates(&flows, &up, &down));
        }
    }

    #[test]
    fn equal_split_leaves_capacity_unused_when_one_flow_is_limited_elsewhere() {
        // Node 0 uploads (10) to node 1 (downlink 100) and node 2 (downlink 2).
        let flows = [(0, 1), (0, 2)];
        let (up, down) = ([10.0, 0.0, 0.0], [0.0, 100.0, 2.0]);
        assert_eq!(max_min_rates(&flows, &up, &down), vec![8.0, 2.0]);
        assert_eq!(equal_split_rates(&flows, &up, &down), vec![5.0, 2.0]);
    }

    proptest! {
        /// The simplification is conservative: never faster than exact max-min fairness.
        #[test]
        fn equal_split_never_exceeds_max_min(
            flows in prop::collection::vec((0usize..4, 0usize..4), 1..8),
            up in prop::collection::vec(1.0f64..100.0, 4),
            down in prop::collection::vec(1.0f64..100.0, 4),
        ) {
            let exact = max_min_rates(&flows, &up, &down);
            let simple = equal_split_rates(&flows, &up, &down);
            for (s, e) in simple.iter().zip(&exact) {
                prop_assert!(*s <= *e + 1e-6, "equal split {s} > max-min {e}");
            }
        }
    }
}
