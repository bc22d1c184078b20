//! What every replica of a group shares: the configuration, message sizes, the safety checker
//! and the group's counters, and the one place messages go on the wire.

use std::collections::BTreeMap;
use std::rc::Rc;

use simulator::{SimDuration, SimTime};

use super::checker::SafetyChecker;
use super::config::{Auth, PbftConfig};
use super::host::Host;
use super::messages::{Batch, Body, Kind, KindCounts, Seq, Sizes, View, Wire};

/// Where a message goes, in local ids (replicas `0..n`, clients `n..`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Targets {
    /// One replica or client.
    One(u32),
    /// Every replica except the sender.
    Replicas,
}

/// A group's counters.
#[derive(Clone, Debug, Default)]
pub(super) struct Stats {
    /// Messages sent between replicas, by kind.
    pub(super) replica_messages: KindCounts,
    /// Messages sent by clients and to clients, by kind.
    pub(super) client_messages: KindCounts,
    /// The first time a correct replica installed each view after view 0.
    pub(super) installed: BTreeMap<View, SimTime>,
    /// The first primary failure: when, and in which view.
    pub(super) primary_failure: Option<(SimTime, View)>,
    /// The first commit by a correct replica in a view after the failed one.
    pub(super) recovered: Option<SimTime>,
    /// Prepared batches re-proposed by NEW-VIEW messages.
    pub(super) reproposed: u64,
    /// Null batches proposed by NEW-VIEW messages to fill gaps.
    pub(super) null_proposals: u64,
}

/// The configuration and state every replica of a group shares.
pub(super) struct Shared {
    pub(super) config: PbftConfig,
    pub(super) n: u32,
    pub(super) f: u32,
    pub(super) sizes: Sizes,
    pub(super) checker: SafetyChecker,
    pub(super) stats: Stats,
    /// Nodes in each client slot: a reply to a slot goes to each (none for requests the outer
    /// protocol delivered itself).
    pub(super) receivers: Vec<u32>,
}

impl Shared {
    /// The primary of `view`.
    pub(super) fn primary(&self, view: View) -> u32 {
        (view % u64::from(self.n)) as u32
    }

    /// The local id of client `index`.
    pub(super) fn client_local(&self, index: u32) -> u32 {
        self.n + index
    }

    pub(super) fn is_client(&self, local: u32) -> bool {
        local >= self.n
    }

    /// Nodes a message to local id `local` reaches.
    fn receivers_of(&self, local: u32) -> u32 {
        match local.checked_sub(self.n) {
            None => 1,
            Some(slot) => self.receivers[slot as usize],
        }
    }

    /// Whether client slot `client` has nodes to answer.
    pub(super) fn answers(&self, client: u32) -> bool {
        self.receivers[client as usize] > 0
    }

    /// Bytes read from disk for one state key missing from the cache.
    pub(super) fn value_bytes(&self) -> u64 {
        self.config.execution.as_ref().map_or(0, |e| e.value_size.bytes())
    }

    /// CPU time to authenticate a message for `to`.
    pub(super) fn generation_cost(&self, to: Targets) -> SimDuration {
        let costs = &self.config.costs;
        match (self.config.auth, to) {
            (Auth::Macs, Targets::One(local)) => SimDuration(costs.mac.0 * u64::from(self.receivers_of(local))),
            (Auth::Macs, Targets::Replicas) => SimDuration(costs.mac.0 * u64::from(self.n - 1)),
            (Auth::Signatures, _) => costs.sign,
        }
    }

    /// CPU time to check a received message; the requests inside a PRE-PREPARE are checked too.
    pub(super) fn verification_cost(&self, body: &Body) -> SimDuration {
        let costs = &self.config.costs;
        let one = match self.config.auth {
            Auth::Macs => costs.mac,
            Auth::Signatures => costs.verify,
        };
        let count = match body {
            Body::PrePrepare { batch, .. } => 1 + batch.requests.len() as u64,
            _ => 1,
        };
        SimDuration(one.0 * count)
    }

    /// Puts `body` on the wire from local id `from` to `to`, counting it.
    pub(super) fn transmit(&mut self, from: u32, to: Targets, body: Body, ctx: &mut impl Host) {
        let bytes = self.sizes.of(&body);
        let kind = body.kind();
        match to {
            Targets::One(local) => {
                self.count(from, local, kind, u64::from(self.receivers_of(local)));
                ctx.send(local, Wire { body, bytes });
            }
            Targets::Replicas => {
                let receivers = (0..self.n).filter(|&r| r != from);
                self.count(from, 0, kind, receivers.clone().count() as u64);
                for r in receivers {
                    ctx.send(r, Wire { body: body.clone(), bytes });
                }
            }
        }
    }

    fn count(&mut self, from: u32, to: u32, kind: Kind, messages: u64) {
        let counters = if self.is_client(from) || self.is_client(to) {
            &mut self.stats.client_messages
        } else {
            &mut self.stats.replica_messages
        };
        counters.add(kind, messages);
    }

    /// `replica` committed `batch` at `seq` in `view`.
    pub(super) fn committed(&mut self, replica: u32, view: View, seq: Seq, batch: &Batch, now: SimTime) {
        self.checker.commit(replica, seq, batch.digest, batch.requests.len(), now);
        if let Some((_, failed_view)) = self.stats.primary_failure
            && self.stats.recovered.is_none()
            && view > failed_view
            && self.checker.is_correct(replica)
        {
            self.stats.recovered = Some(now);
        }
    }

    /// `replica` installed `view`.
    pub(super) fn view_installed(&mut self, replica: u32, view: View, now: SimTime) {
        if self.checker.is_correct(replica) {
            self.stats.installed.entry(view).or_insert(now);
        }
    }

    /// A NEW-VIEW went out with these proposals.
    pub(super) fn new_view_sent(&mut self, batches: &[(Seq, Rc<Batch>)]) {
        let nulls = batches.iter().filter(|(_, b)| b.requests.is_empty()).count() as u64;
        self.stats.null_proposals += nulls;
        self.stats.reproposed += batches.len() as u64 - nulls;
    }

    /// The primary of `view` stopped doing its job at `now`; only the first failure is timed.
    pub(super) fn primary_failed(&mut self, view: View, now: SimTime) {
        if self.stats.primary_failure.is_none() {
            self.stats.primary_failure = Some((now, view));
        }
    }
}
