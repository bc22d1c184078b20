//! Regression pins: one run of every shipped experiment, its digest and every metric. A change
//! that moves any of them changes results; such a commit says why and updates the pin here.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use experiments::{RunSpec, execute, load};

/// (experiment file, point, replicate, digest, metrics as `name=value` joined by spaces).
const PINS: &[(&str, usize, u32, &str, &str)] = &[
    (
        "quickstart.ron",
        0,
        0,
        "f33ee113113d1bc4",
        "reach_p50_ms=13043.15305 reach_p90_ms=14750.542258500001 reach_p100_ms=16508.255762499997 bytes_sent=70010000000 messages_sent=70010 events=248298",
    ),
    (
        "flood-scaling.ron",
        1,
        0,
        "ed35bfab94635a66",
        "reach_p50_ms=6279.054119 reach_p90_ms=8944.885328 reach_p100_ms=9063.225337 bytes_sent=2103000000 messages_sent=2103 events=7183",
    ),
    (
        "bitcoin-2019.ron",
        1,
        0,
        "570182962ac01c2c",
        "block_t50_ms=433.4728865 block_t90_ms=586.2228475 block_t100_ms=1160.980854 stale_rate=0 bytes_per_block_per_node=38645.66184 cmpct_reconstruct_rate=0.8982782782782783 extra_round_trips=0.10172172172172173 events=2347108",
    ),
    (
        "blocksize-forks.ron",
        0,
        0,
        "5b26a313f6a19af3",
        "block_t50_ms=7087.3138309999995 block_t90_ms=8221.6023565 block_t100_ms=10239.1277285 stale_rate=0.09 bytes_per_block_per_node=500148.62332 cmpct_reconstruct_rate= extra_round_trips=0 events=1546274",
    ),
    (
        "pbft-batching.ron",
        9,
        0,
        "be835bb3c03d4d68",
        "throughput_rps=8112 latency_p50_ms=246.210255 latency_p99_ms=248.9709 replica_msgs_per_request=4.800308008213553 bytes_per_request=16056.484599589323 view_changes=0 safety_violations=0 recovery_ms= cache_hit_rate= events=3985434",
    ),
    (
        "pbft-faults.ron",
        0,
        0,
        "9afce7e4d7b3dcbc",
        "throughput_rps=574.5454545454545 latency_p50_ms=50.968145 latency_p99_ms=58.765437 replica_msgs_per_request=8.138184438040346 bytes_per_request=6799.900864553314 view_changes=1 safety_violations=0 recovery_ms=271.019756 cache_hit_rate= events=369234",
    ),
    (
        "shard-scaling.ron",
        1,
        0,
        "baf305af47422c1f",
        "throughput_tps=3062 cross_shard_fraction=0.5006533507560201 intra_latency_p50_ms=88.683293 cross_latency_p50_ms=341.750818 latency_p99_ms=365.317195 abort_rate=0.00021767522855898998 lock_hold_p50_ms=163.325163 ops_per_tx=2.4927509293680297 msgs_per_tx=27.708467556373677 bytes_per_tx=7722.319374137138 shard_load_imbalance=1.0006710908955334 atomicity_violations=0 conservation_violations=0 double_spends=0 locks_held_at_end=595 value_in_flight=981 unfinished=763 safety_violations=0 events=694799",
    ),
    (
        "shard-cross-ratio.ron",
        2,
        0,
        "970c078ae33def15",
        "throughput_tps=18418.666666666668 cross_shard_fraction=0.25213396755066136 intra_latency_p50_ms=86.094478 cross_latency_p50_ms=331.117082 latency_p99_ms=373.41982 abort_rate=0.0018786127167630057 lock_hold_p50_ms=158.756457 ops_per_tx=1.7571251952108278 msgs_per_tx=16.458593441327537 bytes_per_tx=5020.791149743184 shard_load_imbalance=1.0126094765493363 atomicity_violations=0 conservation_violations=0 double_spends=0 locks_held_at_end=1493 value_in_flight=2176 unfinished=3014 safety_violations=0 events=2518704",
    ),
    (
        "shard-contention.ron",
        4,
        0,
        "81841e6887cb03f5",
        "throughput_tps=5474.666666666667 cross_shard_fraction=0.8735373290117013 intra_latency_p50_ms=77.894012 cross_latency_p50_ms=316.156711 latency_p99_ms=486.94379 abort_rate=0.4572014012823055 lock_hold_p50_ms=159.384117 ops_per_tx=2.9630157251657443 msgs_per_tx=36.516304533789565 bytes_per_tx=9704.212899914457 shard_load_imbalance=1.063205000184918 atomicity_violations=0 conservation_violations=0 double_spends=0 locks_held_at_end=2398 value_in_flight=2869 unfinished=3074 safety_violations=0 events=3000784",
    ),
    (
        "rollup-capacity.ron",
        49,
        0,
        "a433d4658048159b",
        "l2_throughput_tps=1625.818376068376 soft_latency_p50_ms=1558.1963175 safe_latency_p50_s= final_latency_p50_s= withdrawal_latency_p50_s= l1_bytes_per_tx=60.46834921357438 l1_cost_per_tx_gas=79.07560388999268 l1_fee_per_tx_gwei=303.5630796639434 batch_fill_ratio=0.9999169170092858 l1_backlog_max_bytes=85822353 disputes=0 dispute_duration_s= rolled_back_txs=0 invalid_finalized=0 slashed_bonds=0 forced_txs=0 missed_slots=0 escrow_violations=0 early_withdrawals=0 bond_violations=0 oversize_blocks=0 not_final=1919338 messages_sent=174483 events=765905",
    ),
    (
        "rollup-dispute.ron",
        7,
        0,
        "613269afee1f7c39",
        "l2_throughput_tps=0.9864883496484214 soft_latency_p50_ms=1107.810905 safe_latency_p50_s=806.805137583 final_latency_p50_s=648547.856082942 withdrawal_latency_p50_s=650825.5973785114 l1_bytes_per_tx=2144.8450553415346 l1_cost_per_tx_gas=4120.648409585549 l1_fee_per_tx_gwei=2068.423294316526 batch_fill_ratio=0.05622245789399741 l1_backlog_max_bytes=5130420 disputes=1 dispute_duration_s=252 rolled_back_txs=85613 invalid_finalized=0 slashed_bonds=1000 forced_txs=0 missed_slots=0 escrow_violations=0 early_withdrawals=0 bond_violations=0 oversize_blocks=0 not_final=0 messages_sent=5189360 events=20603337",
    ),
    (
        "bridge-latency.ron",
        14,
        0,
        "39e6844293934977",
        "deposit_latency_p50_s=56.192778996 deposit_latency_p99_s=62.002037443 withdraw_latency_p50_s=11.875806046 bridge_throughput_tps=2.017333333333333 stalled_transfers=0 refunded_transfers=0 conservation_violations=0 forged_value=0 value_at_risk=808131 detection_delay_s= refused_calls=3660 gas_per_transfer=327022.57447389996 messages_sent=1820377 events=6109679",
    ),
    (
        "bridge-attacks.ron",
        85,
        0,
        "4457cc1816c1c7d5",
        "deposit_latency_p50_s=56.325135906 deposit_latency_p99_s=62.00853093 withdraw_latency_p50_s=12.242958208 bridge_throughput_tps=2.0341666666666667 stalled_transfers=0 refunded_transfers=0 conservation_violations=2 forged_value=583144 value_at_risk=548325 detection_delay_s=0 refused_calls=3027 gas_per_transfer=326959.62999669637 messages_sent=1490335 events=5002421",
    ),
    (
        "bridge-side-chains.ron",
        1,
        0,
        "8a62e77935b488fc",
        "deposit_latency_p50_s=78.844946183 deposit_latency_p99_s=84.535517769 withdraw_latency_p50_s=6.590979986 bridge_throughput_tps=1.9430555555555555 stalled_transfers=0 refunded_transfers=0 conservation_violations=0 forged_value=0 value_at_risk=434839 detection_delay_s= refused_calls=1745 gas_per_transfer=327000 messages_sent=741811 events=2751667",
    ),
];

fn shipped(file: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments").join(file)
}

/// The digest and metrics of one run, in the pins' text form.
fn observe(file: &str, point: usize, replicate: u32) -> (String, String) {
    let loaded = load(&shipped(file), &[]).unwrap_or_else(|e| panic!("{file}: {e}"));
    let spec = RunSpec::new(loaded.experiment.seed, point, replicate);
    let record = execute(&loaded, &spec).unwrap_or_else(|e| panic!("{file}: {e}"));
    let metrics: Vec<String> =
        record.report.metrics.iter().map(|(name, value)| format!("{name}={}", value.to_csv_field())).collect();
    (format!("{:016x}", record.digest), metrics.join(" "))
}

#[test]
fn every_shipped_experiment_is_pinned() {
    let mut files: Vec<String> = std::fs::read_dir(shipped(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".ron"))
        .collect();
    files.sort();
    let mut pinned: Vec<String> = PINS.iter().map(|pin| pin.0.to_string()).collect();
    pinned.sort();
    assert_eq!(files, pinned, "pin one run of every shipped experiment");
}

/// Every pin, on every core (one run each, from the longest to the shortest as they come).
#[test]
fn shipped_experiments_give_their_pinned_results() {
    let next = AtomicUsize::new(0);
    let moved = Mutex::new(Vec::new());
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(&(file, point, replicate, digest, metrics)) =
                    PINS.get(next.fetch_add(1, Ordering::Relaxed))
                {
                    let observed = observe(file, point, replicate);
                    if observed != (digest.to_string(), metrics.to_string()) {
                        let pin =
                            format!("(\"{file}\", {point}, {replicate}, \"{}\", \"{}\"),", observed.0, observed.1);
                        moved.lock().unwrap().push(pin);
                    }
                }
            });
        }
    });
    let mut moved = moved.into_inner().unwrap();
    moved.sort();
    assert!(moved.is_empty(), "results moved; if that is intended, say why and pin:\n{}", moved.join("\n"));
}
