//! Jute codec micro-benchmarks (ringkeeper_engine::proto): the server's and the client's side
//! of getData and of a 4-op multi.
//!
//! `cargo bench -p ringkeeper-bench --bench codec -- --warm-up-time 1 --measurement-time 3`
//! Each file in benches/ is one group with its own `[[bench]]` entry in Cargo.toml.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ringkeeper_engine::proto::{
    decode_reply_header, decode_request, decode_request_header, decode_response, encode_reply,
    encode_request, op, MultiOp, MultiResult, ReplyHeader, Request, RequestHeader, Response, Stat,
};

fn stat() -> Stat {
    Stat {
        czxid: 0x1_0000_0002,
        mzxid: 0x1_0000_0009,
        ctime: 1_700_000_000_000,
        mtime: 1_700_000_000_500,
        version: 7,
        data_length: 100,
        pzxid: 0x1_0000_0002,
        ..Stat::default()
    }
}

fn get_data_request() -> Request {
    Request::GetData {
        path: "/rkbench/k12345".to_string(),
        watch: false,
    }
}

fn get_data_response() -> Response {
    Response::GetData {
        data: vec![b'x'; 100].into(),
        stat: stat(),
    }
}

fn multi_request() -> Request {
    let v = vec![b'y'; 100];
    Request::Multi(vec![
        MultiOp::Check {
            path: "/rkbench/k1".to_string(),
            version: -1,
        },
        MultiOp::SetData {
            path: "/rkbench/k2".to_string(),
            data: v.clone().into(),
            version: -1,
        },
        MultiOp::SetData {
            path: "/rkbench/k3".to_string(),
            data: v.into(),
            version: 3,
        },
        MultiOp::Delete {
            path: "/rkbench/c/p1s0-7".to_string(),
            version: -1,
        },
    ])
}

fn multi_response() -> Response {
    Response::Multi(vec![
        MultiResult::Check,
        MultiResult::SetData { stat: stat() },
        MultiResult::SetData { stat: stat() },
        MultiResult::Delete,
    ])
}

/// Bytes of the frame body (without the length prefix).
fn body(frame: &[u8]) -> &[u8] {
    &frame[4..]
}

fn bench_request(c: &mut Criterion, name: &str, opcode: i32, req: Request) {
    let header = RequestHeader { xid: 42, opcode };
    let mut frame = Vec::new();
    encode_request(&header, &req, &mut frame);
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(frame.len() as u64));
    let mut out = Vec::with_capacity(4096);
    g.bench_function("encode_request", |b| {
        b.iter(|| {
            out.clear();
            encode_request(black_box(&header), black_box(&req), &mut out);
            black_box(out.len())
        })
    });
    g.bench_function("decode_request", |b| {
        b.iter(|| {
            let (h, rest) = decode_request_header(black_box(body(&frame))).expect("header");
            black_box(decode_request(h.opcode, rest).expect("request"))
        })
    });
    g.finish();
}

fn bench_response(c: &mut Criterion, name: &str, opcode: i32, resp: Response) {
    let header = ReplyHeader {
        xid: 42,
        zxid: 0x1_0000_0009,
        err: 0,
    };
    let mut frame = Vec::new();
    encode_reply(&header, &resp, &mut frame);
    let mut g = c.benchmark_group(name);
    g.throughput(Throughput::Bytes(frame.len() as u64));
    let mut out = Vec::with_capacity(4096);
    g.bench_function("encode_reply", |b| {
        b.iter(|| {
            out.clear();
            encode_reply(black_box(&header), black_box(&resp), &mut out);
            black_box(out.len())
        })
    });
    g.bench_function("decode_response", |b| {
        b.iter(|| {
            let (_, rest) = decode_reply_header(black_box(body(&frame))).expect("header");
            black_box(decode_response(opcode, rest).expect("response"))
        })
    });
    g.finish();
}

fn codec(c: &mut Criterion) {
    bench_request(c, "getData_request", op::GET_DATA, get_data_request());
    bench_response(
        c,
        "getData_response_100B",
        op::GET_DATA,
        get_data_response(),
    );
    bench_request(c, "multi4_request", op::MULTI, multi_request());
    bench_response(c, "multi4_response", op::MULTI, multi_response());
}

criterion_group!(benches, codec);
criterion_main!(benches);
