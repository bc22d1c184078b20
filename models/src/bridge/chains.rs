//! The bridge's two chains behind one interface: the main chain, always a slot chain, and the
//! side chain, a slot chain or a PBFT group ([`SideConsensus`]). The bridge reads blocks and
//! transactions, sends, and hands each chain its events through here, whichever the side chain
//! is.

use std::ops::Range;

use simulator::{Context, NodeId, SimDuration, SimTime};

use super::config::{BridgeConfig, SideConsensus};
use super::ledger::Call;
use super::transfers::{MAIN, SIDE};
use super::{Bridge, Parts};
use crate::chain::{BftChain, Block, Chain, ChainId, ChainMsg, ChainTimer, L1Tx, Outgoing, TxId};

/// The side chain, as its consensus builds it.
#[allow(clippy::large_enum_variant)] // One per run, in place: its size costs nothing.
pub enum SideChain {
    /// A proposer per slot.
    Slots(Chain<Call>),
    /// A PBFT group; blocks are final when built.
    Pbft(BftChain<Call>),
}

/// Both chains.
pub struct Chains {
    main: Chain<Call>,
    side: SideChain,
}

impl Chains {
    /// The chains of `parts` among `nodes` nodes, slots scheduled until `until`; bridge
    /// validators and relayers follow both.
    pub fn new(config: &BridgeConfig, parts: &Parts, nodes: u32, until: SimTime, seed: u64) -> Self {
        let followers: Vec<NodeId> = parts.validators.iter().chain(&parts.relayers).copied().collect();
        let main = Chain::new(config.main_chain.clone(), &parts.main, &followers, nodes, until, seed).with_id(MAIN);
        let side = match &config.side_consensus {
            SideConsensus::Slots => SideChain::Slots(
                Chain::new(config.side_chain.clone(), &parts.side, &followers, nodes, until, seed ^ 0x5eed_51de)
                    .with_id(SIDE),
            ),
            SideConsensus::Pbft(bft) => {
                SideChain::Pbft(BftChain::new(SIDE, bft, &config.side_chain, &parts.side, &followers, nodes))
            }
        };
        Chains { main, side }
    }

    /// The main chain.
    pub fn main(&self) -> &Chain<Call> {
        &self.main
    }

    /// The side chain.
    pub fn side(&self) -> &SideChain {
        &self.side
    }

    /// The blocks of chain `id`; block 0 is genesis.
    pub fn blocks(&self, id: ChainId) -> &[Block] {
        match (id, &self.side) {
            (MAIN, _) => &self.main.blocks,
            (_, SideChain::Slots(chain)) => &chain.blocks,
            (_, SideChain::Pbft(chain)) => chain.blocks(),
        }
    }

    /// Every transaction sent to chain `id`.
    pub fn txs(&self, id: ChainId) -> &[L1Tx<Call>] {
        match (id, &self.side) {
            (MAIN, _) => &self.main.txs,
            (_, SideChain::Slots(chain)) => &chain.txs,
            (_, SideChain::Pbft(chain)) => chain.txs(),
        }
    }

    /// Blocks of chain `id` that `node` holds.
    pub fn head(&self, id: ChainId, node: NodeId) -> u32 {
        match (id, &self.side) {
            (MAIN, _) => self.main.head(node),
            (_, SideChain::Slots(chain)) => chain.head(node),
            (_, SideChain::Pbft(chain)) => chain.head(node),
        }
    }

    /// The time between blocks of chain `id`: its slot, or the longest a PBFT chain goes
    /// without one.
    pub fn interval(&self, id: ChainId) -> SimDuration {
        match (id, &self.side) {
            (MAIN, _) => self.main.config().slot,
            (_, SideChain::Slots(chain)) => chain.config().slot,
            (_, SideChain::Pbft(chain)) => chain.block_interval(),
        }
    }

    /// Whether block `number` of chain `id` counts as confirmed once blocks `0..head` exist:
    /// held at all on a PBFT chain (final when built); on a slot chain, `confirmations` (on the
    /// side chain `side_confirmations`) blocks on top, or, under `finality`, a block on top at
    /// least `finality_slots` slots later.
    pub fn confirmed(&self, config: &BridgeConfig, id: ChainId, number: u32, head: u32) -> bool {
        let chain = match (id, &self.side) {
            (MAIN, _) => &self.main,
            (_, SideChain::Slots(chain)) => chain,
            (_, SideChain::Pbft(_)) => return number < head,
        };
        if config.finality {
            head > 0 && chain.blocks[head as usize - 1].time >= chain.final_at(chain.blocks[number as usize].time)
        } else {
            let confirmations = if id == SIDE { config.side_confirmations } else { config.confirmations };
            number.saturating_add(confirmations) < head
        }
    }

    /// The main chain, to reorganise.
    pub fn main_mut(&mut self) -> &mut Chain<Call> {
        &mut self.main
    }

    /// Safety violations of the side chain's PBFT group (none for a slot chain, which does not
    /// fork).
    pub fn side_safety_violations(&self) -> usize {
        match &self.side {
            SideChain::Slots(_) => 0,
            SideChain::Pbft(chain) => chain.safety_violations(),
        }
    }
}

impl Bridge {
    /// Signs and sends `call` from `ctx.node()` to chain `id`.
    pub(super) fn submit(&mut self, id: ChainId, call: Outgoing<Call>, ctx: &mut Context<'_, Self>) -> TxId {
        match (id, &mut self.chains.side) {
            (MAIN, _) => self.chains.main.submit(call, ctx),
            (_, SideChain::Slots(chain)) => chain.submit(call, ctx),
            (_, SideChain::Pbft(chain)) => chain.submit(call, ctx),
        }
    }

    /// Sends transaction `tx` of chain `id` again (the `attempt`-th time) if it is not in a block.
    pub(super) fn resend_tx(&mut self, id: ChainId, tx: TxId, attempt: u32, ctx: &mut Context<'_, Self>) {
        match (id, &mut self.chains.side) {
            (MAIN, _) => self.chains.main.resend(tx, attempt, ctx),
            (_, SideChain::Slots(chain)) => chain.resend(tx, attempt, ctx),
            (_, SideChain::Pbft(chain)) => chain.resend(tx, ctx),
        }
    }

    /// Sends again every transaction of `node`'s on either chain that is not in a block.
    pub(super) fn resend_all_pending(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        self.chains.main.resend_pending(node, ctx);
        match &mut self.chains.side {
            SideChain::Slots(chain) => chain.resend_pending(node, ctx),
            SideChain::Pbft(chain) => chain.resend_pending(node, ctx),
        }
    }

    /// Starts `node`'s part in either chain (after a crash too); returns the side-chain blocks
    /// it newly holds.
    pub(super) fn start_chains(&mut self, node: NodeId, recovering: bool, ctx: &mut Context<'_, Self>) -> Range<u32> {
        if self.chains.main.is_member(node) {
            self.chains.main.on_start(node, ctx);
        }
        match &mut self.chains.side {
            SideChain::Slots(chain) => {
                if chain.is_member(node) {
                    chain.on_start(node, ctx);
                }
                0..0
            }
            SideChain::Pbft(chain) if recovering => chain.on_recover(node, ctx),
            SideChain::Pbft(chain) => {
                chain.on_start(node, ctx);
                0..0
            }
        }
    }

    /// A chain message at `node`: returns the chain and the blocks `node` newly holds.
    pub(super) fn chain_message(
        &mut self,
        node: NodeId,
        from: NodeId,
        msg: ChainMsg,
        ctx: &mut Context<'_, Self>,
    ) -> Range<u32> {
        match (msg.chain, &mut self.chains.side) {
            (MAIN, _) => self.chains.main.on_message(node, from, msg, ctx),
            (_, SideChain::Slots(chain)) => chain.on_message(node, from, msg, ctx),
            (_, SideChain::Pbft(chain)) => chain.on_message(node, from, msg, ctx),
        }
    }

    /// A slot-chain timer at `node`: returns the blocks `node` newly holds.
    pub(super) fn chain_timer(&mut self, node: NodeId, timer: ChainTimer, ctx: &mut Context<'_, Self>) -> Range<u32> {
        match (timer.chain(), &mut self.chains.side) {
            (MAIN, _) => self.chains.main.on_timer(node, timer, ctx),
            (_, SideChain::Slots(chain)) => chain.on_timer(node, timer, ctx),
            (_, SideChain::Pbft(_)) => unreachable!("a PBFT side chain sets no slot timers"),
        }
    }

    /// The PBFT side chain, for its group's events.
    pub(super) fn bft(&mut self) -> &mut BftChain<Call> {
        match &mut self.chains.side {
            SideChain::Pbft(chain) => chain,
            SideChain::Slots(_) => unreachable!("group events come from a PBFT side chain"),
        }
    }
}
