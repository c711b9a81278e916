//! A connection shard: one glommio executor that accepts on the client port (SO_REUSEPORT,
//! so every shard binds it and the kernel spreads connections) and owns its connections.

use crate::conn::{read_loop, write_loop, ConnCmd, PipelineTx, ReadEnd};
use crate::msg::{conn_id, output_conn, ToPipeline, ToShard};
use glommio::channels::local_channel::{self, LocalSender};
use glommio::channels::shared_channel::{SharedReceiver, SharedSender};
use glommio::net::TcpListener;
use ringkeeper_engine::{ConnId, Output};
use std::cell::RefCell;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;

type Conns = Rc<RefCell<HashMap<ConnId, LocalSender<ConnCmd>>>>;

pub struct ShardSetup {
    pub index: usize,
    pub listen: SocketAddr,
    pub max_frame: usize,
    pub to_pipeline: SharedSender<ToPipeline>,
    pub from_pipeline: SharedReceiver<ToShard>,
    /// Told once the listener is bound (or failed to bind).
    pub ready: std::sync::mpsc::Sender<Result<(), String>>,
}

fn route(conns: &Conns, msg: ToShard) {
    match msg {
        ToShard::Text { conn, text } => {
            if let Some(tx) = conns.borrow_mut().remove(&conn) {
                let _ = tx.try_send(ConnCmd::Text(text));
            }
        }
        ToShard::Outputs(outputs) => {
            let mut batch: Vec<Output> = Vec::new();
            let mut current: Option<ConnId> = None;
            let flush = |conn: Option<ConnId>, batch: &mut Vec<Output>| {
                let Some(conn) = conn else { return };
                if batch.is_empty() {
                    return;
                }
                let closing = matches!(batch.last(), Some(Output::Close { .. }));
                let mut map = conns.borrow_mut();
                if let Some(tx) = map.get(&conn) {
                    let _ = tx.try_send(ConnCmd::Outputs(std::mem::take(batch)));
                }
                if closing {
                    map.remove(&conn);
                }
                batch.clear();
            };
            for o in outputs {
                let c = output_conn(&o);
                if current != Some(c) {
                    flush(current, &mut batch);
                    current = Some(c);
                }
                let is_close = matches!(o, Output::Close { .. });
                batch.push(o);
                if is_close {
                    flush(current, &mut batch);
                }
            }
            flush(current, &mut batch);
        }
    }
}

pub async fn run(setup: ShardSetup) {
    let tx: PipelineTx = Rc::new(setup.to_pipeline.connect().await);
    let rx = setup.from_pipeline.connect().await;
    let conns: Conns = Rc::new(RefCell::new(HashMap::new()));
    let dispatch_conns = conns.clone();
    glommio::spawn_local(async move {
        while let Some(msg) = rx.recv().await {
            route(&dispatch_conns, msg);
        }
    })
    .detach();

    let listener = match TcpListener::bind(setup.listen) {
        Ok(l) => {
            let _ = setup.ready.send(Ok(()));
            l
        }
        Err(e) => {
            let _ = setup
                .ready
                .send(Err(format!("cannot bind {}: {e}", setup.listen)));
            return;
        }
    };
    let mut next: u64 = 1;
    loop {
        let stream = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                glommio::timer::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let Ok(remote) = stream.peer_addr() else {
            continue;
        };
        let conn = conn_id(setup.index, next);
        next += 1;
        let (ctx, crx) = local_channel::new_unbounded();
        conns.borrow_mut().insert(conn, ctx);
        let tx = tx.clone();
        let conns = conns.clone();
        let max_frame = setup.max_frame;
        glommio::spawn_local(async move {
            let fd = stream.as_raw_fd();
            let (r, w) = futures_lite::io::split(stream);
            let writer = glommio::spawn_local(write_loop(w, crx, fd));
            // After a four-letter word the writer still has the answer to send; it removes
            // the connection itself. Otherwise dropping the sender lets the writer drain.
            if let ReadEnd::Closed = read_loop(r, conn, remote, max_frame, tx).await {
                conns.borrow_mut().remove(&conn);
            }
            writer.await;
        })
        .detach();
    }
}
