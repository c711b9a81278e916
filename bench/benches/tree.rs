//! Data tree and engine micro-benchmarks: what one write costs the pipeline core (prep,
//! apply, watch bookkeeping) and what one read costs a shard (lookup, ACL check, Stat).
//!
//! `cargo bench -p ringkeeper-bench --bench tree -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use ringkeeper_engine::proto::{Acl, ConnectRequest, Request, RequestHeader};
use ringkeeper_engine::read::read_tree;
use ringkeeper_engine::tree::DataTree;
use ringkeeper_engine::txn::Data;
use ringkeeper_engine::{Engine, EngineConfig, Now, Output};

const KEYS: usize = 100_000;

fn populated_tree() -> DataTree {
    let mut t = DataTree::new();
    let acl = Acl::open_unsafe();
    let empty: Data = Data::from(&[][..]);
    t.create("/rkbench".into(), empty, &acl, 0, -1, 1, 0)
        .unwrap();
    for i in 0..KEYS {
        let data: Data = Data::from(&[7u8; 100][..]);
        t.create(
            format!("/rkbench/k{i}").into(),
            data,
            &acl,
            0,
            -1,
            2 + i as i64,
            0,
        )
        .unwrap();
    }
    t
}

fn tree(c: &mut Criterion) {
    let t = populated_tree();
    let auth = [];
    let mut i = 0usize;
    c.bench_function("read_tree getData (100k znodes)", |b| {
        b.iter(|| {
            i = (i + 7919) % KEYS;
            let req = Request::GetData {
                path: format!("/rkbench/k{i}"),
                watch: false,
            };
            black_box(read_tree(&t, &auth, false, &req).result.is_ok())
        })
    });
    // A wide parent: 1000 children, as a queue or a broker list has. Read again with no
    // change in between, the parent's kept list is shared; after a child is added and removed,
    // it is sorted and encoded anew.
    let mut wide = DataTree::new();
    let acl = Acl::open_unsafe();
    wide.create("/q".into(), Data::from(&[][..]), &acl, 0, -1, 1, 0)
        .unwrap();
    for i in 0..1000 {
        let path = format!("/q/item-{i:010}");
        wide.create(path.into(), Data::from(&[][..]), &acl, 0, -1, 2 + i, 0)
            .unwrap();
    }
    let list = Request::GetChildren {
        path: "/q".into(),
        watch: false,
        with_stat: false,
    };
    c.bench_function("read_tree getChildren, 1000 children, unchanged", |b| {
        b.iter(|| black_box(read_tree(&wide, &auth, false, &list).result.is_ok()))
    });
    let mut zxid = 10_000;
    c.bench_function(
        "read_tree getChildren, 1000 children, after a change",
        |b| {
            b.iter(|| {
                zxid += 2;
                wide.create("/q/x".into(), Data::from(&[][..]), &acl, 0, -1, zxid, 0)
                    .unwrap();
                wide.delete("/q/x", zxid + 1).unwrap();
                black_box(read_tree(&wide, &auth, false, &list).result.is_ok())
            })
        },
    );
    let mut t2 = populated_tree();
    let mut v = 0i32;
    c.bench_function("DataTree::set_data (100k znodes)", |b| {
        b.iter(|| {
            i = (i + 7919) % KEYS;
            v += 1;
            let data: Data = Data::from(&[1u8; 100][..]);
            t2.set_data(&format!("/rkbench/k{i}"), data, v, 1_000_000 + v as i64, 0)
                .unwrap();
        })
    });
}

/// One setData through the engine: prep, zxid, apply, txn out, durability, reply out.
fn engine_write(c: &mut Criterion) {
    let mut e = Engine::new(EngineConfig::default(), Now::at(1_700_000_000_000));
    let conn = 1;
    let connect = ConnectRequest::new_session(30_000);
    e.handle_connect(conn, "127.0.0.1", &connect, Now::at(1_700_000_000_000));
    let header = RequestHeader {
        xid: 1,
        opcode: ringkeeper_engine::proto::op::CREATE,
    };
    let create = Request::Create {
        opcode: ringkeeper_engine::proto::op::CREATE,
        req: ringkeeper_engine::proto::CreateRequest {
            path: "/b".into(),
            data: vec![].into(),
            acl: Acl::open_unsafe(),
            flags: 0,
            ttl: None,
        },
    };
    e.handle_request(conn, header, create, Now::at(1_700_000_000_000));
    let drain = |e: &mut Engine| {
        let mut last = 0;
        while let Some(t) = e.poll_txn() {
            last = t.zxid;
        }
        e.handle_persisted(last);
        let mut n = 0;
        while let Some(o) = e.poll_output() {
            n += matches!(o, Output::Reply { .. }) as usize;
        }
        n
    };
    drain(&mut e);
    let mut xid = 2;
    c.bench_function("engine setData (prep+apply+release)", |b| {
        b.iter(|| {
            xid += 1;
            let header = RequestHeader {
                xid,
                opcode: ringkeeper_engine::proto::op::SET_DATA,
            };
            let req = Request::SetData {
                path: "/b".into(),
                data: vec![5u8; 100].into(),
                version: -1,
            };
            e.handle_request(conn, header, req, Now::at(1_700_000_000_000));
            black_box(drain(&mut e))
        })
    });
}

criterion_group!(benches, tree, engine_write);
criterion_main!(benches);
