//! Page tokens of `ListUsers`: encoding the last id of a page, decoding the token of the next
//! request (and refusing a forged one). `cargo bench -p user-registry --bench page_token`.
#![allow(clippy::unwrap_used)] // a benchmark fails loudly on a broken set-up
#![allow(clippy::disallowed_methods)] // it measures wall time

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use user_registry::{
    domain::RosterId,
    grpc::{page_token, parse_page_token},
};

fn page_tokens(c: &mut Criterion) {
    let id = RosterId::generate();
    let token = page_token(&id);
    let mut group = c.benchmark_group("page_token");
    group.bench_function("encode", |b| b.iter(|| page_token(black_box(&id))));
    group.bench_function("decode", |b| b.iter(|| parse_page_token(black_box(&token)).expect("valid")));
    group.bench_function("decode_forged", |b| b.iter(|| parse_page_token(black_box("7531")).is_err()));
    group.finish();
}

criterion_group!(benches, page_tokens);
criterion_main!(benches);
