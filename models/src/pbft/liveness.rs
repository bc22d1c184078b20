//! What keeps a replica live on lossy channels and through crashes: resends of stalled messages
//! and of its checkpoint, STATUS when execution is stuck on a missing sequence number, the batch
//! and view-change timers, and crash recovery.

use simulator::{SimDuration, SimTime};

use super::Timer;
use super::host::Host;
use super::messages::{Body, Seq, View};
use super::replica::Replica;
use super::shared::{Shared, Targets};

impl Replica {
    pub(super) fn arm_resend(&mut self, shared: &Shared, ctx: &mut impl Host) {
        let interval = shared.config.resend_interval;
        if !self.resend_armed && interval > SimDuration::ZERO {
            self.resend_armed = true;
            ctx.set_timer(interval, Timer::Resend);
        }
    }

    /// Channels lose messages, so a replica resends, every `resend_interval`, its PRE-PREPARE,
    /// PREPARE or COMMIT for each uncommitted sequence number of the current view that has not
    /// moved for a whole interval, and its CHECKPOINT until that is stable. Idle replicas stop.
    pub(super) fn on_resend_timer(&mut self, shared: &mut Shared, ctx: &mut impl Host) {
        self.resend_armed = false;
        let interval = shared.config.resend_interval;
        let now = ctx.now();
        let mut unfinished = false;
        let mut resend = Vec::new();
        if self.active {
            let primary = self.is_primary_of(self.view, shared);
            for (&seq, slot) in self.log.range(self.last_executed + 1..) {
                if slot.committed.is_some() || slot.view != self.view || slot.proposal.is_none() {
                    continue;
                }
                unfinished = true;
                if now.since(slot.touched) < interval {
                    continue;
                }
                slot.own_messages(seq, primary, &mut resend);
            }
        }
        if self.active && self.running.is_none() && self.blocked_on_missing_slot(now, interval) {
            unfinished = true;
            resend.push(Body::Status { view: self.view, executed: self.last_executed });
        }
        if let Some((seq, digest)) = self.checkpoint_out.filter(|(seq, _)| *seq > self.stable) {
            unfinished = true;
            resend.push(Body::Checkpoint { seq, digest });
        }
        for body in resend {
            self.emit(Targets::Replicas, body, shared, ctx);
        }
        if unfinished {
            self.arm_resend(shared, ctx);
        }
    }

    /// Whether execution has been stuck for `interval` on a sequence number that has not moved
    /// either, although later ones have: something this replica needs for it was lost.
    fn blocked_on_missing_slot(&self, now: SimTime, interval: SimDuration) -> bool {
        let next = self.last_executed + 1;
        let stale = |since: SimTime| now.since(since) >= interval;
        let next_stuck = self.log.get(&next).is_none_or(|slot| slot.committed.is_none() && stale(slot.touched));
        stale(self.progressed)
            && next_stuck
            && self.log.range(next + 1..).any(|(_, slot)| slot.committed.is_some() || slot.proposal.is_some())
    }

    /// Most sequence numbers resent in answer to one STATUS.
    const STATUS_SPAN: u64 = 32;

    /// Resends to `from` this replica's messages for the sequence numbers it has not executed.
    pub(super) fn on_status(&mut self, from: u32, view: View, executed: Seq, shared: &mut Shared, ctx: &mut impl Host) {
        if view != self.view || !self.active || from == self.id {
            return;
        }
        let primary = self.is_primary_of(view, shared);
        let mut resend = Vec::new();
        for (&seq, slot) in self.log.range(executed + 1..=executed + Self::STATUS_SPAN) {
            if slot.view == view {
                slot.own_messages(seq, primary, &mut resend);
            }
        }
        for body in resend {
            self.emit(Targets::One(from), body, shared, ctx);
        }
    }

    pub(super) fn next_generation(&mut self) -> u64 {
        self.timer_generation += 1;
        self.timer_generation
    }

    pub(super) fn cancel_batch_timer(&mut self, ctx: &mut impl Host) {
        if let Some((id, _)) = self.batch_timer.take() {
            ctx.cancel_timer(id);
        }
    }

    /// The batch timeout has passed: cut what is waiting at the next opportunity.
    pub(super) fn on_batch_timer(&mut self, generation: u64, shared: &mut Shared, ctx: &mut impl Host) {
        if self.batch_timer.is_some_and(|(_, g)| g == generation) {
            self.batch_timer = None;
            self.batch_due = true;
            self.try_propose(shared, ctx);
        }
    }

    /// Starts the view-change timer: the base timeout doubled for every view change without progress.
    pub(super) fn start_view_change_timer(&mut self, shared: &Shared, ctx: &mut impl Host) {
        self.stop_view_change_timer(ctx);
        let base = shared.config.view_change_timeout.0;
        let after = SimDuration(base.saturating_mul(1u64 << self.backoff.min(20)));
        let generation = self.next_generation();
        let id = ctx.set_timer(after, Timer::ViewChange { generation });
        self.vc_timer = Some((id, generation));
    }

    pub(super) fn stop_view_change_timer(&mut self, ctx: &mut impl Host) {
        if let Some((id, _)) = self.vc_timer.take() {
            ctx.cancel_timer(id);
        }
    }

    /// After progress: keep waiting only while some received request is still unexecuted.
    pub(super) fn restart_view_change_timer(&mut self, shared: &Shared, ctx: &mut impl Host) {
        if !self.active {
            return;
        }
        self.stop_view_change_timer(ctx);
        if !self.pending.is_empty() && !self.is_primary_of(self.view, shared) {
            self.start_view_change_timer(shared, ctx);
        }
    }

    /// Whether a fired view-change timer is the current one (and clears it).
    pub(super) fn take_view_change_timer(&mut self, generation: u64) -> bool {
        let current = self.vc_timer.is_some_and(|(_, g)| g == generation);
        if current {
            self.vc_timer = None;
        }
        current
    }

    /// The replica crashed: its timers, CPU and disk work are void.
    pub(super) fn crash(&mut self) {
        self.running = None;
        self.resend_armed = false;
        self.batch_timer = None;
        self.batch_due = false;
        self.vc_timer = None;
    }

    /// The replica restarts with its log intact (as written before the crash) and resumes.
    pub(super) fn recover(&mut self, shared: &mut Shared, ctx: &mut impl Host) {
        if self.active {
            self.restart_view_change_timer(shared, ctx);
        } else {
            self.resend_view_change(shared, ctx);
        }
        self.arm_resend(shared, ctx);
        self.try_execute(shared, ctx);
        self.try_propose(shared, ctx);
    }
}
