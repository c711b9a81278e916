//! The server's request path on arbitrary client bytes: the input is a stream of frames
//! (`[i32 len][body]`), checked against jute.maxbuffer as the connection reader does; each
//! body goes through the handshake decoder and through header + request decoding, as the
//! first and the later frames of a connection do. Decoding may fail, never panic; what
//! decodes must re-encode to a frame that decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ringkeeper_engine::limits::JUTE_MAXBUFFER_DEFAULT;
use ringkeeper_engine::proto::{
    decode_connect_request, decode_request, decode_request_header, encode_connect_request,
    encode_request,
};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = i32::from_be_bytes(*len);
        // The connection reader closes on a length outside 0..=jute.maxbuffer.
        if len < 0 || len as usize > JUTE_MAXBUFFER_DEFAULT {
            return;
        }
        let body = &tail[..(len as usize).min(tail.len())];
        rest = &tail[body.len()..];
        check_connect(body);
        check_request(body);
    }
});

fn check_connect(body: &[u8]) {
    let Ok(req) = decode_connect_request(body) else {
        return;
    };
    let mut out = Vec::new();
    encode_connect_request(&req, &mut out);
    let again = decode_connect_request(&out[4..]).expect("re-encoded ConnectRequest decodes");
    assert_eq!(again, req);
}

fn check_request(body: &[u8]) {
    let Ok((header, body)) = decode_request_header(body) else {
        return;
    };
    // Any error is answered (MARSHALLINGERROR, UNIMPLEMENTED) or closes the connection.
    let Ok(req) = decode_request(header.opcode, body) else {
        return;
    };
    let mut out = Vec::new();
    encode_request(&header, &req, &mut out);
    let (header2, body2) = decode_request_header(&out[4..]).expect("re-encoded header decodes");
    assert_eq!(header2, header);
    let again = decode_request(header2.opcode, body2).expect("re-encoded request decodes");
    assert_eq!(again, req);
}
