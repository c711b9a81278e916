//! The operator endpoints' HTTP: a fixed number of worker threads, each accepting on the
//! same listener and answering one request per connection (`Connection: close`). Request
//! heads are parsed with `httparse`.
//!
//! Everything is bounded: threads ([`AdminServer`'s and /metrics' worker counts]), the
//! request head ([`MAX_REQUEST_HEAD_BYTES`]), the time a client may take to send it or read
//! the answer ([`IO_TIMEOUT`]), and waiting connections (the listen backlog). tiny_http, the
//! obvious crate, starts a thread per connection with no limit; hyper needs an async
//! runtime this binary does not otherwise have.
//!
//! [`AdminServer`'s and /metrics' worker counts]: super::admin::ADMIN_WORKERS

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

/// Longest request line plus headers accepted; longer gets 431.
pub const MAX_REQUEST_HEAD_BYTES: usize = 8 * 1024;
/// How long a client may take to send its request or to take the answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Headers parsed per request; more gets 431.
const MAX_HEADERS: usize = 32;

pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
}

pub struct Reply {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub body: String,
}

impl Reply {
    pub fn text(status: u16, body: &str) -> Reply {
        Reply {
            status,
            content_type: Some("text/plain; charset=utf-8"),
            body: body.to_string(),
        }
    }
}

/// Binds `addr` and starts `workers` threads named `name-<i>` answering with `handler`.
pub fn start<H>(addr: SocketAddr, name: &str, workers: usize, handler: H) -> std::io::Result<()>
where
    H: Fn(&Request) -> Reply + Send + Sync + 'static,
{
    let listener = TcpListener::bind(addr)?;
    let handler = Arc::new(handler);
    for i in 0..workers {
        let listener = listener.try_clone()?;
        let handler = handler.clone();
        std::thread::Builder::new()
            .name(format!("{name}-{i}"))
            .spawn(move || accept_loop(listener, &*handler))?;
    }
    Ok(())
}

fn accept_loop(listener: TcpListener, handler: &dyn Fn(&Request) -> Reply) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => answer(stream, handler),
            Err(e) => {
                // Out of descriptors and the like: do not spin on the error.
                tracing::debug!("operator endpoint accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn answer(mut stream: TcpStream, handler: &dyn Fn(&Request) -> Reply) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    let reply = match read_request(&mut stream) {
        Ok(Some(req)) => {
            let head_only = req.method == "HEAD";
            let reply = handler(&req);
            let _ = write_reply(&mut stream, &reply, head_only);
            return;
        }
        Ok(None) => return,
        Err(reply) => reply,
    };
    let _ = write_reply(&mut stream, &reply, false);
}

/// The request, None when the client went away or timed out, or the error reply.
fn read_request(stream: &mut TcpStream) -> Result<Option<Request>, Reply> {
    let mut buf = vec![0u8; MAX_REQUEST_HEAD_BYTES];
    let mut len = 0;
    loop {
        let n = match stream.read(&mut buf[len..]) {
            Ok(0) | Err(_) => return Ok(None),
            Ok(n) => n,
        };
        len += n;
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        match req.parse(&buf[..len]) {
            Ok(httparse::Status::Complete(_)) => {
                return Ok(Some(Request {
                    method: req.method.unwrap_or("").to_string(),
                    target: req.path.unwrap_or("").to_string(),
                }));
            }
            Ok(httparse::Status::Partial) if len < buf.len() => continue,
            Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
                return Err(Reply::text(431, "Request Header Fields Too Large\n"));
            }
            Err(_) => return Err(Reply::text(400, "Bad Request\n")),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

fn write_reply(stream: &mut TcpStream, r: &Reply, head_only: bool) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        reason(r.status),
        r.body.len()
    );
    if let Some(ct) = r.content_type {
        head.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    if !head_only {
        stream.write_all(r.body.as_bytes())?;
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(addr: SocketAddr, raw: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(raw).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn answers_and_bounds() {
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = probe.local_addr().unwrap();
        drop(probe);
        start(addr, "rk-http-test", 2, |r: &Request| Reply {
            status: 200,
            content_type: None,
            body: format!("{} {}", r.method, r.target),
        })
        .unwrap();
        let ok = exchange(addr, b"GET /x?y=1 HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Length: 10\r\n") && ok.ends_with("GET /x?y=1"));
        let head = exchange(addr, b"HEAD / HTTP/1.1\r\n\r\n");
        assert!(head.ends_with("\r\n\r\n"), "{head}");
        let bad = exchange(addr, b"\x01\x02 nonsense\r\n\r\n");
        assert!(bad.starts_with("HTTP/1.1 400 "), "{bad}");
        let mut huge = b"GET / HTTP/1.1\r\n".to_vec();
        let fill = MAX_REQUEST_HEAD_BYTES - huge.len();
        huge.extend(std::iter::repeat_n(b'a', fill));
        let big = exchange(addr, &huge);
        assert!(big.starts_with("HTTP/1.1 431 "), "{big}");
        // A client that never finishes its request holds one worker; the other answers.
        let _hog = {
            let mut h = TcpStream::connect(addr).unwrap();
            h.write_all(b"GET / HTTP/1.1\r\n").unwrap();
            h
        };
        let ok = exchange(addr, b"GET /after HTTP/1.1\r\n\r\n");
        assert!(ok.ends_with("GET /after"), "{ok}");
    }
}
