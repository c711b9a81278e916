//! Overload: a client that sends requests faster than it reads the replies must not make the
//! server buffer without bound. The connection's reader pauses once its replies pile up
//! unsent (the requests wait in the kernel's socket buffers). Other clients are still
//! served, and once the client reads again every reply arrives, in order.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use ringkeeper_engine::proto::{
    self, op, Acl, ConnectRequest, CreateRequest, Request, RequestHeader,
};
use ringkeeper_tests::RingkeeperProcess;

/// A raw session: frames in, frames out, nothing in between.
struct Raw(TcpStream);

impl Raw {
    fn connect(server: &RingkeeperProcess) -> Raw {
        let s = TcpStream::connect(server.addr()).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut raw = Raw(s);
        let req = ConnectRequest::new_session(30_000);
        let mut out = Vec::new();
        proto::encode_connect_request(&req, &mut out);
        raw.0.write_all(&out).unwrap();
        let resp = proto::decode_connect_response(&raw.frame()).expect("connect response");
        assert_ne!(resp.session_id, 0);
        raw
    }

    fn frame(&mut self) -> Vec<u8> {
        let mut len = [0; 4];
        self.0.read_exact(&mut len).expect("frame length");
        let mut body = vec![0; u32::from_be_bytes(len) as usize];
        self.0.read_exact(&mut body).expect("frame body");
        body
    }

    fn send(&mut self, xid: i32, opcode: i32, req: &Request) {
        let mut out = Vec::new();
        proto::encode_request(&RequestHeader { xid, opcode }, req, &mut out);
        self.0.write_all(&out).unwrap();
    }

    /// Reads the reply to `xid` (which must be the next one) and returns its error code.
    fn reply(&mut self, xid: i32) -> i32 {
        let body = self.frame();
        let (header, _) = proto::decode_reply_header(&body).expect("reply header");
        assert_eq!(header.xid, xid, "replies come in request order");
        header.err
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_client_that_does_not_read_cannot_grow_the_server() {
    const VALUE: usize = 64 << 10;
    // 20,000 replies of 64 KiB: 1.3 GB if the server kept them all.
    const REQUESTS: i32 = 20_000;
    let server = RingkeeperProcess::start(&["jute.maxbuffer=1048576"]);
    let pid = server.pid();

    let mut setup = Raw::connect(&server);
    let create = Request::Create {
        opcode: op::CREATE,
        req: CreateRequest {
            path: "/big".into(),
            data: vec![7; VALUE].into(),
            acl: Acl::open_unsafe(),
            flags: 0,
            ttl: None,
        },
    };
    setup.send(1, op::CREATE, &create);
    assert_eq!(setup.reply(1), 0);
    let before = rss_kib(pid);

    let mut greedy = Raw::connect(&server);
    let mut writer = Raw(greedy.0.try_clone().unwrap());
    let sender = thread::spawn(move || {
        let get = Request::GetData {
            path: "/big".into(),
            watch: false,
        };
        for xid in 1..=REQUESTS {
            writer.send(xid, op::GET_DATA, &get);
        }
    });
    // The requests (600 KB) fit in the sockets' buffers; the server reads them until its
    // queue of replies for this connection is full, then stops. Sample RSS meanwhile.
    let mut peak = before;
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        peak = peak.max(rss_kib(pid));
        thread::sleep(Duration::from_millis(100));
    }
    let growth_mib = (peak - before) / 1024;
    assert!(
        growth_mib < 400,
        "RSS grew by {growth_mib} MiB for a client that reads nothing"
    );

    // Another session is served meanwhile.
    setup.send(
        2,
        op::EXISTS,
        &Request::Exists {
            path: "/big".into(),
            watch: false,
        },
    );
    assert_eq!(setup.reply(2), 0);

    // Reading again drains everything, in order.
    for xid in 1..=REQUESTS {
        assert_eq!(greedy.reply(xid), 0, "xid {xid}");
    }
    sender.join().unwrap();
}
