//! The sender's side of a broadcast: one encoded line appended to N recipients' outboxes, with
//! the flusher pool writing to real loopback sockets that are drained by reader threads.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use chat_server::flusher::Flusher;
use chat_server::outbox::{Line, Outbox};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

struct Recipients {
    outboxes: Vec<Arc<Outbox>>,
    flusher: Arc<Flusher>,
    _readers: Vec<std::thread::JoinHandle<()>>,
}

fn recipients(n: usize) -> Recipients {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let flusher = Flusher::start(1).unwrap();
    let mut outboxes = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..n {
        let client = TcpStream::connect(addr).unwrap();
        let (server, _) = listener.accept().unwrap();
        readers.push(
            std::thread::Builder::new()
                .stack_size(64 * 1024)
                .spawn(move || {
                    let mut c = client;
                    let mut buf = vec![0u8; 64 * 1024];
                    while matches!(c.read(&mut buf), Ok(n) if n > 0) {}
                })
                .unwrap(),
        );
        outboxes.push(Arc::new(Outbox::new(
            Arc::new(server),
            usize::MAX,
            flusher.clone(),
        )));
    }
    Recipients {
        outboxes,
        flusher,
        _readers: readers,
    }
}

fn fanout(c: &mut Criterion) {
    let line: Line = Arc::from(&b"MSG alice_1234 hello everyone, an ordinary chat line\n"[..]);
    let mut group = c.benchmark_group("fan-out one line");
    for n in [16usize, 128, 512] {
        let r = recipients(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &r, |b, r| {
            b.iter(|| {
                for o in &r.outboxes {
                    o.push(&line);
                }
            })
        });
        for o in &r.outboxes {
            o.close_now();
        }
        r.flusher.shutdown();
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
