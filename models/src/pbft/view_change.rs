//! View changes: a backup that waits too long for a request to execute moves to the next view and
//! multicasts VIEW-CHANGE with its stable checkpoint and prepared certificates; the new primary,
//! with 2f + 1 of them, multicasts NEW-VIEW re-proposing every batch that may have committed (the
//! prepared batch of the highest view at each sequence number) and null batches in the gaps.
//! Backups recompute the proposals from the VIEW-CHANGEs inside NEW-VIEW before installing it.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use super::config::Behaviour;
use super::host::Host;
use super::messages::{Batch, Body, NewView, Prepared, Request, RequestId, Seq, View, ViewChange};
use super::replica::Replica;
use super::shared::{Shared, Targets};

/// The starting checkpoint and the proposals of a new view, as determined by its VIEW-CHANGEs.
pub(super) struct Proposals {
    pub(super) stable: Seq,
    pub(super) stable_digest: u64,
    /// The replica whose VIEW-CHANGE named that checkpoint (it can hand over the state).
    pub(super) stable_source: u32,
    pub(super) batches: Vec<(Seq, Rc<Batch>)>,
}

/// The new view's proposals: from the highest stable checkpoint upward, at each sequence number
/// the batch prepared in the highest view, or a null batch where none was prepared.
pub(super) fn proposals(view_changes: &[Rc<ViewChange>]) -> Proposals {
    let base = view_changes
        .iter()
        .max_by_key(|vc| (vc.stable, std::cmp::Reverse(vc.replica)))
        .expect("a new view rests on 2f + 1 view changes");
    let mut chosen: BTreeMap<Seq, (View, Rc<Batch>)> = BTreeMap::new();
    for Prepared { seq, view, batch } in view_changes.iter().flat_map(|vc| &vc.prepared) {
        if *seq > base.stable && chosen.get(seq).is_none_or(|(v, _)| view > v) {
            chosen.insert(*seq, (*view, batch.clone()));
        }
    }
    let top = chosen.keys().next_back().copied().unwrap_or(base.stable);
    let null = Rc::new(Batch::null());
    let batches = (base.stable + 1..=top)
        .map(|seq| (seq, chosen.get(&seq).map_or_else(|| null.clone(), |(_, b)| b.clone())))
        .collect();
    Proposals { stable: base.stable, stable_digest: base.stable_digest, stable_source: base.replica, batches }
}

impl Replica {
    /// Leaves the current view for `target`: multicasts VIEW-CHANGE and waits for NEW-VIEW.
    pub(super) fn start_view_change(&mut self, target: View, shared: &mut Shared, ctx: &mut impl Host) {
        debug_assert!(target > self.view);
        self.view = target;
        self.active = false;
        self.future.retain(|(_, body)| body.view().is_none_or(|v| v >= target));
        let prepared = self
            .log
            .range(self.stable + 1..)
            .filter_map(|(&seq, slot)| {
                slot.certificate.as_ref().map(|(view, batch)| Prepared { seq, view: *view, batch: batch.clone() })
            })
            .collect();
        let vc = Rc::new(ViewChange {
            view: target,
            replica: self.id,
            stable: self.stable,
            stable_digest: self.stable_digest,
            prepared,
        });
        self.view_changes.entry(target).or_default().insert(self.id, vc.clone());
        self.emit(Targets::Replicas, Body::ViewChange(vc), shared, ctx);
        self.quorum_for_view = false;
        self.start_view_change_timer(shared, ctx);
        self.view_change_quorum_reached(shared, ctx);
        self.backoff += 1;
        if self.is_primary_of(target, shared) {
            self.try_new_view(shared, ctx);
        }
    }

    /// The NEW-VIEW deadline runs from the moment 2f + 1 replicas (this one included) want the
    /// view, not from this replica's own VIEW-CHANGE: a replica that timed out first must not give
    /// up on a view the others have not asked for yet. Until then its timer only resends.
    fn view_change_quorum_reached(&mut self, shared: &Shared, ctx: &mut impl Host) {
        let wanted = self.view_changes.get(&self.view).map_or(0, |by| by.len());
        if !self.active && !self.quorum_for_view && wanted > 2 * shared.f as usize {
            self.quorum_for_view = true;
            self.start_view_change_timer(shared, ctx);
        }
    }

    /// Multicasts this replica's VIEW-CHANGE for the current view again: channels lose messages,
    /// and replicas that installed the view meanwhile answer with their NEW-VIEW.
    pub(super) fn resend_view_change(&mut self, shared: &mut Shared, ctx: &mut impl Host) {
        if let Some(vc) = self.view_changes.get(&self.view).and_then(|by| by.get(&self.id)).cloned() {
            self.emit(Targets::Replicas, Body::ViewChange(vc), shared, ctx);
        }
        self.start_view_change_timer(shared, ctx);
    }

    /// The view-change timer expired: the current view (or the one being installed) has failed.
    pub(super) fn on_view_change_timer(&mut self, generation: u64, shared: &mut Shared, ctx: &mut impl Host) {
        if !self.take_view_change_timer(generation) {
            return;
        }
        let waiting = !self.pending.is_empty() && !self.is_primary_of(self.view, shared);
        if self.active && waiting || !self.active && self.quorum_for_view {
            self.start_view_change(self.view + 1, shared, ctx);
        } else if !self.active {
            self.resend_view_change(shared, ctx);
        }
    }

    pub(super) fn on_view_change(&mut self, from: u32, vc: Rc<ViewChange>, shared: &mut Shared, ctx: &mut impl Host) {
        if vc.view < self.view || (vc.view == self.view && self.active) {
            // The sender is behind: show it the view this replica installed.
            if let Some(nv) = self.new_view.clone().filter(|nv| nv.view >= vc.view) {
                self.emit(Targets::One(from), Body::NewView(nv), shared, ctx);
            }
            return;
        }
        let view = vc.view;
        self.view_changes.entry(view).or_default().insert(from, vc);
        // f + 1 replicas want a later view, so at least one correct one does: join the smallest.
        let senders: BTreeSet<u32> =
            self.view_changes.range(self.view + 1..).flat_map(|(_, by)| by.keys().copied()).collect();
        if senders.len() > shared.f as usize {
            let target = *self.view_changes.range(self.view + 1..).next().expect("non-empty").0;
            self.start_view_change(target, shared, ctx);
        }
        if view == self.view && !self.active {
            self.view_change_quorum_reached(shared, ctx);
            if self.is_primary_of(view, shared) {
                self.try_new_view(shared, ctx);
            }
        }
    }

    /// As the new primary, with 2f + 1 VIEW-CHANGEs: multicasts NEW-VIEW and installs it.
    fn try_new_view(&mut self, shared: &mut Shared, ctx: &mut impl Host) {
        let Some(received) = self.view_changes.get(&self.view) else { return };
        if received.len() < 2 * shared.f as usize + 1 {
            return;
        }
        let view_changes: Vec<Rc<ViewChange>> = received.values().cloned().collect();
        let p = proposals(&view_changes);
        let nv = Rc::new(NewView {
            view: self.view,
            view_changes,
            stable: p.stable,
            stable_digest: p.stable_digest,
            proposals: p.batches.clone(),
        });
        if !self.misbehaves(Behaviour::Silent, ctx.now()) {
            shared.new_view_sent(&p.batches);
        }
        self.emit(Targets::Replicas, Body::NewView(nv.clone()), shared, ctx);
        self.install(nv, p, shared, ctx);
    }

    pub(super) fn on_new_view(&mut self, nv: Rc<NewView>, shared: &mut Shared, ctx: &mut impl Host) {
        if nv.view < self.view || (nv.view == self.view && self.active) {
            return;
        }
        let senders: BTreeSet<u32> =
            nv.view_changes.iter().filter(|vc| vc.view == nv.view).map(|vc| vc.replica).collect();
        if senders.len() < 2 * shared.f as usize + 1 || senders.len() != nv.view_changes.len() {
            return;
        }
        let p = proposals(&nv.view_changes);
        let same = p.stable == nv.stable
            && p.stable_digest == nv.stable_digest
            && p.batches.len() == nv.proposals.len()
            && p.batches.iter().zip(&nv.proposals).all(|((s1, b1), (s2, b2))| s1 == s2 && b1.digest == b2.digest);
        if same {
            self.install(nv, p, shared, ctx);
        }
    }

    /// Enters the new view: adopts its checkpoint, accepts its proposals and, as primary, goes on
    /// batching the requests that are still waiting.
    fn install(&mut self, nv: Rc<NewView>, p: Proposals, shared: &mut Shared, ctx: &mut impl Host) {
        let view = nv.view;
        self.view = view;
        self.active = true;
        self.progressed = ctx.now();
        self.stop_view_change_timer(ctx);
        self.view_changes = self.view_changes.split_off(&(view + 1));
        shared.view_installed(self.id, view, ctx.now());
        ctx.view_installed(self.id, view);
        if self.is_primary_of(view, shared) && self.misbehaves(Behaviour::Equivocate, ctx.now()) {
            shared.primary_failed(view, ctx.now());
        }
        if p.stable > self.stable {
            self.stabilize(p.stable, p.stable_digest, p.stable_source, shared, ctx);
        }
        let primary = self.is_primary_of(view, shared);
        let mut proposed: Vec<Rc<Request>> = Vec::new();
        for (seq, batch) in &p.batches {
            if *seq > self.stable {
                proposed.extend(batch.requests.iter().cloned());
                self.accept_proposal(*seq, batch.clone(), shared, ctx);
            }
        }
        if primary {
            let top = p.batches.last().map_or(p.stable, |(s, _)| *s);
            self.next_seq = top.max(self.stable).max(self.last_executed) + 1;
            // Requests waiting here and not re-proposed are batched anew, in request order.
            let proposed_ids: BTreeSet<RequestId> = proposed.iter().map(|r| r.id).collect();
            let mut waiting: Vec<Rc<Request>> = self
                .pending
                .values()
                .chain(self.queued.values())
                .filter(|r| !proposed_ids.contains(&r.id))
                .cloned()
                .collect();
            self.queued = waiting.iter().chain(&proposed).map(|r| (r.id, r.clone())).collect();
            waiting.sort_unstable_by_key(|r| r.id);
            waiting.dedup_by_key(|r| r.id);
            self.queue = waiting.into();
        } else {
            self.queue.clear();
            self.queued.clear();
        }
        self.new_view = Some(nv);
        for (from, body) in std::mem::take(&mut self.future) {
            self.handle(from, body, shared, ctx);
        }
        self.restart_view_change_timer(shared, ctx);
        self.try_propose(shared, ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(number: u64) -> Rc<Batch> {
        let request = Request { id: RequestId { client: 0, number }, payload: Default::default() };
        Rc::new(Batch::new(vec![Rc::new(request)], 0))
    }

    fn vc(replica: u32, stable: Seq, prepared: Vec<(Seq, View, Rc<Batch>)>) -> Rc<ViewChange> {
        Rc::new(ViewChange {
            view: 5,
            replica,
            stable,
            stable_digest: stable * 10,
            prepared: prepared.into_iter().map(|(seq, view, batch)| Prepared { seq, view, batch }).collect(),
        })
    }

    #[test]
    fn new_view_reproposes_the_highest_view_certificate_and_fills_gaps() {
        let (a, b, c) = (batch(1), batch(2), batch(3));
        let vcs = [
            vc(0, 2, vec![(3, 1, a.clone()), (5, 2, b.clone())]),
            vc(1, 4, vec![(5, 3, c.clone())]),
            vc(2, 2, vec![(3, 1, a.clone())]),
        ];
        let p = proposals(&vcs);
        // Replica 1's checkpoint at 4 is the highest: sequence 3 is below it.
        assert_eq!((p.stable, p.stable_digest, p.stable_source), (4, 40, 1));
        let digests: Vec<(Seq, u64)> = p.batches.iter().map(|(s, b)| (*s, b.digest)).collect();
        assert_eq!(digests, vec![(5, c.digest)]);

        let vcs = [vc(0, 0, vec![(3, 1, a.clone())]), vc(1, 0, vec![]), vc(2, 0, vec![(1, 0, b.clone())])];
        let p = proposals(&vcs);
        let digests: Vec<(Seq, u64)> = p.batches.iter().map(|(s, b)| (*s, b.digest)).collect();
        let null = Batch::null().digest;
        assert_eq!(digests, vec![(1, b.digest), (2, null), (3, a.digest)]);
    }

    #[test]
    fn no_certificates_means_no_proposals() {
        let p = proposals(&[vc(0, 8, vec![]), vc(1, 8, vec![]), vc(2, 4, vec![])]);
        assert_eq!((p.stable, p.batches.len()), (8, 0));
    }
}
