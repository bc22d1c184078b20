//! Handlers called one at a time through `simulator::harness::Harness`, without an engine: the
//! exact messages, timers and jobs a Bitcoin node and a PBFT backup produce for each input.

use std::rc::Rc;

use models::bitcoin::{Bitcoin, BitcoinConfig, Body as BlockBody, HashPower, Job, Relay, Timer as BlockTimer};
use models::pbft::{Batch, Body, Costs, Payload, Pbft, PbftConfig, Request, RequestId, Wire};
use simulator::harness::{Harness, receivers};
use simulator::{Effect, SimDuration, SimTime, Topology};

fn block_wire(body: BlockBody) -> models::bitcoin::Wire {
    models::Wire { body, bytes: 100 }
}

/// Full relay along the line 0 – 1 – 2, node 0 mining the only block: inv, getdata, block,
/// validation, and the inv onward to the one peer that has not announced the block.
#[test]
fn a_bitcoin_node_fetches_validates_and_announces_a_block() {
    let config = BitcoinConfig {
        blocks: 1,
        relay: Relay::Full,
        hash_power: HashPower::Miners(vec![(0, 1.0)]),
        ..BitcoinConfig::default()
    };
    let mut bitcoin = Bitcoin::new(config, 3, 7);
    let mut h = Harness::new(Topology::from_edges(3, [(0, 1), (1, 2)]), 7);
    let start = h.start(&mut bitcoin, 0);
    let [Effect::SetTimer { after, timer: BlockTimer::Mine(0), .. }] = start.as_slice() else { panic!("{start:?}") };
    assert!(h.start(&mut bitcoin, 1).is_empty() && h.start(&mut bitcoin, 2).is_empty());

    let mined = h.at(SimTime::ZERO + *after).timer(&mut bitcoin, 0, BlockTimer::Mine(0));
    assert!(
        matches!(mined.as_slice(), [Effect::Send { to: 1, msg }] if matches!(msg.body, BlockBody::Inv(0))),
        "{mined:?}"
    );

    let asked = h.message(&mut bitcoin, 1, 0, block_wire(BlockBody::Inv(0)));
    assert!(
        matches!(
            asked.as_slice(),
            [Effect::SetTimer { timer: BlockTimer::Timeout { block: 0, attempt: 1 }, .. }, Effect::Send { to: 0, msg }]
                if matches!(msg.body, BlockBody::GetData { block: 0, compact: false })
        ),
        "{asked:?}"
    );

    let served = h.message(&mut bitcoin, 0, 1, block_wire(BlockBody::GetData { block: 0, compact: false }));
    assert!(matches!(served.as_slice(), [Effect::Send { to: 1, msg }] if matches!(msg.body, BlockBody::Block(0))));

    let received = h.message(&mut bitcoin, 1, 0, block_wire(BlockBody::Block(0)));
    let validation = received.iter().find_map(|e| match e {
        Effect::Cpu { duration, job: Job::Validate(0) } => Some(*duration),
        _ => None,
    });
    assert!(validation.is_some_and(|d| d > SimDuration::ZERO), "{received:?}");

    let validated = h.cpu_done(&mut bitcoin, 1, Job::Validate(0));
    assert_eq!(receivers(&validated), [2], "announced to the peer that has not announced it");
}

fn pbft_wire(body: Body) -> Wire {
    models::Wire { body, bytes: 100 }
}

/// The normal case at backup 1 of four replicas (a client at node 4, no CPU costs): PREPARE
/// after the PRE-PREPARE, COMMIT once 2f = 2 backups (itself included) prepared, and the reply
/// once 2f + 1 replicas (itself included) committed and the batch executed.
#[test]
fn a_pbft_backup_prepares_commits_and_replies() {
    let config = PbftConfig { costs: Costs::free(), resend_interval: SimDuration::ZERO, ..PbftConfig::default() };
    let mut pbft = Pbft::new(config, 5, vec![0, 1, 2, 3], 1);
    let mut h = Harness::new(Topology::complete(5), 1);
    let request = Rc::new(Request {
        id: RequestId { client: 0, number: 0 },
        payload: Payload { bytes: 128, ..Payload::default() },
    });
    let batch = Rc::new(Batch::new(vec![request.clone()], 0));
    let digest = batch.digest;

    let prepared = h.message(&mut pbft, 1, 0, pbft_wire(Body::PrePrepare { view: 0, seq: 1, batch }));
    assert_eq!(receivers(&prepared), [0, 2, 3]);
    assert!(prepared.iter().all(|e| match e {
        Effect::Send { msg, .. } => matches!(msg.body, Body::Prepare { view: 0, seq: 1, digest: d } if d == digest),
        _ => false,
    }));

    let committing = h.message(&mut pbft, 1, 2, pbft_wire(Body::Prepare { view: 0, seq: 1, digest }));
    assert_eq!(receivers(&committing), [0, 2, 3]);
    assert!(
        committing.iter().all(|e| matches!(e, Effect::Send { msg, .. } if matches!(msg.body, Body::Commit { .. })))
    );
    assert!(h.message(&mut pbft, 1, 3, pbft_wire(Body::Prepare { view: 0, seq: 1, digest })).is_empty());

    assert!(h.message(&mut pbft, 1, 0, pbft_wire(Body::Commit { view: 0, seq: 1, digest })).is_empty());
    let replied = h.message(&mut pbft, 1, 2, pbft_wire(Body::Commit { view: 0, seq: 1, digest }));
    let [Effect::Send { to: 4, msg }] = replied.as_slice() else { panic!("{replied:?}") };
    assert!(matches!(msg.body, Body::Reply { view: 0, request: r, result } if r == request.id && result == r.result()));
}
