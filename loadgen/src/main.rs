//! `loadgen`: parse flags, run the bots, print the report, write the files, apply the gates,
//! exit 0/1/2.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use loadgen::engine::run::{self, Progress};
use loadgen::flags::cli::{Args, Command, Gates, MergeArgs, Outputs};
use loadgen::judging::baseline::{self, Tolerances};
use loadgen::judging::gate::{self, Threshold};
use loadgen::plan::config::Config;
use loadgen::recording::series::Second;
use loadgen::search::steps::SearchArgs;
use loadgen::Summary;

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.command {
        Some(Command::Merge(ref m)) => merge_main(m),
        Some(Command::Search(ref s)) => search_main(s),
        None => run_main(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("loadgen: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The gates as given on the command line, checked before any work.
struct Judge {
    thresholds: Vec<Threshold>,
    tolerances: Tolerances,
    baseline: Option<(PathBuf, Summary)>,
}

impl Judge {
    fn from(g: &Gates) -> anyhow::Result<Judge> {
        let thresholds = g
            .threshold
            .iter()
            .map(|t| Threshold::parse(t))
            .collect::<Result<_, _>>()?;
        let tolerances = Tolerances {
            latency: gate::parse_regress(&g.max_regress)?,
            counted: gate::parse_regress(&g.max_cost_regress)?,
            cpu: gate::parse_regress(&g.max_cpu_regress)?,
        };
        let baseline = match &g.baseline {
            Some(path) => Some((path.clone(), read_report(path)?)),
            None => None,
        };
        Ok(Judge {
            thresholds,
            tolerances,
            baseline,
        })
    }

    /// Refuses a baseline made under another load before the run.
    fn check_load(&self, config: &Config) -> anyhow::Result<()> {
        if let Some((path, old)) = &self.baseline {
            if let Some(old) = &old.config {
                baseline::same_load(config, old)
                    .with_context(|| format!("cannot compare with {}", path.display()))?;
            }
        }
        Ok(())
    }
}

fn read_report(path: &Path) -> anyhow::Result<Summary> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a loadgen --json report", path.display()))
}

fn run_main(args: &Args) -> anyhow::Result<ExitCode> {
    let judge = Judge::from(&args.gates)?;
    let config = args.run.config();
    config.validate()?;
    judge.check_load(&config)?;
    if config.shard.is_sharded() {
        if let Some(t) = judge
            .thresholds
            .iter()
            .find(|t| matches!(t.metric_name(), "lost" | "lost_pct"))
        {
            anyhow::bail!(
                "--threshold {:?} on a shard: a shard cannot know the run's loss (other shards \
                 count what their bots were owed); gate loss on `loadgen merge`",
                t.metric_name()
            );
        }
    }

    let progress = on_ctrl_c()?;
    let live = std::io::stderr().is_terminal();
    if live {
        eprintln!(
            "loadgen: {} bots on {}, {} ...",
            config.clients,
            config.server.as_deref().unwrap_or("the embedded server"),
            config.protocol
        );
    }
    let mut on_second = |s: &Second| {
        if live {
            eprintln!("{}", live_line(s));
        }
    };
    let outcome = run::run(config.clone(), &progress, &mut on_second)?;

    let summary = Summary::from_outcome(&config, outcome);
    finish(&summary, &args.outputs, &judge)
}

/// Ctrl-C ends the current phase (or step) and reports what was measured.
fn on_ctrl_c() -> anyhow::Result<Arc<Progress>> {
    let progress = Arc::new(Progress::default());
    let flag = progress.clone();
    ctrlc::set_handler(move || {
        if !flag.interrupted.swap(true, Ordering::SeqCst) {
            eprintln!("\ninterrupted: finishing with a partial report");
        }
    })
    .context("cannot handle Ctrl-C")?;
    Ok(progress)
}

fn search_main(a: &SearchArgs) -> anyhow::Result<ExitCode> {
    use loadgen::{search::report as sr, search::run as search_run, search::steps as search};
    let base = a.run.config();
    // The search's own refusals first: they say what a search cannot do.
    let plan = search::Plan::from_args(a, &base)?;
    base.validate()?;
    let gates = search::capacity_gates(&a.threshold)?;
    let progress = on_ctrl_c()?;
    eprintln!(
        "loadgen search: {} on {}, from {} to {}, within {:.0}%",
        a.slo.join(" and "),
        base.server.as_deref().unwrap_or("the embedded server"),
        plan.show(plan.from),
        plan.show(plan.to),
        plan.precision * 100.0
    );
    let mut on_step = |s: &search::Step| {
        eprintln!(
            "step {} ({:?}): {}: {:.0} deliveries/s, p99 {:.2} ms: {}",
            s.number,
            s.purpose,
            plan.show(s.load),
            s.deliveries_per_s,
            s.p99_ms,
            match &s.verdict {
                search::Verdict::Pass => "pass".to_string(),
                search::Verdict::Fail(why) => format!("fail ({why})"),
                search::Verdict::GeneratorBound(_) => "generator-bound".to_string(),
            }
        );
    };
    let found = search_run::drive(&plan, &base, &progress, &mut on_step)?;
    print!("{}", sr::table(&found));
    println!("{}", sr::stop_sentence(&found));
    println!("{}", sr::answer(&found));
    let (gate_lines, gates_hold) = sr::check_capacity(&found, &gates);
    for g in &gate_lines {
        println!("{g}");
    }
    let (verdict, code) = search_run::verdict(&found, !gates.is_empty(), gates_hold);
    if let Some(path) = &a.json {
        write_file(path, json_text(&found)?)?;
    }
    if let Some(path) = &a.html {
        write_file(path, sr::html(&found, &gate_lines, &verdict))?;
    }
    if code == 2 {
        eprintln!("loadgen: {verdict}");
    }
    println!("verdict: {verdict}");
    Ok(ExitCode::from(code))
}

fn merge_main(m: &MergeArgs) -> anyhow::Result<ExitCode> {
    let judge = Judge::from(&m.gates)?;
    let parts = m
        .files
        .iter()
        .map(|p| read_report(p))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let names: Vec<String> = m.files.iter().map(|p| p.display().to_string()).collect();
    let summary = loadgen::summary::merge::merge(&parts, &names)?;
    if let Some(c) = &summary.config {
        judge.check_load(c)?;
    }
    finish(&summary, &m.outputs, &judge)
}

/// Writes one of the files asked for, naming it if that fails.
fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

/// A report as its JSON file holds it.
fn json_text(report: &impl serde::Serialize) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(report)? + "\n")
}

/// Prints the table, writes the files, applies the gates and says the verdict: the same for a
/// run and for a merge.
fn finish(summary: &Summary, outputs: &Outputs, judge: &Judge) -> anyhow::Result<ExitCode> {
    print!("{}", loadgen::output::table::render(summary));
    if let Some(path) = &outputs.json {
        write_file(path, json_text(summary)?)?;
    }
    if let Some(path) = &outputs.hgrm {
        write_file(path, loadgen::output::hgrm::of(summary))?;
    }
    if let Some(path) = &outputs.hlog {
        write_file(path, loadgen::output::hlog::of(summary)?)?;
    }
    let sharded = summary
        .config
        .as_ref()
        .is_some_and(|c| c.shard.is_sharded());
    let gated = !judge.thresholds.is_empty() || judge.baseline.is_some();
    let mut gates = gate::with_defaults(&judge.thresholds);
    if sharded {
        // Loss is the merge's to judge; a shard's own counts are halves of it.
        gates.retain(|t| !matches!(t.metric_name(), "lost" | "lost_pct"));
    }
    let mut checks = gate::check_thresholds(summary, &gates);
    if let Some((_, b)) = &judge.baseline {
        checks.extend(baseline::check(summary, b, judge.tolerances));
    }
    for c in &checks {
        println!("{c}");
    }
    let (verdict, code) = loadgen::judging::verdict::judge(summary, &checks, gated);
    if let Some(path) = &outputs.html {
        write_file(
            path,
            loadgen::output::html::render(summary, &checks, &verdict),
        )?;
    }
    if code == 2 {
        eprintln!("loadgen: {verdict}");
    }
    println!("verdict: {verdict}");
    Ok(ExitCode::from(code))
}

/// One line per second on a terminal: what was sent and delivered, and the last second's p99.
fn live_line(s: &Second) -> String {
    let latency = if s.measured > 0 {
        format!(
            "p50 {:7.2} ms  p99 {:7.2} ms  max {:7.2} ms",
            s.p50, s.p99, s.max
        )
    } else {
        String::from("(warm-up or drain: not measured)")
    };
    format!(
        "{:>5} s  sent {:>8}/s  delivered {:>10}/s  {latency}",
        s.second, s.sent, s.delivered
    )
}
