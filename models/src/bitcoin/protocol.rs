//! The engine's entry points into block relay: each event a node sees, dispatched to the state
//! machine in the module above.

use std::sync::Arc;

use simulator::{Context, NodeId, Protocol};

use super::Mined;
use super::{Bitcoin, Body, Have, Job, PeerList, Timer, Wire};

impl Protocol for Bitcoin {
    type Msg = Wire;
    type Timer = Timer;
    type CpuJob = Job;
    type DiskJob = std::convert::Infallible;

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        for &k in crate::planned_for(&self.by_miner, |k| self.plan[k as usize].miner, node) {
            ctx.set_timer(self.plan[k as usize].at.since(ctx.now()), Timer::Mine(k));
        }
        if let Some(gossip) = self.gossip.as_ref() {
            for (after, timer) in gossip.start(node, ctx.rng()) {
                ctx.set_timer(after, timer);
            }
        }
        if self.compact() {
            let chosen: PeerList =
                ctx.peers().iter().copied().take(self.config.high_bandwidth_peers as usize).collect();
            for &peer in &chosen {
                self.send(peer, Body::SendCmpct { high_bandwidth: true }, ctx);
            }
            self.node[node as usize].high_bandwidth_out = chosen;
        }
    }

    fn on_message(&mut self, node: NodeId, from: NodeId, msg: Wire, ctx: &mut Context<'_, Self>) {
        match msg.body {
            Body::Inv(block) => self.on_inv(node, from, block, ctx),
            Body::GetData { block, compact } => {
                if matches!(self.have(block, node), Have::Validating | Have::Valid) {
                    let body = if compact { Body::CmpctBlock(block) } else { Body::Block(block) };
                    self.send(from, body, ctx);
                }
            }
            Body::Block(block) | Body::BlockTxn { block, .. } => match self.have(block, node) {
                Have::Unknown | Have::Fetching => self.received(node, block, from, ctx),
                Have::Validating => {
                    self.note_holder(node, block, from);
                }
                Have::Valid => {}
            },
            Body::CmpctBlock(block) => self.on_cmpct_block(node, from, block, ctx),
            Body::GetBlockTxn { block, missing } => self.send(from, Body::BlockTxn { block, missing }, ctx),
            Body::TxInv(announced) => {
                if let Some(request) = self.gossip.as_mut().and_then(|g| g.wanted(node, &announced)) {
                    self.send(from, request, ctx);
                }
            }
            Body::GetTx(ids) => {
                let Some(gossip) = self.gossip.as_ref() else { return };
                for &tx in ids.iter().filter(|&&tx| gossip.has_seen(tx, node)) {
                    self.send(from, Body::Tx(tx), ctx);
                }
            }
            Body::Tx(tx) => {
                if let Some(gossip) = self.gossip.as_mut() {
                    gossip.received(node, tx);
                }
            }
            Body::SendCmpct { high_bandwidth } => {
                let list = &mut self.node[node as usize].high_bandwidth_in;
                list.retain(|p| *p != from);
                if high_bandwidth {
                    list.push(from);
                }
            }
        }
    }

    fn on_timer(&mut self, node: NodeId, timer: Timer, ctx: &mut Context<'_, Self>) {
        match timer {
            Timer::Mine(block) => {
                let parent = self.node[node as usize].tip;
                let height = parent.map_or(0, |p| self.mined[p as usize].as_ref().expect("a tip is mined").height + 1);
                let full = self.sizes.full_block_txs();
                let contents: Option<Arc<[u32]>> =
                    self.gossip.as_mut().map(|g| Arc::from(g.fill_block(node, full as usize - 1)));
                let txs = contents.as_ref().map_or(full, |c| c.len() as u64 + 1);
                self.mined[block as usize] = Some(Mined { parent, height, at: ctx.now(), txs, contents });
                self.hold(block, node, ctx.now());
                self.relay(node, block, ctx);
            }
            Timer::NewTx(tx) => {
                if let Some(gossip) = self.gossip.as_mut() {
                    gossip.created(tx, node);
                }
            }
            Timer::Trickle => {
                let Some(gossip) = self.gossip.as_mut() else { return };
                if let Some(inv) = gossip.trickle(node, ctx) {
                    for &peer in ctx.peers() {
                        self.send(peer, inv.clone(), ctx);
                    }
                }
            }
            Timer::Timeout { block, attempt } => self.on_timeout(node, block, attempt, ctx),
        }
    }

    fn on_cpu_done(&mut self, node: NodeId, job: Job, ctx: &mut Context<'_, Self>) {
        let Job::Validate(block) = job;
        self.validated(node, block, ctx);
    }

    fn on_disk_done(&mut self, _node: NodeId, job: std::convert::Infallible, _ctx: &mut Context<'_, Self>) {
        match job {}
    }

    fn prefetch_delivery(&self, node: NodeId, msg: &Wire) {
        simulator::prefetch::prefetch(&self.node[node as usize]);
        if let Some(block) = msg.body.block() {
            simulator::prefetch::prefetch(&self.have[self.have_index(block, node)]);
        }
    }
}
