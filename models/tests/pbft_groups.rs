//! PBFT as a component: two replica groups in one simulation, inside an outer protocol whose
//! message, timer and job types carry PBFT's tagged with the group, for a toy application (a
//! counter per group). A client at node 0 talks to both groups; node 13, a member of group A, is
//! also a client of group B and sends B's primary a request; A's primary crashes mid-run.

use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use models::pbft::{
    Application, Batch, Body, CpuJob, DiskJob, GroupId, Hosts, Payload, PbftConfig, ReplicaGroup, Request, RequestId,
    Seq, Submit, Timer, Wire,
};
use simulator::config::{
    BandwidthConfig, Contention, CrashConfig, FaultsConfig, LatencyConfig, NetworkConfig, TopologyConfig,
};
use simulator::units::Bandwidth;
use simulator::{Context, Limits, Message, NodeId, Protocol, SimDuration, SimTime, Simulation, World};

const A: GroupId = 0;
const B: GroupId = 1;
const REQUESTS: u64 = 30;
const CRASH: SimDuration = SimDuration::from_millis(300);

/// A PBFT message of one group.
#[derive(Debug)]
struct Tagged(GroupId, Wire);

impl Message for Tagged {
    fn wire_bytes(&self) -> u64 {
        self.1.bytes
    }
}

#[derive(Debug)]
enum Tick {
    Replica(GroupId, Timer),
    /// The client at node 0 sends its next pair of requests.
    NextRequests,
    /// Node 13 sends its request to group B.
    CrossGroup,
}

/// Per group and replica: the counter, the outcome of every request executed, and the sequence
/// numbers committed, in the order they were reported.
#[derive(Default)]
struct Counters {
    value: BTreeMap<(GroupId, u32), u64>,
    outcomes: BTreeMap<(GroupId, u32, RequestId), u64>,
    commits: BTreeMap<(GroupId, u32), Vec<(Seq, SimTime)>>,
    views: Vec<(GroupId, u32, u64, SimTime)>,
}

impl Application for Counters {
    fn execute(&mut self, group: GroupId, replica: u32, _: Seq, request: &Request, _: SimTime) -> Option<u64> {
        let value = self.value.entry((group, replica)).or_default();
        *value += 1;
        self.outcomes.insert((group, replica, request.id), *value);
        Some(*value)
    }

    fn recall(&self, group: GroupId, replica: u32, request: &Request) -> Option<u64> {
        self.outcomes.get(&(group, replica, request.id)).copied()
    }

    fn committed(&mut self, group: GroupId, replica: u32, seq: Seq, _: &Batch, now: SimTime) {
        self.commits.entry((group, replica)).or_default().push((seq, now));
    }

    fn view_installed(&mut self, group: GroupId, replica: u32, view: u64, now: SimTime) {
        self.views.push((group, replica, view, now));
    }
}

struct TwoGroups {
    groups: [ReplicaGroup; 2],
    app: Counters,
    sent: u64,
    /// Per (client node, group, request number): the replicas that replied, with their results.
    replies: BTreeMap<(NodeId, GroupId, u64), Vec<(NodeId, u64)>>,
}

impl TwoGroups {
    fn new() -> Self {
        let config =
            PbftConfig { batch_size: 5, view_change_timeout: SimDuration::from_millis(100), ..PbftConfig::default() };
        TwoGroups {
            groups: [
                ReplicaGroup::new(A, config.clone(), vec![10, 11, 12, 13], vec![0]),
                ReplicaGroup::new(B, config, vec![20, 21, 22, 23], vec![0, 13]),
            ],
            app: Counters::default(),
            sent: 0,
            replies: BTreeMap::new(),
        }
    }

    fn request(client: u32, number: u64) -> Rc<Request> {
        Rc::new(Request { id: RequestId { client, number }, payload: Payload { bytes: 100, ..Payload::default() } })
    }

    /// Requests accepted by `client` from `group`: f + 1 = 2 replicas agreed on the result.
    fn accepted(&self, client: NodeId, group: GroupId) -> Vec<(u64, u64)> {
        let mut accepted = Vec::new();
        for ((c, g, number), replies) in &self.replies {
            if (*c, *g) == (client, group) {
                let agreeing = |result: u64| replies.iter().filter(|(_, r)| *r == result).count();
                if let Some(&(_, result)) = replies.iter().find(|(_, r)| agreeing(*r) >= 2) {
                    accepted.push((*number, result));
                }
            }
        }
        accepted
    }
}

impl Hosts for TwoGroups {
    fn wrap_message(group: GroupId, msg: Wire) -> Tagged {
        Tagged(group, msg)
    }
    fn wrap_timer(group: GroupId, timer: Timer) -> Tick {
        Tick::Replica(group, timer)
    }
    fn wrap_cpu(group: GroupId, job: CpuJob) -> (GroupId, CpuJob) {
        (group, job)
    }
    fn wrap_disk(group: GroupId, job: DiskJob) -> (GroupId, DiskJob) {
        (group, job)
    }
}

impl Protocol for TwoGroups {
    type Msg = Tagged;
    type Timer = Tick;
    type CpuJob = (GroupId, CpuJob);
    type DiskJob = (GroupId, DiskJob);

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        match node {
            0 => {
                ctx.set_timer(SimDuration::ZERO, Tick::NextRequests);
            }
            13 => {
                ctx.set_timer(SimDuration::from_millis(500), Tick::CrossGroup);
            }
            _ => {}
        }
        for group in &mut self.groups {
            group.on_start(node, ctx, &mut self.app);
        }
    }

    fn on_message(&mut self, node: NodeId, from: NodeId, Tagged(g, msg): Tagged, ctx: &mut Context<'_, Self>) {
        match msg.body {
            Body::Reply { request, result, .. } => {
                self.replies.entry((node, g, request.number)).or_default().push((from, result));
            }
            _ => self.groups[usize::from(g)].on_message(node, from, msg, ctx, &mut self.app),
        }
    }

    fn on_timer(&mut self, node: NodeId, timer: Tick, ctx: &mut Context<'_, Self>) {
        match timer {
            Tick::Replica(g, timer) => self.groups[usize::from(g)].on_timer(node, timer, ctx, &mut self.app),
            Tick::NextRequests => {
                // Each request goes to every replica of its group; a backup forwards it to the
                // primary and watches that it executes.
                for group in &mut self.groups {
                    group.submit(0, Submit::Everyone, Self::request(0, self.sent), ctx, &mut self.app);
                }
                self.sent += 1;
                if self.sent < REQUESTS {
                    ctx.set_timer(SimDuration::from_millis(20), Tick::NextRequests);
                }
            }
            Tick::CrossGroup => {
                // Node 13 is client 1 of group B and asks B's primary directly.
                let primary = self.groups[usize::from(B)].primary_node(0);
                assert_eq!(primary, 20);
                self.groups[usize::from(B)].submit(13, Submit::Primary(0), Self::request(1, 0), ctx, &mut self.app);
            }
        }
    }

    fn on_cpu_done(&mut self, node: NodeId, (g, job): (GroupId, CpuJob), ctx: &mut Context<'_, Self>) {
        self.groups[usize::from(g)].on_cpu_done(node, job, ctx, &mut self.app);
    }

    fn on_disk_done(&mut self, node: NodeId, (g, job): (GroupId, DiskJob), ctx: &mut Context<'_, Self>) {
        self.groups[usize::from(g)].on_disk_done(node, job, ctx, &mut self.app);
    }

    fn on_crash(&mut self, node: NodeId, now: SimTime) {
        for group in &mut self.groups {
            group.on_crash(node, now);
        }
    }

    fn on_recover(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        for group in &mut self.groups {
            group.on_recover(node, ctx, &mut self.app);
        }
    }
}

fn network() -> NetworkConfig {
    let gbps = Bandwidth::BitsPerSec(1_000_000_000);
    NetworkConfig {
        nodes: 30,
        topology: TopologyConfig::Complete,
        bandwidth: BandwidthConfig { upload: gbps, download: gbps },
        contention: Contention::Fifo,
        unqueued_up_to: Default::default(),
        latency: LatencyConfig::Constant(SimDuration::from_millis(5)),
        loss: 0.0,
        link_loss: Vec::new(),
        cpu: Default::default(),
        disk: Default::default(),
        faults: FaultsConfig {
            partitions: Vec::new(),
            crashes: vec![CrashConfig { node: 10, at: CRASH, recover: None }],
        },
        roles: Vec::new(),
    }
}

#[test]
fn two_groups_order_their_own_requests_side_by_side() {
    let network = network();
    network.validate().unwrap();
    let world = World::build(&network, 3, Path::new(".")).unwrap();
    let limits = Limits { time: Some(SimTime::ZERO + SimDuration::from_secs(3)), events: None };
    let (run, _) = Simulation::new(TwoGroups::new(), world, 3, limits).run();
    let [a, b] = &run.groups;

    // Each group's safety checker watched its own commits.
    assert_eq!((a.safety_violations(), b.safety_violations()), (0, 0));
    // A's primary crashed and A moved to a new view; B never changed view.
    assert!(a.highest_view() >= 1, "group A changed view");
    assert_eq!(b.highest_view(), 0);

    // Commit callbacks come in sequence order at every replica, without gaps.
    for ((group, replica), commits) in &run.app.commits {
        let seqs: Vec<Seq> = commits.iter().map(|(s, _)| *s).collect();
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "group {group} replica {replica}");
    }
    // The view-change callbacks came from group A alone. B carried on while A had no primary: it
    // committed between A's crash and A's new primary installing view 1.
    assert!(run.app.views.iter().all(|&(group, _, view, _)| group == A && view >= 1), "{:?}", run.app.views);
    let a_resumed = run.app.views.iter().find(|&&(_, replica, view, _)| replica == 1 && view == 1).unwrap().3;
    assert!(a_resumed > SimTime::ZERO + CRASH + SimDuration::from_millis(100), "A's outage lasts a view change");
    let b_meanwhile =
        run.app.commits[&(B, 0)].iter().filter(|(_, t)| *t > SimTime::ZERO + CRASH && *t < a_resumed).count();
    assert!(b_meanwhile >= 3, "B committed {b_meanwhile} batches during A's outage");

    // Every request was executed once by every live replica of its group: the counters agree.
    for r in 1..4 {
        assert_eq!(run.app.value[&(A, r)], REQUESTS, "group A replica {r}");
    }
    for r in 0..4 {
        assert_eq!(run.app.value[&(B, r)], REQUESTS + 1, "group B replica {r}");
    }
    // The client accepted every request from both groups, each result a counter value.
    let (from_a, from_b) = (run.accepted(0, A), run.accepted(0, B));
    assert_eq!((from_a.len() as u64, from_b.len() as u64), (REQUESTS, REQUESTS));
    let results: Vec<u64> = from_b.iter().map(|(_, result)| *result).collect();
    assert!(results.iter().all(|r| (1..=REQUESTS + 1).contains(r)), "{results:?}");
    // Node 13, a member of group A, had its request to B's primary executed by group B.
    let cross = run.accepted(13, B);
    assert_eq!(cross.len(), 1, "node 13's request was answered by f + 1 replicas of B");
    assert!(run.replies[&(13, B, 0)].iter().all(|(from, _)| (20..24).contains(from)));
}
