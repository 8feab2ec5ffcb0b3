//! The deployment files, run on loopback at a small scale: the server with the Deployment's
//! flags, every pod of the loadgen Indexed Job as a process with the variables Kubernetes and
//! `envsubst` fill in, and the merge Job on the reports they left. A flag renamed in a binary but
//! not in a manifest, a shard count the merge's file list disagrees with, a Service port that
//! leads nowhere, or a report path the merge does not read fails here rather than on a cluster.
//!
//! Scaled down, and only that: `--clients`, `--warmup` and `--duration` are replaced (the Job's
//! own load is for a cluster), the latency bound of the merge's threshold is widened (tests judge
//! behaviour, not speed), `chat-server:PORT` leads through the Service to the in-process server's
//! real loopback ports, and the reports volume is a temporary directory.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assert_cmd::cargo::cargo_bin;
use clap::Parser;
use loadgen::Summary;
use yaml_rust2::{Yaml, YamlLoader};

mod common;
use common::show;

/// Bots in the whole scaled-down run, shared by the shards.
const CLIENTS: u64 = 40;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .into()
}

fn read(rel: &str) -> String {
    let path = repo().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn manifest(file: &str) -> Vec<Yaml> {
    let rel = format!("deploy/kubernetes/{file}");
    YamlLoader::load_from_str(&read(&rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn of_kind<'a>(docs: &'a [Yaml], kind: &str) -> &'a Yaml {
    docs.iter()
        .find(|d| d["kind"].as_str() == Some(kind))
        .unwrap_or_else(|| panic!("no {kind} in {docs:?}"))
}

fn strings(y: &Yaml) -> Vec<String> {
    let items = y.as_vec().unwrap_or_else(|| panic!("not a list: {y:?}"));
    items
        .iter()
        .map(|i| match i {
            Yaml::String(s) => s.clone(),
            Yaml::Integer(n) => n.to_string(),
            other => panic!("not a string: {other:?}"),
        })
        .collect()
}

fn int(y: &Yaml) -> i64 {
    y.as_i64()
        .unwrap_or_else(|| panic!("not an integer: {y:?}"))
}

/// The single container of a Deployment's or Job's pod template.
fn container(workload: &Yaml) -> &Yaml {
    let containers = workload["spec"]["template"]["spec"]["containers"]
        .as_vec()
        .expect("containers");
    assert_eq!(containers.len(), 1, "one container per pod");
    &containers[0]
}

/// Expands `$(NAME)` from the container's environment, as the kubelet does in `args`.
fn expand(arg: &str, env: &BTreeMap<String, String>) -> String {
    env.iter().fold(arg.to_string(), |a, (k, v)| {
        a.replace(&format!("$({k})"), v)
    })
}

/// Replaces the value of `--flag=VALUE`, failing if the manifest has no such flag, so that a
/// renamed flag cannot leave a cluster-sized load in a test.
fn set_flag(args: &mut [String], flag: &str, value: &str) {
    let prefix = format!("{flag}=");
    let Some(i) = args.iter().position(|a| a.starts_with(&prefix)) else {
        panic!("no {flag}=... in {args:?}");
    };
    args[i] = format!("{prefix}{value}");
}

/// The Service's ports, followed to the server's own listeners: `chat-server:PORT` in a flag
/// becomes the in-process server's loopback address behind that port.
struct Routes {
    service: String,
    to: BTreeMap<u16, SocketAddr>,
}

impl Routes {
    fn new(docs: &[Yaml], listeners: &[(u16, SocketAddr)]) -> Routes {
        let deployment = of_kind(docs, "Deployment");
        let named: BTreeMap<String, u16> = container(deployment)["ports"]
            .as_vec()
            .expect("container ports")
            .iter()
            .map(|p| {
                let name = p["name"].as_str().expect("port name").to_string();
                (name, int(&p["containerPort"]) as u16)
            })
            .collect();
        let service = of_kind(docs, "Service");
        let mut to = BTreeMap::new();
        for p in service["spec"]["ports"].as_vec().expect("service ports") {
            let target = match &p["targetPort"] {
                Yaml::String(name) => *named
                    .get(name)
                    .unwrap_or_else(|| panic!("targetPort {name} names no container port")),
                other => int(other) as u16,
            };
            let (_, addr) = listeners
                .iter()
                .find(|(port, _)| *port == target)
                .unwrap_or_else(|| {
                    panic!("container port {target} is not a port the server's flags listen on")
                });
            to.insert(int(&p["port"]) as u16, *addr);
        }
        let name = service["metadata"]["name"].as_str().expect("service name");
        Routes {
            service: name.into(),
            to,
        }
    }

    fn route(&self, host_port: &str) -> String {
        let (host, port) = host_port.rsplit_once(':').expect("HOST:PORT");
        assert_eq!(host, self.service, "{host_port} is not the Service");
        let port: u16 = port.parse().unwrap();
        self.to
            .get(&port)
            .unwrap_or_else(|| panic!("the Service has no port {port}"))
            .to_string()
    }
}

/// The Dockerfile's `ENTRYPOINT` and `CMD` of a target stage, as JSON arrays.
fn image_command(target: &str) -> (Vec<String>, Vec<String>) {
    let dockerfile = read("Dockerfile");
    let stage = dockerfile
        .split("\nFROM ")
        .find(|s| {
            s.lines()
                .next()
                .unwrap()
                .ends_with(&format!(" AS {target}"))
        })
        .unwrap_or_else(|| panic!("no stage {target} in the Dockerfile"));
    assert!(
        stage.lines().next().unwrap().contains(":nonroot"),
        "the runtime image runs as the nonroot user the manifests name"
    );
    let instruction = |word: &str| -> Vec<String> {
        let line = stage
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{word} ")))
            .unwrap_or_else(|| panic!("no {word} in stage {target}"));
        serde_json::from_str(line).unwrap()
    };
    (instruction("ENTRYPOINT"), instruction("CMD"))
}

fn server_args(args: &[String]) -> chat_server::cli::Args {
    chat_server::cli::Args::try_parse_from(
        std::iter::once("chat-server".to_string()).chain(args.iter().cloned()),
    )
    .unwrap_or_else(|e| panic!("chat-server refuses {args:?}: {e}"))
}

#[test]
fn the_images_default_commands_are_accepted() {
    let (entry, cmd) = image_command("chat-server");
    assert_eq!(entry, ["/usr/local/bin/chat-server"]);
    let config = server_args(&cmd).into_config().unwrap();
    assert!(
        config.listen.ip().is_unspecified(),
        "reachable from outside the container"
    );
    assert!(config.metrics.is_some());

    let (entry, cmd) = image_command("loadgen");
    assert_eq!(entry, ["/usr/local/bin/loadgen"]);
    let out = Command::new(cargo_bin("loadgen"))
        .args(&cmd)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
}

#[test]
fn the_kubernetes_run_works_scaled_down_on_loopback() {
    // The server under test, with the Deployment's flags; its addresses moved to loopback.
    let docs = manifest("chat-server.yaml");
    let deployment = of_kind(&docs, "Deployment");
    let server_flags = strings(&container(deployment)["args"]);
    let mut config = server_args(&server_flags).into_config().unwrap();
    let listen_port = config.listen.port();
    let metrics_port = config
        .metrics
        .expect("the Deployment serves --metrics")
        .port();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.metrics = Some("127.0.0.1:0".parse().unwrap());
    let server = chat_server::RunningServer::start(config).unwrap();
    let routes = Routes::new(
        &docs,
        &[
            (listen_port, server.addr()),
            (metrics_port, server.metrics_addr().unwrap()),
        ],
    );

    // The shards' Job: one pod per completion index, the index as SHARD.
    let job_text = read("deploy/kubernetes/loadgen-job.yaml");
    let job = &YamlLoader::load_from_str(&job_text).unwrap()[0];
    assert_eq!(job["spec"]["completionMode"].as_str(), Some("Indexed"));
    let pods = int(&job["spec"]["completions"]);
    assert_eq!(
        int(&job["spec"]["parallelism"]),
        pods,
        "every shard runs at once"
    );
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(
        pod["restartPolicy"].as_str(),
        Some("Never"),
        "a shard is not rerun late"
    );
    assert_eq!(
        int(&pod["securityContext"]["fsGroup"]),
        65532,
        "the nonroot user can write the reports"
    );
    let c = container(job);
    let mut env = BTreeMap::new();
    let mut index_var = None;
    for e in c["env"].as_vec().expect("env") {
        let name = e["name"].as_str().unwrap().to_string();
        match e["value"].as_str() {
            Some(v) => {
                env.insert(name, v.to_string());
            }
            None => {
                assert_eq!(
                    e["valueFrom"]["fieldRef"]["fieldPath"].as_str(),
                    Some("metadata.annotations['batch.kubernetes.io/job-completion-index']")
                );
                index_var = Some(name);
            }
        }
    }
    let index_var = index_var.expect("a variable holding the completion index");
    let mount = c["volumeMounts"][0]["mountPath"]
        .as_str()
        .unwrap()
        .to_string();
    let reports = std::env::temp_dir().join(format!("loadgen-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&reports).unwrap();

    // What `envsubst '$START_AT'` fills in: the only ${...} in the file.
    assert_eq!(
        job_text.matches("${").count(),
        1,
        "only ${{START_AT}} is substituted"
    );
    let start_at = (SystemTime::now() + Duration::from_secs(5))
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut shards = Vec::new();
    for index in 0..pods {
        env.insert(index_var.clone(), index.to_string());
        let mut args: Vec<String> = strings(&c["args"])
            .iter()
            .map(|a| expand(a, &env).replace("${START_AT}", &start_at.to_string()))
            .map(|a| a.replace(&mount, reports.to_str().unwrap()))
            .collect();
        assert!(
            args.iter().all(|a| !a.contains('$')),
            "a variable left unexpanded: {args:?}"
        );
        set_flag(&mut args, "--clients", &CLIENTS.to_string());
        set_flag(&mut args, "--warmup", "1s");
        set_flag(&mut args, "--duration", "2s");
        for flag in ["--server", "--server-metrics"] {
            let at = args
                .iter()
                .find_map(|a| a.strip_prefix(&format!("{flag}=")))
                .unwrap_or_else(|| panic!("no {flag}= in {args:?}"))
                .to_string();
            set_flag(&mut args, flag, &routes.route(&at));
        }
        let child = Command::new(cargo_bin("loadgen"))
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        shards.push((args, child));
    }
    for (args, child) in shards {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "shard {args:?}\n{}", show(&out));
    }

    // The merge Job, on the files the shards left.
    let merge = &manifest("merge-job.yaml")[0];
    let mut args: Vec<String> = strings(&container(merge)["args"]);
    assert_eq!(args[0], "merge");
    let inputs: Vec<&String> = args[1..]
        .iter()
        .take_while(|a| !a.starts_with('-'))
        .collect();
    let written: Vec<String> = (0..pods)
        .map(|i| format!("{mount}/shard-{i}.json"))
        .collect();
    assert_eq!(
        inputs,
        written.iter().collect::<Vec<_>>(),
        "the merge reads every shard's report, once"
    );
    let threshold = args
        .iter()
        .find_map(|a| a.strip_prefix("--threshold="))
        .expect("the merge gates the run")
        .to_string();
    let widened = threshold.replacen("50ms", "10s", 1);
    set_flag(&mut args, "--threshold", &widened);
    let args: Vec<String> = args
        .iter()
        .map(|a| a.replace(&mount, reports.to_str().unwrap()))
        .collect();
    let out = Command::new(cargo_bin("loadgen"))
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "merge {args:?}\n{}", show(&out));

    let run: Summary =
        serde_json::from_str(&std::fs::read_to_string(reports.join("run.json")).unwrap()).unwrap();
    let rate: u64 = strings(&c["args"])
        .iter()
        .find_map(|a| a.strip_prefix("--rate=")?.parse().ok())
        .expect("--rate=N");
    assert_eq!(i64::from(run.shards), pods, "shards merged");
    assert_eq!(
        run.counts.sent,
        CLIENTS * rate * 2,
        "every bot sent for 2 s"
    );
    assert_eq!(run.counts.expected, run.counts.sent * (CLIENTS - 1));
    assert_eq!(run.counts.delivered, run.counts.expected);
    assert_eq!(run.counts.lost, 0);
    assert!(
        run.server_cost.sends_per_delivery.is_some(),
        "the server's metrics were scraped through the Service: {:?}",
        run.server_cost
    );
    assert!(reports.join("run.html").exists());
    std::fs::remove_dir_all(&reports).unwrap();
}
