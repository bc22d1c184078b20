//! The rollup's contracts on L1, executed once per block as the block is built: assertions
//! (batches with their state roots) and their confirmation, disputes (bisection under a chess
//! clock per side), bonds, the bridge escrow, and the inbox for forced transactions. Each block
//! leaves a list of [`Event`]s that nodes react to when they receive the block.
//!
//! The checkers live here: a block over its data or gas limit, a withdrawal released before its
//! challenge window passed, an escrow that no longer covers the L2 supply plus the withdrawals
//! waiting, and bonds that do not add up.

use simulator::{NodeId, SimDuration, SimTime};

use super::l2::{L2Txs, NEVER};
use super::sequencer::Sequencer;
use super::{Call, Posting, RollupConfig};
use crate::chain::{BLOB_BYTES, Chain};

/// Where an assertion stands.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Inside its challenge window, or past it waiting for its parent.
    Pending,
    /// Under the dispute with this index.
    Disputed(u32),
    /// Final.
    Confirmed,
    /// Taken off by a lost dispute (its own or an ancestor's).
    Removed,
}

/// A party of a dispute.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Side {
    /// The sequencer, defending its root.
    Defender,
    /// The verifier that challenged it.
    Challenger,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Defender => 0,
            Side::Challenger => 1,
        }
    }

    fn other(self) -> Side {
        match self {
            Side::Defender => Side::Challenger,
            Side::Challenger => Side::Defender,
        }
    }
}

/// A batch accepted with its state root.
#[derive(Clone, Debug)]
pub struct Assertion {
    /// The sequencer's batch.
    pub batch: u32,
    /// Time of the L1 block that included it.
    pub included_at: SimTime,
    /// The assertion it builds on.
    pub parent: Option<u32>,
    /// Its root is wrong even given a correct parent.
    pub wrong: bool,
    /// It is wrong or builds on one that is.
    pub tainted: bool,
    /// Where it stands.
    pub status: Status,
    /// When it was confirmed or removed.
    pub settled_at: SimTime,
}

/// A dispute over an assertion's root.
#[derive(Clone, Debug)]
pub struct Dispute {
    /// The assertion.
    pub assertion: u32,
    /// The verifier that challenged.
    pub challenger: NodeId,
    /// Time of the block that opened it.
    pub opened_at: SimTime,
    /// Bisection moves made.
    pub moves: u32,
    /// Whose move it is.
    pub turn: Side,
    /// Time left on each side's clock (defender, challenger).
    pub clocks: [SimDuration; 2],
    /// Time of the block with the last move (or the opening).
    pub last: SimTime,
    /// When it ended and who lost.
    pub resolved: Option<(SimTime, Side)>,
}

/// What a block did to the rollup, for the nodes that receive it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A batch became this assertion.
    Asserted(u32),
    /// This batch built on a removed assertion and was refused.
    Rejected(u32),
    /// This dispute was opened.
    Opened(u32),
    /// A move was made in this dispute.
    Moved(u32),
    /// This dispute ended.
    Resolved(u32),
    /// These transactions entered the inbox (entry index).
    Inbox(u32),
}

/// Transactions sent to the inbox in one L1 transaction.
#[derive(Clone, Debug)]
pub struct InboxEntry {
    /// The L2 transactions.
    pub txs: Vec<u32>,
    /// Time of the block that included them.
    pub included_at: SimTime,
}

/// The rollup's L1 contracts and the checkers over them.
#[derive(Clone, Debug)]
pub struct Contract {
    /// Every assertion, in inclusion order.
    pub assertions: Vec<Assertion>,
    /// Every dispute, in opening order.
    pub disputes: Vec<Dispute>,
    /// The inbox.
    pub inbox: Vec<InboxEntry>,
    /// Events of each executed block.
    events: Vec<Vec<Event>>,
    batch_assertion: Vec<Option<u32>>,
    /// The newest assertion not removed.
    tip: Option<u32>,
    open: Vec<u32>,
    next_confirm: usize,
    next_force: usize,
    staked: bool,
    defender: NodeId,
    stake: u64,
    challenge_bond: u64,
    /// Value locked on L1 for the L2 supply.
    pub escrow: u64,
    /// Value on L2 (as the sequencer executes: withdrawals burn it).
    pub l2_supply: u64,
    /// Withdrawals burned on L2 and not yet released on L1.
    pub pending_withdrawals: u64,
    /// Bonds posted, held by the contract, and paid out to winners.
    pub bonds: [u64; 3],
    /// The sequencer's bonds lost in disputes.
    pub slashed: u64,
    /// Times at which the escrow fell below the L2 supply plus pending withdrawals.
    pub escrow_violations: Vec<SimTime>,
    /// Withdrawals released before their challenge window had passed.
    pub early_withdrawals: u64,
    /// Times at which posted bonds differed from held plus paid.
    pub bond_violations: u64,
    /// Blocks over their blob maximum or gas limit.
    pub oversize_blocks: u64,
    /// Gas (execution and blob gas) of the rollup's own L1 transactions.
    pub gas: u64,
    /// Fees (wei) the rollup paid: blob base fee on blob gas, tips on gas.
    pub fees_wei: u128,
    /// Bytes of L1 data space the batches took (whole blobs, or calldata).
    pub data_bytes: u64,
    /// Compressed bytes and capacity of included batches (fill ratio).
    pub fill: [u64; 2],
    /// Batches refused for building on a removed assertion.
    pub rejected_batches: u32,
    /// Challenges that came too late or found the assertion already disputed or settled.
    pub refused_challenges: u32,
}

impl Contract {
    /// The contracts at genesis, with `defender` the sequencer's node.
    pub fn new(config: &RollupConfig, defender: NodeId) -> Self {
        Contract {
            assertions: Vec::new(),
            disputes: Vec::new(),
            inbox: Vec::new(),
            events: Vec::new(),
            batch_assertion: Vec::new(),
            tip: None,
            open: Vec::new(),
            next_confirm: 0,
            next_force: 0,
            staked: false,
            defender,
            stake: config.sequencer_bond,
            challenge_bond: config.challenge_bond,
            escrow: config.bridged_supply,
            l2_supply: config.bridged_supply,
            pending_withdrawals: 0,
            bonds: [0; 3],
            slashed: 0,
            escrow_violations: Vec::new(),
            early_withdrawals: 0,
            bond_violations: 0,
            oversize_blocks: 0,
            gas: 0,
            fees_wei: 0,
            data_bytes: 0,
            fill: [0; 2],
            rejected_batches: 0,
            refused_challenges: 0,
        }
    }

    /// Blocks executed: numbers `0..executed()`.
    pub fn executed(&self) -> u32 {
        self.events.len() as u32
    }

    /// What block `number` did.
    pub fn events(&self, number: u32) -> &[Event] {
        &self.events[number as usize]
    }

    /// The assertion batch `batch` became, if it was accepted.
    pub fn assertion_of(&self, batch: u32) -> Option<u32> {
        self.batch_assertion.get(batch as usize).copied().flatten()
    }

    /// The sequencer executed `count` withdrawals: burned on L2, waiting on L1.
    pub fn burn(&mut self, count: u64) {
        self.l2_supply -= count;
        self.pending_withdrawals += count;
    }

    /// Executes block `number` (the next one).
    pub fn execute(
        &mut self,
        chain: &Chain<Call>,
        number: u32,
        sequencer: &Sequencer,
        txs: &mut L2Txs,
        config: &RollupConfig,
    ) {
        debug_assert_eq!(number, self.executed());
        let block = &chain.blocks[number as usize];
        let now = block.time;
        let mut events = Vec::new();
        if block.blobs > chain.config().blobs.max() || block.gas_used > chain.config().gas_limit {
            self.oversize_blocks += 1;
        }
        for d in self.open.clone() {
            let dispute = &self.disputes[d as usize];
            if now > dispute.last + dispute.clocks[dispute.turn.index()] {
                let loser = dispute.turn;
                self.resolve(d, loser, now, &mut events);
            }
        }
        for &id in &block.txs {
            let tx = &chain.txs[id as usize];
            let Some(call) = &tx.payload else { continue };
            let blob_gas = u64::from(tx.blobs) * BLOB_BYTES;
            self.gas += tx.gas + blob_gas;
            self.fees_wei +=
                block.blob_base_fee.saturating_mul(u128::from(blob_gas)) + u128::from(tx.tip) * u128::from(tx.gas);
            match call {
                Call::Batch(b) => self.take_batch(*b, tx.blobs, now, sequencer, txs, config, &mut events),
                Call::Challenge(a) => self.open_dispute(*a, tx.sender, now, config, &mut events),
                Call::Move { dispute, index } => self.take_move(*dispute, *index, tx.sender, now, config, &mut events),
                Call::Prove(d) => self.take_proof(*d, tx.sender, now, config, &mut events),
                Call::Force(list) => {
                    for &l2 in list {
                        txs.data_landed(l2, now);
                    }
                    events.push(Event::Inbox(self.inbox.len() as u32));
                    self.inbox.push(InboxEntry { txs: list.clone(), included_at: now });
                }
            }
        }
        while let Some(entry) = self.inbox.get(self.next_force) {
            if entry.included_at + config.force_delay > now {
                break;
            }
            for &l2 in &entry.txs {
                if !txs.asserted[l2 as usize] && txs.forced_at[l2 as usize] == NEVER {
                    txs.forced_at[l2 as usize] = now;
                }
            }
            self.next_force += 1;
        }
        self.confirm(now, sequencer, txs, config);
        self.events.push(events);
    }

    #[allow(clippy::too_many_arguments)]
    fn take_batch(
        &mut self,
        b: u32,
        blobs: u32,
        now: SimTime,
        sequencer: &Sequencer,
        txs: &mut L2Txs,
        config: &RollupConfig,
        events: &mut Vec<Event>,
    ) {
        let batch = &sequencer.batches[b as usize];
        for &l2 in sequencer.txs_of(b) {
            txs.data_landed(l2, now);
        }
        let (data, capacity) = match config.posting {
            Posting::Blobs => (u64::from(blobs) * BLOB_BYTES, u64::from(blobs) * crate::chain::BLOB_USABLE_BYTES),
            Posting::Calldata => (batch.compressed, config.calldata_per_batch),
        };
        self.data_bytes += data;
        self.fill[0] += batch.compressed;
        self.fill[1] += capacity;
        let parent = batch.prev.and_then(|p| self.assertion_of(p));
        if batch.prev.is_some() != parent.is_some() || parent != self.tip {
            self.rejected_batches += 1;
            events.push(Event::Rejected(b));
            return;
        }
        for &l2 in sequencer.txs_of(b) {
            txs.asserted[l2 as usize] = true;
        }
        if !self.staked {
            self.staked = true;
            self.post_bond(config.sequencer_bond);
        }
        let id = self.assertions.len() as u32;
        let tainted = batch.wrong || parent.is_some_and(|p| self.assertions[p as usize].tainted);
        self.assertions.push(Assertion {
            batch: b,
            included_at: now,
            parent,
            wrong: batch.wrong,
            tainted,
            status: Status::Pending,
            settled_at: NEVER,
        });
        if self.batch_assertion.len() <= b as usize {
            self.batch_assertion.resize(b as usize + 1, None);
        }
        self.batch_assertion[b as usize] = Some(id);
        self.tip = Some(id);
        events.push(Event::Asserted(id));
    }

    fn open_dispute(&mut self, a: u32, by: NodeId, now: SimTime, config: &RollupConfig, events: &mut Vec<Event>) {
        let Some(assertion) = self.assertions.get(a as usize) else {
            self.refused_challenges += 1;
            return;
        };
        if assertion.status != Status::Pending || now >= assertion.included_at + config.challenge_window {
            self.refused_challenges += 1;
            return;
        }
        self.post_bond(config.challenge_bond);
        let d = self.disputes.len() as u32;
        self.disputes.push(Dispute {
            assertion: a,
            challenger: by,
            opened_at: now,
            moves: 0,
            turn: Side::Defender,
            clocks: [config.clock; 2],
            last: now,
            resolved: None,
        });
        self.assertions[a as usize].status = Status::Disputed(d);
        self.open.push(d);
        events.push(Event::Opened(d));
    }

    /// The player of `side` in dispute `d`.
    pub fn player(&self, d: u32, side: Side) -> NodeId {
        match side {
            Side::Defender => self.defender,
            Side::Challenger => self.disputes[d as usize].challenger,
        }
    }

    /// Charges the mover's clock for the time since the last move and hands the turn over.
    fn charge(&mut self, d: u32, now: SimTime) {
        let dispute = &mut self.disputes[d as usize];
        let turn = dispute.turn.index();
        dispute.clocks[turn] = SimDuration(dispute.clocks[turn].0 - now.since(dispute.last).0);
        dispute.last = now;
    }

    fn take_move(
        &mut self,
        d: u32,
        index: u32,
        by: NodeId,
        now: SimTime,
        config: &RollupConfig,
        events: &mut Vec<Event>,
    ) {
        let dispute = &self.disputes[d as usize];
        if dispute.resolved.is_some()
            || index != dispute.moves + 1
            || index > config.moves()
            || by != self.player(d, dispute.turn)
        {
            return;
        }
        self.charge(d, now);
        let dispute = &mut self.disputes[d as usize];
        dispute.moves = index;
        // After the last bisection the challenger owes the one-step proof.
        dispute.turn = if index == config.moves() { Side::Challenger } else { dispute.turn.other() };
        events.push(Event::Moved(d));
    }

    fn take_proof(&mut self, d: u32, by: NodeId, now: SimTime, config: &RollupConfig, events: &mut Vec<Event>) {
        let dispute = &self.disputes[d as usize];
        if dispute.resolved.is_some() || dispute.moves != config.moves() || by != dispute.challenger {
            return;
        }
        let wrong = self.assertions[dispute.assertion as usize].wrong;
        self.charge(d, now);
        // The proof executes the one disputed step on L1: it shows whose claim about it is false.
        let loser = if wrong { Side::Defender } else { Side::Challenger };
        self.resolve(d, loser, now, events);
    }

    fn resolve(&mut self, d: u32, loser: Side, now: SimTime, events: &mut Vec<Event>) {
        self.open.retain(|&o| o != d);
        let dispute = &mut self.disputes[d as usize];
        dispute.resolved = Some((now, loser));
        let a = dispute.assertion;
        events.push(Event::Resolved(d));
        match loser {
            Side::Challenger => {
                // The challenger's bond goes to the sequencer.
                self.pay_out(self.challenge_bond);
                self.assertions[a as usize].status = Status::Pending;
            }
            Side::Defender => {
                // The sequencer's stake goes to the challenger, with its own bond back.
                let stake = if self.staked { self.stake } else { 0 };
                self.pay_out(self.challenge_bond + stake);
                self.slashed += stake;
                self.staked = false;
                self.tip = self.assertions[a as usize].parent;
                for later in a as usize..self.assertions.len() {
                    let status = self.assertions[later].status;
                    if status == Status::Removed {
                        continue;
                    }
                    self.assertions[later].status = Status::Removed;
                    self.assertions[later].settled_at = now;
                    if let (Status::Disputed(other), true) = (status, later != a as usize) {
                        // A dispute over a root built on the removed one ends with it; its
                        // challenger gets the bond back.
                        self.open.retain(|&o| o != other);
                        self.disputes[other as usize].resolved = Some((now, Side::Defender));
                        self.pay_out(self.challenge_bond);
                        events.push(Event::Resolved(other));
                    }
                }
            }
        }
    }

    fn post_bond(&mut self, amount: u64) {
        self.bonds[0] += amount;
        self.bonds[1] += amount;
        self.check_bonds();
    }

    fn pay_out(&mut self, amount: u64) {
        self.bonds[1] -= amount;
        self.bonds[2] += amount;
        self.check_bonds();
    }

    fn check_bonds(&mut self) {
        if self.bonds[0] != self.bonds[1] + self.bonds[2] {
            self.bond_violations += 1;
        }
    }

    /// Confirms, in order, the assertions whose window has passed undisputed and whose parent is
    /// final, releasing their withdrawals from the escrow.
    fn confirm(&mut self, now: SimTime, sequencer: &Sequencer, txs: &L2Txs, config: &RollupConfig) {
        while let Some(assertion) = self.assertions.get(self.next_confirm) {
            match assertion.status {
                Status::Removed | Status::Confirmed => {
                    self.next_confirm += 1;
                    continue;
                }
                Status::Disputed(_) => break,
                Status::Pending => {}
            }
            let parent_final = assertion.parent.is_none_or(|p| self.assertions[p as usize].status == Status::Confirmed);
            if now < assertion.included_at + config.challenge_window || !parent_final {
                break;
            }
            let (batch, wrong) = (assertion.batch, assertion.wrong);
            let a = &mut self.assertions[self.next_confirm];
            a.status = Status::Confirmed;
            a.settled_at = now;
            self.next_confirm += 1;
            let mut withdrawals = 0;
            for &l2 in sequencer.txs_of(batch) {
                if txs.withdrawal[l2 as usize] {
                    withdrawals += 1;
                    // Checked against the transaction's own record, not the assertion's.
                    if now.0 < txs.data_at[l2 as usize].0.saturating_add(config.challenge_window.0) {
                        self.early_withdrawals += 1;
                    }
                }
            }
            let covered = self.escrow >= self.l2_supply + self.pending_withdrawals;
            self.escrow -= withdrawals.min(self.escrow);
            self.pending_withdrawals -= withdrawals;
            if wrong {
                // The false root credits the sequencer with a withdrawal it never made.
                self.escrow -= config.forged_withdrawal.min(self.escrow);
            }
            // A breach is counted when it happens, not again at every release after it.
            if (covered || wrong) && self.escrow < self.l2_supply + self.pending_withdrawals {
                self.escrow_violations.push(now);
            }
        }
    }
}
