//! A replica's normal case: requests, batching at the primary, PRE-PREPARE / PREPARE / COMMIT
//! with 2f + 1 quorums, in-order execution of committed batches on the modelled cores and disk,
//! replies, checkpoints, garbage collection and state transfer. View changes are in
//! [`super::view_change`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use simulator::rng::splitmix64;
use simulator::{Context, NodeId, SimDuration, SimTime, TimerId};

use super::cache::LruCache;
use super::config::{Behaviour, ByzantineConfig};
use super::conflict::ReadyTracker;
use super::messages::{Batch, Body, ExecutedSet, NewView, RequestId, Seq, Snapshot, View, ViewChange};
use super::votes::Votes;
use super::{CpuJob, DiskJob, Pbft, Shared, Targets, Timer};

/// The protocol state of one sequence number.
#[derive(Default)]
pub(super) struct Slot {
    /// The view the per-view fields below belong to.
    view: View,
    /// The PRE-PREPARE accepted in `view`.
    pub(super) proposal: Option<Arc<Batch>>,
    prepares: Votes,
    commits: Votes,
    prepared: bool,
    /// The batch committed here, in whatever view (committed batches never change).
    pub(super) committed: Option<Arc<Batch>>,
    /// The prepared certificate of the highest view, kept across view changes.
    pub(super) certificate: Option<(View, Arc<Batch>)>,
    /// When the slot last gained a proposal or a vote.
    touched: SimTime,
}

impl Slot {
    /// What this replica sent for the slot in its view: the PRE-PREPARE (as primary) or its
    /// PREPARE, and its COMMIT once prepared. Appended to `out`, for resending.
    fn own_messages(&self, seq: Seq, primary: bool, out: &mut Vec<Body>) {
        let Some(batch) = &self.proposal else { return };
        let (view, digest) = (self.view, batch.digest);
        out.push(if primary {
            Body::PrePrepare { view, seq, batch: batch.clone() }
        } else {
            Body::Prepare { view, seq, digest }
        });
        if self.prepared {
            out.push(Body::Commit { view, seq, digest });
        }
    }

    /// Moves the slot to `view` at `now`, forgetting votes and proposals of older views.
    pub(super) fn enter(&mut self, view: View, now: SimTime) {
        self.touched = now;
        if view > self.view {
            self.view = view;
            self.proposal = None;
            self.prepares = Votes::default();
            self.commits = Votes::default();
            self.prepared = false;
        }
    }
}

/// The two voting phases of agreement.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    Prepare,
    Commit,
}

/// A PREPARE or COMMIT.
#[derive(Copy, Clone, Debug)]
struct Vote {
    phase: Phase,
    view: View,
    seq: Seq,
    digest: u64,
}

/// A batch being executed.
struct Running {
    seq: Seq,
    batch: Arc<Batch>,
    /// Whether each request is new (a request already executed through another batch is skipped).
    fresh: Vec<bool>,
    tracker: ReadyTracker,
    /// State reads still outstanding on the disk.
    fetches: u32,
}

/// One replica.
pub(super) struct Replica {
    pub(super) id: u32,
    pub(super) view: View,
    /// False between sending VIEW-CHANGE and installing the NEW-VIEW.
    pub(super) active: bool,
    pub(super) log: BTreeMap<Seq, Slot>,
    pub(super) stable: Seq,
    pub(super) stable_digest: u64,
    checkpoint_votes: BTreeMap<Seq, Votes>,
    snapshots: BTreeMap<Seq, Arc<Snapshot>>,
    pub(super) last_executed: Seq,
    state_digest: u64,
    executed: Vec<ExecutedSet>,
    running: Option<Running>,
    cache: LruCache,
    // Primary.
    pub(super) next_seq: Seq,
    pub(super) queue: VecDeque<RequestId>,
    pub(super) queued: BTreeSet<RequestId>,
    batch_timer: Option<(TimerId, u64)>,
    batch_due: bool,
    // Backup.
    /// Requests received and not yet executed.
    pub(super) pending: BTreeSet<RequestId>,
    vc_timer: Option<(TimerId, u64)>,
    /// View changes since the last request executed: the timeout is doubled for each.
    pub(super) backoff: u32,
    /// Whether 2f + 1 replicas have asked for the view this replica is changing to.
    pub(super) quorum_for_view: bool,
    timer_generation: u64,
    pub(super) view_changes: BTreeMap<View, BTreeMap<u32, Arc<ViewChange>>>,
    /// Whether the resend timer is armed.
    resend_armed: bool,
    /// When execution last advanced (or the replica entered its view).
    pub(super) progressed: SimTime,
    /// This replica's latest CHECKPOINT, until it becomes stable.
    checkpoint_out: Option<(Seq, u64)>,
    /// The NEW-VIEW installed last, resent to replicas still trying to leave an older view.
    pub(super) new_view: Option<Arc<NewView>>,
    /// Messages of a view this replica has not entered yet.
    pub(super) future: Vec<(NodeId, Body)>,
    fault: Option<ByzantineConfig>,
}

impl Replica {
    pub(super) fn new(id: u32, clients: usize, cache: usize, fault: Option<ByzantineConfig>) -> Self {
        Replica {
            id,
            view: 0,
            active: true,
            log: BTreeMap::new(),
            stable: 0,
            stable_digest: 0,
            checkpoint_votes: BTreeMap::new(),
            snapshots: BTreeMap::new(),
            last_executed: 0,
            state_digest: 0,
            executed: vec![ExecutedSet::default(); clients],
            running: None,
            cache: LruCache::new(cache),
            next_seq: 1,
            queue: VecDeque::new(),
            queued: BTreeSet::new(),
            batch_timer: None,
            batch_due: false,
            pending: BTreeSet::new(),
            vc_timer: None,
            backoff: 0,
            quorum_for_view: false,
            timer_generation: 0,
            view_changes: BTreeMap::new(),
            resend_armed: false,
            checkpoint_out: None,
            progressed: SimTime::ZERO,
            new_view: None,
            future: Vec::new(),
            fault,
        }
    }

    /// Whether this replica is the primary of `view`.
    pub(super) fn is_primary_of(&self, view: View, shared: &Shared) -> bool {
        shared.primary(view) == self.id
    }

    /// Whether it misbehaves as `behaviour` at `now`.
    pub(super) fn misbehaves(&self, behaviour: Behaviour, now: SimTime) -> bool {
        self.fault.as_ref().is_some_and(|f| f.behaviour == behaviour && now >= SimTime::ZERO + f.from)
    }

    /// The time this replica starts to misbehave, if it does.
    pub(super) fn fault_start(&self) -> Option<SimDuration> {
        self.fault.as_ref().map(|f| f.from)
    }

    /// State-cache hits and misses.
    pub(super) fn cache_stats(&self) -> (u64, u64) {
        (self.cache.hits(), self.cache.misses())
    }

    /// Sends `body`, after computing its authentication on the CPU when that has a cost.
    pub(super) fn emit(&self, to: Targets, body: Body, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        if self.misbehaves(Behaviour::Silent, ctx.now()) {
            return;
        }
        let cost = shared.generation_cost(to);
        if cost == SimDuration::ZERO {
            shared.transmit(self.id, to, body, ctx);
        } else {
            ctx.run_cpu(cost, CpuJob::Emit { to, body });
        }
    }

    /// Multicasts `body` (PREPARE or COMMIT) once its log record of `record_bytes` is on disk, or
    /// at once without persistence. The replica's own vote counts from the decision on: the
    /// record only delays what others see.
    fn log_and_send(&self, body: Body, record_bytes: u64, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        if shared.config.persist {
            ctx.disk_write(record_bytes, DiskJob::Persisted(body));
        } else {
            self.emit(Targets::Replicas, body, shared, ctx);
        }
    }

    /// Handles a verified message.
    pub(super) fn handle(&mut self, from: NodeId, body: Body, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        if let Some(view) = body.view()
            && (view > self.view || (view == self.view && !self.active))
        {
            self.future.push((from, body));
            return;
        }
        match body {
            Body::Request(request) => self.on_request(from, request, shared, ctx),
            Body::PrePrepare { view, seq, batch } => self.on_pre_prepare(from, view, seq, batch, shared, ctx),
            Body::Prepare { view, seq, digest } => {
                self.on_vote(from, Vote { phase: Phase::Prepare, view, seq, digest }, shared, ctx)
            }
            Body::Commit { view, seq, digest } => {
                self.on_vote(from, Vote { phase: Phase::Commit, view, seq, digest }, shared, ctx)
            }
            Body::Checkpoint { seq, digest } => self.on_checkpoint(from, seq, digest, shared, ctx),
            Body::ViewChange(vc) => self.on_view_change(from, vc, shared, ctx),
            Body::NewView(nv) => self.on_new_view(nv, shared, ctx),
            Body::StateRequest { seq } => self.on_state_request(from, seq, shared, ctx),
            Body::Status { view, executed } => self.on_status(from, view, executed, shared, ctx),
            Body::StateReply(snapshot) => self.on_state_reply(snapshot, shared, ctx),
            Body::Reply { .. } => {}
        }
    }

    fn reply(&self, request: RequestId, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        let body = Body::Reply { view: self.view, request, result: request.result() };
        self.emit(Targets::One(shared.client_node(request.client)), body, shared, ctx);
    }

    fn on_request(&mut self, from: NodeId, request: RequestId, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        if self.executed[request.client as usize].contains(request.number) {
            self.reply(request, shared, ctx);
            return;
        }
        let fresh = self.pending.insert(request);
        if self.active && self.is_primary_of(self.view, shared) {
            if self.queued.insert(request) {
                self.queue.push_back(request);
                self.try_propose(shared, ctx);
            }
        } else if fresh {
            // A backup relays a client's request to the primary and starts waiting for it.
            if shared.is_client(from) && self.active {
                self.emit(Targets::One(shared.primary(self.view)), Body::Request(request), shared, ctx);
            }
            if self.vc_timer.is_none() && self.active {
                self.start_view_change_timer(shared, ctx);
            }
        }
    }

    /// Cuts and proposes batches while the pipeline, the watermark window and the batching rule allow.
    pub(super) fn try_propose(&mut self, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        if !self.active || !self.is_primary_of(self.view, shared) {
            return;
        }
        let config = &shared.config;
        let (batch_size, in_flight, window) =
            (config.batch_size as usize, u64::from(config.in_flight), config.window());
        loop {
            while let Some(&front) = self.queue.front()
                && self.executed[front.client as usize].contains(front.number)
            {
                self.queue.pop_front();
                self.queued.remove(&front);
            }
            if self.queue.is_empty() {
                self.cancel_batch_timer(ctx);
                self.batch_due = false;
                return;
            }
            let proposed_unexecuted = self.next_seq.saturating_sub(self.last_executed + 1);
            let room = proposed_unexecuted < in_flight && self.next_seq <= self.stable + window;
            if !room || (self.queue.len() < batch_size && !self.batch_due) {
                if !self.batch_due && self.batch_timer.is_none() {
                    let generation = self.next_generation();
                    let id = ctx.set_timer(shared.config.batch_timeout, Timer::Batch { generation });
                    self.batch_timer = Some((id, generation));
                }
                return;
            }
            let take = batch_size.min(self.queue.len());
            let requests: Vec<RequestId> = self.queue.drain(..take).collect();
            self.batch_due = false;
            self.cancel_batch_timer(ctx);
            let seq = self.next_seq;
            self.next_seq += 1;
            let batch = Arc::new(Batch::new(requests, 0, shared.keys.as_ref()));
            self.propose(seq, batch, shared, ctx);
        }
    }

    fn propose(&mut self, seq: Seq, batch: Arc<Batch>, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        let view = self.view;
        let slot = self.log.entry(seq).or_default();
        slot.enter(view, ctx.now());
        slot.proposal = Some(batch.clone());
        self.arm_resend(shared, ctx);
        if self.misbehaves(Behaviour::Equivocate, ctx.now()) {
            // Half the backups get the batch, the other half a different batch under the same number.
            let twin = Arc::new(Batch::new(batch.requests.clone(), batch.nonce + 1, shared.keys.as_ref()));
            let backups: Vec<u32> = (0..shared.n).filter(|&r| r != self.id).collect();
            let half = backups.len().div_ceil(2);
            for (i, &r) in backups.iter().enumerate() {
                let batch = if i < half { batch.clone() } else { twin.clone() };
                self.emit(Targets::One(r), Body::PrePrepare { view, seq, batch }, shared, ctx);
            }
        } else {
            self.emit(Targets::Replicas, Body::PrePrepare { view, seq, batch }, shared, ctx);
        }
    }

    /// Accepts a PRE-PREPARE for `seq` in the current view and answers with PREPARE.
    pub(super) fn accept_proposal(
        &mut self,
        seq: Seq,
        batch: Arc<Batch>,
        shared: &mut Shared,
        ctx: &mut Context<'_, Pbft>,
    ) {
        let view = self.view;
        let slot = self.log.entry(seq).or_default();
        slot.enter(view, ctx.now());
        if slot.proposal.is_some() {
            return;
        }
        let (digest, batch_len) = (batch.digest, batch.requests.len());
        slot.proposal = Some(batch);
        if !self.is_primary_of(view, shared) {
            let record = shared.sizes.pre_prepare(batch_len) + shared.sizes.prepare();
            self.add_vote(self.id, Vote { phase: Phase::Prepare, view, seq, digest }, shared, ctx);
            self.log_and_send(Body::Prepare { view, seq, digest }, record, shared, ctx);
        }
        self.check_prepared(seq, shared, ctx);
    }

    fn in_window(&self, seq: Seq, shared: &Shared) -> bool {
        seq > self.stable && seq <= self.stable + shared.config.window()
    }

    fn on_pre_prepare(
        &mut self,
        from: NodeId,
        view: View,
        seq: Seq,
        batch: Arc<Batch>,
        shared: &mut Shared,
        ctx: &mut Context<'_, Pbft>,
    ) {
        if view != self.view || from != shared.primary(view) || from == self.id || !self.in_window(seq, shared) {
            return;
        }
        self.accept_proposal(seq, batch, shared, ctx);
    }

    /// Checks a PREPARE or COMMIT against the view and the window; a PREPARE from the primary is
    /// not a backup's vote.
    fn on_vote(&mut self, from: NodeId, vote: Vote, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        let from_primary_as_backup = vote.phase == Phase::Prepare && from == shared.primary(vote.view);
        if vote.view == self.view && self.in_window(vote.seq, shared) && !from_primary_as_backup {
            self.add_vote(from, vote, shared, ctx);
        }
    }

    /// Records a vote (this replica's own included) and checks whether the slot advanced.
    fn add_vote(&mut self, from: u32, vote: Vote, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        let Vote { phase, view, seq, digest } = vote;
        let slot = self.log.entry(seq).or_default();
        slot.enter(view, ctx.now());
        let votes = match phase {
            Phase::Prepare => &mut slot.prepares,
            Phase::Commit => &mut slot.commits,
        };
        votes.add(digest, from);
        self.arm_resend(shared, ctx);
        match phase {
            Phase::Prepare => self.check_prepared(seq, shared, ctx),
            Phase::Commit => self.check_committed(seq, shared, ctx),
        }
    }

    /// Prepared: the PRE-PREPARE plus 2f matching PREPAREs from distinct backups.
    fn check_prepared(&mut self, seq: Seq, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        let view = self.view;
        let quorum = 2 * shared.f as usize;
        let Some(slot) = self.log.get_mut(&seq) else { return };
        let Some(batch) = slot.proposal.clone() else { return };
        if slot.view != view || slot.prepared || slot.prepares.count(batch.digest) < quorum {
            return;
        }
        slot.prepared = true;
        slot.certificate = Some((view, batch.clone()));
        let digest = batch.digest;
        self.add_vote(self.id, Vote { phase: Phase::Commit, view, seq, digest }, shared, ctx);
        self.log_and_send(Body::Commit { view, seq, digest }, shared.sizes.prepare(), shared, ctx);
    }

    /// Committed: prepared plus 2f + 1 matching COMMITs (its own included).
    fn check_committed(&mut self, seq: Seq, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        let quorum = 2 * shared.f as usize + 1;
        let Some(slot) = self.log.get_mut(&seq) else { return };
        if !slot.prepared || slot.committed.is_some() {
            return;
        }
        let Some(batch) = slot.proposal.clone() else { return };
        if slot.commits.count(batch.digest) < quorum {
            return;
        }
        slot.committed = Some(batch.clone());
        shared.committed(self.id, slot.view, seq, &batch, ctx.now());
        self.try_execute(shared, ctx);
    }

    /// Executes committed batches in sequence order, one at a time.
    pub(super) fn try_execute(&mut self, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        while self.running.is_none() {
            let seq = self.last_executed + 1;
            let Some(batch) = self.log.get(&seq).and_then(|slot| slot.committed.clone()) else { return };
            self.start_execution(seq, batch, shared, ctx);
        }
    }

    /// Reads missed state from disk, then releases requests onto the cores in conflict order.
    fn start_execution(&mut self, seq: Seq, batch: Arc<Batch>, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        let fresh: Vec<bool> =
            batch.requests.iter().map(|r| !self.executed[r.client as usize].contains(r.number)).collect();
        let mut misses = 0u32;
        for (access, _) in batch.accesses.iter().zip(&fresh).filter(|(_, fresh)| **fresh) {
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
            let bytes = shared.keys.as_ref().map_or(0, |k| k.value_bytes());
            for _ in 0..misses {
                ctx.disk_read(bytes, DiskJob::Fetch { seq });
            }
        }
    }

    fn release_initial(&mut self, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        let ready = self.running.as_ref().map(|r| r.tracker.initially_ready()).unwrap_or_default();
        self.release(ready, shared, ctx);
    }

    /// Submits ready requests to the CPU; requests that cost nothing finish on the spot.
    fn release(&mut self, ready: Vec<usize>, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        let Some(running) = self.running.as_mut() else { return };
        let cost = shared.config.costs.execute;
        let mut ready: VecDeque<usize> = ready.into();
        while let Some(i) = ready.pop_front() {
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
    pub(super) fn fetched(&mut self, seq: Seq, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        let Some(running) = self.running.as_mut().filter(|r| r.seq == seq) else { return };
        running.fetches -= 1;
        if running.fetches == 0 {
            self.release_initial(shared, ctx);
            self.try_execute(shared, ctx);
        }
    }

    /// A request of the running batch finished on a core.
    pub(super) fn executed_request(
        &mut self,
        seq: Seq,
        index: usize,
        shared: &mut Shared,
        ctx: &mut Context<'_, Pbft>,
    ) {
        let Some(running) = self.running.as_mut().filter(|r| r.seq == seq) else { return };
        let released = running.tracker.complete(&running.batch.conflicts, index);
        self.release(released, shared, ctx);
        // The batch may have finished: go on with the next committed one.
        self.try_execute(shared, ctx);
    }

    fn finish_execution(&mut self, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        let Some(Running { seq, batch, fresh, .. }) = self.running.take() else { return };
        for (&request, &fresh) in batch.requests.iter().zip(&fresh) {
            if fresh {
                self.executed[request.client as usize].insert(request.number);
                self.reply(request, shared, ctx);
            }
            self.pending.remove(&request);
            self.queued.remove(&request);
        }
        self.state_digest = splitmix64(self.state_digest ^ splitmix64(batch.digest ^ seq));
        self.last_executed = seq;
        self.progressed = ctx.now();
        if seq % shared.config.checkpoint_interval == 0 {
            let snapshot = Snapshot { seq, digest: self.state_digest, executed: self.executed.clone() };
            self.snapshots.insert(seq, Arc::new(snapshot));
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

    fn on_checkpoint(&mut self, from: NodeId, seq: Seq, digest: u64, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
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
    pub(super) fn stabilize(
        &mut self,
        seq: Seq,
        digest: u64,
        source: NodeId,
        shared: &mut Shared,
        ctx: &mut Context<'_, Pbft>,
    ) {
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

    fn on_state_request(&mut self, from: NodeId, seq: Seq, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        if let Some(snapshot) = self.snapshots.get(&seq) {
            self.emit(Targets::One(from), Body::StateReply(snapshot.clone()), shared, ctx);
        }
    }

    fn on_state_reply(&mut self, snapshot: Arc<Snapshot>, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        if snapshot.seq <= self.last_executed || snapshot.seq != self.stable || snapshot.digest != self.stable_digest {
            return;
        }
        self.running = None;
        self.last_executed = snapshot.seq;
        self.progressed = ctx.now();
        self.state_digest = snapshot.digest;
        self.executed = snapshot.executed.clone();
        let executed = &self.executed;
        self.pending.retain(|r| !executed[r.client as usize].contains(r.number));
        self.next_seq = self.next_seq.max(snapshot.seq + 1);
        self.snapshots.insert(snapshot.seq, snapshot);
        self.restart_view_change_timer(shared, ctx);
        self.try_execute(shared, ctx);
        self.try_propose(shared, ctx);
    }

    fn arm_resend(&mut self, shared: &Shared, ctx: &mut Context<'_, Pbft>) {
        let interval = shared.config.resend_interval;
        if !self.resend_armed && interval > SimDuration::ZERO {
            self.resend_armed = true;
            ctx.set_timer(interval, Timer::Resend);
        }
    }

    /// Channels lose messages, so a replica resends, every `resend_interval`, its PRE-PREPARE,
    /// PREPARE or COMMIT for each uncommitted sequence number of the current view that has not
    /// moved for a whole interval, and its CHECKPOINT until that is stable. Idle replicas stop.
    pub(super) fn on_resend_timer(&mut self, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
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
    fn on_status(&mut self, from: NodeId, view: View, executed: Seq, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
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

    fn next_generation(&mut self) -> u64 {
        self.timer_generation += 1;
        self.timer_generation
    }

    fn cancel_batch_timer(&mut self, ctx: &mut Context<'_, Pbft>) {
        if let Some((id, _)) = self.batch_timer.take() {
            ctx.cancel_timer(id);
        }
    }

    /// The batch timeout has passed: cut what is waiting at the next opportunity.
    pub(super) fn on_batch_timer(&mut self, generation: u64, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
        if self.batch_timer.is_some_and(|(_, g)| g == generation) {
            self.batch_timer = None;
            self.batch_due = true;
            self.try_propose(shared, ctx);
        }
    }

    /// Starts the view-change timer: the base timeout doubled for every view change without progress.
    pub(super) fn start_view_change_timer(&mut self, shared: &Shared, ctx: &mut Context<'_, Pbft>) {
        self.stop_view_change_timer(ctx);
        let base = shared.config.view_change_timeout.0;
        let after = SimDuration(base.saturating_mul(1u64 << self.backoff.min(20)));
        let generation = self.next_generation();
        let id = ctx.set_timer(after, Timer::ViewChange { generation });
        self.vc_timer = Some((id, generation));
    }

    pub(super) fn stop_view_change_timer(&mut self, ctx: &mut Context<'_, Pbft>) {
        if let Some((id, _)) = self.vc_timer.take() {
            ctx.cancel_timer(id);
        }
    }

    /// After progress: keep waiting only while some received request is still unexecuted.
    pub(super) fn restart_view_change_timer(&mut self, shared: &Shared, ctx: &mut Context<'_, Pbft>) {
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
    pub(super) fn recover(&mut self, shared: &mut Shared, ctx: &mut Context<'_, Pbft>) {
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
