//! Progress of a campaign on the terminal: a bar when stderr is a terminal, a plain line every
//! few seconds otherwise (logs of batch jobs), nothing with `--quiet`.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use experiments::campaign::Progress;

/// How often plain progress lines are printed.
const LINE_INTERVAL: Duration = Duration::from_secs(10);

pub enum Reporter {
    Bar(ProgressBar),
    Lines { total: AtomicUsize, done: AtomicUsize, last: Mutex<Instant> },
    Quiet,
}

impl Reporter {
    pub fn new(quiet: bool) -> Self {
        if quiet {
            Reporter::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} runs, ETA {eta}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            Reporter::Bar(bar)
        } else {
            Reporter::Lines { total: AtomicUsize::new(0), done: AtomicUsize::new(0), last: Mutex::new(Instant::now()) }
        }
    }

    fn say(&self, line: &str) {
        match self {
            Reporter::Bar(bar) => bar.println(line),
            Reporter::Lines { .. } => eprintln!("{line}"),
            Reporter::Quiet => {}
        }
    }
}

impl Progress for Reporter {
    fn start(&self, to_run: usize, reused: usize) {
        if reused > 0 {
            self.say(&format!("{reused} runs already done, {to_run} to run"));
        }
        match self {
            Reporter::Bar(bar) => bar.set_length(to_run as u64),
            Reporter::Lines { total, .. } => total.store(to_run, Ordering::Relaxed),
            Reporter::Quiet => {}
        }
    }

    fn run_finished(&self, id: &str, error: Option<&str>) {
        if let Some(error) = error {
            self.say(&format!("run {id} failed: {error}"));
        }
        match self {
            Reporter::Bar(bar) => bar.inc(1),
            Reporter::Lines { total, done, last } => {
                let done = done.fetch_add(1, Ordering::Relaxed) + 1;
                let total = total.load(Ordering::Relaxed);
                let mut last = last.lock().expect("progress lock");
                if done == total || last.elapsed() >= LINE_INTERVAL {
                    *last = Instant::now();
                    eprintln!("progress: {done}/{total} runs");
                }
            }
            Reporter::Quiet => {}
        }
    }

    fn finish(&self) {
        if let Reporter::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
