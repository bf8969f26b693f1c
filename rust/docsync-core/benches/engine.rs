//! criterion benches of docsync-core: the codec (small messages, a 1M-row float64
//! column) and the column store (appends with rollover at 10 k and 1 M rows).
//!
//! Run: `cargo bench -p docsync-core --bench engine` (add `-- --quick` for a fast pass).
//! Speed is reported, never asserted.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use docsync_core::codec::{self, aligned_copy, Limits};
use docsync_core::columns::ColumnData;
use docsync_core::{TypedArray, Value};
use indexmap::IndexMap;

fn small_patch() -> Value {
    let mut ev = IndexMap::new();
    ev.insert("k".to_string(), Value::str("set"));
    ev.insert("id".to_string(), Value::str("p1001"));
    ev.insert("prop".to_string(), Value::str("line_alpha"));
    ev.insert("value".to_string(), Value::Float(0.5));
    let mut p = IndexMap::new();
    p.insert("events".to_string(), Value::List(vec![Value::Map(ev)]));
    Value::Map(p)
}

fn column(n: usize) -> TypedArray {
    TypedArray::from_f64(&(0..n).map(|i| i as f64).collect::<Vec<_>>())
}

fn codec_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("codec");
    let payload = small_patch();
    g.bench_function("encode_message/small_patch", |b| {
        b.iter(|| codec::encode_message("patch", Some(7), None, Some(black_box(&payload))).unwrap())
    });
    let bytes = codec::encode_message("patch", Some(7), None, Some(&payload)).unwrap();
    g.bench_function("decode_message/small_patch", |b| {
        b.iter(|| codec::decode_message(black_box(&bytes), Limits::default()).unwrap())
    });

    let n = 1_000_000;
    let mut m = IndexMap::new();
    m.insert("x".to_string(), Value::Array(column(n)));
    let big = Value::Map(m);
    g.throughput(Throughput::Bytes((n * 8) as u64));
    g.bench_function("encode/1M_f64_column", |b| b.iter(|| codec::encode(black_box(&big)).unwrap()));
    let big_bytes = codec::encode(&big).unwrap();
    g.bench_function("decode/1M_f64_column (copy)", |b| {
        b.iter(|| codec::decode(black_box(&big_bytes), Limits::new(usize::MAX, 64)).unwrap())
    });
    let buffer = aligned_copy(&big_bytes);
    g.bench_function("decode_buffer/1M_f64_column (zero-copy)", |b| {
        b.iter(|| codec::decode_buffer(black_box(&buffer), Limits::new(usize::MAX, 64)).unwrap())
    });
    g.bench_function("memcpy/8MB (baseline)", |b| b.iter(|| black_box(&big_bytes).to_vec()));
    g.finish();
}

fn source(n: usize, cols: usize) -> ColumnData {
    let mut m = IndexMap::new();
    for c in 0..cols {
        m.insert(format!("c{c}"), Value::Array(column(n)));
    }
    ColumnData::from_map(m).unwrap()
}

fn rows(k: usize, cols: usize) -> IndexMap<String, Value> {
    (0..cols).map(|c| (format!("c{c}"), Value::Array(column(k)))).collect()
}

fn column_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("columns");
    for &n in &[10_000usize, 1_000_000] {
        for &k in &[1usize, 100] {
            let new = rows(k, 3);
            let mut data = source(n, 3);
            data.stream(&new, Some(n as i64)).unwrap(); // into growable memory
            g.bench_function(format!("stream {k} rows x 3 f64, rollover={n}"), |b| {
                b.iter(|| data.stream(black_box(&new), Some(n as i64)).unwrap())
            });
            g.bench_function(format!("stream+encode {k} rows x 3 f64, rollover={n}"), |b| {
                b.iter(|| {
                    data.stream(black_box(&new), Some(n as i64)).unwrap();
                    let mut p = IndexMap::new();
                    p.insert("columns".to_string(), Value::Map(new.clone()));
                    codec::encode_message("patch", Some(1), None, Some(&Value::Map(p))).unwrap()
                })
            });
        }
    }
    let new = rows(10_000, 2);
    g.throughput(Throughput::Bytes(10_000 * 2 * 8));
    g.bench_function("stream 10k rows x 2 f64 (fresh source)", |b| {
        b.iter_batched(|| source(0, 2), |mut d| d.stream(&new, None).unwrap(), BatchSize::SmallInput)
    });
    let raw: Vec<u8> = vec![1u8; 10_000 * 2 * 8];
    g.bench_function("memcpy 160kB (baseline)", |b| b.iter(|| black_box(&raw).to_vec()));
    let mut patched = source(1_000_000, 1);
    let mut pm = IndexMap::new();
    pm.insert("c0".to_string(), Value::List(vec![Value::List(vec![Value::Int(5), Value::Float(1.0)])]));
    patched.patch(&pm).unwrap();
    g.bench_function("patch 1 element of a 1M column (no live views)", |b| {
        b.iter(|| patched.patch(black_box(&pm)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, codec_benches, column_benches);
criterion_main!(benches);
