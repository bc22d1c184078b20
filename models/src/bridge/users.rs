//! Users: each issues transfers (a Poisson process), deposits or withdrawals of what it holds on
//! the side chain, and claims the refund of a light-client packet that timed out.

use rand::RngExt;
use simulator::{Context, NodeId, SimTime};

use super::config::{Direction, Trust};
use super::ledger::Call;
use super::transfers::Transfer;
use super::{Bridge, Timer};
use crate::arrivals::Arrivals;

/// One user.
pub struct User {
    /// Its node.
    pub node: NodeId,
    arrivals: Arrivals,
}

impl User {
    /// A user at `node` issuing `rate` transfers per second, drawn from the workload stream of
    /// `seed`.
    pub fn new(node: NodeId, rate: f64, seed: u64) -> Self {
        User { node, arrivals: Arrivals::new(node, rate, seed) }
    }
}

impl Bridge {
    /// User `u` starts (or restarts after a crash): its next transfer.
    pub(super) fn user_starts(&mut self, u: u32, ctx: &mut Context<'_, Self>) {
        let arrivals = &mut self.users[u as usize].arrivals;
        if arrivals.rate == 0.0 {
            return;
        }
        arrivals.skip_to(ctx.now());
        if arrivals.next < self.issue_until {
            ctx.set_timer(arrivals.next.since(ctx.now()), Timer::Issue(u));
        }
    }

    /// User `u` issues a transfer: a withdrawal (of at most what it holds on the side chain)
    /// with probability `withdraw_share`, else a deposit.
    pub(super) fn user_issues(&mut self, u: u32, ctx: &mut Context<'_, Self>) {
        let user = &mut self.users[u as usize];
        let (lo, hi) = self.config.amount;
        let amount = user.arrivals.rng.random_range(lo..=hi);
        let withdraw = user.arrivals.rng.random::<f64>() < self.config.withdraw_share;
        let node = user.node;
        user.arrivals.advance();
        let next = user.arrivals.next;
        let held = self.ledger.holding(node);
        let (kind, amount) =
            if withdraw && held > 0 { (Direction::Withdrawal, amount.min(held)) } else { (Direction::Deposit, amount) };
        self.issue(node, kind, amount, ctx);
        if next < self.issue_until {
            ctx.set_timer(next.since(ctx.now()), Timer::Issue(u));
        }
    }

    /// The first user issues scripted transfer `i`.
    pub(super) fn scripted(&mut self, i: u32, ctx: &mut Context<'_, Self>) {
        let script = self.config.transfers[i as usize].clone();
        self.issue(ctx.node(), script.kind, script.amount, ctx);
    }

    /// `user` signs the lock or burn of a new transfer.
    fn issue(&mut self, user: NodeId, kind: Direction, amount: u64, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        let measured = now >= SimTime::ZERO + self.config.warmup && now < self.issue_until;
        let transfer = Transfer::new(kind, user, amount, now, measured);
        let destination = transfer.destination_chain();
        let t = self.transfers.len() as u32;
        self.transfers.push(transfer);
        self.submit_source(t, ctx);
        if self.config.trust == Trust::LightClient {
            let wait = self.config.packet_timeout + self.chains.interval(destination);
            ctx.set_timer(wait, Timer::Refund(t));
        }
    }

    /// The sender of transfer `t` signs its lock or burn, and checks after `resend` that it was
    /// included.
    pub(super) fn submit_source(&mut self, t: u32, ctx: &mut Context<'_, Self>) {
        let call = self.call(Call::Source(t), 100, self.config.contract_gas);
        let source = self.transfers[t as usize].source_chain();
        self.transfers[t as usize].tx = Some(self.submit(source, call, ctx));
        ctx.set_timer(self.config.resend, Timer::Resubmit(t, 1));
    }

    /// The lock or burn of `t` is still not included: its sender sends it again, to the next
    /// entry validator.
    pub(super) fn resubmit(&mut self, t: u32, attempt: u32, ctx: &mut Context<'_, Self>) {
        let transfer = &self.transfers[t as usize];
        let Some(tx) = transfer.tx else { return };
        let source = transfer.source_chain();
        if self.chains.txs(source)[tx as usize].block.is_some() || transfer.orphaned {
            return;
        }
        self.resend_tx(source, tx, attempt, ctx);
        ctx.set_timer(self.config.resend, Timer::Resubmit(t, attempt + 1));
    }

    /// A user whose packet was not received asks a destination node for its newest header and,
    /// once that is at or past the timeout, claims the refund with it at the source.
    pub(super) fn claim_refund(&mut self, t: u32, ctx: &mut Context<'_, Self>) {
        let transfer = &self.transfers[t as usize];
        let slot = self.chains.interval(transfer.destination_chain());
        if transfer.settled() || transfer.refused || transfer.orphaned {
            return;
        }
        let Some((_, source_time)) = transfer.source else {
            ctx.set_timer(slot, Timer::Refund(t));
            return;
        };
        let timeout = source_time + self.config.packet_timeout;
        let newest = self.chains.blocks(transfer.destination_chain()).last().map_or(SimTime::ZERO, |b| b.time);
        if newest < timeout {
            let wait = timeout.since(ctx.now()) + slot;
            ctx.set_timer(wait, Timer::Refund(t));
            return;
        }
        let source = transfer.source_chain();
        let calldata = super::signers::HEADER_BYTES + self.config.proof_bytes;
        let call = self.call(Call::Refund(t), calldata, self.config.contract_gas + self.config.header_gas);
        self.submit(source, call, ctx);
        // A claim lost on its way is made again; one that lands refunds, and later ones are refused.
        ctx.set_timer(self.config.resend, Timer::Refund(t));
    }
}
