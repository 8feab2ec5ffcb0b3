//! `conformance`: grade a chat/1 server and report per requirement.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use batepapo_units::parse_duration;
use clap::Parser;
use conformance::{Format, Target};

/// Report formats: the report's own, and Gradescope's results.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    /// A table per requirement and the failures in detail, for people.
    Text,
    /// Everything, including transcripts of failures, for programs.
    Json,
    /// JUnit XML, for CI systems.
    Junit,
    /// A Markdown summary, for pull requests and issues.
    Markdown,
    /// Gradescope's results.json (points from --rubric, or one per case).
    Gradescope,
}

/// Grades a chat server against protocol chat/1 and requirements RF1–RF12.
///
/// Every case has a permanent id (RF2-03), a level (MUST or SHOULD) and the requirement it
/// proves. Cases run in parallel against one server, each with its own unique user names.
///
/// Examples:
///   conformance --server 127.0.0.1:7777
///   conformance --spawn './my-server' --format junit --output report.xml
///   conformance --only RF6 --only PROTO-01
///
///   conformance batch class.toml --out grades/     # many servers, one at a time
///
/// Exit codes: 0 every MUST case passed, 1 a MUST case failed, 2 usage or connection error.
#[derive(Debug, Parser)]
#[command(
    name = "conformance",
    version,
    about,
    long_about,
    verbatim_doc_comment,
    max_term_width = 100
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,

    /// Grade the server already running at this address.
    #[arg(
        long,
        value_name = "ADDR",
        conflicts_with = "spawn",
        default_value = "127.0.0.1:7777"
    )]
    server: String,

    /// Start this command (run by sh, `&&` and pipes included) for every case: `{port}` in it
    /// gets a free port; otherwise a chat/1 server gets `--listen 127.0.0.1:0` and must print
    /// `listening on ADDR`, and a plain server runs as handed in (its port found from the
    /// kernel's tables). Each case gets a fresh server, stopped with everything it started.
    #[arg(long, value_name = "CMD", global = true)]
    spawn: Option<String>,

    /// Grade a client instead of a server: this command starts a student's window (a tkinter
    /// client, as handed in: `python3 cliente.py`), run by sh on a virtual display. The grader
    /// plays the server wherever the client connects, answers its name questions, and judges
    /// what it sends and what its window shows (RF1, RF4, RF5, RF7, RF9, RF11, RF12).
    #[arg(long, value_name = "CMD", conflicts_with = "spawn")]
    client: Option<String>,

    /// With --spawn: a command run once before grading, in the same folder (`javac *.java`,
    /// `gcc -o server server.c`); its failure is reported with the compiler's message.
    #[arg(long, value_name = "CMD", global = true)]
    build: Option<String>,

    /// Run only these case ids or requirements (repeatable): --only RF3 --only PROTO-01.
    #[arg(long, value_name = "ID", global = true)]
    only: Vec<String>,

    /// List the cases and exit.
    #[arg(long)]
    list: bool,

    /// The chat-client binary for the client-side cases (RF9, RF11, RF12, ...). Default: a
    /// chat-client next to this program; without one those cases are skipped.
    #[arg(long, value_name = "PATH", global = true)]
    client_bin: Option<PathBuf>,

    /// Multiply every timeout (5 s per expected line) for slow servers or machines.
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, global = true)]
    timeout_scale: f64,

    /// The server's registration timeout, which PROTO-08 waits out.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    name_timeout: Duration,

    /// The server's line limit in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4096)]
    max_line: usize,

    /// The server's stall deadline: how long a client that lines wait for may take no bytes
    /// before it is cut off (RF4-03 waits this long, plus margin; RF4-06 pauses half of it).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    stall_timeout: Duration,

    /// Connections PROTO-09 may open while looking for ERR server-full.
    #[arg(long, value_name = "N", default_value_t = conformance::case::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,

    /// Extra scenario files (*.toml) to run, from this folder (repeatable).
    #[arg(long, value_name = "DIR", global = true)]
    scenarios: Vec<PathBuf>,

    /// Cases at once against one server (default 16; a free-form server's copies, 4 at
    /// most). In batch: servers graded at once (default 4), each isolated from the others.
    #[arg(long, value_name = "N", global = true)]
    jobs: Option<usize>,

    /// What the server speaks: chat1 (the contract, every case) or plain (free text, as
    /// students write the assignment: framing detected, graded by meaning, never by wording).
    #[arg(long, value_enum, default_value = "chat1", global = true)]
    protocol: conformance::plain::Protocol,

    /// With --protocol plain: how the server frames input, instead of detecting it: lines
    /// (each message ends with LF) or writes (each message is one write, unterminated).
    #[arg(long, value_enum)]
    framing: Option<conformance::plain::Framing>,

    /// With --protocol plain: the line a user sends to leave, {name} standing for its name
    /// ("/quit", or the assignment's "{name} saiu do chat."). Without it, leaving is closing the
    /// connection, and only that is graded.
    #[arg(long, value_name = "TEXT", global = true)]
    quit_line: Option<String>,

    /// Known failures of an unfinished server: case ids or patterns (RF6-*), one per line, #
    /// for comments. A listed case that fails is reported as expected and does not fail the
    /// run; a listed case that passes fails the run as stale, so the list never rots.
    #[arg(long, value_name = "FILE")]
    expect_fail: Option<PathBuf>,

    /// Points per requirement or case for --format gradescope (and batch's results.json): a
    /// TOML file; without it every case is a point, a SHOULD case half.
    #[arg(long, value_name = "FILE", global = true)]
    rubric: Option<PathBuf>,

    /// Memory each copy of a started server may take, in MB (a control group where the grader
    /// may make one, an rlimit on its data otherwise).
    #[arg(long, value_name = "MB", default_value_t = 1024, global = true)]
    memory: u64,

    /// Processes and threads each copy of a started server may run at once (with control
    /// groups only, as root). A thread-per-client server needs one per connection, and the
    /// chat/1 cases open up to --max-connections (2000) at once to find a server's limit.
    #[arg(long, value_name = "N", default_value_t = 4096, global = true)]
    processes: u64,

    /// CPU time each copy of a started server may use, in seconds (each copy serves one case).
    #[arg(long, value_name = "SECONDS", default_value_t = 120, global = true)]
    cpu_seconds: u64,

    /// Exit 1 when any case fails, a SHOULD case too (for one test per requirement, as in
    /// GitHub Classroom).
    #[arg(long)]
    strict: bool,

    /// The language of every text a student reads: en or pt-BR (the assignment's own, with
    /// its requirements in its own words). Batch entries may set their own (`lang`).
    #[arg(long, value_name = "LANG", default_value = "en", global = true)]
    lang: conformance::i18n::Lang,

    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: Output,

    /// Write the report here instead of stdout.
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Write GitHub Classroom's autograding workflow: one test per requirement, worth its
    /// points from --rubric, run with the same --spawn, --build and --protocol as here. Put it
    /// in the template repository as .github/workflows/classroom.yml, beside a copy of this
    /// repository in batepapo/.
    ///
    /// Example:
    ///   conformance classroom --spawn 'python3 servidor.py' --protocol plain \
    ///     --rubric rubric.toml > .github/workflows/classroom.yml
    #[command(verbatim_doc_comment)]
    Classroom,
    /// Check a teacher's configuration before any grading: the rubric (--rubric), a batch
    /// file, Gradescope's autograder.conf. Every problem is named with its file and line.
    ///
    /// Exit codes: 0 all is well, 1 something is wrong.
    #[command(verbatim_doc_comment)]
    CheckConfig {
        /// An autograder.conf to check.
        #[arg(long, value_name = "FILE")]
        autograder_conf: Option<PathBuf>,
        /// A batch file to check.
        #[arg(long, value_name = "FILE")]
        batch: Option<PathBuf>,
    },
    /// Grade many servers, --jobs at once (4 by default), from a batch file, and write a grade
    /// book (Markdown, CSV, JSON: points per requirement from --rubric, and in all) and each
    /// server's full report into --out.
    ///
    /// Each [[server]] has a label and either spawn = "COMMAND" (with an optional dir = "...")
    /// or address = "HOST:PORT"; [defaults] and each server may set build, time-limit,
    /// name-timeout, stall-timeout, max-line, protocol, framing and quit-line. A server that
    /// does not build or start, does not speak chat/1, crashes, stops accepting, freezes or
    /// passes its time limit gets that verdict and the batch goes on.
    ///
    /// Exit codes: 0 every server passed its MUST cases, 1 some did not, 2 a bad batch file.
    #[command(verbatim_doc_comment)]
    Batch {
        /// The batch file (TOML).
        file: PathBuf,
        /// Where the scoreboard and the reports go.
        #[arg(long, value_name = "DIR", default_value = "conformance-batch")]
        out: PathBuf,
    },
    /// Add Gradescope results files into one (a server's and its client's): the tests one
    /// after another, the scores and times summed, the summaries joined. Written to stdout,
    /// or to the file --output gives (before the word merge-results).
    MergeResults {
        /// The results.json files, in order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// A teacher's configuration that cannot be used: named problems, and no student graded.
#[derive(Debug)]
struct TeacherError(Vec<conformance::config::Problem>);

impl std::fmt::Display for TeacherError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "the configuration has {} problem(s); nothing was graded:",
            self.0.len()
        )?;
        for p in &self.0 {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for TeacherError {}

fn main() -> ExitCode {
    let args = Args::parse();
    let gradescope = (args.format == Output::Gradescope && args.command.is_none())
        .then(|| args.output.clone())
        .flatten();
    let lang = args.lang;
    match run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("conformance: error: {e:#}");
            if e.downcast_ref::<TeacherError>().is_some() {
                // The teacher's mistake fails the run; no student gets a result from it.
                return ExitCode::from(2);
            }
            if let Some(path) = gradescope {
                // Gradescope needs a results file even when nothing could be graded.
                use conformance::i18n::{catalog, Text};
                let why = if let Some(g) = e.downcast_ref::<conformance::grade::GradeError>() {
                    conformance::t!(catalog::NOT_GRADED, g.text())
                } else if let Some(g) = e.downcast_ref::<conformance::gui::GuiError>() {
                    conformance::t!(catalog::C_NOT_GRADED, g.text())
                } else {
                    conformance::t!(catalog::NOT_GRADED, Text::data(format!("{e:#}")))
                };
                use conformance::report::gradescope;
                let text = gradescope::json(&gradescope::ungraded(&why, lang));
                if let Err(w) = std::fs::write(&path, text) {
                    eprintln!("conformance: error: cannot write {}: {w}", path.display());
                }
            }
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.timeout_scale > 0.0 && args.timeout_scale.is_finite() && args.timeout_scale <= 1000.0)
    {
        bail!("--timeout-scale must be a number above 0 and at most 1000");
    }
    if args.jobs == Some(0) {
        bail!("--jobs must be at least 1");
    }
    if args.memory == 0 || args.processes == 0 || args.cpu_seconds == 0 {
        bail!("--memory, --processes and --cpu-seconds must be at least 1");
    }
    if args.max_line == 0 {
        bail!("--max-line must be at least 1");
    }
    if args.max_connections == 0 {
        bail!("--max-connections must be at least 1");
    }
    let plain = args.protocol == conformance::plain::Protocol::Plain;
    if !plain && (args.framing.is_some() || args.quit_line.is_some()) {
        bail!("--framing and --quit-line are for --protocol plain");
    }
    let settings = conformance::plain::Settings {
        framing: args.framing,
        quit_line: args.quit_line.clone(),
    };
    // Every case of the protocol (a rubric's points add up over these), then those to run.
    let protocol_cases = cases_of(&args, &settings)?;
    let cases = conformance::select(protocol_cases.clone(), &args.only);
    if cases.is_empty() {
        bail!("no case matches --only {}", args.only.join(" "));
    }
    if let Some(Command::CheckConfig {
        autograder_conf,
        batch,
    }) = &args.command
    {
        return check_config(&args, autograder_conf.as_deref(), batch.as_deref());
    }
    if let Some(Command::MergeResults { files }) = &args.command {
        return merge_results(&args, files);
    }
    if let Some(command) = &args.client {
        return grade_client(&args, command);
    }
    if let Some(Command::Classroom) = &args.command {
        let Some(spawn) = &args.spawn else {
            bail!("classroom needs --spawn: how a submission starts");
        };
        let rubric = match &args.rubric {
            Some(path) => {
                let known = known_cases(&args, &settings)?;
                conformance::config::load_rubric(
                    path,
                    &known,
                    &scored_groups(&protocol_cases, false),
                )
                .map_err(TeacherError)?
            }
            None => Default::default(),
        };
        let mut flags = vec![
            "--protocol".to_string(),
            format!("{:?}", args.protocol).to_lowercase(),
        ];
        if let Some(q) = &args.quit_line {
            flags.extend(["--quit-line".to_string(), q.clone()]);
        }
        let c = conformance::classroom::Classroom {
            spawn: spawn.clone(),
            build: args.build.clone(),
            flags,
        };
        print!("{}", conformance::classroom::workflow(&c, &cases, &rubric));
        return Ok(ExitCode::SUCCESS);
    }
    let rubric = match &args.rubric {
        Some(path) => {
            let known = known_cases(&args, &settings)?;
            // A batch that names clients scores their cases too.
            let clients = match &args.command {
                Some(Command::Batch { file, .. }) => batch_has_clients(file),
                _ => false,
            };
            let scored = scored_groups(&protocol_cases, clients);
            conformance::config::load_rubric(path, &known, &scored).map_err(TeacherError)?
        }
        None => Default::default(),
    };
    let expect_fail = match &args.expect_fail {
        Some(path) => {
            let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
            conformance::expect::ExpectFail::load(path, &ids)?
        }
        None => Default::default(),
    };
    if let Some(Command::Batch { file, out }) = &args.command {
        return batch(&args, file, out, &cases, rubric);
    }
    if args.list {
        for c in &cases {
            println!(
                "{:<9} {:<6} {:<6} {}\n{:<23}{}",
                c.id,
                c.rf,
                c.level.to_string(),
                c.title.render(args.lang),
                "",
                c.clause
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let server = match &args.spawn {
        Some(cmd) => conformance::grade::Server::Spawn {
            command: cmd.clone(),
            dir: None,
            startup: Duration::from_secs(30),
            build: args.build.clone(),
        },
        None => conformance::grade::Server::Address(
            args.server
                .to_socket_addrs()
                .with_context(|| format!("bad --server {:?}", args.server))?
                .next()
                .with_context(|| format!("{} resolves to no address", args.server))?,
        ),
    };
    let client_bin = args.client_bin.clone().or_else(sibling_client);
    let plan = conformance::grade::Plan {
        protocol: args.protocol,
        cases,
        only: args.only.clone(),
        target: Target {
            client_bin,
            plain: settings,
            ..base_target(&args, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        },
        jobs: args.jobs.unwrap_or(16),
        limits: limits(&args),
        lang: args.lang,
    };
    let total = plan.cases.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let progress = |r: &conformance::CaseResult| {
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if plain {
            eprintln!("[{n:>3}] {:?} {}", r.outcome, r.id);
        } else {
            eprintln!("[{n:>3}/{total}] {:?} {}", r.outcome, r.id);
        }
    };
    let mut report = conformance::grade::grade(&server, &plan, &progress)?;
    eprintln!(
        "conformance: graded {}",
        report.described().render(report.lang)
    );
    for f in &report.findings {
        eprintln!("conformance: {}", f.text.render(report.lang));
    }
    expect_fail.apply(&mut report.results);
    write_report(&args, &report, &rubric)?;
    if args.output.is_some() || args.format != Output::Text {
        let t = report.tally();
        eprintln!("{} passed, {} failed", t.passed, t.failed);
    }
    let t = report.tally();
    let failed = t.run_failed() || (args.strict && t.failed > 0);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `conformance batch FILE`: every server in turn, then the scoreboard.
fn batch(
    args: &Args,
    file: &std::path::Path,
    out: &std::path::Path,
    cases: &[conformance::Case],
    rubric: conformance::report::gradescope::Rubric,
) -> anyhow::Result<ExitCode> {
    use conformance::batch;
    let mut plan = batch::load(file)?;
    if plan.servers.iter().any(|e| e.client.is_some()) {
        // Every client needs a virtual display: a machine without one fails here, the
        // teacher's to fix, rather than as every student's NOT GRADABLE.
        conformance::gui::display::Display::start()
            .context("the batch grades clients, and they need a virtual display")?;
    }
    if plan.defaults.lang.is_none() {
        // The command line's language for every entry that names none of its own.
        for e in plan
            .servers
            .iter_mut()
            .filter(|e| e.settings.lang.is_none())
        {
            e.limits.lang = args.lang;
        }
    }
    let options = batch::Options {
        base: Target {
            client_bin: args.client_bin.clone().or_else(sibling_client),
            ..base_target(args, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
        },
        jobs: 16,
        servers_at_once: args.jobs.unwrap_or(4),
        only: args.only.clone(),
        rubric,
        limits: limits(args),
    };
    let total = plan.servers.len();
    let mut n = 0;
    let graded = batch::run(&plan, cases, &options, &mut |g| {
        n += 1;
        let client = g
            .client
            .as_ref()
            .map(|c| format!(", client {}", c.verdict.name()))
            .unwrap_or_default();
        eprintln!(
            "[{n}/{total}] {}: {}{client} ({} passed, {} failed, {} skipped) in {:.1} s",
            g.label,
            g.verdict.name(),
            g.tally.passed,
            g.tally.failed,
            g.tally.skipped,
            g.seconds
        );
    });
    batch::write(out, &graded, &options.rubric)
        .with_context(|| format!("cannot write into {}", out.display()))?;
    print!("{}", conformance::batch::scoreboard::markdown(&graded));
    eprintln!("scoreboard and reports written to {}", out.display());
    Ok(if graded.iter().all(|g| g.passed()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Every case of the protocol graded.
fn cases_of(
    args: &Args,
    settings: &conformance::plain::Settings,
) -> anyhow::Result<Vec<conformance::Case>> {
    Ok(match args.protocol {
        conformance::plain::Protocol::Plain => conformance::plain::cases::cases(settings),
        conformance::plain::Protocol::Chat1 => conformance::all_cases(&args.scenarios)?,
    })
}

/// The groups of cases a rubric's points are scored on: the server's, and the client's when
/// one is graded.
fn scored_groups(
    server: &[conformance::Case],
    clients: bool,
) -> Vec<(&'static str, Vec<conformance::Case>)> {
    let mut groups = vec![("the server", server.to_vec())];
    if clients {
        groups.push(("the client", conformance::gui::cases::cases()));
    }
    groups
}

/// Whether a batch file names a client in some entry (one that cannot be read names none:
/// reading it reports that).
fn batch_has_clients(file: &std::path::Path) -> bool {
    conformance::batch::load(file).is_ok_and(|b| b.servers.iter().any(|e| e.client.is_some()))
}

/// Whether an `autograder.conf` sets a CLIENT_CMD.
fn conf_has_client(file: &std::path::Path) -> bool {
    std::fs::read_to_string(file).is_ok_and(|t| {
        t.lines().any(|l| {
            l.trim()
                .strip_prefix("CLIENT_CMD=")
                .is_some_and(|v| !v.trim().trim_matches(['\'', '"']).is_empty())
        })
    })
}

/// Every case a rubric may name: chat/1's, the free-form ones with a quit line, and a
/// client's.
fn known_cases(
    args: &Args,
    settings: &conformance::plain::Settings,
) -> anyhow::Result<Vec<conformance::Case>> {
    let mut known = conformance::all_cases(&args.scenarios)?;
    let with_quit = conformance::plain::Settings {
        quit_line: Some(settings.quit_line.clone().unwrap_or_else(|| "/quit".into())),
        ..settings.clone()
    };
    known.extend(conformance::plain::cases::cases(&with_quit));
    known.extend(conformance::gui::cases::cases());
    Ok(known)
}

/// `conformance check-config`: every problem of the files given, or "ok".
fn check_config(
    args: &Args,
    conf: Option<&std::path::Path>,
    batch: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let mut problems = Vec::new();
    let mut checked = Vec::new();
    if let Some(path) = &args.rubric {
        let known = known_cases(args, &Default::default())?;
        let settings = conformance::plain::Settings {
            framing: None,
            quit_line: args.quit_line.clone(),
        };
        let clients = args.client.is_some()
            || batch.is_some_and(batch_has_clients)
            || conf.is_some_and(conf_has_client);
        let scored = scored_groups(&cases_of(args, &settings)?, clients);
        if let Err(p) = conformance::config::load_rubric(path, &known, &scored) {
            problems.extend(p);
        }
        checked.push(path.display().to_string());
    }
    if let Some(path) = conf {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        problems.extend(conformance::config::check_autograder_conf(
            &text,
            &path.display().to_string(),
        ));
        checked.push(path.display().to_string());
    }
    if let Some(path) = batch {
        if let Err(e) = conformance::batch::load(path) {
            problems.push(conformance::config::Problem {
                file: path.display().to_string(),
                line: None,
                what: format!("{e:#}"),
            });
        }
        checked.push(path.display().to_string());
    }
    if checked.is_empty() {
        bail!("nothing to check: give --rubric, --autograder-conf or --batch");
    }
    for p in &problems {
        println!("{p}");
    }
    if problems.is_empty() {
        println!("ok: {}", checked.join(", "));
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}

/// What each copy of a started server may take, from the flags.
fn limits(args: &Args) -> conformance::limits::Limits {
    conformance::limits::Limits {
        memory_mb: args.memory,
        processes: args.processes,
        cpu_seconds: args.cpu_seconds,
    }
}

/// The target the flags describe, at `addr` (a batch entry's settings replace the server's).
fn base_target(args: &Args, addr: SocketAddr) -> Target {
    Target {
        timeout_scale: args.timeout_scale,
        name_timeout: args.name_timeout,
        max_line: args.max_line,
        stall_timeout: args.stall_timeout,
        max_connections: args.max_connections,
        ..Target::new(addr)
    }
}

/// A `chat-client` in the same folder as this program, as cargo builds them.
fn sibling_client() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.join("chat-client");
    candidate.is_file().then_some(candidate)
}

/// `--client CMD`: a student's window, graded headless.
fn grade_client(args: &Args, command: &str) -> anyhow::Result<ExitCode> {
    let base = base_target(args, std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    let progress = |r: &conformance::CaseResult| eprintln!("{:?} {}", r.outcome, r.id);
    let rubric = match &args.rubric {
        // A requirement's points go to the client's cases of that requirement.
        Some(path) => {
            // One rubric may serve the server and the client: the cases of both are known,
            // and its total may be the client's or both's.
            let settings = conformance::plain::Settings {
                framing: None,
                quit_line: Some("/quit".into()),
            };
            let known = known_cases(args, &settings)?;
            let scored = scored_groups(&conformance::plain::cases::cases(&settings), true);
            conformance::config::load_rubric(path, &known, &scored).map_err(TeacherError)?
        }
        None => Default::default(),
    };
    let report = conformance::gui::grade(command, None, &base, args.lang, &progress)?;
    write_report(args, &report, &rubric)?;
    let t = report.tally();
    Ok(if t.run_failed() || (args.strict && t.failed > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// `merge-results`: several Gradescope results files as one.
fn merge_results(args: &Args, files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut parts = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?;
        let part: conformance::report::gradescope::Results = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a Gradescope results file", f.display()))?;
        parts.push(part);
    }
    let merged = conformance::report::gradescope::merge(parts);
    let text = serde_json::to_string_pretty(&merged)? + "\n";
    match &args.output {
        Some(path) => std::fs::write(path, &text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Renders `report` in the format asked for and writes it to --output, or to stdout.
fn write_report(
    args: &Args,
    report: &conformance::Report,
    rubric: &conformance::report::gradescope::Rubric,
) -> anyhow::Result<()> {
    let rendered = match args.format {
        Output::Gradescope => conformance::report::gradescope::render(report, rubric),
        Output::Text => report.render(Format::Text),
        Output::Json => report.render(Format::Json),
        Output::Junit => report.render(Format::Junit),
        Output::Markdown => report.render(Format::Markdown),
    };
    match &args.output {
        Some(path) => std::fs::write(path, &rendered)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{rendered}"),
    }
    Ok(())
}
