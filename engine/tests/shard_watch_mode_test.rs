//! `EngineConfig::watches_at_shards`: the engine keeps no watches and tells the connection
//! shards, in its output stream, where each committed txn falls (`TxnApplied`) and which
//! watch requests to perform (`Watch`), so each shard can fire its own connections' watches
//! in exactly the order the engine would have.

use ringkeeper_engine::proto::{ConnectRequest, CreateRequest, ErrorCode, Request, RequestHeader};
use ringkeeper_engine::read::WatchRequest;
use ringkeeper_engine::watch::ops::WatchOp;
use ringkeeper_engine::watch::Table;
use ringkeeper_engine::{Engine, EngineConfig, Now, Output};

fn engine() -> Engine {
    let config = EngineConfig {
        watches_at_shards: true,
        ..EngineConfig::default()
    };
    Engine::new(config, Now::at(1_000))
}

/// Runs the engine until its outputs are released, as the pipeline does.
fn drain(e: &mut Engine) -> Vec<Output> {
    let mut last = None;
    while let Some(t) = e.poll_txn() {
        last = Some(t.zxid);
    }
    if let Some(z) = last {
        e.handle_persisted(z);
    }
    std::iter::from_fn(|| e.poll_output()).collect()
}

fn connect(e: &mut Engine, conn: u64) {
    let req = ConnectRequest::new_session(10_000);
    e.handle_connect(conn, "127.0.0.1", &req, Now::at(1_000));
}

fn request(e: &mut Engine, conn: u64, xid: i32, opcode: i32, req: Request) {
    e.handle_request(conn, RequestHeader { xid, opcode }, req, Now::at(1_000));
}

#[test]
fn txns_and_watch_requests_go_to_the_shards_in_stream_order() {
    let mut e = engine();
    connect(&mut e, 1);
    let out = drain(&mut e);
    assert!(matches!(out[0], Output::AuthIds { .. }), "{out:?}");
    assert!(
        matches!(out[1], Output::TxnApplied { .. }),
        "createSession: {out:?}"
    );
    assert!(matches!(out[2], Output::Connected { .. }), "{out:?}");

    let create = CreateRequest {
        path: "/w".into(),
        data: b"a".to_vec().into(),
        acl: ringkeeper_engine::proto::Acl::open_unsafe(),
        flags: 0,
        ttl: None,
    };
    request(
        &mut e,
        1,
        1,
        1,
        Request::Create {
            opcode: 1,
            req: create,
        },
    );
    let out = drain(&mut e);
    let Output::TxnApplied { zxid } = out[0] else {
        panic!("txn marker before the reply: {out:?}");
    };
    assert!(matches!(&out[1], Output::Reply { header, .. } if header.zxid == zxid));

    // A watch armed by a read the engine serves goes to the shard before the reply.
    let get = Request::GetData {
        path: "/w".into(),
        watch: true,
    };
    request(&mut e, 1, 2, 4, get);
    let out = drain(&mut e);
    let expected = WatchOp::Register(WatchRequest {
        table: Table::Data,
        path: "/w".into(),
        existed: true,
    });
    assert!(
        matches!(&out[0], Output::Watch { conn: 1, op, reply: None } if *op == expected),
        "{out:?}"
    );
    assert!(matches!(&out[1], Output::Reply { header, .. } if header.xid == 2));

    // The change fires nothing in the engine: only the marker, then the reply.
    let set = Request::SetData {
        path: "/w".into(),
        data: b"b".to_vec().into(),
        version: -1,
    };
    request(&mut e, 1, 3, 5, set);
    let out = drain(&mut e);
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(matches!(out[0], Output::TxnApplied { .. }));
    assert!(e.watches().watch_count() == 0);

    // checkWatches is answered by the shard, with the engine's zxid at that point.
    let check = Request::CheckWatches {
        path: "/w".into(),
        watcher_type: 1,
    };
    request(&mut e, 1, 4, 17, check);
    let out = drain(&mut e);
    let last = e.last_zxid();
    assert!(
        matches!(&out[0], Output::Watch { op: WatchOp::Remove { remove: false, .. }, reply: Some((4, z)), .. } if *z == last),
        "{out:?}"
    );
    // A bad watcher type is still the engine's own MARSHALLINGERROR.
    let bad = Request::RemoveWatches {
        path: "/w".into(),
        watcher_type: 9,
    };
    request(&mut e, 1, 5, 18, bad);
    let out = drain(&mut e);
    assert!(matches!(&out[0], Output::Reply { header, .. }
        if header.err == ErrorCode::MarshallingError.code()));
}
