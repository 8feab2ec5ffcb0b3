//! The sender's side of a broadcast: one encoded line appended to N recipients' outboxes, with
//! the flusher pool writing to real loopback sockets that are drained by reader threads.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use chat_server::budget::Budget;
use chat_server::config::WriteMode;
use chat_server::delivery::Delivery;
use chat_server::line::Line;
use chat_server::outbox::{push_all, Outbox};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};

struct Recipients {
    outboxes: Vec<Arc<Outbox>>,
    delivery: Arc<Delivery>,
    _readers: Vec<std::thread::JoinHandle<()>>,
}

fn recipients(n: usize) -> Recipients {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let delivery = Delivery::start(
        1,
        usize::MAX,
        WriteMode::Batched,
        Arc::new(Budget::new(usize::MAX, usize::MAX)),
        Arc::default(),
    )
    .unwrap();
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
            outboxes.len() as u64,
            Arc::new(server),
            delivery.clone(),
        )));
    }
    Recipients {
        outboxes,
        delivery,
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
            b.iter(|| push_all(&r.outboxes, &line))
        });
        for o in &r.outboxes {
            o.close_now();
        }
        r.delivery.shutdown();
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
