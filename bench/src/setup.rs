//! Creating the key space before a run and removing everything under /rkbench after it.
//! Both pipeline many requests per session and spread the keys over a few sessions.

use std::thread;

use ringkeeper_engine::proto::{op, Acl, CreateRequest, Request, Response};

use crate::client::{Event, Session};
use crate::error::{BenchError, Result};
use crate::workload::{key_path, Workload, CREATE_DIR, ROOT};

const WINDOW: usize = 256;
const SETUP_SESSIONS: u64 = 4;
const NONODE: i32 = -101;
const NODEEXISTS: i32 = -110;

/// Sends `reqs` with up to `WINDOW` outstanding and returns the error code of every reply
/// that was not 0, with its request index.
fn pipeline(s: &mut Session, reqs: impl Iterator<Item = (i32, Request)>) -> Result<Vec<i32>> {
    let mut reqs = reqs.peekable();
    let mut errs = Vec::new();
    loop {
        while s.in_flight() < WINDOW {
            match reqs.next() {
                Some((opcode, req)) => s.queue(opcode, &req, 0, std::time::Instant::now()),
                None => break,
            }
        }
        s.flush()?;
        if s.in_flight() == 0 {
            return Ok(errs);
        }
        s.read_some()
            .map_err(|e| BenchError::new(format!("{}: {e}", s.addr)))?;
        s.process_frames(|ev| {
            if let Event::Reply { header, .. } = ev {
                if header.err != 0 {
                    errs.push(header.err);
                }
            }
        })?;
    }
}

fn create_req(path: String, data: Vec<u8>) -> (i32, Request) {
    let req = CreateRequest {
        path,
        data: data.into(),
        acl: Acl::open_unsafe(),
        flags: 0,
        ttl: None,
    };
    (
        op::CREATE,
        Request::Create {
            opcode: op::CREATE,
            req,
        },
    )
}

fn delete_req(path: String) -> (i32, Request) {
    (op::DELETE, Request::Delete { path, version: -1 })
}

fn check(errs: Vec<i32>, ok: &[i32], what: &str) -> Result<u64> {
    let mut tolerated = 0;
    for e in errs {
        if !ok.contains(&e) {
            return Err(BenchError::new(format!("{what}: server error {e}")));
        }
        tolerated += 1;
    }
    Ok(tolerated)
}

/// Runs `job(session, first_key, end_key)` on a few sessions in parallel over 0..keys.
fn spread(
    addr: &str,
    keys: u64,
    job: impl Fn(&mut Session, u64, u64) -> Result<u64> + Sync,
) -> Result<u64> {
    let n = SETUP_SESSIONS.min(keys).max(1);
    let per = keys.div_ceil(n);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..n)
            .map(|i| {
                let job = &job;
                scope.spawn(move || -> Result<u64> {
                    let mut s = Session::connect(addr, 30_000)?;
                    let r = job(&mut s, i * per, ((i + 1) * per).min(keys));
                    s.close();
                    r
                })
            })
            .collect();
        let mut total = 0;
        for h in handles {
            total += h
                .join()
                .map_err(|_| BenchError::new("setup thread panicked"))??;
        }
        Ok(total)
    })
}

/// Creates /rkbench, /rkbench/c and /rkbench/k<i> with the workload's value. Keys that already
/// exist are kept; returns how many did.
pub fn setup(addr: &str, w: &Workload) -> Result<u64> {
    let mut s = Session::connect(addr, 30_000)?;
    let dirs = [ROOT, CREATE_DIR].map(|p| create_req(p.to_string(), Vec::new()));
    let errs = pipeline(&mut s, dirs.into_iter())?;
    s.close();
    check(errs, &[NODEEXISTS], "creating /rkbench")?;
    spread(addr, w.keys, |s, from, to| {
        let reqs = (from..to).map(|i| create_req(key_path(i), w.value.clone()));
        check(pipeline(s, reqs)?, &[NODEEXISTS], "creating keys")
    })
}

fn children(s: &mut Session, path: &str) -> Result<Vec<String>> {
    let req = Request::GetChildren {
        path: path.to_string(),
        watch: false,
        with_stat: false,
    };
    match s.call(op::GET_CHILDREN, &req)? {
        (NONODE, _) => Ok(Vec::new()),
        (0, Some(Response::GetChildren { children })) => Ok(children.to_vec()),
        (err, other) => Err(BenchError::new(format!(
            "getChildren {path}: {err} {other:?}"
        ))),
    }
}

/// Deletes /rkbench/k0..k<keys>, then whatever else is left under /rkbench, then /rkbench.
pub fn cleanup(addr: &str, keys: u64) -> Result<()> {
    spread(addr, keys, |s, from, to| {
        check(
            pipeline(s, (from..to).map(|i| delete_req(key_path(i))))?,
            &[NONODE],
            "deleting keys",
        )
    })?;
    let mut s = Session::connect(addr, 30_000)?;
    let result = (|| {
        for child in children(&mut s, ROOT)? {
            let dir = format!("{ROOT}/{child}");
            let grandchildren = children(&mut s, &dir)?;
            let reqs = grandchildren
                .into_iter()
                .map(|g| delete_req(format!("{dir}/{g}")));
            check(pipeline(&mut s, reqs)?, &[NONODE], "deleting leftovers")?;
            check(
                pipeline(&mut s, std::iter::once(delete_req(dir)))?,
                &[NONODE],
                "deleting",
            )?;
        }
        let root = std::iter::once(delete_req(ROOT.to_string()));
        check(pipeline(&mut s, root)?, &[NONODE], "deleting /rkbench").map(|_| ())
    })();
    s.close();
    result
}
