//! A replica's state and its normal case: requests, batching at the primary, PRE-PREPARE /
//! PREPARE / COMMIT with 2f + 1 quorums. Execution is in [`super::execution`], checkpoints and
//! state transfer in [`super::checkpoint`], resends and timers in [`super::liveness`], view
//! changes in [`super::view_change`]. Peers are local ids: replicas `0..n`, then clients.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use simulator::{SimDuration, SimTime, TimerId};

use super::cache::LruCache;
use super::config::{Behaviour, ByzantineConfig};
use super::conflict::ReadyTracker;
use super::host::Host;
use super::messages::{Batch, Body, ExecutedSet, NewView, Request, RequestId, Seq, Snapshot, View, ViewChange};
use super::shared::{Shared, Targets};
use super::votes::Votes;
use super::{CpuJob, DiskJob, Timer};

/// The protocol state of one sequence number.
#[derive(Default)]
pub(super) struct Slot {
    /// The view the per-view fields below belong to.
    pub(super) view: View,
    /// The PRE-PREPARE accepted in `view`.
    pub(super) proposal: Option<Rc<Batch>>,
    prepares: Votes,
    commits: Votes,
    prepared: bool,
    /// The batch committed here, in whatever view (committed batches never change).
    pub(super) committed: Option<Rc<Batch>>,
    /// The prepared certificate of the highest view, kept across view changes.
    pub(super) certificate: Option<(View, Rc<Batch>)>,
    /// When the slot last gained a proposal or a vote.
    pub(super) touched: SimTime,
}

impl Slot {
    /// What this replica sent for the slot in its view: the PRE-PREPARE (as primary) or its
    /// PREPARE, and its COMMIT once prepared. Appended to `out`, for resending.
    pub(super) fn own_messages(&self, seq: Seq, primary: bool, out: &mut Vec<Body>) {
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
pub(super) struct Running {
    pub(super) seq: Seq,
    pub(super) batch: Rc<Batch>,
    /// Whether each request is new (a request already executed through another batch is skipped).
    pub(super) fresh: Vec<bool>,
    pub(super) tracker: ReadyTracker,
    /// State reads still outstanding on the disk.
    pub(super) fetches: u32,
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
    pub(super) checkpoint_votes: BTreeMap<Seq, Votes>,
    pub(super) snapshots: BTreeMap<Seq, Rc<Snapshot>>,
    pub(super) last_executed: Seq,
    /// The last sequence number whose commit the application was told of.
    pub(super) reported: Seq,
    pub(super) state_digest: u64,
    pub(super) executed: Vec<ExecutedSet>,
    pub(super) running: Option<Running>,
    pub(super) cache: LruCache,
    // Primary.
    pub(super) next_seq: Seq,
    /// Requests waiting to be batched, in arrival order.
    pub(super) queue: VecDeque<Rc<Request>>,
    /// Requests queued or proposed by this primary and not yet executed.
    pub(super) queued: BTreeMap<RequestId, Rc<Request>>,
    pub(super) batch_timer: Option<(TimerId, u64)>,
    pub(super) batch_due: bool,
    // Backup.
    /// Requests received and not yet executed.
    pub(super) pending: BTreeMap<RequestId, Rc<Request>>,
    pub(super) vc_timer: Option<(TimerId, u64)>,
    /// View changes since the last request executed: the timeout is doubled for each.
    pub(super) backoff: u32,
    /// Whether 2f + 1 replicas have asked for the view this replica is changing to.
    pub(super) quorum_for_view: bool,
    pub(super) timer_generation: u64,
    pub(super) view_changes: BTreeMap<View, BTreeMap<u32, Rc<ViewChange>>>,
    /// Whether the resend timer is armed.
    pub(super) resend_armed: bool,
    /// When execution last advanced (or the replica entered its view).
    pub(super) progressed: SimTime,
    /// This replica's latest CHECKPOINT, until it becomes stable.
    pub(super) checkpoint_out: Option<(Seq, u64)>,
    /// The NEW-VIEW installed last, resent to replicas still trying to leave an older view.
    pub(super) new_view: Option<Rc<NewView>>,
    /// Messages of a view this replica has not entered yet.
    pub(super) future: Vec<(u32, Body)>,
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
            reported: 0,
            state_digest: 0,
            executed: vec![ExecutedSet::default(); clients],
            running: None,
            cache: LruCache::new(cache),
            next_seq: 1,
            queue: VecDeque::new(),
            queued: BTreeMap::new(),
            batch_timer: None,
            batch_due: false,
            pending: BTreeMap::new(),
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
    pub(super) fn emit(&self, to: Targets, body: Body, shared: &mut Shared, ctx: &mut impl Host) {
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
    fn log_and_send(&self, body: Body, record_bytes: u64, shared: &mut Shared, ctx: &mut impl Host) {
        if shared.config.persist {
            ctx.disk_write(record_bytes, DiskJob::Persisted(body));
        } else {
            self.emit(Targets::Replicas, body, shared, ctx);
        }
    }

    /// Handles a verified message.
    pub(super) fn handle(&mut self, from: u32, body: Body, shared: &mut Shared, ctx: &mut impl Host) {
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

    /// Answers the client of `request` with `result` (each node of its slot; a slot without nodes
    /// takes no reply).
    pub(super) fn reply(&self, request: RequestId, result: u64, shared: &mut Shared, ctx: &mut impl Host) {
        if !shared.answers(request.client) {
            return;
        }
        let body = Body::Reply { view: self.view, request, result };
        self.emit(Targets::One(shared.client_local(request.client)), body, shared, ctx);
    }

    fn on_request(&mut self, from: u32, request: Rc<Request>, shared: &mut Shared, ctx: &mut impl Host) {
        let id = request.id;
        if self.executed[id.client as usize].contains(id.number) {
            // Executed already: the reply was lost, or the client retransmitted.
            if let Some(result) = ctx.recall(self.id, &request) {
                self.reply(id, result, shared, ctx);
            }
            return;
        }
        let fresh = self.pending.insert(id, request.clone()).is_none();
        if self.active && self.is_primary_of(self.view, shared) {
            if let Entry::Vacant(queued) = self.queued.entry(id) {
                queued.insert(request.clone());
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
    pub(super) fn try_propose(&mut self, shared: &mut Shared, ctx: &mut impl Host) {
        if !self.active || !self.is_primary_of(self.view, shared) {
            return;
        }
        let config = &shared.config;
        let (batch_size, in_flight, window) =
            (config.batch_size as usize, u64::from(config.in_flight), config.window());
        loop {
            while let Some(front) = self.queue.front().map(|r| r.id)
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
            let requests: Vec<Rc<Request>> = self.queue.drain(..take).collect();
            self.batch_due = false;
            self.cancel_batch_timer(ctx);
            let seq = self.next_seq;
            self.next_seq += 1;
            let batch = Rc::new(Batch::new(requests, 0));
            self.propose(seq, batch, shared, ctx);
        }
    }

    fn propose(&mut self, seq: Seq, batch: Rc<Batch>, shared: &mut Shared, ctx: &mut impl Host) {
        let view = self.view;
        let slot = self.log.entry(seq).or_default();
        slot.enter(view, ctx.now());
        slot.proposal = Some(batch.clone());
        self.arm_resend(shared, ctx);
        if self.misbehaves(Behaviour::Equivocate, ctx.now()) {
            // Half the backups get the batch, the other half a different batch under the same number.
            let twin = Rc::new(Batch::new(batch.requests.clone(), batch.nonce + 1));
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
    pub(super) fn accept_proposal(&mut self, seq: Seq, batch: Rc<Batch>, shared: &mut Shared, ctx: &mut impl Host) {
        let view = self.view;
        let slot = self.log.entry(seq).or_default();
        slot.enter(view, ctx.now());
        if slot.proposal.is_some() {
            return;
        }
        let (digest, batch_len, payload) = (batch.digest, batch.requests.len(), batch.payload_bytes());
        slot.proposal = Some(batch);
        if !self.is_primary_of(view, shared) {
            let record = shared.sizes.pre_prepare(batch_len, payload) + shared.sizes.prepare();
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
        from: u32,
        view: View,
        seq: Seq,
        batch: Rc<Batch>,
        shared: &mut Shared,
        ctx: &mut impl Host,
    ) {
        if view != self.view || from != shared.primary(view) || from == self.id || !self.in_window(seq, shared) {
            return;
        }
        self.accept_proposal(seq, batch, shared, ctx);
    }

    /// Checks a PREPARE or COMMIT against the view and the window; a PREPARE from the primary is
    /// not a backup's vote.
    fn on_vote(&mut self, from: u32, vote: Vote, shared: &mut Shared, ctx: &mut impl Host) {
        let from_primary_as_backup = vote.phase == Phase::Prepare && from == shared.primary(vote.view);
        if vote.view == self.view && self.in_window(vote.seq, shared) && !from_primary_as_backup {
            self.add_vote(from, vote, shared, ctx);
        }
    }

    /// Records a vote (this replica's own included) and checks whether the slot advanced.
    fn add_vote(&mut self, from: u32, vote: Vote, shared: &mut Shared, ctx: &mut impl Host) {
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
    fn check_prepared(&mut self, seq: Seq, shared: &mut Shared, ctx: &mut impl Host) {
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
    fn check_committed(&mut self, seq: Seq, shared: &mut Shared, ctx: &mut impl Host) {
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
}
