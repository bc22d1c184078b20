//! The safety checker: a global observer of what correct replicas commit and which states they
//! reach. PBFT's safety property is that no two correct replicas commit different batches at the
//! same sequence number; a checkpoint with two different state digests would show the same fault
//! after execution. Both count as violations. Faulty (Byzantine) replicas are not checked: they may
//! do anything.

use serde_json::{Value, json};
use std::collections::BTreeMap;

use super::messages::Seq;
use simulator::SimTime;

/// One observed violation.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// What disagreed: `commit` or `checkpoint`.
    pub what: &'static str,
    /// Sequence number.
    pub seq: Seq,
    /// The replica that disagreed with an earlier one.
    pub replica: u32,
    /// When.
    pub at: SimTime,
}

/// Records commits and checkpoint states of correct replicas.
#[derive(Clone, Debug)]
pub struct SafetyChecker {
    correct: Vec<bool>,
    commits: BTreeMap<Seq, u64>,
    states: BTreeMap<Seq, u64>,
    committed_requests: u64,
    violations: Vec<Violation>,
}

impl SafetyChecker {
    /// A checker for replicas whose correctness is given per replica.
    pub fn new(correct: Vec<bool>) -> Self {
        SafetyChecker {
            correct,
            commits: BTreeMap::new(),
            states: BTreeMap::new(),
            committed_requests: 0,
            violations: Vec::new(),
        }
    }

    /// Whether `replica` follows the protocol.
    pub fn is_correct(&self, replica: u32) -> bool {
        self.correct[replica as usize]
    }

    /// `replica` committed the batch with `digest` and `requests` requests at `seq`; returns true
    /// when this is the first commit of `seq` by any correct replica.
    pub fn commit(&mut self, replica: u32, seq: Seq, digest: u64, requests: usize, at: SimTime) -> bool {
        if !self.is_correct(replica) {
            return false;
        }
        match self.commits.get(&seq) {
            None => {
                self.commits.insert(seq, digest);
                self.committed_requests += requests as u64;
                true
            }
            Some(&first) => {
                if first != digest {
                    self.violations.push(Violation { what: "commit", seq, replica, at });
                }
                false
            }
        }
    }

    /// `replica` reached state `digest` after executing `seq`.
    pub fn checkpoint(&mut self, replica: u32, seq: Seq, digest: u64, at: SimTime) {
        if !self.is_correct(replica) {
            return;
        }
        let first = *self.states.entry(seq).or_insert(digest);
        if first != digest {
            self.violations.push(Violation { what: "checkpoint", seq, replica, at });
        }
    }

    /// Requests in batches committed by correct replicas (each sequence number once).
    pub fn committed_requests(&self) -> u64 {
        self.committed_requests
    }

    /// Sequence numbers committed by some correct replica.
    pub fn committed_batches(&self) -> usize {
        self.commits.len()
    }

    /// Violations seen so far.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// The violations as JSON for the run file.
    pub fn violations_json(&self) -> Value {
        Value::Array(
            self.violations
                .iter()
                .map(|v| json!({"what": v.what, "seq": v.seq, "replica": v.replica, "at_ms": v.at.as_millis_f64()}))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_conflicting_commits_of_correct_replicas_only() {
        let mut checker = SafetyChecker::new(vec![true, true, false, true]);
        assert!(checker.commit(0, 1, 10, 3, SimTime(1)));
        assert!(!checker.commit(1, 1, 10, 3, SimTime(2)));
        assert!(!checker.commit(2, 1, 99, 3, SimTime(2))); // faulty: ignored
        assert!(checker.violations().is_empty());
        checker.commit(3, 1, 11, 3, SimTime(3));
        assert_eq!(checker.violations(), &[Violation { what: "commit", seq: 1, replica: 3, at: SimTime(3) }]);
        assert_eq!(checker.committed_requests(), 3);
        checker.checkpoint(0, 4, 5, SimTime(4));
        checker.checkpoint(1, 4, 6, SimTime(5));
        assert_eq!(checker.violations().len(), 2);
    }
}
