//! The sequencer: orders the transactions it receives into an L2 block every `l2_block`,
//! executes them on its cores, sends receipts, cuts sealed blocks into batches (full ones as soon
//! as they fill, a partial one when its oldest data has waited `max_batch_delay`), compresses and
//! posts them in order, and defends its roots in disputes.
//!
//! Its fee rule: a batch offers the base `tip` times (1 + B / C), where B is the compressed data
//! cut and not yet seen on L1 (this batch included) and C is the data one L1 block can carry. It
//! bids one more base tip for every block's worth of data waiting, so a backlog outbids other L1
//! users in proportion to how far behind the rollup is.

use simulator::series::{Aggregate, TimeSeries};
use simulator::{Context, NodeId, SimDuration, SimTime};

use super::contract::{Event, Side, Status};
use super::l2::NEVER;
use super::{Body, Call, Job, Posting, Rollup, Timer};
use crate::Wire;
use crate::chain::BLOB_USABLE_BYTES;

/// A batch: a run of the sequencer's transaction order, compressed and posted as one L1
/// transaction with the state root after it.
#[derive(Clone, Debug)]
pub struct Batch {
    /// Its first position in the order.
    pub first: u32,
    /// One past its last position.
    pub end: u32,
    /// Bytes before compression.
    pub raw: u64,
    /// Bytes after compression.
    pub compressed: u64,
    /// Its state root is false.
    pub wrong: bool,
    /// The batch it builds on.
    pub prev: Option<u32>,
    /// Compressed and ready to post.
    ready: bool,
}

/// An L2 block: the order's positions up to `end`.
#[derive(Copy, Clone, Debug)]
struct L2Block {
    end: u32,
    executed: bool,
    sealed_at: SimTime,
}

/// The sequencer's state.
#[derive(Clone, Debug)]
pub struct Sequencer {
    /// Its node.
    pub node: NodeId,
    /// Received, not yet in a block.
    pending: Vec<u32>,
    /// Every transaction it ordered, in order.
    pub order: Vec<u32>,
    blocks: Vec<L2Block>,
    sealed: usize,
    /// Positions of the order sealed, and cut into batches.
    sealed_end: u32,
    batched: u32,
    unbatched_raw: u64,
    /// Every batch cut, by id.
    pub batches: Vec<Batch>,
    posted: usize,
    last_batch: Option<u32>,
    /// After a rollback: everything sealed is cut into batches at the next seal, whatever its age.
    repost: bool,
    /// Compressed bytes cut and not yet seen on L1.
    pub backlog: u64,
    /// The largest backlog.
    pub backlog_max: u64,
    /// The backlog over time.
    pub backlog_series: Option<TimeSeries>,
}

impl Sequencer {
    /// A sequencer at `node` recording its backlog in buckets of `bucket`.
    pub fn new(node: NodeId, bucket: SimDuration) -> Self {
        Sequencer {
            node,
            pending: Vec::new(),
            order: Vec::new(),
            blocks: Vec::new(),
            sealed: 0,
            sealed_end: 0,
            batched: 0,
            unbatched_raw: 0,
            batches: Vec::new(),
            posted: 0,
            last_batch: None,
            repost: false,
            backlog: 0,
            backlog_max: 0,
            backlog_series: Some(TimeSeries::new("l1_backlog_bytes", "sequencer", Aggregate::Last, bucket)),
        }
    }

    /// The transactions of batch `b`.
    pub fn txs_of(&self, b: u32) -> &[u32] {
        let batch = &self.batches[b as usize];
        &self.order[batch.first as usize..batch.end as usize]
    }

    fn set_backlog(&mut self, backlog: u64, now: SimTime) {
        self.backlog = backlog;
        self.backlog_max = self.backlog_max.max(backlog);
        if let Some(series) = &mut self.backlog_series {
            series.set(now, backlog as f64);
        }
    }
}

impl Rollup {
    /// Transactions from a client reach the sequencer.
    pub(super) fn sequencer_receives(&mut self, txs: std::ops::Range<u32>) {
        for tx in txs {
            if !std::mem::replace(&mut self.txs.sequenced[tx as usize], true) {
                self.sequencer.pending.push(tx);
            }
        }
    }

    /// Time to seal an L2 block: what is pending goes to the cores.
    pub(super) fn seal(&mut self, ctx: &mut Context<'_, Self>) {
        ctx.set_timer(self.config.l2_block, Timer::Seal);
        let seq = &mut self.sequencer;
        let txs = &self.txs;
        let before = seq.order.len();
        seq.order.extend(seq.pending.drain(..).filter(|&tx| txs.forced_at[tx as usize] == NEVER));
        let count = (seq.order.len() - before) as u64;
        let block = seq.blocks.len() as u32;
        seq.blocks.push(L2Block { end: seq.order.len() as u32, executed: false, sealed_at: NEVER });
        ctx.run_cpu(SimDuration(self.config.execute.0 * count), Job::Execute(block));
    }

    /// L2 block `block` has executed: blocks seal in order, receipts go out, batches are cut.
    pub(super) fn executed(&mut self, block: u32, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        self.sequencer.blocks[block as usize].executed = true;
        while let Some(&next) = self.sequencer.blocks.get(self.sequencer.sealed) {
            if !next.executed {
                break;
            }
            let seq = &mut self.sequencer;
            seq.blocks[seq.sealed].sealed_at = now;
            seq.sealed += 1;
            let range = seq.sealed_end as usize..next.end as usize;
            seq.sealed_end = next.end;
            let mut receipts: std::collections::BTreeMap<u32, Vec<u32>> = std::collections::BTreeMap::new();
            let mut withdrawals = 0;
            for &tx in &seq.order[range] {
                seq.unbatched_raw += u64::from(self.txs.size[tx as usize]);
                withdrawals += u64::from(self.txs.withdrawal[tx as usize]);
                receipts.entry(self.txs.client[tx as usize]).or_default().push(tx);
            }
            self.contract.burn(withdrawals);
            for (client, list) in receipts {
                let bytes = 100 + 32 * list.len() as u64;
                ctx.send(self.clients[client as usize].node, Wire { body: Body::Receipts(list), bytes });
            }
        }
        self.cut_batches(ctx);
    }

    /// Cuts every full batch, and a partial one whose oldest data has waited long enough.
    fn cut_batches(&mut self, ctx: &mut Context<'_, Self>) {
        let capacity = self.config.batch_capacity();
        let ratio = self.config.compression_ratio;
        let compressed = |raw: u64| (raw as f64 * ratio).ceil() as u64;
        while compressed(self.sequencer.unbatched_raw) > capacity {
            let seq = &self.sequencer;
            let (mut end, mut raw) = (seq.batched, 0);
            loop {
                let size = u64::from(self.txs.size[seq.order[end as usize] as usize]);
                if compressed(raw + size) > capacity {
                    break;
                }
                raw += size;
                end += 1;
            }
            self.cut(end, raw, ctx);
        }
        let seq = &self.sequencer;
        if seq.batched < seq.sealed_end {
            let oldest = seq.blocks[seq.blocks.partition_point(|b| b.end <= seq.batched)].sealed_at;
            if seq.repost || ctx.now().since(oldest) >= self.config.max_batch_delay {
                let (end, raw) = (seq.sealed_end, seq.unbatched_raw);
                self.cut(end, raw, ctx);
            }
        }
    }

    fn cut(&mut self, end: u32, raw: u64, ctx: &mut Context<'_, Self>) {
        let seq = &mut self.sequencer;
        seq.repost = false;
        let id = seq.batches.len() as u32;
        let compressed = (raw as f64 * self.config.compression_ratio).ceil() as u64;
        seq.batches.push(Batch {
            first: seq.batched,
            end,
            raw,
            compressed,
            wrong: self.config.invalid_batch == Some(id),
            prev: seq.last_batch,
            ready: false,
        });
        seq.last_batch = Some(id);
        seq.batched = end;
        seq.unbatched_raw -= raw;
        let backlog = seq.backlog + compressed;
        seq.set_backlog(backlog, ctx.now());
        let cost = (self.config.compress_per_mb.0 as f64 * raw as f64 / 1e6).round() as u64;
        ctx.run_cpu(SimDuration(cost), Job::Compress(id));
    }

    /// Batch `batch` is compressed: batches post in the order they were cut.
    pub(super) fn compressed(&mut self, batch: u32, ctx: &mut Context<'_, Self>) {
        self.sequencer.batches[batch as usize].ready = true;
        while let Some(next) = self.sequencer.batches.get(self.sequencer.posted) {
            if !next.ready {
                break;
            }
            let compressed = next.compressed;
            let id = self.sequencer.posted as u32;
            self.sequencer.posted += 1;
            let block_capacity = match self.config.posting {
                Posting::Blobs => u64::from(self.config.chain.blobs.max()) * BLOB_USABLE_BYTES,
                Posting::Calldata => self.config.calldata_per_batch,
            };
            let tip = self.config.tip.saturating_mul(block_capacity + self.sequencer.backlog) / block_capacity;
            let (blobs, calldata) = match self.config.posting {
                Posting::Blobs => (compressed.div_ceil(BLOB_USABLE_BYTES) as u32, 0),
                Posting::Calldata => (0, compressed),
            };
            self.chain.submit(self.call(Call::Batch(id), tip, blobs, calldata), ctx);
        }
    }

    /// The sequencer has received L1 block `number`.
    pub(super) fn sequencer_reacts(&mut self, number: u32, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        for i in 0..self.contract.events(number).len() {
            match self.contract.events(number)[i] {
                Event::Asserted(a) => {
                    let batch = self.contract.assertions[a as usize].batch;
                    self.landed(batch, now);
                }
                Event::Rejected(batch) => self.landed(batch, now),
                Event::Opened(d) | Event::Moved(d) => self.play(d, Side::Defender, ctx),
                Event::Resolved(d) => self.roll_back(d),
                Event::Inbox(entry) => {
                    let list = self.contract.inbox[entry as usize].txs.clone();
                    for tx in list {
                        self.sequencer_receives(tx..tx + 1);
                    }
                }
            }
        }
    }

    fn landed(&mut self, batch: u32, now: SimTime) {
        let backlog = self.sequencer.backlog - self.sequencer.batches[batch as usize].compressed;
        self.sequencer.set_backlog(backlog, now);
    }

    /// A lost dispute removed an assertion and those built on it: their transactions are cut
    /// into batches again, on top of the last assertion standing.
    fn roll_back(&mut self, d: u32) {
        let dispute = &self.contract.disputes[d as usize];
        if dispute.resolved.map(|(_, loser)| loser) != Some(Side::Defender) {
            return;
        }
        let assertion = &self.contract.assertions[dispute.assertion as usize];
        if assertion.parent.is_some_and(|p| self.contract.assertions[p as usize].status == Status::Removed) {
            return;
        }
        let seq = &mut self.sequencer;
        let first = seq.batches[assertion.batch as usize].first;
        seq.last_batch = assertion.parent.map(|p| self.contract.assertions[p as usize].batch);
        seq.batched = first;
        seq.unbatched_raw = seq.order[first as usize..seq.sealed_end as usize]
            .iter()
            .map(|&tx| u64::from(self.txs.size[tx as usize]))
            .sum();
        seq.repost = true;
    }
}
