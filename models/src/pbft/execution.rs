//! Execution of committed batches, in sequence order and one batch at a time: state keys missing
//! from the cache are read from disk, then requests run on the replica's cores in conflict-graph
//! order, so a batch's makespan emerges from the CPU model. The application executes each
//! request as the batch finishes; its outcome is the reply.

use std::collections::VecDeque;
use std::rc::Rc;

use simulator::SimDuration;
use simulator::rng::splitmix64;

use super::conflict::ReadyTracker;
use super::host::Host;
use super::messages::{Batch, Body, Seq, Snapshot};
use super::replica::{Replica, Running};
use super::shared::{Shared, Targets};
use super::{CpuJob, DiskJob};

impl Replica {
    /// Executes committed batches in sequence order, one at a time. The application hears of
    /// each committed batch here, in sequence order, once (a crash restarts the execution of a
    /// batch, not its report).
    pub(super) fn try_execute(&mut self, shared: &mut Shared, ctx: &mut impl Host) {
        while self.running.is_none() {
            let seq = self.last_executed + 1;
            let Some(batch) = self.log.get(&seq).and_then(|slot| slot.committed.clone()) else { return };
            if seq > self.reported {
                self.reported = seq;
                ctx.committed(self.id, seq, &batch);
            }
            self.start_execution(seq, batch, shared, ctx);
        }
    }

    /// Reads missed state from disk, then releases requests onto the cores in conflict order.
    fn start_execution(&mut self, seq: Seq, batch: Rc<Batch>, shared: &mut Shared, ctx: &mut impl Host) {
        let fresh: Vec<bool> =
            batch.requests.iter().map(|r| !self.executed[r.id.client as usize].contains(r.id.number)).collect();
        let mut misses = 0u32;
        let accesses = batch.requests.iter().map(|r| &r.payload.access);
        for (access, _) in accesses.zip(&fresh).filter(|(_, fresh)| **fresh) {
            for &key in &access.reads {
                misses += u32::from(!self.cache.read(key));
            }
            for &key in &access.writes {
                self.cache.write(key);
            }
        }
        let tracker = ReadyTracker::new(&batch.conflicts);
        self.running = Some(Running { seq, batch, fresh, tracker, fetches: misses });
        if misses == 0 {
            self.release_initial(shared, ctx);
        } else {
            let bytes = shared.value_bytes();
            for _ in 0..misses {
                ctx.disk_read(bytes, DiskJob::Fetch { seq });
            }
        }
    }

    fn release_initial(&mut self, shared: &mut Shared, ctx: &mut impl Host) {
        let ready = self.running.as_ref().map(|r| r.tracker.initially_ready()).unwrap_or_default();
        self.release(ready, shared, ctx);
    }

    /// Submits ready requests to the CPU; requests that cost nothing finish on the spot.
    fn release(&mut self, ready: Vec<usize>, shared: &mut Shared, ctx: &mut impl Host) {
        let Some(running) = self.running.as_mut() else { return };
        let mut ready: VecDeque<usize> = ready.into();
        while let Some(i) = ready.pop_front() {
            let cost = running.batch.requests[i].payload.cost;
            if running.fresh[i] && cost > SimDuration::ZERO {
                ctx.run_cpu(cost, CpuJob::Execute { seq: running.seq, index: i as u32 });
            } else {
                ready.extend(running.tracker.complete(&running.batch.conflicts, i));
            }
        }
        if running.tracker.all_done() {
            self.finish_execution(shared, ctx);
        }
    }

    /// A state read for the running batch completed.
    pub(super) fn fetched(&mut self, seq: Seq, shared: &mut Shared, ctx: &mut impl Host) {
        let Some(running) = self.running.as_mut().filter(|r| r.seq == seq) else { return };
        running.fetches -= 1;
        if running.fetches == 0 {
            self.release_initial(shared, ctx);
            self.try_execute(shared, ctx);
        }
    }

    /// A request of the running batch finished on a core.
    pub(super) fn executed_request(&mut self, seq: Seq, index: usize, shared: &mut Shared, ctx: &mut impl Host) {
        let Some(running) = self.running.as_mut().filter(|r| r.seq == seq) else { return };
        let released = running.tracker.complete(&running.batch.conflicts, index);
        self.release(released, shared, ctx);
        // The batch may have finished: go on with the next committed one.
        self.try_execute(shared, ctx);
    }

    fn finish_execution(&mut self, shared: &mut Shared, ctx: &mut impl Host) {
        let Some(Running { seq, batch, fresh, .. }) = self.running.take() else { return };
        for (request, &fresh) in batch.requests.iter().zip(&fresh) {
            if fresh {
                self.executed[request.id.client as usize].insert(request.id.number);
                if let Some(result) = ctx.execute(self.id, seq, request) {
                    self.reply(request.id, result, shared, ctx);
                }
            }
            self.pending.remove(&request.id);
            self.queued.remove(&request.id);
        }
        self.state_digest = splitmix64(self.state_digest ^ splitmix64(batch.digest ^ seq));
        self.last_executed = seq;
        self.progressed = ctx.now();
        if seq % shared.config.checkpoint_interval == 0 {
            let snapshot = Snapshot { seq, digest: self.state_digest, executed: self.executed.clone() };
            self.snapshots.insert(seq, Rc::new(snapshot));
            shared.checker.checkpoint(self.id, seq, self.state_digest, ctx.now());
            let digest = self.state_digest;
            self.checkpoint_out = Some((seq, digest));
            self.arm_resend(shared, ctx);
            self.emit(Targets::Replicas, Body::Checkpoint { seq, digest }, shared, ctx);
            self.on_checkpoint(self.id, seq, digest, shared, ctx);
        }
        if !batch.requests.is_empty() {
            self.backoff = 0;
        }
        self.restart_view_change_timer(shared, ctx);
        self.try_propose(shared, ctx);
    }
}
