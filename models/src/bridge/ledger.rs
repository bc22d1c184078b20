//! The bridge's contracts on both chains, executed once per block as it is built: the escrow
//! on the main chain (locks, releases, the withdrawal limit), the token on the side chain
//! (mints, burns), the light clients' packet rules (receipt before the timeout, acknowledgement,
//! refund after it), and the conservation checker watching every change.

use std::collections::{HashMap, VecDeque};

use simulator::series::{Aggregate, TimeSeries};
use simulator::{NodeId, SimDuration, SimTime};

use super::chains::Chains;
use super::checker::{Authorisation, Balances, Checker};
use super::config::{BridgeConfig, Direction, Trust};
use super::transfers::{MAIN, Transfer};
use crate::chain::ChainId;

/// What an L1 transaction of the bridge asks a chain's contract to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// Lock (on the main chain) or burn (on the side chain) of a transfer.
    Source(u32),
    /// Mint or release of a transfer with bridge validators' signatures (bit i: validator i).
    Attested {
        /// The transfer.
        transfer: u32,
        /// Who signed.
        signers: u64,
    },
    /// Mint or release of a transfer with a source header and an inclusion proof.
    Proven {
        /// The transfer.
        transfer: u32,
        /// The source block whose header the proof is against.
        header: u32,
    },
    /// The destination's acknowledgement that it received a packet.
    Acknowledge(u32),
    /// A refund of a packet that timed out.
    Refund(u32),
    /// The conflicting spend that replaced an attacker's lock in a reorganisation.
    Spend,
}

/// What an executed block did that bridge nodes react to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A transfer's lock or burn.
    Source(u32),
    /// A transfer minted or released.
    Paid(u32),
}

/// Both contracts' state.
pub struct Ledger {
    /// The value on both chains.
    pub balances: Balances,
    /// Breaches found.
    pub checker: Checker,
    /// Per chain, per executed block, what it did.
    pub notices: [Vec<Vec<Notice>>; 2],
    /// Side-chain tokens each user holds.
    holdings: HashMap<NodeId, u64>,
    /// Releases accepted but held back by the withdrawal limit, first come first paid.
    held_back: VecDeque<u32>,
    /// The current period of the withdrawal limit and what it has released.
    period: (u64, u64),
    /// Bridge calls the contracts refused (duplicates, too few signatures, late packets, burns
    /// of tokens not held).
    pub refused: u64,
    /// Gas of every bridge call executed on either chain.
    pub gas: u64,
    /// The largest balance the escrow held.
    pub most_locked: u64,
    /// `locked_value`, `minted_value` and `in_flight_value` over time.
    pub series: [TimeSeries; 3],
}

impl Ledger {
    /// Empty contracts, with series in buckets of `bucket`.
    pub fn new(bucket: SimDuration) -> Self {
        let series = ["locked_value", "minted_value", "in_flight_value"]
            .map(|name| TimeSeries::new(name, "bridge", Aggregate::Last, bucket));
        Ledger {
            balances: Balances::default(),
            checker: Checker::default(),
            notices: [vec![Vec::new()], vec![Vec::new()]],
            holdings: HashMap::new(),
            held_back: VecDeque::new(),
            period: (0, 0),
            refused: 0,
            gas: 0,
            most_locked: 0,
            series,
        }
    }

    /// Blocks of `chain` executed so far.
    pub fn executed(&self, chain: ChainId) -> u32 {
        self.notices[chain as usize].len() as u32
    }

    /// Executes block `number` of `chain`, built now.
    pub fn execute(
        &mut self,
        chain: ChainId,
        number: u32,
        chains: &Chains,
        transfers: &mut [Transfer],
        config: &BridgeConfig,
        now: SimTime,
    ) {
        debug_assert_eq!(self.executed(chain), number, "blocks execute in order");
        self.notices[chain as usize].push(Vec::new());
        if chain == MAIN {
            self.pay_held_back(transfers, config, now);
        }
        let block = &chains.blocks(chain)[number as usize];
        let other_newest = chains.blocks(1 - chain).last().map_or(SimTime::ZERO, |b| b.time);
        for &id in &block.txs {
            let tx = &chains.txs(chain)[id as usize];
            let Some(call) = &tx.payload else { continue };
            self.gas += tx.gas;
            let accepted = match *call {
                Call::Source(t) => self.source(chain, number, block.time, t, transfers, now),
                Call::Attested { transfer, signers } => {
                    let t = &transfers[transfer as usize];
                    let valid = config.trust == Trust::Validators
                        && signers.count_ones() >= config.threshold
                        && t.destination_chain() == chain
                        && t.completed.is_none();
                    let authorisation = Authorisation::Signatures { signers, threshold: config.threshold };
                    valid && self.pay(chain, number, transfer, authorisation, transfers, config, now)
                }
                Call::Proven { transfer, header } => {
                    let t = &transfers[transfer as usize];
                    let source = t.source_chain();
                    let valid = config.trust == Trust::LightClient
                        && t.destination_chain() == chain
                        && t.completed.is_none()
                        && t.refunded.is_none()
                        && t.source.is_some_and(|(number, at)| {
                            block.time < at + config.packet_timeout
                                && chains.confirmed(config, source, number, header + 1)
                        });
                    let authorisation = Authorisation::Proof { header };
                    valid && self.pay(chain, number, transfer, authorisation, transfers, config, now)
                }
                Call::Acknowledge(t) => {
                    let transfer = &mut transfers[t as usize];
                    let valid = transfer.source_chain() == chain
                        && transfer.completed.is_some()
                        && transfer.refunded.is_none()
                        && !transfer.acknowledged;
                    transfer.acknowledged |= valid;
                    valid
                }
                Call::Refund(t) => self.refund(chain, t, other_newest, transfers, config, now),
                Call::Spend => true,
            };
            self.refused += u64::from(!accepted);
        }
        self.record(now);
    }

    /// A lock on the main chain or a burn of tokens the user holds on the side chain.
    fn source(
        &mut self,
        chain: ChainId,
        number: u32,
        time: SimTime,
        t: u32,
        transfers: &mut [Transfer],
        now: SimTime,
    ) -> bool {
        let transfer = &mut transfers[t as usize];
        if transfer.source_chain() != chain || transfer.source.is_some() {
            return false;
        }
        let before = self.balances;
        if chain == MAIN {
            self.balances.locked += transfer.amount;
            self.most_locked = self.most_locked.max(self.balances.locked);
        } else {
            let held = self.holdings.entry(transfer.user).or_insert(0);
            if *held < transfer.amount {
                transfer.refused = true;
                return false;
            }
            *held -= transfer.amount;
            self.balances.minted -= transfer.amount;
        }
        self.balances.in_flight += transfer.amount;
        transfer.source = Some((number, time));
        self.notices[chain as usize][number as usize].push(Notice::Source(t));
        self.checker.conservation(before, self.balances, now, t, transfer);
        true
    }

    /// Mints (side) or releases (main) an authorised transfer; a release over the period's
    /// limit waits for a later period, and one the escrow cannot cover is refused.
    #[allow(clippy::too_many_arguments)]
    fn pay(
        &mut self,
        chain: ChainId,
        number: u32,
        t: u32,
        authorisation: Authorisation,
        transfers: &mut [Transfer],
        config: &BridgeConfig,
        now: SimTime,
    ) -> bool {
        let amount = transfers[t as usize].amount;
        if transfers[t as usize].held_back {
            return false;
        }
        if chain == MAIN {
            if self.balances.locked < amount {
                return false;
            }
            if let Some(limit) = &config.withdraw_limit {
                self.enter_period(now, limit.period);
                if !self.held_back.is_empty() || over_limit(self.period.1, amount, limit.value) {
                    self.held_back.push_back(t);
                    transfers[t as usize].held_back = true;
                    return true;
                }
                self.period.1 += amount;
            }
        }
        self.pay_out(chain, number, t, Some(authorisation), transfers, now);
        true
    }

    fn pay_out(
        &mut self,
        chain: ChainId,
        number: u32,
        t: u32,
        authorisation: Option<Authorisation>,
        transfers: &mut [Transfer],
        now: SimTime,
    ) {
        let transfer = &mut transfers[t as usize];
        let before = self.balances;
        if transfer.in_flight() {
            self.balances.in_flight -= transfer.amount;
        }
        if chain == MAIN {
            self.balances.locked -= transfer.amount;
        } else {
            self.balances.minted += transfer.amount;
            *self.holdings.entry(transfer.user).or_insert(0) += transfer.amount;
        }
        transfer.completed = Some((now, number));
        transfer.payouts += 1;
        if let Some(authorisation) = authorisation {
            self.checker.payout(now, t, transfer, authorisation);
        }
        self.checker.conservation(before, self.balances, now, t, transfer);
        self.notices[chain as usize][number as usize].push(Notice::Paid(t));
    }

    fn enter_period(&mut self, now: SimTime, period: SimDuration) {
        let current = now.0 / period.0;
        if current != self.period.0 {
            self.period = (current, 0);
        }
    }

    /// Pays the releases held back by the limit that fit the current period, in order.
    fn pay_held_back(&mut self, transfers: &mut [Transfer], config: &BridgeConfig, now: SimTime) {
        let Some(limit) = &config.withdraw_limit else { return };
        self.enter_period(now, limit.period);
        let number = self.executed(MAIN) - 1;
        while let Some(&t) = self.held_back.front() {
            let amount = transfers[t as usize].amount;
            if over_limit(self.period.1, amount, limit.value) || self.balances.locked < amount {
                break;
            }
            self.held_back.pop_front();
            transfers[t as usize].held_back = false;
            self.period.1 += amount;
            self.pay_out(MAIN, number, t, None, transfers, now);
        }
    }

    /// A light-client refund at the source of a packet its destination never received (a
    /// release held back by the limit was received): valid once the destination holds a block
    /// at or past the timeout (its header proves the receipt absent).
    fn refund(
        &mut self,
        chain: ChainId,
        t: u32,
        destination_newest: SimTime,
        transfers: &mut [Transfer],
        config: &BridgeConfig,
        now: SimTime,
    ) -> bool {
        let transfer = &mut transfers[t as usize];
        let Some((_, source_time)) = transfer.source else { return false };
        if config.trust != Trust::LightClient
            || transfer.source_chain() != chain
            || transfer.completed.is_some()
            || transfer.refunded.is_some()
            || transfer.held_back
            || destination_newest < source_time + config.packet_timeout
        {
            return false;
        }
        let before = self.balances;
        self.balances.in_flight -= transfer.amount;
        match transfer.kind {
            Direction::Deposit => self.balances.locked -= transfer.amount,
            Direction::Withdrawal => {
                self.balances.minted += transfer.amount;
                *self.holdings.entry(transfer.user).or_insert(0) += transfer.amount;
            }
        }
        transfer.refunded = Some(now);
        self.checker.outcome(now, t, transfer);
        self.checker.conservation(before, self.balances, now, t, transfer);
        true
    }

    /// A reorganisation replaced the lock of `t` by a conflicting spend: the escrow no longer
    /// holds it.
    pub fn orphan(&mut self, t: u32, transfers: &mut [Transfer], now: SimTime) {
        let transfer = &mut transfers[t as usize];
        let before = self.balances;
        if transfer.source.is_some() {
            if transfer.in_flight() {
                self.balances.in_flight -= transfer.amount;
            }
            self.balances.locked = self.balances.locked.saturating_sub(transfer.amount);
        }
        transfer.orphaned = true;
        self.checker.conservation(before, self.balances, now, t, transfer);
        self.record(now);
    }

    /// Tokens `user` holds on the side chain.
    pub fn holding(&self, user: NodeId) -> u64 {
        self.holdings.get(&user).copied().unwrap_or(0)
    }

    fn record(&mut self, now: SimTime) {
        let b = self.balances;
        for (series, value) in self.series.iter_mut().zip([b.locked, b.minted, b.in_flight]) {
            series.set(now, value as f64);
        }
    }
}

/// Whether paying `amount` after `paid` this period passes the `limit`; a release larger than
/// the limit is paid alone in a period of its own.
fn over_limit(paid: u64, amount: u64, limit: u64) -> bool {
    paid > 0 && paid + amount > limit
}
