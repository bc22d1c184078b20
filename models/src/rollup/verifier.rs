//! Verifiers and disputes: a verifier re-executes every batch it sees on L1 and challenges the
//! first wrong root; both sides of a dispute answer each move they see with the next one after
//! computing it, and the challenger ends the game with the one-step proof.

use simulator::{Context, SimDuration};

use super::contract::{Event, Side, Status};
use super::{Call, Job, Rollup, Timer};

impl Rollup {
    /// Verifier `v` has received L1 block `number`.
    pub(super) fn verifier_reacts(&mut self, number: u32, ctx: &mut Context<'_, Self>) {
        for i in 0..self.contract.events(number).len() {
            match self.contract.events(number)[i] {
                Event::Asserted(a) => {
                    let batch = self.contract.assertions[a as usize].batch;
                    let count = self.sequencer.txs_of(batch).len() as u64;
                    ctx.run_cpu(SimDuration(self.config.execute.0 * count), Job::Reexecute(a));
                }
                Event::Opened(d) | Event::Moved(d) => {
                    if self.contract.player(d, Side::Challenger) == ctx.node() {
                        self.play(d, Side::Challenger, ctx);
                    }
                }
                Event::Resolved(d) => {
                    // A challenger that lost on time leaves a wrong root standing: challenge it again.
                    let dispute = &self.contract.disputes[d as usize];
                    if dispute.resolved.map(|(_, loser)| loser) == Some(Side::Challenger) {
                        self.reexecuted(dispute.assertion, ctx);
                    }
                }
                Event::Rejected(_) | Event::Inbox(_) => {}
            }
        }
    }

    /// The verifier at `ctx.node()` has re-executed assertion `a`'s batch: it challenges the
    /// first wrong root it finds (later ones fall with it), after its delay.
    pub(super) fn reexecuted(&mut self, a: u32, ctx: &mut Context<'_, Self>) {
        let assertion = &self.contract.assertions[a as usize];
        let first_wrong =
            assertion.wrong && assertion.parent.is_none_or(|p| !self.contract.assertions[p as usize].tainted);
        if !first_wrong || assertion.status != Status::Pending {
            return;
        }
        if self.config.challenger_delay == SimDuration::ZERO {
            self.challenge(a, ctx);
        } else {
            ctx.set_timer(self.config.challenger_delay, Timer::Challenge(a));
        }
    }

    /// Sends the challenge of assertion `a` to L1.
    pub(super) fn challenge(&mut self, a: u32, ctx: &mut Context<'_, Self>) {
        self.chain.submit(self.call(Call::Challenge(a), self.config.tip, 0, 0), ctx);
    }

    /// `side` sees dispute `d` move: if the turn is its own, it computes its next move.
    pub(super) fn play(&mut self, d: u32, side: Side, ctx: &mut Context<'_, Self>) {
        let dispute = &self.contract.disputes[d as usize];
        if dispute.resolved.is_some() || dispute.turn != side {
            return;
        }
        let index = dispute.moves + 1;
        ctx.run_cpu(self.config.move_cost, Job::Move { dispute: d, index });
    }

    /// The node at `ctx.node()` has computed move `index` of dispute `d` (the proof when past the last move).
    pub(super) fn submit_move(&mut self, d: u32, index: u32, ctx: &mut Context<'_, Self>) {
        let call = if index > self.config.moves() { Call::Prove(d) } else { Call::Move { dispute: d, index } };
        self.chain.submit(self.call(call, self.config.tip, 0, 0), ctx);
    }
}
