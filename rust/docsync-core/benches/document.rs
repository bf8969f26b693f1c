//! criterion benches of the document engine: one small property change recorded,
//! flushed and encoded; a small patch applied; a stream with rollover at 10 k and 1 M rows
//! including its message; the diff of a 2,000-model document with one change; a
//! snapshot of a 1 M-row float64 column.
//!
//! Run: `cargo bench -p docsync-core --bench document` (add `-- --quick` for a fast pass).
//! Speed is reported, never asserted.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use docsync_core::codec::Limits;
use docsync_core::diff::diff_documents;
use docsync_core::document::Document;
use docsync_core::event::Event;
use docsync_core::patch::Patch;
use docsync_core::schema::register_type;
use docsync_core::{TypedArray, Value};
use indexmap::IndexMap;

fn register() {
    register_type(
        "BenchGlyph",
        vec![
            ("line_alpha".into(), "float".into(), Value::Float(1.0), true),
            ("line_color".into(), "color".into(), Value::str("black"), false),
            ("name".into(), "str".into(), Value::str(""), false),
        ],
    )
    .unwrap();
    register_type("BenchRoot", vec![("children".into(), "list(ref)".into(), Value::List(vec![]), false)]).unwrap();
    register_type("BenchSource", vec![("data".into(), "columns".into(), Value::Map(IndexMap::new()), true)]).unwrap();
}

fn doc_with(n: usize) -> Document {
    register();
    let mut d = Document::new();
    let children = (0..n).map(|i| Value::Ref(Arc::from(format!("g{i}")))).collect();
    for i in 0..n {
        let mut props = IndexMap::new();
        props.insert("line_alpha".to_string(), Value::Float(i as f64 / n as f64));
        props.insert("name".to_string(), Value::str(&format!("glyph {i}")));
        d.add_model(&format!("g{i}"), "BenchGlyph", props).unwrap();
    }
    let mut props = IndexMap::new();
    props.insert("children".to_string(), Value::List(children));
    d.add_model("root", "BenchRoot", props).unwrap();
    d.add_root("root").unwrap();
    d.flush();
    d
}

fn source_doc(rows: usize) -> Document {
    register();
    let mut d = Document::new();
    let mut data = IndexMap::new();
    for name in ["x", "y", "z"] {
        data.insert(name.to_string(), Value::Array(TypedArray::from_f64(&vec![1.0; rows])));
    }
    let mut props = IndexMap::new();
    props.insert("data".to_string(), Value::Map(data));
    d.add_model("src", "BenchSource", props).unwrap();
    d.add_root("src").unwrap();
    d.flush();
    d
}

fn rows(n: usize) -> IndexMap<String, Value> {
    ["x", "y", "z"].iter().map(|c| (c.to_string(), Value::Array(TypedArray::from_f64(&vec![2.0; n])))).collect()
}

fn document_benches(c: &mut Criterion) {
    let mut d = doc_with(10);
    let mut seq = 0i64;
    let mut x = 0.0;
    c.bench_function("set + flush + to_message (one small change)", |b| {
        b.iter(|| {
            x += 0.001;
            d.set("g3", "line_alpha", Value::Float(x)).unwrap();
            let p = d.flush().unwrap();
            seq += 1;
            black_box(p.to_message(seq).unwrap());
        })
    });

    let mut d = doc_with(10);
    let patch = Patch::from_events(vec![Event::Set { id: Arc::from("g3"), prop: "line_alpha".into(), value: Value::Float(0.25) }]);
    c.bench_function("apply small patch (client)", |b| b.iter(|| black_box(d.apply(&patch, true).unwrap())));

    let encoded = patch.encode().unwrap();
    c.bench_function("decode + apply small patch", |b| {
        b.iter(|| {
            let p = Patch::decode(&encoded, Limits::default()).unwrap();
            black_box(d.apply(&p, true).unwrap())
        })
    });

    let a = doc_with(2000);
    let mut b2 = a.copy();
    b2.set("g1234", "line_color", Value::str("red")).unwrap();
    c.bench_function("diff 2,000 models, one change (shared copy)", |b| b.iter(|| black_box(diff_documents(&a, &b2))));
    let b3 = Document::from_snapshot(&b2.snapshot().unwrap(), Limits::default()).unwrap();
    c.bench_function("diff 2,000 models, one change (independent documents)", |b| b.iter(|| black_box(diff_documents(&a, &b3))));

    for n in [10_000usize, 1_000_000] {
        let mut d = source_doc(n);
        let one = rows(1);
        c.bench_function(&format!("stream 1 row x 3 cols, rollover {n} + message"), |b| {
            b.iter(|| {
                d.stream("src", "data", one.clone(), Some(n as i64)).unwrap();
                black_box(d.flush().unwrap().to_message(1).unwrap());
            })
        });
        let hundred = rows(100);
        c.bench_function(&format!("stream 100 rows x 3 cols, rollover {n} + message"), |b| {
            b.iter(|| {
                d.stream("src", "data", hundred.clone(), Some(n as i64)).unwrap();
                black_box(d.flush().unwrap().to_message(1).unwrap());
            })
        });
    }

    // A large column payload: decode and apply a 100,000-row x 3 stream.
    let big = Patch::from_events(vec![Event::Stream { id: Arc::from("src"), prop: "data".into(), columns: rows(100_000), rollover: Some(200_000) }]);
    let big_bytes = big.encode().unwrap();
    let mut d = source_doc(10);
    let mut g = c.benchmark_group("large patch");
    g.throughput(Throughput::Bytes(big_bytes.len() as u64));
    g.bench_function("encode 100k rows x 3 float64", |b| b.iter(|| black_box(Patch::from_events(big.events().to_vec()).encode().unwrap())));
    g.bench_function("decode + apply 100k rows x 3 float64 (rollover 200k)", |b| {
        b.iter(|| {
            let p = Patch::decode(&big_bytes, Limits::default()).unwrap();
            black_box(d.apply(&p, false).unwrap())
        })
    });
    g.finish();

    let d = source_doc(1_000_000);
    let mut g = c.benchmark_group("snapshot");
    g.throughput(Throughput::Bytes(3 * 8 * 1_000_000));
    g.bench_function("3 x 1M-row float64 columns", |b| b.iter(|| black_box(d.snapshot().unwrap())));
    g.finish();
}

criterion_group!(benches, document_benches);
criterion_main!(benches);
