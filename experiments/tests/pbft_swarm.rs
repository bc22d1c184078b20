//! PBFT fault swarm: random fault schedules within f on many seeds; no correct replicas may ever
//! disagree. `chainsim swarm --seeds N` runs longer swarms.

use experiments::swarm;

fn check(seeds: std::ops::Range<u64>) {
    let failures: Vec<String> = seeds
        .clone()
        .zip(swarm::run_range(seeds, 2))
        .filter_map(|(seed, outcome)| match outcome {
            Ok(o) if o.violations == 0 => None,
            Ok(o) => Some(format!(
                "seed {seed}: {} safety violations; reproduce with `chainsim swarm --start {seed} --seeds 1`",
                o.violations
            )),
            Err(message) => Some(message),
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn two_hundred_seeded_fault_schedules_keep_safety() {
    check(0..200);
}

#[test]
#[ignore = "long swarm: cargo test --release -- --ignored"]
fn ten_thousand_seeded_fault_schedules_keep_safety() {
    check(0..10_000);
}
