//! Fault swarms: random fault schedules within f on many seeds. PBFT: no correct replicas may
//! ever disagree. Sharding: no transaction applied on some of its shards and not others, no value
//! created or lost, no double spend, and PBFT safety in every shard. `chainsim swarm --seeds N`
//! (`--protocol Sharding`) runs longer swarms.

use experiments::swarm::{self, Subject};

fn check(subject: Subject, seeds: std::ops::Range<u64>) {
    let failures: Vec<String> = seeds
        .clone()
        .zip(swarm::run_range(subject, seeds, 2))
        .filter_map(|(seed, outcome)| match outcome {
            Ok(o) if o.violations.is_empty() => None,
            Ok(o) => Some(format!(
                "seed {seed}: {}; reproduce with `chainsim swarm --protocol {} --start {seed} --seeds 1`",
                o.describe(),
                subject.name()
            )),
            Err(message) => Some(message),
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn two_hundred_seeded_fault_schedules_keep_safety() {
    check(Subject::Pbft, 0..200);
}

#[test]
fn two_hundred_seeded_fault_schedules_keep_sharded_transfers_atomic_and_conserved() {
    check(Subject::Sharding, 0..200);
}

#[test]
#[ignore = "long swarm: cargo test --release -- --ignored"]
fn ten_thousand_seeded_fault_schedules_keep_safety() {
    check(Subject::Pbft, 0..10_000);
}
