//! A bridge between two chains ([`crate::chain`]): users lock tokens on the main chain and have
//! them minted on the side chain (deposits), and burn them there to have them released on the
//! main chain (withdrawals). Under `Trust::Validators`, n bridge validators each sign a transfer
//! once its source block has its confirmations, relayers gather m signatures and submit the
//! mint or release; under `Trust::LightClient`, relayers submit the source header with an
//! inclusion proof, which the destination verifies, and a packet not received before its
//! timeout is refunded at the source. The contracts of both chains (`ledger.rs`) run the
//! conservation checker (`checker.rs`) on every change.

mod checker;
mod config;
mod ledger;
mod metrics;
mod registered;
mod signers;
mod transfers;
mod users;

pub use checker::{Authorisation, Balances, Breach, Checker, Violation};
pub use config::{BridgeConfig, Direction, Limit, MAX_VALIDATORS, Reorg, Scripted, Trust};
pub use ledger::{Call, Ledger, Notice};
pub use metrics::METRICS;
pub use transfers::{MAIN, SIDE, Transfer};

use std::collections::{BTreeSet, HashMap};

use simulator::{Context, NodeId, Protocol, SimDuration, SimTime};

use crate::Wire;
use crate::chain::{Chain, ChainId, ChainMsg, ChainTimer, Outgoing, TxId};
use users::User;

/// Messages of the bridge.
#[derive(Clone, Debug)]
pub enum Body {
    /// Gossip of either chain.
    Chain(ChainMsg),
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

/// CPU work of the bridge.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
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
}

/// The bridge across all nodes.
pub struct Bridge {
    config: BridgeConfig,
    chains: [Chain<Call>; 2],
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
        let followers: Vec<NodeId> = parts.validators.iter().chain(&parts.relayers).copied().collect();
        let chains = [
            Chain::new(config.main_chain.clone(), &parts.main, &followers, nodes, until, seed).with_id(MAIN),
            Chain::new(config.side_chain.clone(), &parts.side, &followers, nodes, until, seed ^ 0x5eed_51de)
                .with_id(SIDE),
        ];
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
        let bucket = SimDuration((until.0 / 400).div_ceil(config.side_chain.slot.0).max(1) * config.side_chain.slot.0);
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

    /// The main chain (`MAIN`) or the side chain (`SIDE`).
    pub fn chain(&self, chain: ChainId) -> &Chain<Call> {
        &self.chains[chain as usize]
    }

    /// A bridge call to sign and send to `chain`.
    fn call(&self, payload: Call, calldata: u64, exec_gas: u64) -> Outgoing<Call> {
        Outgoing { payload, tip: self.config.tip, max_blob_fee: None, blobs: 0, calldata, exec_gas }
    }

    fn submit(&mut self, chain: ChainId, call: Outgoing<Call>, ctx: &mut Context<'_, Self>) -> TxId {
        self.chains[chain as usize].submit(call, ctx)
    }

    /// Starts `node`'s timers: its slots on either chain, its resends (a validator), its
    /// transfers (a user), the attacks.
    fn start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        for chain in [MAIN, SIDE] {
            if self.chains[chain as usize].is_member(node) {
                self.chains[chain as usize].on_start(node, ctx);
            }
        }
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
        ledger::confirmed(&self.config, &self.chains[chain as usize], chain, number, head)
    }
}

impl Protocol for Bridge {
    type Msg = Msg;
    type Timer = Timer;
    type CpuJob = Job;
    type DiskJob = ();

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        self.start(node, ctx);
        self.schedule_attacks_and_script(node, ctx);
    }

    fn on_message(&mut self, node: NodeId, from: NodeId, msg: Msg, ctx: &mut Context<'_, Self>) {
        match msg.body {
            Body::Chain(chain_msg) => {
                let chain = chain_msg.chain;
                let applied = self.chains[chain as usize].on_message(node, from, chain_msg, ctx);
                self.blocks_applied(node, chain, applied, ctx);
            }
            Body::Attest { transfer, signer } => ctx.run_cpu(self.config.verify, Job::Verify { transfer, signer }),
            Body::Forge(transfer) => ctx.run_cpu(self.config.sign, Job::Sign(transfer)),
        }
    }

    fn on_timer(&mut self, node: NodeId, timer: Timer, ctx: &mut Context<'_, Self>) {
        match timer {
            Timer::Chain(chain_timer) => {
                let chain = chain_timer.chain();
                let applied = self.chains[chain as usize].on_timer(node, chain_timer, ctx);
                self.blocks_applied(node, chain, applied, ctx);
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
        }
    }

    fn on_disk_done(&mut self, _node: NodeId, _job: (), _ctx: &mut Context<'_, Self>) {}

    /// A node back from a crash starts its timers again; its state survived.
    fn on_recover(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        self.start(node, ctx);
    }
}
