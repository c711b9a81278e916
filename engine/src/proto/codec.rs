//! Client protocol frames: the connect handshake, request and reply headers, every request and
//! response record by opcode, and watch notifications (ZK-PROTOCOL.md sections 1 to 3 and 5).
//!
//! Server side: `decode_connect_request`, `decode_request_header`, `decode_request`,
//! `encode_connect_response`, `encode_reply`, `encode_notification`. Client side (bench, tests):
//! the mirror images. Every `encode_*` that writes a frame appends the 4-byte big-endian length
//! and then the body to `out`. Decoders take the frame body without the length prefix; like
//! the Java server they ignore bytes left over after a record.

use super::child_names::ChildNames;
use super::jute::{DecodeError, JuteReader, JuteWriter, DEFAULT_MAX_LEN};
use super::records::{
    op, ConnectRequest, ConnectResponse, CreateRequest, MultiOp, MultiReadOp, MultiResult,
    ReplyHeader, Request, RequestHeader, Response, SetWatches, WatcherEvent,
};
use super::Data;

/// Starts a frame in `out`: reserves the length prefix and returns where it is.
pub fn begin_frame(out: &mut Vec<u8>) -> usize {
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    start
}

/// Fills in the length prefix reserved by `begin_frame`.
pub fn end_frame(out: &mut [u8], start: usize) {
    let body_len = out.len().saturating_sub(start + 4);
    let len = i32::try_from(body_len).unwrap_or(i32::MAX);
    if let Some(prefix) = out.get_mut(start..start + 4) {
        prefix.copy_from_slice(&len.to_be_bytes());
    }
}

fn framed(out: &mut Vec<u8>, body: impl FnOnce(&mut JuteWriter<'_>)) {
    let start = begin_frame(out);
    body(&mut JuteWriter::new(out));
    end_frame(out, start);
}

// ---------------------------------------------------------------------------------------------
// Connect handshake

/// ConnectRequest; the trailing readOnly byte is optional (`None` when absent: an old client).
pub fn decode_connect_request(body: &[u8]) -> Result<ConnectRequest, DecodeError> {
    let mut r = JuteReader::new(body);
    let protocol_version = r.read_int()?;
    let last_zxid_seen = r.read_long()?;
    let timeout_ms = r.read_int()?;
    let session_id = r.read_long()?;
    let passwd = r.read_buffer_or_empty()?;
    let read_only = if r.is_empty() {
        None
    } else {
        Some(r.read_bool()?)
    };
    Ok(ConnectRequest {
        protocol_version,
        last_zxid_seen,
        timeout_ms,
        session_id,
        passwd,
        read_only,
    })
}

/// ConnectRequest frame, as a client sends it.
pub fn encode_connect_request(req: &ConnectRequest, out: &mut Vec<u8>) {
    framed(out, |w| {
        w.write_int(req.protocol_version);
        w.write_long(req.last_zxid_seen);
        w.write_int(req.timeout_ms);
        w.write_long(req.session_id);
        w.write_buffer(&req.passwd);
        if let Some(ro) = req.read_only {
            w.write_bool(ro);
        }
    });
}

/// ConnectResponse frame: 41 bytes with a 16-byte password and the readOnly byte; the byte is
/// left out when `read_only` is `None` (answering an old client).
pub fn encode_connect_response(resp: &ConnectResponse, out: &mut Vec<u8>) {
    framed(out, |w| {
        w.write_int(resp.protocol_version);
        w.write_int(resp.timeout_ms);
        w.write_long(resp.session_id);
        w.write_buffer(&resp.passwd);
        if let Some(ro) = resp.read_only {
            w.write_bool(ro);
        }
    });
}

/// ConnectResponse; a missing readOnly byte (an old server) is `None`.
pub fn decode_connect_response(body: &[u8]) -> Result<ConnectResponse, DecodeError> {
    let mut r = JuteReader::new(body);
    let protocol_version = r.read_int()?;
    let timeout_ms = r.read_int()?;
    let session_id = r.read_long()?;
    let passwd = r.read_buffer_or_empty()?;
    let read_only = if r.is_empty() {
        None
    } else {
        Some(r.read_bool()?)
    };
    Ok(ConnectResponse {
        protocol_version,
        timeout_ms,
        session_id,
        passwd,
        read_only,
    })
}

// ---------------------------------------------------------------------------------------------
// Requests

/// RequestHeader {i xid, i type}; returns it and the request body after it.
pub fn decode_request_header(frame_body: &[u8]) -> Result<(RequestHeader, &[u8]), DecodeError> {
    let mut r = JuteReader::new(frame_body);
    let xid = r.read_int()?;
    let opcode = r.read_int()?;
    Ok((RequestHeader { xid, opcode }, r.rest()))
}

/// Decodes a request body by opcode, with the default `jute.maxbuffer`. deleteContainer (20)
/// is internal to the server and, like any opcode a client may not send, is `UnknownOpcode`.
pub fn decode_request(opcode: i32, body: &[u8]) -> Result<Request, DecodeError> {
    decode_request_within(opcode, body, DEFAULT_MAX_LEN)
}

/// Decodes a request body whose buffers and strings may each be up to `max_len` bytes: the
/// configured jute.maxbuffer plus its extra size, as `BinaryInputArchive.checkLength` allows.
pub fn decode_request_within(
    opcode: i32,
    body: &[u8],
    max_len: usize,
) -> Result<Request, DecodeError> {
    let mut r = JuteReader::with_max_len(body, max_len);
    let r = &mut r;
    let req = match opcode {
        op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => Request::Create {
            opcode,
            req: read_create_request(r, opcode)?,
        },
        op::DELETE => Request::Delete {
            path: r.read_string()?,
            version: r.read_int()?,
        },
        op::EXISTS => Request::Exists {
            path: r.read_string()?,
            watch: r.read_bool()?,
        },
        op::GET_DATA => Request::GetData {
            path: r.read_string()?,
            watch: r.read_bool()?,
        },
        op::SET_DATA => Request::SetData {
            path: r.read_string()?,
            data: Data::read(r)?,
            version: r.read_int()?,
        },
        op::GET_ACL => Request::GetAcl {
            path: r.read_string()?,
        },
        op::SET_ACL => Request::SetAcl {
            path: r.read_string()?,
            acl: r.read_acl_vec()?,
            version: r.read_int()?,
        },
        op::GET_CHILDREN | op::GET_CHILDREN2 => Request::GetChildren {
            path: r.read_string()?,
            watch: r.read_bool()?,
            with_stat: opcode == op::GET_CHILDREN2,
        },
        op::SYNC => Request::Sync {
            path: r.read_string()?,
        },
        op::PING => Request::Ping,
        op::CHECK => Request::Check {
            path: r.read_string()?,
            version: r.read_int()?,
        },
        op::MULTI => Request::Multi(read_multi_ops(r)?),
        op::MULTI_READ => Request::MultiRead(read_multi_read_ops(r)?),
        op::RECONFIG => Request::Reconfig {
            joining: r.read_ustring()?,
            leaving: r.read_ustring()?,
            new_members: r.read_ustring()?,
            config_id: r.read_long()?,
        },
        op::CHECK_WATCHES => Request::CheckWatches {
            path: r.read_string()?,
            watcher_type: r.read_int()?,
        },
        op::REMOVE_WATCHES => Request::RemoveWatches {
            path: r.read_string()?,
            watcher_type: r.read_int()?,
        },
        op::AUTH => Request::Auth {
            auth_type: r.read_int()?,
            scheme: r.read_string()?,
            auth: r.read_buffer()?,
        },
        op::SET_WATCHES | op::SET_WATCHES2 => {
            let v2 = opcode == op::SET_WATCHES2;
            let mut watches = SetWatches {
                relative_zxid: r.read_long()?,
                data: r.read_string_vec()?,
                exist: r.read_string_vec()?,
                child: r.read_string_vec()?,
                ..SetWatches::default()
            };
            if v2 {
                watches.persistent = r.read_string_vec()?;
                watches.persistent_recursive = r.read_string_vec()?;
            }
            Request::SetWatches { v2, watches }
        }
        op::SASL => Request::Sasl {
            token: r.read_buffer_or_empty()?,
        },
        op::GET_EPHEMERALS => Request::GetEphemerals {
            prefix: r.read_string()?,
        },
        op::GET_ALL_CHILDREN_NUMBER => Request::GetAllChildrenNumber {
            path: r.read_string()?,
        },
        op::ADD_WATCH => Request::AddWatch {
            path: r.read_string()?,
            mode: r.read_int()?,
        },
        op::WHO_AM_I => Request::WhoAmI,
        op::CLOSE_SESSION => Request::CloseSession,
        other => return Err(DecodeError::UnknownOpcode(other)),
    };
    Ok(req)
}

/// CreateRequest {s path, b data, v<ACL> acl, i flags}, plus {l ttl} for createTTL (21).
fn read_create_request(r: &mut JuteReader<'_>, opcode: i32) -> Result<CreateRequest, DecodeError> {
    Ok(CreateRequest {
        path: r.read_string()?,
        data: Data::read(r)?,
        acl: r.read_acl_vec()?,
        flags: r.read_int()?,
        ttl: if opcode == op::CREATE_TTL {
            Some(r.read_long()?)
        } else {
            None
        },
    })
}

/// MultiHeader {i type, z done, i err}. The err field is not needed to decode: requests send
/// -1, and an error result repeats it in its ErrorResponse body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct MultiHeader {
    op_type: i32,
    done: bool,
}

fn read_multi_header(r: &mut JuteReader<'_>) -> Result<MultiHeader, DecodeError> {
    let op_type = r.read_int()?;
    let done = r.read_bool()?;
    let _err = r.read_int()?;
    Ok(MultiHeader { op_type, done })
}

fn write_multi_header(w: &mut JuteWriter<'_>, op_type: i32, done: bool, err: i32) {
    w.write_int(op_type);
    w.write_bool(done);
    w.write_int(err);
}

const MIXED_OPS: DecodeError = DecodeError::Malformed("Mixing different kind of ops");
const INVALID_SUB_OP: DecodeError = DecodeError::Malformed("Invalid type of op");

/// Sub-ops of multi (14) until a header with done=true (MultiOperationRecord.deserialize).
fn read_multi_ops(r: &mut JuteReader<'_>) -> Result<Vec<MultiOp>, DecodeError> {
    let mut ops = Vec::new();
    loop {
        let h = read_multi_header(r)?;
        if h.done {
            return Ok(ops);
        }
        let sub = match h.op_type {
            op::CREATE | op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => MultiOp::Create {
                opcode: h.op_type,
                req: read_create_request(r, h.op_type)?,
            },
            op::DELETE => MultiOp::Delete {
                path: r.read_string()?,
                version: r.read_int()?,
            },
            op::SET_DATA => MultiOp::SetData {
                path: r.read_string()?,
                data: Data::read(r)?,
                version: r.read_int()?,
            },
            op::CHECK => MultiOp::Check {
                path: r.read_string()?,
                version: r.read_int()?,
            },
            op::GET_DATA | op::GET_CHILDREN => return Err(MIXED_OPS),
            _ => return Err(INVALID_SUB_OP),
        };
        ops.push(sub);
    }
}

/// Sub-ops of multiRead (22): getData and getChildren {s path, z watch}.
fn read_multi_read_ops(r: &mut JuteReader<'_>) -> Result<Vec<MultiReadOp>, DecodeError> {
    let mut ops = Vec::new();
    loop {
        let h = read_multi_header(r)?;
        if h.done {
            return Ok(ops);
        }
        let sub = match h.op_type {
            op::GET_DATA | op::GET_CHILDREN => {
                let path = r.read_string()?;
                // The server ignores the watch flag inside multiRead.
                let _watch = r.read_bool()?;
                if h.op_type == op::GET_DATA {
                    MultiReadOp::GetData { path }
                } else {
                    MultiReadOp::GetChildren { path }
                }
            }
            op::CREATE
            | op::CREATE2
            | op::CREATE_CONTAINER
            | op::CREATE_TTL
            | op::DELETE
            | op::SET_DATA
            | op::CHECK => return Err(MIXED_OPS),
            _ => return Err(INVALID_SUB_OP),
        };
        ops.push(sub);
    }
}

/// A request frame, as a client sends it. The header's opcode is written as given; where the
/// body shape depends on it (createTTL's ttl, setWatches2's extra vectors) the header decides,
/// matching `decode_request`.
pub fn encode_request(header: &RequestHeader, req: &Request, out: &mut Vec<u8>) {
    framed(out, |w| {
        w.write_int(header.xid);
        w.write_int(header.opcode);
        write_request_body(w, header.opcode, req);
    });
}

fn write_create_request(w: &mut JuteWriter<'_>, opcode: i32, req: &CreateRequest) {
    w.write_ustring(&req.path);
    req.data.write(w);
    w.write_acl_vec(&req.acl);
    w.write_int(req.flags);
    if opcode == op::CREATE_TTL {
        w.write_long(req.ttl.unwrap_or(0));
    }
}

fn write_request_body(w: &mut JuteWriter<'_>, opcode: i32, req: &Request) {
    match req {
        Request::Create { req, .. } => write_create_request(w, opcode, req),
        Request::Delete { path, version }
        | Request::Check { path, version }
        | Request::CheckWatches {
            path,
            watcher_type: version,
        }
        | Request::RemoveWatches {
            path,
            watcher_type: version,
        }
        | Request::AddWatch {
            path,
            mode: version,
        } => {
            w.write_ustring(path);
            w.write_int(*version);
        }
        Request::Exists { path, watch }
        | Request::GetData { path, watch }
        | Request::GetChildren { path, watch, .. } => {
            w.write_ustring(path);
            w.write_bool(*watch);
        }
        Request::SetData {
            path,
            data,
            version,
        } => {
            w.write_ustring(path);
            data.write(w);
            w.write_int(*version);
        }
        Request::GetAcl { path }
        | Request::Sync { path }
        | Request::GetEphemerals { prefix: path }
        | Request::GetAllChildrenNumber { path } => w.write_ustring(path),
        Request::SetAcl { path, acl, version } => {
            w.write_ustring(path);
            w.write_acl_vec(acl);
            w.write_int(*version);
        }
        Request::Ping | Request::WhoAmI | Request::CloseSession => {}
        Request::Multi(ops) => {
            for sub in ops {
                write_multi_op(w, sub);
            }
            write_multi_header(w, -1, true, -1);
        }
        Request::MultiRead(ops) => {
            for sub in ops {
                let (sub_op, path) = match sub {
                    MultiReadOp::GetData { path } => (op::GET_DATA, path),
                    MultiReadOp::GetChildren { path } => (op::GET_CHILDREN, path),
                };
                write_multi_header(w, sub_op, false, -1);
                w.write_ustring(path);
                w.write_bool(false);
            }
            write_multi_header(w, -1, true, -1);
        }
        Request::Reconfig {
            joining,
            leaving,
            new_members,
            config_id,
        } => {
            w.write_ustring_opt(joining.as_deref());
            w.write_ustring_opt(leaving.as_deref());
            w.write_ustring_opt(new_members.as_deref());
            w.write_long(*config_id);
        }
        Request::Auth {
            auth_type,
            scheme,
            auth,
        } => {
            w.write_int(*auth_type);
            w.write_ustring(scheme);
            match auth {
                Some(a) => w.write_buffer(a),
                None => w.write_int(-1),
            }
        }
        Request::SetWatches { watches, .. } => {
            w.write_long(watches.relative_zxid);
            w.write_string_vec(&watches.data);
            w.write_string_vec(&watches.exist);
            w.write_string_vec(&watches.child);
            if opcode == op::SET_WATCHES2 {
                w.write_string_vec(&watches.persistent);
                w.write_string_vec(&watches.persistent_recursive);
            }
        }
        Request::Sasl { token } => w.write_buffer(token),
    }
}

fn write_multi_op(w: &mut JuteWriter<'_>, sub: &MultiOp) {
    match sub {
        MultiOp::Create { opcode, req } => {
            write_multi_header(w, *opcode, false, -1);
            write_create_request(w, *opcode, req);
        }
        MultiOp::Delete { path, version } => {
            write_multi_header(w, op::DELETE, false, -1);
            w.write_ustring(path);
            w.write_int(*version);
        }
        MultiOp::SetData {
            path,
            data,
            version,
        } => {
            write_multi_header(w, op::SET_DATA, false, -1);
            w.write_ustring(path);
            data.write(w);
            w.write_int(*version);
        }
        MultiOp::Check { path, version } => {
            write_multi_header(w, op::CHECK, false, -1);
            w.write_ustring(path);
            w.write_int(*version);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Replies

fn write_reply_header(w: &mut JuteWriter<'_>, header: &ReplyHeader) {
    w.write_int(header.xid);
    w.write_long(header.zxid);
    w.write_int(header.err);
}

/// A reply frame: ReplyHeader, then `body` only when `header.err == 0` (Apache sends a bare
/// 16-byte header for errors).
pub fn encode_reply(header: &ReplyHeader, body: &Response, out: &mut Vec<u8>) {
    framed(out, |w| {
        write_reply_header(w, header);
        if header.err == 0 {
            write_response_body(w, body);
        }
    });
}

/// A watch notification frame: ReplyHeader {xid -1, zxid -1, err 0} + WatcherEvent.
pub fn encode_notification(event: &WatcherEvent, out: &mut Vec<u8>) {
    framed(out, |w| {
        write_reply_header(
            w,
            &ReplyHeader {
                xid: -1,
                zxid: -1,
                err: 0,
            },
        );
        w.write_int(event.event_type);
        w.write_int(event.state);
        w.write_ustring(&event.path);
    });
}

fn write_response_body(w: &mut JuteWriter<'_>, body: &Response) {
    match body {
        Response::Empty => {}
        Response::Create { path } | Response::Sync { path } => w.write_ustring(path),
        Response::Create2 { path, stat } => {
            w.write_ustring(path);
            w.write_stat(stat);
        }
        Response::Stat(stat) => w.write_stat(stat),
        Response::GetData { data, stat } => {
            data.write(w);
            w.write_stat(stat);
        }
        Response::GetAcl { acl, stat } => {
            w.write_acl_vec(acl);
            w.write_stat(stat);
        }
        Response::GetChildren { children } => children.write(w),
        Response::GetEphemerals { paths } => w.write_string_vec(paths),
        Response::GetChildren2 { children, stat } => {
            children.write(w);
            w.write_stat(stat);
        }
        Response::Multi(results) => {
            for result in results {
                write_multi_result(w, result);
            }
            write_multi_header(w, -1, true, -1);
        }
        Response::ErrorBody { err } | Response::AllChildrenNumber(err) => w.write_int(*err),
        Response::WhoAmI(infos) => {
            w.write_vec_len(infos.len());
            for info in infos {
                w.write_client_info(info);
            }
        }
        // A server without SASL answers with a null token, as ZooKeeper does; an empty token
        // is written as null.
        Response::Sasl { token } if token.is_empty() => w.write_null_buffer(),
        Response::Sasl { token } => w.write_buffer(token),
    }
}

/// One multi or multiRead result (MultiResponse.serialize). create2, createContainer and
/// createTTL results all travel as type 15.
fn write_multi_result(w: &mut JuteWriter<'_>, result: &MultiResult) {
    match result {
        MultiResult::Create { path } => {
            write_multi_header(w, op::CREATE, false, 0);
            w.write_ustring(path);
        }
        MultiResult::Create2 { path, stat } => {
            write_multi_header(w, op::CREATE2, false, 0);
            w.write_ustring(path);
            w.write_stat(stat);
        }
        MultiResult::Delete => write_multi_header(w, op::DELETE, false, 0),
        MultiResult::SetData { stat } => {
            write_multi_header(w, op::SET_DATA, false, 0);
            w.write_stat(stat);
        }
        MultiResult::Check => write_multi_header(w, op::CHECK, false, 0),
        MultiResult::GetData { data, stat } => {
            write_multi_header(w, op::GET_DATA, false, 0);
            data.write(w);
            w.write_stat(stat);
        }
        MultiResult::GetChildren { children } => {
            write_multi_header(w, op::GET_CHILDREN, false, 0);
            children.write(w);
        }
        MultiResult::Error { err } => {
            write_multi_header(w, op::ERROR, false, *err);
            w.write_int(*err);
        }
    }
}

/// ReplyHeader {i xid, l zxid, i err}; returns it and the body after it.
pub fn decode_reply_header(body: &[u8]) -> Result<(ReplyHeader, &[u8]), DecodeError> {
    let mut r = JuteReader::new(body);
    let xid = r.read_int()?;
    let zxid = r.read_long()?;
    let err = r.read_int()?;
    Ok((ReplyHeader { xid, zxid, err }, r.rest()))
}

/// Decodes the body of an err == 0 reply to a request with `opcode`. Ops whose reply has no
/// body give `Response::Empty`. Notifications (xid -1) are not replies: use
/// `decode_watcher_event`.
pub fn decode_response(opcode: i32, body: &[u8]) -> Result<Response, DecodeError> {
    let mut r = JuteReader::new(body);
    let r = &mut r;
    let resp = match opcode {
        op::CREATE => Response::Create {
            path: r.read_string()?,
        },
        op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => Response::Create2 {
            path: r.read_string()?,
            stat: r.read_stat()?,
        },
        op::EXISTS | op::SET_DATA | op::SET_ACL => Response::Stat(r.read_stat()?),
        op::GET_DATA | op::RECONFIG => Response::GetData {
            data: Data::read(r)?,
            stat: r.read_stat()?,
        },
        op::GET_ACL => Response::GetAcl {
            acl: r.read_acl_vec()?,
            stat: r.read_stat()?,
        },
        op::GET_CHILDREN => Response::GetChildren {
            children: ChildNames::read(r)?,
        },
        op::GET_CHILDREN2 => Response::GetChildren2 {
            children: ChildNames::read(r)?,
            stat: r.read_stat()?,
        },
        op::SYNC => Response::Sync {
            path: r.read_string()?,
        },
        op::MULTI | op::MULTI_READ => Response::Multi(read_multi_results(r)?),
        op::ADD_WATCH => Response::ErrorBody { err: r.read_int()? },
        op::GET_EPHEMERALS => Response::GetEphemerals {
            paths: r.read_string_vec()?,
        },
        op::GET_ALL_CHILDREN_NUMBER => Response::AllChildrenNumber(r.read_int()?),
        op::WHO_AM_I => Response::WhoAmI(r.read_vec(|r| r.read_client_info())?),
        op::SASL => Response::Sasl {
            token: r.read_buffer_or_empty()?,
        },
        op::DELETE
        | op::PING
        | op::CHECK
        | op::CHECK_WATCHES
        | op::REMOVE_WATCHES
        | op::DELETE_CONTAINER
        | op::AUTH
        | op::SET_WATCHES
        | op::SET_WATCHES2
        | op::CLOSE_SESSION => Response::Empty,
        other => return Err(DecodeError::UnknownOpcode(other)),
    };
    Ok(resp)
}

/// Multi and multiRead results until the terminator (MultiResponse.deserialize).
fn read_multi_results(r: &mut JuteReader<'_>) -> Result<Vec<MultiResult>, DecodeError> {
    let mut results = Vec::new();
    loop {
        let h = read_multi_header(r)?;
        if h.done {
            return Ok(results);
        }
        let result = match h.op_type {
            op::CREATE => MultiResult::Create {
                path: r.read_string()?,
            },
            op::CREATE2 | op::CREATE_CONTAINER | op::CREATE_TTL => MultiResult::Create2 {
                path: r.read_string()?,
                stat: r.read_stat()?,
            },
            op::DELETE => MultiResult::Delete,
            op::SET_DATA => MultiResult::SetData {
                stat: r.read_stat()?,
            },
            op::CHECK => MultiResult::Check,
            op::GET_DATA => MultiResult::GetData {
                data: Data::read(r)?,
                stat: r.read_stat()?,
            },
            op::GET_CHILDREN => MultiResult::GetChildren {
                children: ChildNames::read(r)?,
            },
            // The header's err and the ErrorResponse body carry the same code.
            op::ERROR => MultiResult::Error { err: r.read_int()? },
            other => return Err(DecodeError::UnknownOpcode(other)),
        };
        results.push(result);
    }
}

/// WatcherEvent {i type, i state, s path}: the body of a notification (after its header).
pub fn decode_watcher_event(body: &[u8]) -> Result<WatcherEvent, DecodeError> {
    let mut r = JuteReader::new(body);
    Ok(WatcherEvent {
        event_type: r.read_int()?,
        state: r.read_int()?,
        path: r.read_string()?,
    })
}
