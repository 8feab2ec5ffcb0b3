//! Encoding and parsing protocol lines, and framing a buffer of them.

use batepapo_protocol::{ClientCommand, LineDecoder, ServerMessage};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

fn msg() -> ServerMessage {
    ServerMessage::Msg {
        from: "alice_1234".into(),
        text: "hello everyone, this is a fairly ordinary chat line".into(),
    }
}

fn encode_parse(c: &mut Criterion) {
    let m = msg();
    let line = m.encode();
    c.bench_function("encode MSG", |b| b.iter(|| black_box(&m).encode()));
    c.bench_function("parse MSG", |b| {
        b.iter(|| ServerMessage::parse(black_box(&line)).unwrap())
    });
    c.bench_function("parse client @private", |b| {
        b.iter(|| ClientCommand::parse(black_box("@bob_77 are you there?")))
    });
}

fn framing(c: &mut Criterion) {
    let mut input = Vec::new();
    while input.len() < 64 * 1024 {
        input.extend_from_slice(msg().encode().as_bytes());
    }
    let mut group = c.benchmark_group("framing");
    group.throughput(Throughput::Bytes(input.len() as u64));
    group.bench_function("64 KiB of lines", |b| {
        b.iter(|| {
            let mut d = LineDecoder::new(4096);
            d.push(black_box(&input));
            let mut n = 0;
            while let Some(line) = d.next_line() {
                n += line.map(|l| l.len()).unwrap_or(0);
            }
            n
        })
    });
    group.finish();
}

criterion_group!(benches, encode_parse, framing);
criterion_main!(benches);
