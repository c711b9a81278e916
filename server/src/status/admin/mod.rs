//! The AdminServer: ZooKeeper's `/commands/<name>` JSON endpoints over HTTP, on a thread of
//! its own worker threads. It reads the board and asks the pipeline through its bounded queue, so a slow or
//! hostile HTTP client can hold up this thread but never the pipeline.

pub mod commands;
pub mod jackson;
pub mod quorum;

use super::board::Board;
use super::http::{self, Reply, Request};
use super::settings;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Requests the AdminServer answers at once (each on its own thread).
pub const ADMIN_WORKERS: usize = 4;

/// Starts the AdminServer if `admin.enableServer` allows. Unlike ZooKeeper 3.8 standalone,
/// which exits (code 4) when its AdminServer cannot bind, a failure is logged and the server
/// keeps serving clients: the four-letter words still work.
pub fn start(board: &Arc<Board>) {
    let s = match settings::admin(&board.config) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("AdminServer not started: {e}");
            return;
        }
    };
    if !s.enabled {
        return;
    }
    let initial_config = board
        .config
        .config_path
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let b = board.clone();
    let url = s.command_url.clone();
    let handler = move |req: &Request| {
        let cx = commands::Context {
            board: &b,
            initial_config: &initial_config,
        };
        route(&req.method, &req.target, &url, &cx)
    };
    match http::start(s.listen, "rk-admin", ADMIN_WORKERS, handler) {
        Ok(()) => tracing::info!(listen = %s.listen, url = %s.command_url, "AdminServer started"),
        Err(e) => tracing::error!(
            "Problem starting AdminServer on address {}, port {} and command URL {}: {e}",
            s.listen.ip(),
            s.listen.port(),
            s.command_url
        ),
    }
}

/// The reply to one request.
pub fn route(method: &str, target: &str, command_url: &str, cx: &commands::Context) -> Reply {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if !matches!(method, "GET" | "HEAD") {
        return Reply::text(405, "HTTP method not allowed\n");
    }
    let Some(rest) = path.strip_prefix(command_url) else {
        return Reply::text(404, "Not Found\n");
    };
    if !rest.is_empty() && !rest.starts_with('/') {
        return Reply::text(404, "Not Found\n");
    }
    let name = rest.trim_start_matches('/');
    if name.is_empty() {
        // ZooKeeper's listing: a link per primary name.
        let mut body = String::new();
        for n in commands::primary_names() {
            body.push_str(&format!("<a href=\"{command_url}/{n}\">{n}</a>\n<br/>\n"));
        }
        return Reply {
            status: 200,
            content_type: Some("text/html; charset=utf-8"),
            body,
        };
    }
    let doc = commands::run(name, &parse_query(query), cx);
    Reply {
        status: 200,
        content_type: Some("application/json"),
        body: jackson::pretty(&doc),
    }
}

fn parse_query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}
