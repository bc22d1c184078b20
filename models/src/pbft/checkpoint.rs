//! Checkpoints, garbage collection and state transfer: every `checkpoint_interval` sequence
//! numbers a replica multicasts its state digest; 2f + 1 matching ones make the checkpoint stable,
//! which truncates the log, and a replica behind a stable checkpoint fetches the state.

use std::rc::Rc;

use super::host::Host;
use super::messages::{Body, Seq, Snapshot};
use super::replica::Replica;
use super::shared::{Shared, Targets};

impl Replica {
    pub(super) fn on_checkpoint(&mut self, from: u32, seq: Seq, digest: u64, shared: &mut Shared, ctx: &mut impl Host) {
        if seq <= self.stable {
            return;
        }
        let votes = self.checkpoint_votes.entry(seq).or_default().add(digest, from);
        if votes > 2 * shared.f as usize {
            self.stabilize(seq, digest, from, shared, ctx);
        }
    }

    /// Makes checkpoint `seq` stable: truncates the log and, if this replica is behind it, asks
    /// `source` (which holds that checkpoint) for the state.
    pub(super) fn stabilize(&mut self, seq: Seq, digest: u64, source: u32, shared: &mut Shared, ctx: &mut impl Host) {
        self.stable = seq;
        self.stable_digest = digest;
        self.log = self.log.split_off(&(seq + 1));
        self.checkpoint_votes = self.checkpoint_votes.split_off(&(seq + 1));
        self.snapshots = self.snapshots.split_off(&seq);
        if self.last_executed < seq && source != self.id {
            self.emit(Targets::One(source), Body::StateRequest { seq }, shared, ctx);
        }
        self.try_propose(shared, ctx);
    }

    pub(super) fn on_state_request(&mut self, from: u32, seq: Seq, shared: &mut Shared, ctx: &mut impl Host) {
        if let Some(snapshot) = self.snapshots.get(&seq) {
            self.emit(Targets::One(from), Body::StateReply(snapshot.clone()), shared, ctx);
        }
    }

    pub(super) fn on_state_reply(&mut self, snapshot: Rc<Snapshot>, shared: &mut Shared, ctx: &mut impl Host) {
        if snapshot.seq <= self.last_executed || snapshot.seq != self.stable || snapshot.digest != self.stable_digest {
            return;
        }
        self.running = None;
        self.last_executed = snapshot.seq;
        self.progressed = ctx.now();
        self.state_digest = snapshot.digest;
        self.executed = snapshot.executed.clone();
        let executed = &self.executed;
        self.pending.retain(|r, _| !executed[r.client as usize].contains(r.number));
        self.next_seq = self.next_seq.max(snapshot.seq + 1);
        self.snapshots.insert(snapshot.seq, snapshot);
        self.restart_view_change_timer(shared, ctx);
        self.try_execute(shared, ctx);
        self.try_propose(shared, ctx);
    }
}
