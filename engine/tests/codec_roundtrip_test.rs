//! Round-trip and hostile-input tests for the jute codec.
//!
//! Goal: decode(encode(x)) == x for every request, response and txn the types can express
//! (within the wire's own constraints, e.g. ttl only on createTTL), and no input, however
//! malformed, makes a decoder panic or allocate according to a lying length. Method: proptest
//! strategies that generate well-formed values, plus hand-built bad inputs (negative, huge and
//! lying lengths, unknown opcodes) and arbitrary bytes thrown at every decoder.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use ringkeeper_engine::proto::{
    decode_connect_request, decode_connect_response, decode_reply_header, decode_request,
    decode_request_header, decode_response, decode_txn, decode_watcher_event,
    encode_connect_request, encode_connect_response, encode_reply, encode_request, encode_txn, op,
    Acl, ClientInfo, ConnectRequest, ConnectResponse, CreateRequest, Data, DecodeError, Id,
    JuteReader, JuteWriter, MultiOp, MultiReadOp, MultiResult, ReplyHeader, Request, RequestHeader,
    Response, SetWatches, Stat,
};
use ringkeeper_engine::txn::{Txn, TxnBody};

// ---------------------------------------------------------------------------------------------
// Strategies

fn text() -> impl Strategy<Value = String> {
    // Any Unicode, including supplementary characters and NUL.
    any::<String>().prop_map(|s| s.chars().take(12).collect())
}

fn strings() -> impl Strategy<Value = Vec<String>> {
    vec(text(), 0..4)
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..24)
}

/// Znode data: null (length -1) as well as bytes.
fn data() -> impl Strategy<Value = Data> {
    prop_oneof![Just(Data::null()), bytes().prop_map(Data::from)]
}

fn stat() -> impl Strategy<Value = Stat> {
    (
        (any::<i64>(), any::<i64>(), any::<i64>(), any::<i64>()),
        (any::<i32>(), any::<i32>(), any::<i32>()),
        (any::<i64>(), any::<i32>(), any::<i32>(), any::<i64>()),
    )
        .prop_map(
            |((czxid, mzxid, ctime, mtime), (version, cversion, aversion), rest)| {
                let (ephemeral_owner, data_length, num_children, pzxid) = rest;
                Stat {
                    czxid,
                    mzxid,
                    ctime,
                    mtime,
                    version,
                    cversion,
                    aversion,
                    ephemeral_owner,
                    data_length,
                    num_children,
                    pzxid,
                }
            },
        )
}

fn acls() -> impl Strategy<Value = Vec<Acl>> {
    vec(
        (any::<i32>(), text(), text()).prop_map(|(perms, scheme, id)| Acl {
            perms,
            id: Id { scheme, id },
        }),
        0..3,
    )
}

fn create_opcode() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(op::CREATE),
        Just(op::CREATE2),
        Just(op::CREATE_CONTAINER),
        Just(op::CREATE_TTL)
    ]
}

fn create_request(opcode: i32) -> impl Strategy<Value = CreateRequest> {
    (text(), data(), acls(), any::<i32>(), any::<i64>()).prop_map(
        move |(path, data, acl, flags, ttl)| CreateRequest {
            path,
            data,
            acl,
            flags,
            ttl: (opcode == op::CREATE_TTL).then_some(ttl),
        },
    )
}

fn multi_op() -> impl Strategy<Value = MultiOp> {
    prop_oneof![
        create_opcode().prop_flat_map(|opcode| {
            create_request(opcode).prop_map(move |req| MultiOp::Create { opcode, req })
        }),
        (text(), any::<i32>()).prop_map(|(path, version)| MultiOp::Delete { path, version }),
        (text(), data(), any::<i32>()).prop_map(|(path, data, version)| MultiOp::SetData {
            path,
            data,
            version
        }),
        (text(), any::<i32>()).prop_map(|(path, version)| MultiOp::Check { path, version }),
    ]
}

fn multi_read_op() -> impl Strategy<Value = MultiReadOp> {
    prop_oneof![
        text().prop_map(|path| MultiReadOp::GetData { path }),
        text().prop_map(|path| MultiReadOp::GetChildren { path }),
    ]
}

fn set_watches(v2: bool) -> impl Strategy<Value = SetWatches> {
    (
        any::<i64>(),
        strings(),
        strings(),
        strings(),
        strings(),
        strings(),
    )
        .prop_map(
            move |(relative_zxid, data, exist, child, persistent, persistent_recursive)| {
                SetWatches {
                    relative_zxid,
                    data,
                    exist,
                    child,
                    persistent: if v2 { persistent } else { Vec::new() },
                    persistent_recursive: if v2 { persistent_recursive } else { Vec::new() },
                }
            },
        )
}

/// A request together with the opcode its header must carry.
fn request() -> impl Strategy<Value = (i32, Request)> {
    let path_int = || (text(), any::<i32>());
    let path_bool = || (text(), any::<bool>());
    prop_oneof![
        create_opcode().prop_flat_map(|opcode| {
            create_request(opcode).prop_map(move |req| (opcode, Request::Create { opcode, req }))
        }),
        path_int().prop_map(|(path, version)| (op::DELETE, Request::Delete { path, version })),
        path_bool().prop_map(|(path, watch)| (op::EXISTS, Request::Exists { path, watch })),
        path_bool().prop_map(|(path, watch)| (op::GET_DATA, Request::GetData { path, watch })),
        (text(), data(), any::<i32>()).prop_map(|(path, data, version)| {
            (
                op::SET_DATA,
                Request::SetData {
                    path,
                    data,
                    version,
                },
            )
        }),
        text().prop_map(|path| (op::GET_ACL, Request::GetAcl { path })),
        (text(), acls(), any::<i32>())
            .prop_map(|(path, acl, version)| (op::SET_ACL, Request::SetAcl { path, acl, version })),
        (text(), any::<bool>(), any::<bool>()).prop_map(|(path, watch, with_stat)| {
            let opcode = if with_stat {
                op::GET_CHILDREN2
            } else {
                op::GET_CHILDREN
            };
            (
                opcode,
                Request::GetChildren {
                    path,
                    watch,
                    with_stat,
                },
            )
        }),
        text().prop_map(|path| (op::SYNC, Request::Sync { path })),
        Just((op::PING, Request::Ping)),
        path_int().prop_map(|(path, version)| (op::CHECK, Request::Check { path, version })),
        vec(multi_op(), 0..5).prop_map(|ops| (op::MULTI, Request::Multi(ops))),
        vec(multi_read_op(), 0..5).prop_map(|ops| (op::MULTI_READ, Request::MultiRead(ops))),
        (
            option::of(text()),
            option::of(text()),
            option::of(text()),
            any::<i64>()
        )
            .prop_map(|(joining, leaving, new_members, config_id)| {
                (
                    op::RECONFIG,
                    Request::Reconfig {
                        joining,
                        leaving,
                        new_members,
                        config_id,
                    },
                )
            }),
        path_int().prop_map(|(path, watcher_type)| {
            (
                op::CHECK_WATCHES,
                Request::CheckWatches { path, watcher_type },
            )
        }),
        path_int().prop_map(|(path, watcher_type)| {
            (
                op::REMOVE_WATCHES,
                Request::RemoveWatches { path, watcher_type },
            )
        }),
        (any::<i32>(), text(), proptest::option::of(bytes())).prop_map(
            |(auth_type, scheme, auth)| {
                (
                    op::AUTH,
                    Request::Auth {
                        auth_type,
                        scheme,
                        auth,
                    },
                )
            }
        ),
        any::<bool>().prop_flat_map(|v2| {
            set_watches(v2).prop_map(move |watches| {
                let opcode = if v2 {
                    op::SET_WATCHES2
                } else {
                    op::SET_WATCHES
                };
                (opcode, Request::SetWatches { v2, watches })
            })
        }),
        bytes().prop_map(|token| (op::SASL, Request::Sasl { token })),
        text().prop_map(|prefix| (op::GET_EPHEMERALS, Request::GetEphemerals { prefix })),
        text().prop_map(|path| (
            op::GET_ALL_CHILDREN_NUMBER,
            Request::GetAllChildrenNumber { path }
        )),
        path_int().prop_map(|(path, mode)| (op::ADD_WATCH, Request::AddWatch { path, mode })),
        Just((op::WHO_AM_I, Request::WhoAmI)),
        Just((op::CLOSE_SESSION, Request::CloseSession)),
    ]
}

fn multi_result() -> impl Strategy<Value = MultiResult> {
    prop_oneof![
        text().prop_map(|path| MultiResult::Create { path }),
        (text(), stat()).prop_map(|(path, stat)| MultiResult::Create2 { path, stat }),
        Just(MultiResult::Delete),
        stat().prop_map(|stat| MultiResult::SetData { stat }),
        Just(MultiResult::Check),
        (data(), stat()).prop_map(|(data, stat)| MultiResult::GetData { data, stat }),
        strings().prop_map(|children| MultiResult::GetChildren {
            children: children.into()
        }),
        any::<i32>().prop_map(|err| MultiResult::Error { err }),
    ]
}

/// A response together with an opcode whose reply has that shape.
fn response() -> impl Strategy<Value = (i32, Response)> {
    prop_oneof![
        prop_oneof![
            Just(op::DELETE),
            Just(op::PING),
            Just(op::SET_WATCHES),
            Just(op::AUTH)
        ]
        .prop_map(|opcode| (opcode, Response::Empty)),
        text().prop_map(|path| (op::CREATE, Response::Create { path })),
        (
            prop_oneof![Just(op::CREATE2), Just(op::CREATE_TTL)],
            text(),
            stat()
        )
            .prop_map(|(opcode, path, stat)| (opcode, Response::Create2 { path, stat })),
        (
            prop_oneof![Just(op::EXISTS), Just(op::SET_DATA), Just(op::SET_ACL)],
            stat()
        )
            .prop_map(|(opcode, stat)| (opcode, Response::Stat(stat))),
        (data(), stat()).prop_map(|(data, stat)| (op::GET_DATA, Response::GetData { data, stat })),
        (acls(), stat()).prop_map(|(acl, stat)| (op::GET_ACL, Response::GetAcl { acl, stat })),
        strings().prop_map(|children| {
            (
                op::GET_CHILDREN,
                Response::GetChildren {
                    children: children.into(),
                },
            )
        }),
        (strings(), stat()).prop_map(|(children, stat)| {
            (
                op::GET_CHILDREN2,
                Response::GetChildren2 {
                    children: children.into(),
                    stat,
                },
            )
        }),
        text().prop_map(|path| (op::SYNC, Response::Sync { path })),
        (
            prop_oneof![Just(op::MULTI), Just(op::MULTI_READ)],
            vec(multi_result(), 0..5)
        )
            .prop_map(|(opcode, results)| (opcode, Response::Multi(results))),
        any::<i32>().prop_map(|err| (op::ADD_WATCH, Response::ErrorBody { err })),
        strings().prop_map(|paths| (op::GET_EPHEMERALS, Response::GetEphemerals { paths })),
        any::<i32>().prop_map(|n| (op::GET_ALL_CHILDREN_NUMBER, Response::AllChildrenNumber(n))),
        vec((text(), text()), 0..3).prop_map(|infos| {
            let infos = infos
                .into_iter()
                .map(|(auth_scheme, user)| ClientInfo { auth_scheme, user })
                .collect();
            (op::WHO_AM_I, Response::WhoAmI(infos))
        }),
        bytes().prop_map(|token| (op::SASL, Response::Sasl { token })),
    ]
}

/// Any session id: the top byte is the server's myid, and any myid ZooKeeper accepts (255
/// too, while TTL nodes are disabled) must log its ephemerals faithfully.
fn session_id() -> impl Strategy<Value = i64> {
    any::<i64>()
}

const TTL_MARKER: i64 = 0xFF00_0000_0000_0000_u64 as i64;

/// A txn record; `session_id` is the TxnHeader.clientId an ephemeral create must carry.
fn txn_body(session_id: i64, allow_multi: bool) -> BoxedStrategy<TxnBody> {
    let create = (
        create_opcode(),
        text(),
        data(),
        acls(),
        any::<bool>(),
        any::<i32>(),
        0i64..(1 << 56),
    )
        .prop_map(
            move |(opcode, path, data, acl, ephemeral, parent_cversion, ttl)| {
                let ephemeral_owner = match opcode {
                    op::CREATE_CONTAINER => i64::MIN,
                    op::CREATE_TTL => TTL_MARKER | ttl,
                    _ if ephemeral => session_id,
                    _ => 0,
                };
                TxnBody::Create {
                    opcode,
                    path: path.into(),
                    data,
                    acl,
                    ephemeral_owner,
                    parent_cversion,
                }
            },
        );
    let simple = prop_oneof![
        any::<i32>().prop_map(|timeout_ms| TxnBody::CreateSession { timeout_ms }),
        strings().prop_map(|paths_to_delete| TxnBody::CloseSession { paths_to_delete }),
        create,
        (
            prop_oneof![Just(op::DELETE), Just(op::DELETE_CONTAINER)],
            text()
        )
            .prop_map(|(opcode, path)| TxnBody::Delete { opcode, path }),
        (text(), data(), any::<i32>()).prop_map(|(path, data, version)| TxnBody::SetData {
            path,
            data,
            version
        }),
        (text(), acls(), any::<i32>()).prop_map(|(path, acl, version)| TxnBody::SetAcl {
            path,
            acl,
            version
        }),
        (text(), any::<i32>()).prop_map(|(path, version)| TxnBody::Check { path, version }),
        any::<i32>().prop_map(|err| TxnBody::Error { err }),
    ];
    if allow_multi {
        prop_oneof![
            3 => simple,
            1 => vec(txn_body(session_id, false), 0..5).prop_map(TxnBody::Multi),
        ]
        .boxed()
    } else {
        simple.boxed()
    }
}

fn txn() -> impl Strategy<Value = Txn> {
    (session_id(), any::<i32>(), any::<i64>(), any::<i64>()).prop_flat_map(
        |(session_id, cxid, zxid, time_ms)| {
            txn_body(session_id, true).prop_map(move |body| Txn {
                session_id,
                cxid,
                zxid,
                time_ms,
                body,
            })
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Round trips

fn split_frame(frame: &[u8]) -> &[u8] {
    let (len, body) = frame.split_at(4);
    let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
    assert_eq!(
        len as usize,
        body.len(),
        "length prefix must match the body"
    );
    body
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn request_round_trips(xid in any::<i32>(), (opcode, req) in request()) {
        let header = RequestHeader { xid, opcode };
        let mut frame = Vec::new();
        encode_request(&header, &req, &mut frame);
        let (decoded_header, body) = decode_request_header(split_frame(&frame)).unwrap();
        prop_assert_eq!(decoded_header, header);
        prop_assert_eq!(decode_request(opcode, body), Ok(req));
    }

    #[test]
    fn reply_round_trips(
        xid in any::<i32>(),
        zxid in any::<i64>(),
        (opcode, resp) in response(),
    ) {
        let header = ReplyHeader { xid, zxid, err: 0 };
        let mut frame = Vec::new();
        encode_reply(&header, &resp, &mut frame);
        let (decoded_header, body) = decode_reply_header(split_frame(&frame)).unwrap();
        prop_assert_eq!(decoded_header, header);
        prop_assert_eq!(decode_response(opcode, body), Ok(resp));
    }

    #[test]
    fn error_reply_has_no_body(
        xid in any::<i32>(),
        zxid in any::<i64>(),
        err in any::<i32>().prop_filter("non-zero", |e| *e != 0),
        (_opcode, resp) in response(),
    ) {
        let header = ReplyHeader { xid, zxid, err };
        let mut frame = Vec::new();
        encode_reply(&header, &resp, &mut frame);
        prop_assert_eq!(frame.len(), 20);
        let (decoded_header, body) = decode_reply_header(split_frame(&frame)).unwrap();
        prop_assert_eq!(decoded_header, header);
        prop_assert!(body.is_empty());
    }

    #[test]
    fn txn_round_trips(txn in txn()) {
        let mut entry = Vec::new();
        encode_txn(&txn, &mut entry);
        prop_assert_eq!(decode_txn(&entry), Ok(txn));
    }

    #[test]
    fn connect_round_trips(
        protocol_version in any::<i32>(),
        last_zxid_seen in any::<i64>(),
        timeout_ms in any::<i32>(),
        session_id in any::<i64>(),
        passwd in bytes(),
        read_only in option::of(any::<bool>()),
    ) {
        let req = ConnectRequest {
            protocol_version, last_zxid_seen, timeout_ms, session_id,
            passwd: passwd.clone(), read_only,
        };
        let mut frame = Vec::new();
        encode_connect_request(&req, &mut frame);
        prop_assert_eq!(decode_connect_request(split_frame(&frame)), Ok(req));

        let resp = ConnectResponse { protocol_version, timeout_ms, session_id, passwd, read_only };
        let mut frame = Vec::new();
        encode_connect_response(&resp, &mut frame);
        prop_assert_eq!(decode_connect_response(split_frame(&frame)), Ok(resp));
    }

    /// Arbitrary bytes never panic any decoder (errors are fine).
    #[test]
    fn arbitrary_bytes_never_panic(opcode in -12i32..110, body in vec(any::<u8>(), 0..200)) {
        let _ = decode_request(opcode, &body);
        let _ = decode_response(opcode, &body);
        let _ = decode_request_header(&body);
        let _ = decode_reply_header(&body);
        let _ = decode_connect_request(&body);
        let _ = decode_connect_response(&body);
        let _ = decode_watcher_event(&body);
        let _ = decode_txn(&body);
        let mut with_type = Vec::new();
        with_type.extend_from_slice(&[0; 28]);
        with_type.extend_from_slice(&opcode.to_be_bytes());
        with_type.extend_from_slice(&body);
        let _ = decode_txn(&with_type);
    }

    /// Valid frames with one corrupted byte never panic either.
    #[test]
    fn corrupted_frames_never_panic(
        (opcode, req) in request(),
        pos in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let mut frame = Vec::new();
        encode_request(&RequestHeader { xid: 1, opcode }, &req, &mut frame);
        let body = &mut frame[12..];
        if !body.is_empty() {
            let i = pos.index(body.len());
            body[i] = byte;
            let _ = decode_request(opcode, body);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hostile lengths and counts

fn be(v: i32) -> [u8; 4] {
    v.to_be_bytes()
}

#[test]
fn negative_lengths_are_bad_length() {
    // GetDataRequest whose path length is -2.
    let mut body = be(-2).to_vec();
    body.push(0);
    assert_eq!(
        decode_request(op::GET_DATA, &body),
        Err(DecodeError::BadLength(-2))
    );
    // ... and i32::MIN.
    let body = be(i32::MIN).to_vec();
    assert_eq!(
        decode_request(op::SYNC, &body),
        Err(DecodeError::BadLength(i32::MIN))
    );
    // A vector count below -1 (getChildren response).
    assert_eq!(
        decode_response(op::GET_CHILDREN, &be(-5)),
        Err(DecodeError::BadLength(-5))
    );
}

#[test]
fn null_string_reads_as_empty_and_null_data_stays_null() {
    // SetDataRequest {path null, data null, version 1}: ZooKeeper keeps null data null.
    let mut body = be(-1).to_vec();
    body.extend_from_slice(&be(-1));
    body.extend_from_slice(&be(1));
    assert_eq!(
        decode_request(op::SET_DATA, &body),
        Ok(Request::SetData {
            path: String::new(),
            data: Data::null(),
            version: 1
        })
    );
    // getChildren response with a null vector.
    assert_eq!(
        decode_response(op::GET_CHILDREN, &be(-1)),
        Ok(Response::GetChildren {
            children: Default::default()
        })
    );
}

#[test]
fn huge_lengths_are_too_long_not_allocated() {
    // A 2 GiB path length with a few bytes behind it.
    let mut body = be(i32::MAX).to_vec();
    body.extend_from_slice(b"/abc");
    assert_eq!(
        decode_request(op::SYNC, &body),
        Err(DecodeError::TooLong(i32::MAX as usize))
    );
    // Just above jute.maxbuffer + extrasize.
    let limit = 1_048_575 * 2;
    let body = be(limit + 1).to_vec();
    assert_eq!(
        decode_request(op::SYNC, &body),
        Err(DecodeError::TooLong(limit as usize + 1))
    );
    // At the limit it is only truncated.
    let body = be(limit).to_vec();
    assert_eq!(decode_request(op::SYNC, &body), Err(DecodeError::Truncated));
    // A custom limit.
    let mut buf = be(5).to_vec();
    buf.extend_from_slice(b"hello");
    assert_eq!(
        JuteReader::with_max_len(&buf, 4).read_buffer(),
        Err(DecodeError::TooLong(5))
    );
    assert_eq!(
        JuteReader::with_max_len(&buf, 5).read_buffer(),
        Ok(Some(b"hello".to_vec()))
    );
}

#[test]
fn lying_vector_counts_fail_fast() {
    // getChildren response claiming 2^31-1 children, holding one.
    let mut body = be(i32::MAX).to_vec();
    body.extend_from_slice(&be(1));
    body.push(b'a');
    assert_eq!(
        decode_response(op::GET_CHILDREN, &body),
        Err(DecodeError::Truncated)
    );
    // setACL request claiming 1000 ACLs, holding one.
    let mut body = be(2).to_vec();
    body.extend_from_slice(b"/a");
    body.extend_from_slice(&be(1000));
    body.extend_from_slice(&be(31));
    body.extend_from_slice(&be(5));
    body.extend_from_slice(b"world");
    body.extend_from_slice(&be(6));
    body.extend_from_slice(b"anyone");
    assert_eq!(
        decode_request(op::SET_ACL, &body),
        Err(DecodeError::Truncated)
    );
    // A MultiTxn claiming 2^31-1 sub-txns.
    let mut entry = vec![0; 28];
    entry.extend_from_slice(&be(op::MULTI));
    entry.extend_from_slice(&be(i32::MAX));
    assert_eq!(decode_txn(&entry), Err(DecodeError::Truncated));
}

#[test]
fn multi_without_terminator_is_truncated() {
    let mut frame = Vec::new();
    let req = Request::Multi(vec![MultiOp::Check {
        path: "/a".into(),
        version: 1,
    }]);
    encode_request(
        &RequestHeader {
            xid: 1,
            opcode: op::MULTI,
        },
        &req,
        &mut frame,
    );
    let body = &frame[12..frame.len() - 9];
    assert_eq!(decode_request(op::MULTI, body), Err(DecodeError::Truncated));
}

#[test]
fn unknown_opcodes_are_rejected() {
    for opcode in [
        op::DELETE_CONTAINER,
        op::NOTIFICATION,
        op::CREATE_SESSION,
        10,
        23,
        99,
        108,
        -1,
    ] {
        assert_eq!(
            decode_request(opcode, &[]),
            Err(DecodeError::UnknownOpcode(opcode))
        );
    }
    assert_eq!(
        decode_response(999, &[]),
        Err(DecodeError::UnknownOpcode(999))
    );
    // A multi sub-op that is neither a read nor a write.
    let mut body = be(op::SYNC).to_vec();
    body.push(0);
    body.extend_from_slice(&be(-1));
    assert!(matches!(
        decode_request(op::MULTI, &body),
        Err(DecodeError::Malformed(_))
    ));
    // A multi result of an unknown type.
    let mut body = be(42).to_vec();
    body.push(0);
    body.extend_from_slice(&be(0));
    assert_eq!(
        decode_response(op::MULTI, &body),
        Err(DecodeError::UnknownOpcode(42))
    );
}

#[test]
fn invalid_utf8_is_replaced_and_cesu8_accepted() {
    // Path "\xff": U+FFFD, as Java's String decoder makes it.
    let mut body = be(1).to_vec();
    body.push(0xFF);
    assert_eq!(
        decode_request(op::SYNC, &body),
        Ok(Request::Sync {
            path: "\u{FFFD}".into()
        })
    );
    // "/\u{1F600}" as Java's BinaryOutputArchive writes it: two 3-byte surrogates.
    let cesu = [b'/', 0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80];
    let mut body = be(cesu.len() as i32).to_vec();
    body.extend_from_slice(&cesu);
    assert_eq!(
        decode_request(op::SYNC, &body),
        Ok(Request::Sync {
            path: "/\u{1F600}".into()
        })
    );
}

#[test]
fn writer_and_reader_agree_on_primitives() {
    let mut out = Vec::new();
    let mut w = JuteWriter::new(&mut out);
    w.write_int(-7);
    w.write_long(i64::MIN);
    w.write_bool(true);
    w.write_byte(0x42);
    w.write_null_buffer();
    w.write_buffer(&[]);
    w.write_ustring_opt(None);
    w.write_ustring("é");
    w.write_string_vec(&["x".to_string()]);
    let mut r = JuteReader::new(&out);
    assert_eq!(r.read_int(), Ok(-7));
    assert_eq!(r.read_long(), Ok(i64::MIN));
    assert_eq!(r.read_bool(), Ok(true));
    assert_eq!(r.read_byte(), Ok(0x42));
    assert_eq!(r.read_buffer(), Ok(None));
    assert_eq!(r.read_buffer(), Ok(Some(Vec::new())));
    assert_eq!(r.read_ustring(), Ok(None));
    assert_eq!(r.read_string(), Ok("é".to_string()));
    assert_eq!(r.read_string_vec(), Ok(vec!["x".to_string()]));
    assert!(r.is_empty());
    assert_eq!(r.remaining(), 0);
    assert_eq!(r.read_int(), Err(DecodeError::Truncated));
}

/// Found by the wal_reader fuzz target (storage/fuzz/corpus/wal_reader/crash-d83cb79d...): an
/// ephemeral create by a session whose id has 0xFF in its top byte (the session ids of a
/// server with myid 255, which ZooKeeper accepts while TTL nodes are disabled) was logged with
/// CreateTxn.ephemeral false, so after a restart the node came back persistent.
#[test]
fn ephemeral_create_by_any_session_id_survives_the_log() {
    // TxnHeader {clientId -8, cxid 3, zxid 2, time, type create (1)}, then CreateTxn
    // {path "/e", data "", acl [world:anyone 31], ephemeral true, parentCVersion 1}.
    let payload: Vec<u8> = [
        "fffffffffffffff8 00000003 0000000000000002 0000018d00000000 00000001",
        "00000002 2f65 00000000 00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65",
        "01 00000001",
    ]
    .concat()
    .split_whitespace()
    .flat_map(|token| {
        (0..token.len())
            .step_by(2)
            .map(move |i| u8::from_str_radix(&token[i..i + 2], 16).expect("hex"))
    })
    .collect();
    let txn = decode_txn(&payload).expect("decodes");
    let TxnBody::Create {
        ephemeral_owner, ..
    } = txn.body
    else {
        panic!("not a create: {txn:?}");
    };
    assert_eq!(ephemeral_owner, -8);
    let mut again = Vec::new();
    encode_txn(&txn, &mut again);
    assert_eq!(again, payload);
    assert_eq!(decode_txn(&again), Ok(txn));
}
