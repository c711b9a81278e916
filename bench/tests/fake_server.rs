//! The session client against a scripted in-process server: handshake, pipelined replies in
//! order, notifications (xid -1) and ping replies (xid -2) interleaved and skipped.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Instant;

use ringkeeper_bench::client::{Event, Session};
use ringkeeper_engine::proto::{
    decode_connect_request, decode_request_header, encode_connect_response, encode_notification,
    encode_reply, op, xid, ConnectResponse, ReplyHeader, Request, Response, Stat, WatcherEvent,
};

fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).ok()?;
    Some(body)
}

/// Accepts one session; answers each request with a notification, a ping reply, then the
/// reply (getData with the request's xid as data).
fn serve(listener: TcpListener) {
    let (mut s, _) = listener.accept().unwrap();
    let req = decode_connect_request(&read_frame(&mut s).unwrap()).unwrap();
    let mut out = Vec::new();
    let resp = ConnectResponse {
        protocol_version: 0,
        timeout_ms: req.timeout_ms,
        session_id: 0x42,
        passwd: vec![0; 16],
        read_only: Some(false),
    };
    encode_connect_response(&resp, &mut out);
    s.write_all(&out).unwrap();
    while let Some(frame) = read_frame(&mut s) {
        let (h, _) = decode_request_header(&frame).unwrap();
        if h.opcode == op::CLOSE_SESSION {
            break;
        }
        out.clear();
        let event = WatcherEvent {
            event_type: 3,
            state: 3,
            path: "/rkbench/k1".to_string(),
        };
        encode_notification(&event, &mut out);
        encode_reply(
            &ReplyHeader {
                xid: xid::PING,
                zxid: 5,
                err: 0,
            },
            &Response::Empty,
            &mut out,
        );
        let body = Response::GetData {
            data: h.xid.to_be_bytes().to_vec().into(),
            stat: Stat::default(),
        };
        encode_reply(
            &ReplyHeader {
                xid: h.xid,
                zxid: 5,
                err: 0,
            },
            &body,
            &mut out,
        );
        s.write_all(&out).unwrap();
    }
}

#[test]
fn pipelined_replies_skip_notifications_and_pings() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = thread::spawn(move || serve(listener));
    let mut session = Session::connect(&addr, 30_000).unwrap();
    assert_eq!(session.session_id, 0x42);
    let req = Request::GetData {
        path: "/rkbench/k1".to_string(),
        watch: true,
    };
    for tag in 0..5u8 {
        session.queue(op::GET_DATA, &req, tag, Instant::now());
    }
    session.flush().unwrap();
    let (mut replies, mut notes, mut pings) = (Vec::new(), 0, 0);
    while replies.len() < 5 {
        session.read_some().unwrap();
        session
            .process_frames(|ev| match ev {
                Event::Reply {
                    pending, header, ..
                } => replies.push((pending.tag, header.xid)),
                Event::Notification => notes += 1,
                Event::PingReply => pings += 1,
            })
            .unwrap();
    }
    assert_eq!(replies, vec![(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]);
    assert_eq!((notes, pings), (5, 5));
    let (err, body) = session.call(op::GET_DATA, &req).unwrap();
    assert_eq!(err, 0);
    assert_eq!(
        body,
        Some(Response::GetData {
            data: 6i32.to_be_bytes().to_vec().into(),
            stat: Stat::default()
        })
    );
    session.close();
    server.join().unwrap();
}
