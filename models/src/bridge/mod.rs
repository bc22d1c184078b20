//! A bridge between two chains ([`crate::chain`]): users lock tokens on the main chain and have
//! them minted on the side chain (deposits), and burn them there to have them released on the
//! main chain (withdrawals). Under `Trust::Validators`, n bridge validators each sign a transfer
//! once its source block has its confirmations, relayers gather m signatures and submit the
//! mint or release; under `Trust::LightClient`, relayers submit the source header with an
//! inclusion proof, which the destination verifies, and a packet not received before its
//! timeout is refunded at the source. The contracts of both chains (`ledger.rs`) run the
//! conservation checker (`checker.rs`) on every change.

mod chains;
mod checker;
mod config;
mod ledger;
mod metrics;
mod registered;
mod signers;
mod transfers;
mod users;

pub use chains::{Chains, SideChain};
pub use checker::{Authorisation, Balances, Breach, Checker, Violation};
pub use config::{BridgeConfig, Direction, Limit, MAX_VALIDATORS, Reorg, Scripted, SideConsensus, Trust};
pub use ledger::{Call, Ledger, Notice};
pub use metrics::METRICS;
pub use transfers::{MAIN, SIDE, Transfer};

use std::collections::{BTreeSet, HashMap};

use simulator::{Context, NodeId, Protocol, SimDuration, SimTime};

use crate::Wire;
use crate::chain::{ChainId, ChainMsg, ChainTimer, Outgoing, Tick};
use crate::pbft::{self, GroupId, Hosts};
use users::User;

/// Messages of the bridge.
#[derive(Clone, Debug)]
pub enum Body {
    /// Gossip of either chain.
    Chain(ChainMsg),
    /// A message of the side chain's PBFT group.
    Pbft(pbft::Body),
    /// A validator's signature on a transfer.
    Attest {
        /// The transfer.
        transfer: u32,
        /// The validator (its index in the role).
        signer: u32,
    },
    /// The lead colluder asks another to sign a forged deposit.
    Forge(u32),
}

/// A bridge message on the wire.
pub type Msg = Wire<Body>;

/// Bytes of an attestation: signature, transfer hash, signer.
const ATTESTATION_BYTES: u64 = 120;

impl From<ChainMsg> for Body {
    fn from(msg: ChainMsg) -> Self {
        Body::Chain(msg)
    }
}

/// Timers of the bridge.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Slots of either chain.
    Chain(ChainTimer),
    /// A PBFT side chain's replica hands its group a tick.
    Tick,
    /// A timer of a PBFT side chain's replica.
    Pbft(pbft::Timer),
    /// User `u` issues its next transfer.
    Issue(u32),
    /// The first user issues scripted transfer `i`.
    Script(u32),
    /// A user checks whether its packet timed out, to claim the refund.
    Refund(u32),
    /// A validator signs what it has not and sends its attestations again; a validator or
    /// relayer sends again its transactions not yet included.
    Resend,
    /// A user sends again the lock or burn of a transfer not yet included (the attempt number).
    Resubmit(u32, u32),
    /// The lead colluder forges a deposit.
    Forge,
    /// The reorganisation attacker deposits.
    AttackDeposit,
    /// The attacker publishes its branch, replacing the blocks from this number on.
    AttackBranch(u32),
}

impl From<ChainTimer> for Timer {
    fn from(timer: ChainTimer) -> Self {
        Timer::Chain(timer)
    }
}

impl From<Tick> for Timer {
    fn from(_: Tick) -> Self {
        Timer::Tick
    }
}

/// CPU work of the bridge.
#[derive(Clone, Debug)]
pub enum Job {
    /// A validator signs a transfer.
    Sign(u32),
    /// A relayer (or the lead colluder) verifies a signature.
    Verify {
        /// The transfer.
        transfer: u32,
        /// The validator that signed.
        signer: u32,
    },
    /// Work of a PBFT side chain's replica.
    Pbft(pbft::CpuJob),
}

/// The bridge across all nodes.
pub struct Bridge {
    config: BridgeConfig,
    chains: Chains,
    ledger: Ledger,
    transfers: Vec<Transfer>,
    /// Bridge validators (signers), in role order: validator i signs as bit i.
    validators: Vec<NodeId>,
    /// Node → validator index.
    validator_of: Vec<Option<u32>>,
    relayers: Vec<NodeId>,
    is_relayer: Vec<bool>,
    users: Vec<User>,
    /// Node → user index.
    user_of: Vec<Option<u32>>,
    /// Per node and chain, the next source block it attests or relays.
    cursors: Vec<[u32; 2]>,
    /// Per validator, the transfers it signed and has not yet seen paid.
    unpaid: Vec<BTreeSet<u32>>,
    /// Signatures each relayer (or the lead colluder) verified, per transfer.
    collected: HashMap<(NodeId, u32), u64>,
    /// (node, transfer) pairs whose payout a node has submitted.
    submitted: BTreeSet<(NodeId, u32)>,
    /// The forged deposit, and the withdrawal that drains it.
    forgery: Option<(u32, Option<u32>)>,
    /// The reorganisation attacker's deposit.
    attack_deposit: Option<u32>,
    /// When the colluders forged their deposit, and when the attacker published its branch.
    attacks: Attacks,
    issue_until: SimTime,
}

/// When each attack began.
#[derive(Copy, Clone, Debug, Default)]
struct Attacks {
    forged: Option<SimTime>,
    branch: Option<SimTime>,
}

impl Attacks {
    /// The start of the attack a breach of kind `breach` comes from.
    fn start_of(self, breach: Breach) -> Option<SimTime> {
        match breach {
            Breach::ForgedMint => self.forged,
            Breach::Reorg => self.branch,
            _ => None,
        }
    }
}

/// The nodes of each part of a bridge.
pub struct Parts {
    /// Main-chain validators.
    pub main: Vec<NodeId>,
    /// Side-chain validators.
    pub side: Vec<NodeId>,
    /// Bridge validators (empty under a light client).
    pub validators: Vec<NodeId>,
    /// Relayers.
    pub relayers: Vec<NodeId>,
    /// Users: every other node.
    pub users: Vec<NodeId>,
}

impl Bridge {
    /// A bridge among `nodes` nodes; users issue transfers until `issue_until`, and slots are
    /// scheduled until `until`.
    pub fn new(
        config: BridgeConfig,
        nodes: u32,
        parts: &Parts,
        issue_until: SimTime,
        until: SimTime,
        seed: u64,
    ) -> Self {
        let chains = Chains::new(&config, parts, nodes, until, seed);
        let mut validator_of = vec![None; nodes as usize];
        for (i, &v) in parts.validators.iter().enumerate() {
            validator_of[v as usize] = Some(i as u32);
        }
        let mut is_relayer = vec![false; nodes as usize];
        for &r in &parts.relayers {
            is_relayer[r as usize] = true;
        }
        let mut user_of = vec![None; nodes as usize];
        for (i, &u) in parts.users.iter().enumerate() {
            user_of[u as usize] = Some(i as u32);
        }
        let rate = if parts.users.is_empty() { 0.0 } else { config.rate / parts.users.len() as f64 };
        let interval = chains.interval(SIDE).0;
        let bucket = SimDuration((until.0 / 400).div_ceil(interval).max(1) * interval);
        Bridge {
            ledger: Ledger::new(bucket),
            chains,
            transfers: Vec::new(),
            unpaid: vec![BTreeSet::new(); parts.validators.len()],
            validators: parts.validators.clone(),
            validator_of,
            relayers: parts.relayers.clone(),
            is_relayer,
            users: parts.users.iter().map(|&node| User::new(node, rate, seed)).collect(),
            user_of,
            cursors: vec![[1, 1]; nodes as usize],
            collected: HashMap::new(),
            submitted: BTreeSet::new(),
            forgery: None,
            attack_deposit: None,
            attacks: Attacks::default(),
            issue_until,
            config,
        }
    }

    /// Every transfer so far.
    pub fn transfers(&self) -> &[Transfer] {
        &self.transfers
    }

    /// Both contracts' state and the checker.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Both chains.
    pub fn chains(&self) -> &Chains {
        &self.chains
    }

    /// A bridge call to sign and send to `chain`.
    fn call(&self, payload: Call, calldata: u64, exec_gas: u64) -> Outgoing<Call> {
        Outgoing { payload, tip: self.config.tip, max_blob_fee: None, blobs: 0, calldata, exec_gas }
    }

    /// Starts `node`'s timers: its slots on either chain, its resends (a validator), its
    /// transfers (a user), the attacks.
    fn start(&mut self, node: NodeId, recovering: bool, ctx: &mut Context<'_, Self>) {
        let applied = self.start_chains(node, recovering, ctx);
        self.blocks_applied(node, SIDE, applied, ctx);
        if self.validator_of[node as usize].is_some() || self.is_relayer[node as usize] {
            ctx.set_timer(self.config.resend, Timer::Resend);
        }
        if let Some(u) = self.user_of[node as usize] {
            self.user_starts(u, ctx);
        }
    }

    /// Timers set once, at the start: scripted transfers, the forgery, the reorganisation.
    fn schedule_attacks_and_script(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        let now = ctx.now();
        if self.users.first().is_some_and(|u| u.node == node) {
            for (i, script) in self.config.transfers.iter().enumerate() {
                ctx.set_timer((SimTime::ZERO + script.at).since(now), Timer::Script(i as u32));
            }
        }
        if let Some(reorg) = &self.config.reorg
            && self.users.last().is_some_and(|u| u.node == node)
        {
            ctx.set_timer(reorg.at, Timer::AttackDeposit);
        }
        if let Some(at) = self.config.forge_at
            && self.validators.first() == Some(&node)
            && self.config.colluders > 0
        {
            ctx.set_timer(at, Timer::Forge);
        }
    }

    /// Executes the blocks of `chain` in `blocks` that are new, then lets `node` react.
    fn blocks_applied(
        &mut self,
        node: NodeId,
        chain: ChainId,
        blocks: std::ops::Range<u32>,
        ctx: &mut Context<'_, Self>,
    ) {
        if blocks.is_empty() {
            return;
        }
        while self.ledger.executed(chain) < blocks.end {
            let next = self.ledger.executed(chain);
            self.ledger.execute(chain, next, &self.chains, &mut self.transfers, &self.config, ctx.now());
            if chain == MAIN {
                self.time_the_branch(next, ctx);
            }
        }
        if self.validator_of[node as usize].is_some() {
            self.attest_confirmed(node, ctx);
            self.drain_forgery(node, ctx);
        }
        if self.is_relayer[node as usize] && self.config.trust == Trust::LightClient {
            self.relay_confirmed(node, ctx);
        }
    }

    /// Whether block `number` of `chain` counts as confirmed for a node holding `head` blocks.
    fn confirmed(&self, chain: ChainId, number: u32, head: u32) -> bool {
        self.chains.confirmed(&self.config, chain, number, head)
    }
}

impl Protocol for Bridge {
    type Msg = Msg;
    type Timer = Timer;
    type CpuJob = Job;
    type DiskJob = pbft::DiskJob;

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        self.start(node, false, ctx);
        self.schedule_attacks_and_script(node, ctx);
    }

    fn on_message(&mut self, node: NodeId, from: NodeId, msg: Msg, ctx: &mut Context<'_, Self>) {
        match msg.body {
            Body::Chain(chain_msg) => {
                let chain = chain_msg.chain;
                let applied = self.chain_message(node, from, chain_msg, ctx);
                self.blocks_applied(node, chain, applied, ctx);
            }
            Body::Pbft(body) => {
                let applied = self.bft().on_group_message(node, from, Wire { bytes: msg.bytes, body }, ctx);
                self.blocks_applied(node, SIDE, applied, ctx);
            }
            Body::Attest { transfer, signer } => ctx.run_cpu(self.config.verify, Job::Verify { transfer, signer }),
            Body::Forge(transfer) => ctx.run_cpu(self.config.sign, Job::Sign(transfer)),
        }
    }

    fn on_timer(&mut self, node: NodeId, timer: Timer, ctx: &mut Context<'_, Self>) {
        match timer {
            Timer::Chain(chain_timer) => {
                let chain = chain_timer.chain();
                let applied = self.chain_timer(node, chain_timer, ctx);
                self.blocks_applied(node, chain, applied, ctx);
            }
            Timer::Tick => {
                let applied = self.bft().on_tick(node, ctx);
                self.blocks_applied(node, SIDE, applied, ctx);
            }
            Timer::Pbft(timer) => {
                let applied = self.bft().on_group_timer(node, timer, ctx);
                self.blocks_applied(node, SIDE, applied, ctx);
            }
            Timer::Issue(u) => self.user_issues(u, ctx),
            Timer::Script(i) => self.scripted(i, ctx),
            Timer::Refund(t) => self.claim_refund(t, ctx),
            Timer::Resend => self.resend(node, ctx),
            Timer::Resubmit(t, attempt) => self.resubmit(t, attempt, ctx),
            Timer::Forge => self.forge(ctx),
            Timer::AttackDeposit => self.attack_deposit(ctx),
            Timer::AttackBranch(from) => self.publish_branch(from, ctx),
        }
    }

    fn on_cpu_done(&mut self, node: NodeId, job: Job, ctx: &mut Context<'_, Self>) {
        match job {
            Job::Sign(transfer) => self.signed(node, transfer, ctx),
            Job::Verify { transfer, signer } => self.collect(node, transfer, signer, ctx),
            Job::Pbft(job) => {
                let applied = self.bft().on_group_cpu(node, job, ctx);
                self.blocks_applied(node, SIDE, applied, ctx);
            }
        }
    }

    fn on_disk_done(&mut self, node: NodeId, job: pbft::DiskJob, ctx: &mut Context<'_, Self>) {
        let applied = self.bft().on_group_disk(node, job, ctx);
        self.blocks_applied(node, SIDE, applied, ctx);
    }

    fn on_crash(&mut self, node: NodeId, now: SimTime) {
        if let SideChain::Pbft(_) = self.chains.side() {
            self.bft().on_crash(node, now);
        }
    }

    /// A node back from a crash starts its timers again; its state survived (a PBFT replica
    /// catches up through its group, a follower of a PBFT chain asks for what it missed).
    fn on_recover(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        self.start(node, true, ctx);
    }
}

/// The side chain's PBFT group runs inside the bridge: its messages, timers and jobs are the
/// bridge's.
impl Hosts for Bridge {
    fn wrap_message(_: GroupId, msg: pbft::Wire) -> Msg {
        Wire { bytes: msg.bytes, body: Body::Pbft(msg.body) }
    }

    fn wrap_timer(_: GroupId, timer: pbft::Timer) -> Timer {
        Timer::Pbft(timer)
    }

    fn wrap_cpu(_: GroupId, job: pbft::CpuJob) -> Job {
        Job::Pbft(job)
    }

    fn wrap_disk(_: GroupId, job: pbft::DiskJob) -> pbft::DiskJob {
        job
    }
}
