//! What every shard shares: balances (each account changed only by its own shard), and what the
//! checkers found.

use super::txs::Tx;

/// Balances and the checkers' counts.
#[derive(Debug)]
pub struct Bank {
    /// Every account's balance.
    pub balances: Vec<u64>,
    /// Decisions that contradict another shard's, and commits without a yes vote.
    pub atomicity_violations: u64,
    /// Debits that would have overdrawn an account, and transfers applied twice.
    pub double_spends: u64,
}

impl Bank {
    /// `accounts` accounts holding `balance` each.
    pub fn new(accounts: u32, balance: u64) -> Self {
        Bank { balances: vec![balance; accounts as usize], atomicity_violations: 0, double_spends: 0 }
    }

    /// Value held in accounts.
    pub fn held(&self) -> u64 {
        self.balances.iter().sum()
    }

    /// Takes `amount` from `account`; an overdraft is counted as a double spend and not made.
    pub fn debit(&mut self, account: u32, amount: u64) {
        let balance = &mut self.balances[account as usize];
        match balance.checked_sub(amount) {
            Some(left) => *balance = left,
            None => self.double_spends += 1,
        }
    }

    /// Adds `amount` to `account`.
    pub fn credit(&mut self, account: u32, amount: u64) {
        self.balances[account as usize] += amount;
    }
}

/// The observer's record of a decision a shard applied: a shard deciding otherwise than one
/// before it breaks atomicity.
pub fn record_decision(tx: &mut Tx, bank: &mut Bank, commit: bool) {
    match tx.decision {
        None => tx.decision = Some(commit),
        Some(earlier) if earlier != commit => bank.atomicity_violations += 1,
        Some(_) => {}
    }
}
