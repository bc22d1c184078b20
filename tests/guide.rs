//! The protocol built step by step in `docs/writing-a-protocol.md`. Every Rust block of the guide
//! is a piece of this file and every RON block is `docs/gossip.ron`, which
//! `the_guide_shows_this_code` checks, so the guide is compiled and run with the test suite.

use std::process::ExitCode;

// guide: imports
use models::Model;
use models::registry::{PerItem, PlotKind, PlotSpec, Registered, Setting};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use simulator::config::ConfigError;
use simulator::units::ByteSize;
use simulator::{Context, Message, MetricValue, NodeId, Protocol, Report, RunStats, SimDuration, SimTime};
// end

// guide: config
/// `Gossip(rumors: 5, fanout: 3, size: "10KB", interval: "2s")`: node 0 starts a rumor every
/// `interval`; a node that hears a rumor for the first time pushes it to `fanout` random peers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GossipConfig {
    /// How many rumors node 0 starts.
    pub rumors: u32,
    /// Peers each node pushes a new rumor to.
    #[serde(default = "default_fanout")]
    pub fanout: u32,
    /// Size of a rumor's content.
    #[serde(default = "default_size")]
    pub size: ByteSize,
    /// Time between rumors.
    #[serde(default = "default_interval")]
    pub interval: SimDuration,
}

fn default_fanout() -> u32 {
    3
}
fn default_size() -> ByteSize {
    ByteSize(10_000)
}
fn default_interval() -> SimDuration {
    SimDuration::from_secs(2)
}
// end

// guide: message
/// A rumor on the wire: its number, and its content plus a 40-byte header.
#[derive(Copy, Clone, Debug)]
pub struct Rumor {
    pub id: u32,
    pub bytes: u64,
}

impl Message for Rumor {
    fn wire_bytes(&self) -> u64 {
        self.bytes
    }
}
// end

// guide: state
/// The protocol's state at every node: when each node first heard each rumor.
pub struct Gossip {
    config: GossipConfig,
    nodes: u32,
    /// `heard[rumor][node]`: when `node` first heard `rumor`.
    heard: Vec<Vec<Option<SimTime>>>,
}

impl Gossip {
    pub fn new(config: GossipConfig, nodes: u32) -> Self {
        let heard = vec![vec![None; nodes as usize]; config.rumors as usize];
        Gossip { config, nodes, heard }
    }

    /// Pushes `rumor` to `fanout` distinct random peers other than `except`.
    fn push(&self, rumor: u32, except: Option<NodeId>, ctx: &mut Context<'_, Self>) {
        let mut peers: Vec<NodeId> = ctx.peers().iter().copied().filter(|&p| Some(p) != except).collect();
        let wanted = (self.config.fanout as usize).min(peers.len());
        // A partial Fisher-Yates shuffle with the node's own random stream.
        for i in 0..wanted {
            let j = i + ctx.rng().random_range(0..peers.len() - i);
            peers.swap(i, j);
        }
        let msg = Rumor { id: rumor, bytes: self.config.size.bytes() + 40 };
        for &peer in &peers[..wanted] {
            ctx.send(peer, msg);
        }
    }
}
// end

// guide: handlers
impl Protocol for Gossip {
    type Msg = Rumor;
    /// A timer's tag: the rumor to start.
    type Timer = u32;
    type CpuJob = std::convert::Infallible;
    type DiskJob = std::convert::Infallible;

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        if node == 0 {
            for rumor in 0..self.config.rumors {
                ctx.set_timer(SimDuration(self.config.interval.0 * u64::from(rumor)), rumor);
            }
        }
    }

    fn on_timer(&mut self, node: NodeId, rumor: u32, ctx: &mut Context<'_, Self>) {
        self.heard[rumor as usize][node as usize] = Some(ctx.now());
        self.push(rumor, None, ctx);
    }

    fn on_message(&mut self, node: NodeId, from: NodeId, msg: Rumor, ctx: &mut Context<'_, Self>) {
        let heard = &mut self.heard[msg.id as usize][node as usize];
        if heard.is_none() {
            *heard = Some(ctx.now());
            self.push(msg.id, Some(from), ctx);
        }
    }

    fn on_cpu_done(&mut self, _: NodeId, job: std::convert::Infallible, _: &mut Context<'_, Self>) {
        match job {}
    }

    fn on_disk_done(&mut self, _: NodeId, job: std::convert::Infallible, _: &mut Context<'_, Self>) {
        match job {}
    }
}
// end

// guide: metrics
impl Model for Gossip {
    /// `coverage`: the share of (rumor, node) pairs where the node heard the rumor.
    /// `spread_p50_ms`: the median over rumors of the time from the start of a rumor until the
    /// last node that heard it did (a rumor reaches only part of the network when fan-out is low).
    fn report(&self, stats: &RunStats) -> Report {
        let pairs = self.heard.len() as f64 * f64::from(self.nodes);
        let heard = self.heard.iter().flatten().filter(|t| t.is_some()).count() as f64;
        // Each rumor's spread, for the run file (a CDF over rumors reads it there).
        let spread_of: Vec<Option<f64>> = self
            .heard
            .iter()
            .map(|times| {
                let start = times[0]?;
                let last = times.iter().flatten().max()?;
                Some(last.since(start).as_millis_f64())
            })
            .collect();
        let mut spreads: Vec<f64> = spread_of.iter().flatten().copied().collect();
        spreads.sort_by(f64::total_cmp);
        let median = spreads.get(spreads.len() / 2).copied().map_or(MetricValue::Missing, MetricValue::real);
        let metrics = vec![
            ("coverage".to_string(), MetricValue::real(heard / pairs)),
            ("spread_p50_ms".to_string(), median),
            ("messages_sent".to_string(), MetricValue::Count(stats.total(|c| c.messages_sent))),
        ];
        let rumors: Vec<serde_json::Value> = spread_of.iter().map(|s| serde_json::json!({ "spread_ms": s })).collect();
        Report { metrics, detail: serde_json::json!({ "rumors": rumors }), ..Report::default() }
    }
}
// end

// guide: registration
impl Registered for Gossip {
    const NAME: &'static str = "Gossip";
    type Config = GossipConfig;

    fn validate(config: &GossipConfig, _: &Setting<'_>) -> Result<(), ConfigError> {
        if config.rumors == 0 {
            return Err(ConfigError::new("protocol.rumors", "must be at least 1"));
        }
        if config.fanout == 0 {
            return Err(ConfigError::new("protocol.fanout", "must be at least 1, or no rumor spreads"));
        }
        Ok(())
    }

    fn metric_names(_: &GossipConfig) -> Vec<String> {
        ["coverage", "spread_p50_ms", "messages_sent"].map(String::from).to_vec()
    }

    fn default_plots(_: &GossipConfig, swept: &[&str]) -> Vec<PlotSpec> {
        match swept.first() {
            Some(_) => vec![PlotSpec::line("coverage", swept), PlotSpec::line("spread_p50_ms", swept)],
            None => vec![PlotSpec::new(PlotKind::Cdf, "spread_p50_ms")],
        }
    }

    /// A CDF of `spread_p50_ms` draws each rumor's spread, from the run file.
    fn per_item(metric: &str) -> Option<PerItem> {
        (metric == "spread_p50_ms").then_some(PerItem { list: "rumors", field: "spread_ms", noun: "rumor" })
    }

    fn build(config: &GossipConfig, setting: &Setting<'_>, _seed: u64) -> Self {
        Gossip::new(config.clone(), setting.network.nodes)
    }
}
// end

// guide: unit test
#[test]
fn a_node_pushes_a_new_rumor_to_fanout_peers_once() {
    use simulator::harness::{Harness, receivers};

    let config = GossipConfig { rumors: 1, fanout: 3, size: ByteSize(100), interval: SimDuration::ZERO };
    let mut gossip = Gossip::new(config, 10);
    let mut h = Harness::new(simulator::Topology::complete(10), 1);
    let pushed = h.at(SimTime(5)).message(&mut gossip, 4, 7, Rumor { id: 0, bytes: 140 });
    let to = receivers(&pushed);
    assert_eq!(to.len(), 3, "{pushed:?}");
    assert!(!to.contains(&7) && !to.contains(&4), "never back to the sender, never to itself");
    assert!(to[0] != to[1] && to[1] != to[2] && to[0] != to[2], "three distinct peers");
    assert!(h.message(&mut gossip, 4, 2, Rumor { id: 0, bytes: 140 }).is_empty(), "a rumor is pushed once");
}
// end

// guide: experiment
#[test]
fn the_gossip_study_runs_through_the_command_line() {
    models::registry::register::<Gossip>().unwrap();
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/gossip.ron");
    let out = tempfile::tempdir().unwrap();
    let out = out.path().to_str().unwrap();
    let args = ["chainsim", "run", file, "--out", out, "--quiet"];
    assert_eq!(chainsim::cli::main(args), ExitCode::SUCCESS);
    let summary = std::fs::read_to_string(format!("{out}/summary.csv")).unwrap();
    // One row per fan-out; pushing to more peers reaches more of the network.
    let coverage: Vec<f64> =
        summary.lines().skip(1).map(|row| row.split(',').nth(2).unwrap().parse().unwrap()).collect();
    assert_eq!(coverage.len(), 3);
    assert!(coverage[0] < coverage[1] && coverage[1] <= coverage[2] && coverage[2] > 0.99, "{coverage:?}");
}
// end

#[test]
fn the_guide_shows_this_code() {
    let root = env!("CARGO_MANIFEST_DIR");
    let guide = std::fs::read_to_string(format!("{root}/docs/writing-a-protocol.md")).unwrap();
    let source = std::fs::read_to_string(format!("{root}/tests/guide.rs")).unwrap();
    let experiment = std::fs::read_to_string(format!("{root}/docs/gossip.ron")).unwrap();
    let blocks = |language: &str| -> Vec<String> {
        let fence = format!("```{language}\n");
        guide.split(&fence).skip(1).map(|rest| rest.split("```").next().unwrap().to_string()).collect()
    };
    let rust = blocks("rust");
    assert!(rust.len() >= 7, "the guide walks through the protocol in steps");
    for block in &rust {
        assert!(source.contains(block.as_str()), "this block of the guide is not in tests/guide.rs:\n{block}");
    }
    assert_eq!(blocks("ron"), [experiment], "the guide's experiment is docs/gossip.ron");
}
