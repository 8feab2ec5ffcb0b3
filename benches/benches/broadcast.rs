//! End to end over loopback: one client's line until every other in-process client has it.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use chat_server::{Config, RunningServer};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};

struct Client {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn join(addr: std::net::SocketAddr, name: &str) -> Client {
        let s = TcpStream::connect(addr).unwrap();
        let mut c = Client {
            writer: s.try_clone().unwrap(),
            reader: BufReader::new(s),
        };
        c.line();
        writeln!(c.writer, "{name}").unwrap();
        c.line();
        c.line();
        c
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.reader.read_line(&mut l).unwrap();
        l
    }
}

fn broadcast(c: &mut Criterion) {
    let server = RunningServer::start(Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    })
    .unwrap();
    let mut group = c.benchmark_group("broadcast round trip");
    for n in [8usize, 32] {
        let mut clients: Vec<Client> = (0..n)
            .map(|i| Client::join(server.addr(), &format!("b{n}_{i}")))
            .collect();
        // Everyone has seen everyone's JOIN before measuring.
        for (i, c) in clients.iter_mut().enumerate() {
            for _ in i + 1..n {
                c.line();
            }
        }
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                clients[0].writer.write_all(b"ping\n").unwrap();
                for other in clients.iter_mut().skip(1) {
                    other.line();
                }
            })
        });
        for c in &mut clients {
            c.writer.write_all(b"/quit\n").unwrap();
        }
        // Drain the LEAVE lines so the next group starts clean.
        drop(clients);
    }
    group.finish();
    server.stop().unwrap();
}

criterion_group!(benches, broadcast);
criterion_main!(benches);
