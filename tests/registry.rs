//! A protocol defined outside the shipped crates, registered by one line, runs through the
//! `chainsim` command line like a built-in one: its section is read and validated, its runs
//! produce its metric columns, and its default plots are drawn.

use std::process::ExitCode;

use models::Model;
use models::registry::{PerItem, PlotKind, PlotSpec, Registered, Setting};
use serde::{Deserialize, Serialize};
use simulator::config::ConfigError;
use simulator::{Context, Message, MetricValue, NodeId, Protocol, Report, RunStats, SimDuration};

/// Every node pings each peer `rounds` times, one round per `gap`; peers answer with a pong.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PingConfig {
    rounds: u32,
    #[serde(default = "default_gap")]
    gap: SimDuration,
}

fn default_gap() -> SimDuration {
    SimDuration::from_millis(100)
}

#[derive(Debug)]
enum Ping {
    Ping,
    Pong,
}

impl Message for Ping {
    fn wire_bytes(&self) -> u64 {
        64
    }
}

struct PingPong {
    rounds: u32,
    gap: SimDuration,
    round_of: Vec<u32>,
    pongs: u64,
}

impl Protocol for PingPong {
    type Msg = Ping;
    type Timer = ();
    type CpuJob = std::convert::Infallible;
    type DiskJob = std::convert::Infallible;

    fn on_start(&mut self, node: NodeId, ctx: &mut Context<'_, Self>) {
        self.on_timer(node, (), ctx);
    }

    fn on_message(&mut self, _: NodeId, from: NodeId, msg: Ping, ctx: &mut Context<'_, Self>) {
        match msg {
            Ping::Ping => ctx.send(from, Ping::Pong),
            Ping::Pong => self.pongs += 1,
        }
    }

    fn on_timer(&mut self, node: NodeId, _: (), ctx: &mut Context<'_, Self>) {
        for &peer in ctx.peers() {
            ctx.send(peer, Ping::Ping);
        }
        self.round_of[node as usize] += 1;
        if self.round_of[node as usize] < self.rounds {
            ctx.set_timer(self.gap, ());
        }
    }

    fn on_cpu_done(&mut self, _: NodeId, job: std::convert::Infallible, _: &mut Context<'_, Self>) {
        match job {}
    }

    fn on_disk_done(&mut self, _: NodeId, job: std::convert::Infallible, _: &mut Context<'_, Self>) {
        match job {}
    }
}

impl Model for PingPong {
    fn report(&self, stats: &RunStats) -> Report {
        let end_ms = MetricValue::real((stats.end_time - simulator::SimTime::ZERO).as_millis_f64());
        let detail = serde_json::json!({ "runs": [{ "end_ms": end_ms.as_f64() }] });
        let metrics = vec![("pongs".to_string(), MetricValue::Count(self.pongs)), ("end_ms".to_string(), end_ms)];
        Report { metrics, detail, ..Report::default() }
    }
}

impl Registered for PingPong {
    const NAME: &'static str = "PingPong";
    type Config = PingConfig;

    fn validate(config: &PingConfig, _: &Setting<'_>) -> Result<(), ConfigError> {
        if config.rounds == 0 {
            return Err(ConfigError::new("protocol.rounds", "must be at least 1"));
        }
        Ok(())
    }

    fn metric_names(_: &PingConfig) -> Vec<String> {
        vec!["pongs".to_string(), "end_ms".to_string()]
    }

    fn default_plots(_: &PingConfig, swept: &[&str]) -> Vec<PlotSpec> {
        vec![PlotSpec::per_first_key(PlotKind::Cdf, "end_ms", swept)]
    }

    /// A run is the one item `end_ms` describes: the CDF is over runs.
    fn per_item(metric: &str) -> Option<PerItem> {
        (metric == "end_ms").then_some(PerItem { list: "runs", field: "end_ms", noun: "run" })
    }

    fn build(config: &PingConfig, setting: &Setting<'_>, _: u64) -> Self {
        PingPong { rounds: config.rounds, gap: config.gap, round_of: vec![0; setting.network.nodes as usize], pongs: 0 }
    }
}

const EXPERIMENT: &str = r#"(
    name: "ping",
    replicates: 2,
    network: (
        nodes: 6,
        topology: RandomRegular(degree: 2),
        bandwidth: (upload: "unlimited", download: "unlimited"),
        latency: Constant("10ms"),
    ),
    protocol: PingPong(rounds: 3),
)"#;

fn chainsim(args: &[&str]) -> ExitCode {
    chainsim::cli::main(std::iter::once("chainsim").chain(args.iter().copied()))
}

#[test]
fn a_protocol_registered_by_one_line_runs_through_the_command_line() {
    models::registry::register::<PingPong>().unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("ping.ron");
    std::fs::write(&file, EXPERIMENT).unwrap();
    let (file, out) = (file.to_str().unwrap(), tmp.path().join("out"));
    assert_eq!(chainsim(&["check", file]), ExitCode::SUCCESS);
    assert_eq!(chainsim(&["run", file, "--out", out.to_str().unwrap(), "--quiet"]), ExitCode::SUCCESS);

    let runs = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    let mut lines = runs.lines();
    assert_eq!(lines.next(), Some("point,replicate,seed,digest,pongs,end_ms"));
    // 6 nodes × 2 peers × 3 rounds pings, each answered; the last round starts at 200 ms and
    // its pongs arrive 20 ms later.
    for line in lines {
        assert!(line.ends_with(",36,220.0"), "{runs}");
    }
    assert!(out.join("plots/end_ms-cdf.svg").exists());
    let manifest = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    assert!(manifest.contains(r#""PingPong": {"#) && manifest.contains(r#""gap": "100ms""#), "{manifest}");

    // Its rules apply like a built-in protocol's.
    std::fs::write(tmp.path().join("bad.ron"), EXPERIMENT.replace("rounds: 3", "rounds: 0")).unwrap();
    assert_eq!(chainsim(&["check", tmp.path().join("bad.ron").to_str().unwrap()]), ExitCode::from(2));

    // A second registration of the same protocol is harmless.
    models::registry::register::<PingPong>().unwrap();
    assert_eq!(models::registry::names(), ["Flood", "Bitcoin", "Pbft", "Sharding", "Rollup", "Bridge", "PingPong"]);
}
