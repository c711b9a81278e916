//! Read-only mode (`Engine::set_read_only`): what an ensemble member out of quorum does with
//! clients, as ZooKeeper's ReadOnlyZooKeeperServer (ZK-PROTOCOL.md, "Read-only mode").

use ringkeeper_engine::proto::{
    op, Acl, ConnectRequest, CreateRequest, ErrorCode, Request, RequestHeader,
};
use ringkeeper_engine::{Engine, EngineConfig, Now, Output};

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

fn create(path: &str) -> Request {
    Request::Create {
        opcode: op::CREATE,
        req: CreateRequest {
            path: path.into(),
            data: b"d".to_vec().into(),
            acl: Acl::open_unsafe(),
            flags: 0,
            ttl: None,
        },
    }
}

fn reply_err(out: &[Output], xid: i32) -> i32 {
    out.iter()
        .find_map(|o| match o {
            Output::Reply { header, .. } if header.xid == xid => Some(header.err),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no reply to xid {xid}: {out:?}"))
}

fn connect(e: &mut Engine, conn: u64, read_only: bool) -> Vec<Output> {
    let mut req = ConnectRequest::new_session(10_000);
    req.read_only = Some(read_only);
    e.handle_connect(conn, "127.0.0.1", &req, Now::at(1_000));
    drain(e)
}

#[test]
fn read_only_serves_reads_refuses_writes_and_clients_that_did_not_ask() {
    let mut e = Engine::new(EngineConfig::default(), Now::at(1_000));
    connect(&mut e, 1, false);
    let now = Now::at(1_000);
    e.handle_request(
        1,
        RequestHeader {
            xid: 1,
            opcode: op::CREATE,
        },
        create("/a"),
        now,
    );
    assert_eq!(reply_err(&drain(&mut e), 1), 0);

    e.set_read_only(true);
    e.close_all_conns();
    let out = drain(&mut e);
    assert!(
        out.iter().any(|o| matches!(o, Output::Close { conn: 1 })),
        "{out:?}"
    );

    // A client that did not ask for read-only mode is closed without an answer.
    let out = connect(&mut e, 2, false);
    assert!(
        matches!(out.as_slice(), [Output::Close { conn: 2 }]),
        "{out:?}"
    );

    // One that asked gets a local session, marked read-only, and no txn is logged.
    let out = connect(&mut e, 3, true);
    let resp = out
        .iter()
        .find_map(|o| match o {
            Output::Connected { conn: 3, resp } => Some(resp.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{out:?}"));
    assert_eq!(resp.read_only, Some(true));
    assert_ne!(resp.session_id, 0);
    assert!(e.poll_txn().is_none());

    let get = Request::GetData {
        path: "/a".into(),
        watch: false,
    };
    e.handle_request(
        3,
        RequestHeader {
            xid: 2,
            opcode: op::GET_DATA,
        },
        get,
        now,
    );
    assert_eq!(reply_err(&drain(&mut e), 2), 0);
    let writes = [
        (3, op::CREATE, create("/b")),
        (
            4,
            op::SET_DATA,
            Request::SetData {
                path: "/a".into(),
                data: b"x".to_vec().into(),
                version: -1,
            },
        ),
        (5, op::SYNC, Request::Sync { path: "/".into() }),
    ];
    for (xid, opcode, req) in writes {
        e.handle_request(3, RequestHeader { xid, opcode }, req, now);
        assert_eq!(
            reply_err(&drain(&mut e), xid),
            ErrorCode::NotReadOnly.code(),
            "xid {xid}"
        );
    }
    assert!(e.poll_txn().is_none(), "nothing is logged while read-only");

    // Back in quorum: read-only sessions are dropped with their connections.
    e.set_read_only(false);
    e.close_all_conns();
    let out = drain(&mut e);
    assert!(
        out.iter().any(|o| matches!(o, Output::Close { conn: 3 })),
        "{out:?}"
    );
}
