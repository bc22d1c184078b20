//! Clients: each forwards its users' transactions (a Poisson process) to the sequencer, alone or
//! in bundles, and sends those that got no receipt within `force_after` to the L1 inbox.

use rand::RngExt;
use simulator::{Context, NodeId, SimTime};

use super::l2::NEVER;
use super::{Body, Call, Rollup, Timer, TxSize};
use crate::Wire;
use crate::arrivals::Arrivals;

/// Bytes of a message's envelope around the transactions it carries.
const ENVELOPE_BYTES: u64 = 64;

/// One client.
pub struct Client {
    /// Its node.
    pub node: NodeId,
    /// Its users' transactions.
    arrivals: Arrivals,
}

impl Client {
    /// A client at `node` issuing `rate` transactions per second, drawn from the workload stream
    /// of `seed`.
    pub fn new(node: NodeId, rate: f64, seed: u64) -> Self {
        Client { node, arrivals: Arrivals::new(node, rate, seed) }
    }
}

impl Rollup {
    /// Client `c` starts (or restarts after a crash): its first send.
    pub(super) fn client_starts(&mut self, c: u32, ctx: &mut Context<'_, Self>) {
        let client = &mut self.clients[c as usize];
        if client.arrivals.rate == 0.0 {
            return;
        }
        client.arrivals.skip_to(ctx.now());
        self.schedule_issue(c, ctx);
    }

    fn schedule_issue(&mut self, c: u32, ctx: &mut Context<'_, Self>) {
        let next = self.clients[c as usize].arrivals.next;
        if next >= self.issue_until {
            return;
        }
        // A bundle goes at the end of the window of `bundle` (from time zero) its first arrival
        // falls in: no send, and no timer, for a window without arrivals.
        let bundle = self.config.bundle.0;
        let at = if bundle > 0 { SimTime(next.0.div_ceil(bundle) * bundle) } else { next };
        ctx.set_timer(at.since(ctx.now()), Timer::Issue(c));
    }

    /// Client `c` sends what its users issued since its last send.
    pub(super) fn client_issues(&mut self, c: u32, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        let first = self.txs.len() as u32;
        let mut bytes = ENVELOPE_BYTES;
        let client = &mut self.clients[c as usize];
        let arrivals = &mut client.arrivals;
        while arrivals.next <= now && arrivals.next < self.issue_until {
            let size = match self.config.tx_size {
                TxSize::Fixed(size) => size,
                TxSize::Uniform(lo, hi) => arrivals.rng.random_range(lo..=hi),
            };
            let withdrawal =
                self.config.withdrawal_share > 0.0 && arrivals.rng.random::<f64>() < self.config.withdrawal_share;
            self.txs.issue(arrivals.next, size, c, withdrawal);
            bytes += u64::from(size);
            arrivals.advance();
        }
        let count = self.txs.len() as u32 - first;
        if count > 0 {
            ctx.send(self.sequencer.node, Wire { body: Body::Txs { first, count }, bytes });
            ctx.set_timer(self.config.force_after, Timer::Receipts { first, count });
        }
        self.schedule_issue(c, ctx);
    }

    /// The transactions in `txs` without a receipt go to the L1 inbox.
    pub(super) fn client_checks(&mut self, txs: std::ops::Range<u32>, ctx: &mut Context<'_, Self>) {
        let late: Vec<u32> = txs.filter(|&tx| self.txs.soft[tx as usize] == NEVER).collect();
        if late.is_empty() {
            return;
        }
        let calldata = late.iter().map(|&tx| u64::from(self.txs.size[tx as usize])).sum();
        self.chain.submit(self.call(Call::Force(late), self.config.tip, 0, calldata), ctx);
    }
}
