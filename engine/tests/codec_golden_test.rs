//! Golden byte tests for the jute codec.
//!
//! Goal: every frame and txn Ringkeeper writes is byte-identical to what Apache ZooKeeper 3.8
//! writes, and every such frame decodes to the intended value. Method: the expected bytes live
//! in `tests/golden/*.golden`, written by hand from ZK-PROTOCOL.md with the layout commented
//! (see `golden/README.md`); each case is checked in both directions, encoder output against
//! the file and decoder output against a value built here.

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use ringkeeper_engine::proto::{
    decode_connect_request, decode_connect_response, decode_reply_header, decode_request,
    decode_request_header, decode_response, decode_txn, decode_watcher_event,
    encode_connect_request, encode_connect_response, encode_notification, encode_reply,
    encode_request, encode_txn, op, Acl, ClientInfo, ConnectRequest, ConnectResponse,
    CreateRequest, DecodeError, MultiOp, MultiReadOp, MultiResult, ReplyHeader, Request,
    RequestHeader, Response, SetWatches, Stat, WatcherEvent,
};
use ringkeeper_engine::txn::{Txn, TxnBody};

// ---------------------------------------------------------------------------------------------
// Golden file loading

fn parse_hex(token: &str, name: &str) -> Vec<u8> {
    token
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .filter(|p| p.len() == 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .unwrap_or_else(|| panic!("{name}: bad hex token {token:?}"))
        })
        .collect()
}

/// Raw cases: name -> tokens (unresolved, since `$name` may point forward or to another file).
fn load_raw() -> HashMap<String, Vec<String>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases: HashMap<String, Vec<String>> = HashMap::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("golden dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "golden"))
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no golden files in {}", dir.display());
    for path in entries {
        let text = std::fs::read_to_string(&path).expect("golden file");
        let mut current: Option<String> = None;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if let Some(name) = line.strip_prefix("== ") {
                let name = name.trim().to_string();
                assert!(!cases.contains_key(&name), "duplicate golden case {name}");
                cases.insert(name.clone(), Vec::new());
                current = Some(name);
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let name = current.clone().expect("tokens before the first `== name`");
            let tokens = cases.get_mut(&name).expect("current case");
            tokens.extend(line.split_whitespace().map(str::to_string));
        }
    }
    cases
}

fn resolve(name: &str, raw: &HashMap<String, Vec<String>>, depth: usize) -> Vec<u8> {
    assert!(depth < 8, "golden include loop at {name}");
    let tokens = raw
        .get(name)
        .unwrap_or_else(|| panic!("no golden case {name}"));
    let mut out = Vec::new();
    for token in tokens {
        if let Some(include) = token.strip_prefix('$') {
            out.extend(resolve(include, raw, depth + 1));
        } else if let Some(text) = token.strip_prefix('"') {
            let text = text.strip_suffix('"').expect("unterminated string token");
            out.extend_from_slice(text.as_bytes());
        } else {
            out.extend(parse_hex(token, name));
        }
    }
    out
}

fn goldens() -> &'static HashMap<String, Vec<u8>> {
    static CELL: OnceLock<HashMap<String, Vec<u8>>> = OnceLock::new();
    CELL.get_or_init(|| {
        let raw = load_raw();
        raw.keys()
            .map(|name| (name.clone(), resolve(name, &raw, 0)))
            .collect()
    })
}

fn golden(name: &str) -> &'static [u8] {
    goldens()
        .get(name)
        .unwrap_or_else(|| panic!("no golden case {name}"))
}

/// Checks the length prefix against the bytes that follow and returns the frame body.
fn frame_body(name: &str) -> &'static [u8] {
    let bytes = golden(name);
    assert!(bytes.len() >= 4, "{name}: shorter than a length prefix");
    let (len, body) = bytes.split_at(4);
    let len = i32::from_be_bytes(len.try_into().expect("4 bytes"));
    assert_eq!(
        len as usize,
        body.len(),
        "{name}: length prefix disagrees with the body"
    );
    body
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[track_caller]
fn assert_bytes(name: &str, actual: &[u8]) {
    let expected = golden(name);
    assert_eq!(
        hex(actual),
        hex(expected),
        "{name}: encoded bytes differ from the golden file"
    );
}

// ---------------------------------------------------------------------------------------------
// Fixtures

fn stat() -> Stat {
    Stat {
        czxid: 1,
        mzxid: 2,
        ctime: 3,
        mtime: 4,
        version: 5,
        cversion: 6,
        aversion: 7,
        ephemeral_owner: 8,
        data_length: 9,
        num_children: 10,
        pzxid: 11,
    }
}

fn s(v: &str) -> String {
    v.to_string()
}

fn create_req(flags: i32, ttl: Option<i64>) -> CreateRequest {
    CreateRequest {
        path: s("/a"),
        data: b"hi".to_vec().into(),
        acl: Acl::open_unsafe(),
        flags,
        ttl,
    }
}

// ---------------------------------------------------------------------------------------------
// Connect

#[test]
fn golden_connect_request() {
    let mut req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0x1234,
        timeout_ms: 30000,
        session_id: 0,
        passwd: vec![0; 16],
        read_only: Some(false),
    };
    let mut out = Vec::new();
    encode_connect_request(&req, &mut out);
    assert_bytes("connect_request", &out);
    assert_eq!(
        decode_connect_request(frame_body("connect_request")),
        Ok(req.clone())
    );

    req.read_only = None;
    let mut out = Vec::new();
    encode_connect_request(&req, &mut out);
    assert_bytes("connect_request_old_client", &out);
    assert_eq!(
        decode_connect_request(frame_body("connect_request_old_client")),
        Ok(req)
    );
}

#[test]
fn golden_connect_response_is_41_bytes() {
    let mut resp = ConnectResponse {
        protocol_version: 0,
        timeout_ms: 4000,
        session_id: 0x0123_4567_89ab_cdef,
        passwd: (0u8..16).collect(),
        read_only: Some(false),
    };
    let mut out = Vec::new();
    encode_connect_response(&resp, &mut out);
    assert_eq!(out.len(), 41);
    assert_bytes("connect_response", &out);
    assert_eq!(
        decode_connect_response(frame_body("connect_response")),
        Ok(resp.clone())
    );

    resp.read_only = None;
    let mut out = Vec::new();
    encode_connect_response(&resp, &mut out);
    assert_eq!(out.len(), 40);
    assert_bytes("connect_response_old_client", &out);
    assert_eq!(
        decode_connect_response(frame_body("connect_response_old_client")),
        Ok(resp)
    );
}

#[test]
fn encoder_appends_without_clobbering() {
    let mut out = vec![0xAA];
    encode_notification(
        &WatcherEvent {
            event_type: 1,
            state: 3,
            path: s("/a"),
        },
        &mut out,
    );
    assert_eq!(out[0], 0xAA);
    assert_eq!(&out[1..], golden("notification"));
}

// ---------------------------------------------------------------------------------------------
// Requests

fn request_cases() -> Vec<(&'static str, RequestHeader, Request)> {
    let h = |opcode| RequestHeader { xid: 1, opcode };
    vec![
        (
            "req_create",
            h(op::CREATE),
            Request::Create {
                opcode: op::CREATE,
                req: create_req(1, None),
            },
        ),
        (
            "req_create2",
            h(op::CREATE2),
            Request::Create {
                opcode: op::CREATE2,
                req: create_req(1, None),
            },
        ),
        (
            "req_create_container",
            h(op::CREATE_CONTAINER),
            Request::Create {
                opcode: op::CREATE_CONTAINER,
                req: create_req(4, None),
            },
        ),
        (
            "req_create_ttl",
            h(op::CREATE_TTL),
            Request::Create {
                opcode: op::CREATE_TTL,
                req: create_req(5, Some(1000)),
            },
        ),
        (
            "req_delete",
            h(op::DELETE),
            Request::Delete {
                path: s("/a"),
                version: -1,
            },
        ),
        (
            "req_exists",
            h(op::EXISTS),
            Request::Exists {
                path: s("/a"),
                watch: true,
            },
        ),
        (
            "req_get_data",
            h(op::GET_DATA),
            Request::GetData {
                path: s("/a"),
                watch: false,
            },
        ),
        (
            "req_set_data",
            h(op::SET_DATA),
            Request::SetData {
                path: s("/a"),
                data: b"x".to_vec().into(),
                version: 3,
            },
        ),
        (
            "req_get_acl",
            h(op::GET_ACL),
            Request::GetAcl { path: s("/a") },
        ),
        (
            "req_set_acl",
            h(op::SET_ACL),
            Request::SetAcl {
                path: s("/a"),
                acl: Acl::open_unsafe(),
                version: 0,
            },
        ),
        (
            "req_get_children",
            h(op::GET_CHILDREN),
            Request::GetChildren {
                path: s("/"),
                watch: true,
                with_stat: false,
            },
        ),
        ("req_sync", h(op::SYNC), Request::Sync { path: s("/a") }),
        (
            "req_ping",
            RequestHeader {
                xid: -2,
                opcode: op::PING,
            },
            Request::Ping,
        ),
        (
            "req_get_children2",
            h(op::GET_CHILDREN2),
            Request::GetChildren {
                path: s("/"),
                watch: false,
                with_stat: true,
            },
        ),
        (
            "req_check",
            h(op::CHECK),
            Request::Check {
                path: s("/a"),
                version: 7,
            },
        ),
        (
            "req_reconfig",
            h(op::RECONFIG),
            Request::Reconfig {
                joining: None,
                leaving: Some(s("2")),
                new_members: None,
                config_id: -1,
            },
        ),
        (
            "req_check_watches",
            h(op::CHECK_WATCHES),
            Request::CheckWatches {
                path: s("/a"),
                watcher_type: 2,
            },
        ),
        (
            "req_remove_watches",
            h(op::REMOVE_WATCHES),
            Request::RemoveWatches {
                path: s("/a"),
                watcher_type: 3,
            },
        ),
        (
            "req_auth",
            RequestHeader {
                xid: -4,
                opcode: op::AUTH,
            },
            Request::Auth {
                auth_type: 0,
                scheme: s("digest"),
                auth: Some(b"u:p".to_vec()),
            },
        ),
        (
            "req_set_watches",
            h(op::SET_WATCHES),
            Request::SetWatches {
                v2: false,
                watches: SetWatches {
                    relative_zxid: 5,
                    data: vec![s("/a")],
                    child: vec![s("/b")],
                    ..SetWatches::default()
                },
            },
        ),
        ("req_sasl", h(op::SASL), Request::Sasl { token: vec![1, 2] }),
        (
            "req_get_ephemerals",
            h(op::GET_EPHEMERALS),
            Request::GetEphemerals { prefix: s("/") },
        ),
        (
            "req_get_all_children_number",
            h(op::GET_ALL_CHILDREN_NUMBER),
            Request::GetAllChildrenNumber { path: s("/") },
        ),
        (
            "req_set_watches2",
            h(op::SET_WATCHES2),
            Request::SetWatches {
                v2: true,
                watches: SetWatches {
                    relative_zxid: 5,
                    exist: vec![s("/e")],
                    persistent: vec![s("/p")],
                    ..SetWatches::default()
                },
            },
        ),
        (
            "req_add_watch",
            h(op::ADD_WATCH),
            Request::AddWatch {
                path: s("/a"),
                mode: 1,
            },
        ),
        ("req_who_am_i", h(op::WHO_AM_I), Request::WhoAmI),
        (
            "req_close_session",
            h(op::CLOSE_SESSION),
            Request::CloseSession,
        ),
        ("multi_request", h(op::MULTI), Request::Multi(multi_ops())),
        (
            "multi_request_empty",
            h(op::MULTI),
            Request::Multi(Vec::new()),
        ),
        (
            "multi_read_request",
            RequestHeader {
                xid: 2,
                opcode: op::MULTI_READ,
            },
            Request::MultiRead(vec![
                MultiReadOp::GetData { path: s("/a") },
                MultiReadOp::GetChildren { path: s("/") },
            ]),
        ),
    ]
}

fn multi_ops() -> Vec<MultiOp> {
    vec![
        MultiOp::Create {
            opcode: op::CREATE,
            req: CreateRequest {
                path: s("/a"),
                data: Vec::new().into(),
                acl: Acl::open_unsafe(),
                flags: 0,
                ttl: None,
            },
        },
        MultiOp::Delete {
            path: s("/b"),
            version: -1,
        },
        MultiOp::SetData {
            path: s("/a"),
            data: b"x".to_vec().into(),
            version: 2,
        },
        MultiOp::Check {
            path: s("/a"),
            version: 1,
        },
        MultiOp::Create {
            opcode: op::CREATE_TTL,
            req: CreateRequest {
                path: s("/t"),
                data: Vec::new().into(),
                acl: Acl::open_unsafe(),
                flags: 5,
                ttl: Some(10000),
            },
        },
    ]
}

#[test]
fn golden_every_request_opcode() {
    let cases = request_cases();
    // Every opcode a client may send appears at least once.
    let client_opcodes = [
        1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 100, 101, 102, 103,
        104, 105, 106, 107, -11,
    ];
    for opcode in client_opcodes {
        assert!(
            cases.iter().any(|(_, h, _)| h.opcode == opcode),
            "no golden request for {opcode}"
        );
    }
    for (name, header, req) in cases {
        let mut out = Vec::new();
        encode_request(&header, &req, &mut out);
        assert_bytes(name, &out);

        let (decoded_header, body) = decode_request_header(frame_body(name)).expect(name);
        assert_eq!(decoded_header, header, "{name}");
        assert_eq!(
            decode_request(header.opcode, body).as_ref(),
            Ok(&req),
            "{name}"
        );
    }
}

#[test]
fn mixing_reads_and_writes_in_multi_is_malformed() {
    let mixed = Err(DecodeError::Malformed("Mixing different kind of ops"));
    let (h, body) = decode_request_header(frame_body("multi_request_with_read")).expect("header");
    assert_eq!(h.opcode, op::MULTI);
    assert_eq!(decode_request(h.opcode, body), mixed);

    let (h, body) =
        decode_request_header(frame_body("multi_read_request_with_write")).expect("header");
    assert_eq!(h.opcode, op::MULTI_READ);
    assert_eq!(decode_request(h.opcode, body), mixed);
}

#[test]
fn delete_container_is_not_a_client_opcode() {
    let (_, body) = decode_request_header(frame_body("req_delete")).expect("header");
    assert_eq!(
        decode_request(op::DELETE_CONTAINER, body),
        Err(DecodeError::UnknownOpcode(20))
    );
    assert_eq!(
        decode_request(op::NOTIFICATION, &[]),
        Err(DecodeError::UnknownOpcode(0))
    );
    assert_eq!(
        decode_request(op::CREATE_SESSION, &[]),
        Err(DecodeError::UnknownOpcode(-10))
    );
    assert_eq!(
        decode_request(999, &[]),
        Err(DecodeError::UnknownOpcode(999))
    );
}

// ---------------------------------------------------------------------------------------------
// Replies

fn reply_cases() -> Vec<(&'static str, i32, ReplyHeader, Response)> {
    let h = ReplyHeader {
        xid: 1,
        zxid: 0x10,
        err: 0,
    };
    let children = vec![s("a"), s("b")];
    vec![
        (
            "reply_create",
            op::CREATE,
            h,
            Response::Create { path: s("/a") },
        ),
        (
            "reply_create2",
            op::CREATE2,
            h,
            Response::Create2 {
                path: s("/a"),
                stat: stat(),
            },
        ),
        (
            "reply_create2",
            op::CREATE_CONTAINER,
            h,
            Response::Create2 {
                path: s("/a"),
                stat: stat(),
            },
        ),
        (
            "reply_create2",
            op::CREATE_TTL,
            h,
            Response::Create2 {
                path: s("/a"),
                stat: stat(),
            },
        ),
        ("reply_stat", op::EXISTS, h, Response::Stat(stat())),
        ("reply_stat", op::SET_DATA, h, Response::Stat(stat())),
        ("reply_stat", op::SET_ACL, h, Response::Stat(stat())),
        (
            "reply_get_data",
            op::GET_DATA,
            h,
            Response::GetData {
                data: b"hi".to_vec().into(),
                stat: stat(),
            },
        ),
        (
            "reply_get_data",
            op::RECONFIG,
            h,
            Response::GetData {
                data: b"hi".to_vec().into(),
                stat: stat(),
            },
        ),
        (
            "reply_get_acl",
            op::GET_ACL,
            h,
            Response::GetAcl {
                acl: Acl::open_unsafe(),
                stat: stat(),
            },
        ),
        (
            "reply_get_children",
            op::GET_CHILDREN,
            h,
            Response::GetChildren {
                children: children.clone().into(),
            },
        ),
        (
            "reply_get_children2",
            op::GET_CHILDREN2,
            h,
            Response::GetChildren2 {
                children: children.into(),
                stat: stat(),
            },
        ),
        ("reply_sync", op::SYNC, h, Response::Sync { path: s("/a") }),
        ("reply_empty", op::DELETE, h, Response::Empty),
        ("reply_empty", op::CHECK_WATCHES, h, Response::Empty),
        ("reply_empty", op::REMOVE_WATCHES, h, Response::Empty),
        ("reply_empty", op::SET_WATCHES, h, Response::Empty),
        ("reply_empty", op::SET_WATCHES2, h, Response::Empty),
        ("reply_empty", op::CLOSE_SESSION, h, Response::Empty),
        (
            "reply_add_watch",
            op::ADD_WATCH,
            h,
            Response::ErrorBody { err: 0 },
        ),
        (
            "reply_get_ephemerals",
            op::GET_EPHEMERALS,
            h,
            Response::GetEphemerals {
                paths: vec![s("/e")],
            },
        ),
        (
            "reply_all_children_number",
            op::GET_ALL_CHILDREN_NUMBER,
            h,
            Response::AllChildrenNumber(7),
        ),
        (
            "reply_who_am_i",
            op::WHO_AM_I,
            h,
            Response::WhoAmI(vec![ClientInfo {
                auth_scheme: s("digest"),
                user: s("alice"),
            }]),
        ),
        (
            "reply_sasl",
            op::SASL,
            ReplyHeader { zxid: 0, ..h },
            Response::Sasl { token: vec![0xab] },
        ),
        (
            "reply_ping",
            op::PING,
            ReplyHeader { xid: -2, ..h },
            Response::Empty,
        ),
        (
            "multi_response",
            op::MULTI,
            ReplyHeader { zxid: 0x20, ..h },
            Response::Multi(vec![
                MultiResult::Create { path: s("/a") },
                MultiResult::Create2 {
                    path: s("/t"),
                    stat: stat(),
                },
                MultiResult::Delete,
                MultiResult::SetData { stat: stat() },
                MultiResult::Check,
            ]),
        ),
        (
            "multi_response_failed",
            op::MULTI,
            ReplyHeader { zxid: 0x21, ..h },
            Response::Multi(vec![
                MultiResult::Error { err: 0 },
                MultiResult::Error { err: -101 },
                MultiResult::Error { err: -2 },
            ]),
        ),
        (
            "multi_response_empty",
            op::MULTI,
            ReplyHeader { zxid: 0x22, ..h },
            Response::Multi(vec![]),
        ),
        (
            "multi_read_response",
            op::MULTI_READ,
            ReplyHeader {
                xid: 2,
                zxid: 0x21,
                err: 0,
            },
            Response::Multi(vec![
                MultiResult::GetData {
                    data: b"x".to_vec().into(),
                    stat: stat(),
                },
                MultiResult::GetChildren {
                    children: vec![s("a")].into(),
                },
                MultiResult::Error { err: -101 },
            ]),
        ),
    ]
}

#[test]
fn golden_every_response_kind() {
    for (name, opcode, header, resp) in reply_cases() {
        let mut out = Vec::new();
        encode_reply(&header, &resp, &mut out);
        assert_bytes(name, &out);

        let (decoded_header, body) = decode_reply_header(frame_body(name)).expect(name);
        assert_eq!(decoded_header, header, "{name}");
        assert_eq!(
            decode_response(opcode, body).as_ref(),
            Ok(&resp),
            "{name} as opcode {opcode}"
        );
    }
}

#[test]
fn error_reply_is_a_bare_header() {
    let header = ReplyHeader {
        xid: 1,
        zxid: 0x10,
        err: -101,
    };
    // Whatever body the caller passes, an error reply carries none.
    for body in [
        Response::Empty,
        Response::Stat(stat()),
        Response::ErrorBody { err: -101 },
    ] {
        let mut out = Vec::new();
        encode_reply(&header, &body, &mut out);
        assert_bytes("reply_error", &out);
    }
    let (decoded, rest) = decode_reply_header(frame_body("reply_error")).expect("header");
    assert_eq!(decoded, header);
    assert!(rest.is_empty());
}

#[test]
fn golden_notification() {
    let event = WatcherEvent {
        event_type: 1,
        state: 3,
        path: s("/a"),
    };
    let mut out = Vec::new();
    encode_notification(&event, &mut out);
    assert_bytes("notification", &out);

    let (header, body) = decode_reply_header(frame_body("notification")).expect("header");
    assert_eq!(
        header,
        ReplyHeader {
            xid: -1,
            zxid: -1,
            err: 0
        }
    );
    assert_eq!(decode_watcher_event(body), Ok(event));
}

// ---------------------------------------------------------------------------------------------
// Txns

const SESSION: i64 = 0x0100_0000_0000_0001;
const TIME: i64 = 0x0000_018d_0000_0000;

fn txn(cxid: i32, zxid: i64, body: TxnBody) -> Txn {
    Txn {
        session_id: SESSION,
        cxid,
        zxid,
        time_ms: TIME,
        body,
    }
}

fn txn_cases() -> Vec<(&'static str, Txn)> {
    let open = Acl::open_unsafe;
    vec![
        (
            "txn_create_session",
            txn(0, 1, TxnBody::CreateSession { timeout_ms: 30000 }),
        ),
        (
            "txn_create_ephemeral",
            txn(
                3,
                2,
                TxnBody::Create {
                    opcode: op::CREATE,
                    path: "/e".into(),
                    data: Vec::new().into(),
                    acl: open(),
                    ephemeral_owner: SESSION,
                    parent_cversion: 1,
                },
            ),
        ),
        (
            "txn_create2_persistent",
            txn(
                4,
                3,
                TxnBody::Create {
                    opcode: op::CREATE2,
                    path: "/p".into(),
                    data: b"hi"[..].into(),
                    acl: open(),
                    ephemeral_owner: 0,
                    parent_cversion: 2,
                },
            ),
        ),
        (
            "txn_create_container",
            txn(
                5,
                4,
                TxnBody::Create {
                    opcode: op::CREATE_CONTAINER,
                    path: "/c".into(),
                    data: b"d"[..].into(),
                    acl: open(),
                    ephemeral_owner: i64::MIN,
                    parent_cversion: 3,
                },
            ),
        ),
        (
            "txn_create_ttl",
            txn(
                6,
                5,
                TxnBody::Create {
                    opcode: op::CREATE_TTL,
                    path: "/t".into(),
                    data: Vec::new().into(),
                    acl: open(),
                    ephemeral_owner: 0xFF00_0000_0000_1388_u64 as i64,
                    parent_cversion: 4,
                },
            ),
        ),
        (
            "txn_delete",
            txn(
                7,
                6,
                TxnBody::Delete {
                    opcode: op::DELETE,
                    path: s("/e"),
                },
            ),
        ),
        (
            "txn_delete_container",
            Txn {
                session_id: 0,
                cxid: 0,
                zxid: 7,
                time_ms: TIME,
                body: TxnBody::Delete {
                    opcode: op::DELETE_CONTAINER,
                    path: s("/c"),
                },
            },
        ),
        (
            "txn_set_data",
            txn(
                8,
                8,
                TxnBody::SetData {
                    path: s("/a"),
                    data: b"x"[..].into(),
                    version: 4,
                },
            ),
        ),
        (
            "txn_set_acl",
            txn(
                9,
                9,
                TxnBody::SetAcl {
                    path: s("/a"),
                    acl: open(),
                    version: 2,
                },
            ),
        ),
        ("txn_error", txn(10, 10, TxnBody::Error { err: -110 })),
        (
            "txn_close_session",
            txn(
                11,
                11,
                TxnBody::CloseSession {
                    paths_to_delete: vec![s("/e")],
                },
            ),
        ),
        (
            "txn_multi",
            txn(
                12,
                12,
                TxnBody::Multi(vec![
                    TxnBody::Create {
                        opcode: op::CREATE,
                        path: "/m".into(),
                        data: Vec::new().into(),
                        acl: open(),
                        ephemeral_owner: 0,
                        parent_cversion: 5,
                    },
                    TxnBody::SetData {
                        path: s("/m"),
                        data: b"v"[..].into(),
                        version: 1,
                    },
                ]),
            ),
        ),
        (
            "txn_multi_failed",
            txn(
                13,
                13,
                TxnBody::Multi(vec![
                    TxnBody::Error { err: 0 },
                    TxnBody::Error { err: -101 },
                ]),
            ),
        ),
    ]
}

#[test]
fn golden_txns() {
    for (name, txn) in txn_cases() {
        let mut out = Vec::new();
        encode_txn(&txn, &mut out);
        assert_bytes(name, &out);
        assert_eq!(decode_txn(golden(name)).as_ref(), Ok(&txn), "{name}");
    }
}

#[test]
fn txn_decode_ignores_a_trailing_digest_only() {
    let delete = txn(
        7,
        6,
        TxnBody::Delete {
            opcode: op::DELETE,
            path: s("/e"),
        },
    );
    assert_eq!(decode_txn(golden("txn_delete_with_digest")), Ok(delete));

    let mut junk = golden("txn_delete").to_vec();
    junk.push(0x42);
    assert!(matches!(decode_txn(&junk), Err(DecodeError::Malformed(_))));
}

#[test]
fn txn_close_session_without_body_decodes() {
    // Logs older than 3.5 write closeSession with no CloseSessionTxn.
    let entry = golden("txn_close_session");
    let header_only = &entry[..32]; // TxnHeader: 8 + 4 + 8 + 8 + 4
    let decoded = decode_txn(header_only).expect("old closeSession");
    assert_eq!(
        decoded.body,
        TxnBody::CloseSession {
            paths_to_delete: Vec::new()
        }
    );
}

#[test]
fn txn_nested_multi_and_unknown_type_are_rejected() {
    // TxnHeader, type multi, one sub-txn of type multi with an empty MultiTxn.
    let mut entry = golden("txn_multi")[..28].to_vec();
    entry.extend_from_slice(&[0, 0, 0, 14]); // type multi
    entry.extend_from_slice(&[0, 0, 0, 1]); // one sub-txn
    entry.extend_from_slice(&[0, 0, 0, 14]); // its type: multi
    entry.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0]); // its data: an empty MultiTxn
    assert!(matches!(decode_txn(&entry), Err(DecodeError::Malformed(_))));

    let mut entry = golden("txn_multi")[..28].to_vec();
    entry.extend_from_slice(&[0, 0, 0, 99]);
    assert_eq!(decode_txn(&entry), Err(DecodeError::UnknownOpcode(99)));
}

// ---------------------------------------------------------------------------------------------
// Truncation: every strict prefix of every golden record is an error, never a panic.

#[test]
fn every_truncated_golden_record_is_an_error() {
    for (name, header, _) in request_cases() {
        let (_, body) = decode_request_header(frame_body(name)).expect(name);
        for k in 0..body.len() {
            assert_eq!(
                decode_request(header.opcode, &body[..k]),
                Err(DecodeError::Truncated),
                "{name} cut at {k}"
            );
        }
        for k in 0..8 {
            assert_eq!(
                decode_request_header(&frame_body(name)[..k]),
                Err(DecodeError::Truncated)
            );
        }
    }
    for (name, opcode, _, _) in reply_cases() {
        let (_, body) = decode_reply_header(frame_body(name)).expect(name);
        for k in 0..body.len() {
            assert_eq!(
                decode_response(opcode, &body[..k]),
                Err(DecodeError::Truncated),
                "{name} cut at {k}"
            );
        }
        for k in 0..16 {
            assert_eq!(
                decode_reply_header(&frame_body(name)[..k]),
                Err(DecodeError::Truncated)
            );
        }
    }
    for (name, txn) in txn_cases() {
        let entry = golden(name);
        for k in 0..entry.len() {
            let old_close_session = k == 32 && matches!(txn.body, TxnBody::CloseSession { .. });
            if !old_close_session {
                assert!(decode_txn(&entry[..k]).is_err(), "{name} cut at {k}");
            }
        }
    }
    // Connect: everything up to and including the password is required.
    for name in ["connect_request", "connect_response"] {
        let body = frame_body(name);
        for k in 0..body.len() - 1 {
            let result = if name == "connect_request" {
                decode_connect_request(&body[..k]).map(|_| ())
            } else {
                decode_connect_response(&body[..k]).map(|_| ())
            };
            assert_eq!(result, Err(DecodeError::Truncated), "{name} cut at {k}");
        }
    }
    let event = &frame_body("notification")[16..];
    for k in 0..event.len() {
        assert_eq!(
            decode_watcher_event(&event[..k]),
            Err(DecodeError::Truncated)
        );
    }
}
