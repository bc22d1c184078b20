//! The conservation checker. At every instant the tokens minted and not burned on the side
//! chain plus the tokens in flight (locked and not yet minted, or burned and not yet released)
//! must be covered by the tokens locked on the main chain — with honest parties the two sides
//! are equal, so every change that opens a gap is a breach of its own; every burn is paid out at most once; every
//! mint or release carries the signatures of validators that signed that very transfer (or a
//! proof against a source header that holds its lock or burn); a light-client packet is never both
//! received and refunded. Each breach is counted with its time, its transfer, the value it
//! exposed and its cause.

use serde::Serialize;
use simulator::SimTime;

use super::transfers::Transfer;

/// Why a breach happened.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Breach {
    /// A mint of a deposit that was never locked (colluding validators).
    ForgedMint,
    /// A mint of a deposit whose lock a reorganisation removed.
    Reorg,
    /// A transfer paid out twice.
    DoubleRelease,
    /// A payout without the signatures or the proof the bridge requires.
    Unauthorised,
    /// A packet both received at its destination and refunded at its source.
    DoubleOutcome,
    /// A payout the locked value did not cover, for none of the reasons above.
    Unbacked,
}

/// One breach.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// When (seconds of simulated time in the run file).
    #[serde(serialize_with = "seconds")]
    pub at: SimTime,
    /// Why.
    pub breach: Breach,
    /// The transfer that caused it.
    pub transfer: u32,
    /// Tokens it left uncovered (0 for breaches of a rule rather than of the balance).
    pub value: u64,
}

fn seconds<S: serde::Serializer>(at: &SimTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(at.as_secs_f64())
}

/// The bridge's value on both chains.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Balances {
    /// Tokens held by the main chain's escrow.
    pub locked: u64,
    /// Tokens minted and not burned on the side chain.
    pub minted: u64,
    /// Tokens between the chains: locked and not yet minted or refunded, or burned and not yet
    /// released or refunded.
    pub in_flight: u64,
}

impl Balances {
    /// Tokens owed on the side of the bridge that the escrow does not cover.
    pub fn shortfall(&self) -> u64 {
        (self.minted + self.in_flight).saturating_sub(self.locked)
    }
}

/// The breaches found so far.
#[derive(Clone, Debug, Default)]
pub struct Checker {
    /// Every breach, in the order found.
    pub violations: Vec<Violation>,
}

impl Checker {
    /// A change made by `transfer` (number `id`) moved the balances from `before` to `after`
    /// at `at`: a shortfall that grew is a breach, attributed to what the transfer is.
    pub fn conservation(&mut self, before: Balances, after: Balances, at: SimTime, id: u32, transfer: &Transfer) {
        let (was, is) = (before.shortfall(), after.shortfall());
        if is > was {
            let breach = if transfer.forged {
                Breach::ForgedMint
            } else if transfer.orphaned {
                Breach::Reorg
            } else if transfer.payouts > 1 {
                Breach::DoubleRelease
            } else {
                Breach::Unbacked
            };
            self.violations.push(Violation { at, breach, transfer: id, value: is - was });
        }
    }

    /// A payout of `transfer`: paid more than once, or authorised by signatures some of whose
    /// validators never signed it, or (light client) by a proof against a header that does not
    /// hold its lock or burn, is a breach.
    pub fn payout(&mut self, at: SimTime, id: u32, transfer: &Transfer, authorisation: Authorisation) {
        if transfer.payouts > 1 {
            self.violations.push(Violation { at, breach: Breach::DoubleRelease, transfer: id, value: 0 });
        }
        let valid = match authorisation {
            Authorisation::Signatures { signers, threshold } => {
                signers & !transfer.signers == 0 && signers.count_ones() >= threshold
            }
            Authorisation::Proof { header } => transfer.source.is_some_and(|(block, _)| header >= block),
        };
        if !valid {
            self.violations.push(Violation { at, breach: Breach::Unauthorised, transfer: id, value: 0 });
        }
    }

    /// The end of a light-client packet: received and refunded both is a breach.
    pub fn outcome(&mut self, at: SimTime, id: u32, transfer: &Transfer) {
        if transfer.completed.is_some() && transfer.refunded.is_some() {
            self.violations.push(Violation { at, breach: Breach::DoubleOutcome, transfer: id, value: 0 });
        }
    }
}

/// What a payout carried.
#[derive(Copy, Clone, Debug)]
pub enum Authorisation {
    /// Validators' signatures (bit i: validator i) against a threshold.
    Signatures {
        /// Who signed.
        signers: u64,
        /// How many are needed.
        threshold: u32,
    },
    /// An inclusion proof against a source header, which must hold the lock or burn.
    Proof {
        /// The source block number of the header.
        header: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::config::Direction;

    fn deposit() -> Transfer {
        Transfer::new(Direction::Deposit, 0, 10, SimTime::ZERO, true)
    }

    #[test]
    fn a_shortfall_that_grows_is_attributed_to_its_cause() {
        let mut checker = Checker::default();
        let at = SimTime(5);
        let covered = Balances { locked: 10, minted: 10, in_flight: 0 };
        let over = Balances { locked: 10, minted: 25, in_flight: 0 };
        checker.conservation(covered, covered, at, 0, &deposit());
        assert!(checker.violations.is_empty(), "no growth, no breach");
        let mut forged = deposit();
        forged.forged = true;
        checker.conservation(covered, over, at, 1, &forged);
        let mut orphaned = deposit();
        orphaned.orphaned = true;
        checker.conservation(over, Balances { locked: 5, ..over }, at, 2, &orphaned);
        checker.conservation(over, covered, at, 3, &deposit());
        let found: Vec<_> = checker.violations.iter().map(|v| (v.breach, v.transfer, v.value)).collect();
        assert_eq!(found, [(Breach::ForgedMint, 1, 15), (Breach::Reorg, 2, 5)]);
    }

    #[test]
    fn payouts_need_real_signers_a_threshold_and_one_payout() {
        let mut checker = Checker::default();
        let mut t = deposit();
        t.signers = 0b0111;
        t.payouts = 1;
        let signed = |signers| Authorisation::Signatures { signers, threshold: 3 };
        checker.payout(SimTime::ZERO, 0, &t, signed(0b0111));
        assert!(checker.violations.is_empty());
        checker.payout(SimTime::ZERO, 0, &t, signed(0b1011));
        checker.payout(SimTime::ZERO, 0, &t, signed(0b0011));
        t.payouts = 2;
        checker.payout(SimTime::ZERO, 0, &t, signed(0b0111));
        t.source = Some((4, SimTime::ZERO));
        checker.payout(SimTime::ZERO, 0, &t, Authorisation::Proof { header: 4 });
        checker.payout(SimTime::ZERO, 0, &t, Authorisation::Proof { header: 3 });
        let found: Vec<_> = checker.violations.iter().map(|v| v.breach).collect();
        assert_eq!(
            found,
            [
                Breach::Unauthorised,
                Breach::Unauthorised,
                Breach::DoubleRelease,
                Breach::DoubleRelease,
                Breach::DoubleRelease,
                Breach::Unauthorised
            ]
        );
    }

    #[test]
    fn a_packet_is_received_or_refunded_not_both() {
        let mut checker = Checker::default();
        let mut t = deposit();
        t.completed = Some((SimTime(1), 3));
        checker.outcome(SimTime(2), 0, &t);
        assert!(checker.violations.is_empty());
        t.refunded = Some(SimTime(2));
        checker.outcome(SimTime(2), 0, &t);
        assert_eq!(checker.violations[0].breach, Breach::DoubleOutcome);
    }
}
