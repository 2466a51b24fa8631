#![allow(missing_docs)] // criterion_group! generates undocumented functions
//! Encoding benchmarks for the portable wire types.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use thinjail::netif::wire::IfReq;

fn ifreq(c: &mut Criterion) {
    c.bench_function("ifreq_new_and_jid", |b| {
        b.iter(|| {
            let mut r = IfReq::new(black_box("epair253b")).expect("valid name");
            r.set_jid(black_box(253));
            black_box(r)
        })
    });
}

criterion_group!(benches, ifreq);
criterion_main!(benches);
