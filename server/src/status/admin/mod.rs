//! The AdminServer: ZooKeeper's `/commands/<name>` JSON endpoints over HTTP, on a thread of
//! its own. It reads the board and asks the pipeline through its bounded queue, so a slow or
//! hostile HTTP client can hold up this thread but never the pipeline.

pub mod commands;
pub mod jackson;

use super::board::Board;
use super::settings;
use std::collections::BTreeMap;
use std::sync::Arc;
use tiny_http::{Header, Method, Response, Server};

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
    let server = match Server::http(s.listen) {
        Ok(server) => server,
        Err(e) => {
            tracing::error!(
                "Problem starting AdminServer on address {}, port {} and command URL {}: {e}",
                s.listen.ip(),
                s.listen.port(),
                s.command_url
            );
            return;
        }
    };
    let initial_config = board
        .config
        .config_path
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let board = board.clone();
    let url = s.command_url.clone();
    let spawned = std::thread::Builder::new()
        .name("rk-admin".into())
        .spawn(move || serve(server, &board, &url, &initial_config));
    match spawned {
        Ok(_) => tracing::info!(listen = %s.listen, url = %s.command_url, "AdminServer started"),
        Err(e) => tracing::error!("AdminServer thread not started: {e}"),
    }
}

fn serve(server: Server, board: &Board, command_url: &str, initial_config: &str) {
    let cx = commands::Context {
        board,
        initial_config,
    };
    for req in server.incoming_requests() {
        let (status, content_type, body) = route(req.method(), req.url(), command_url, &cx);
        let mut resp = Response::from_string(body).with_status_code(status);
        if let Some(ct) = content_type {
            if let Ok(h) = Header::from_bytes("Content-Type", ct) {
                resp = resp.with_header(h);
            }
        }
        if let Err(e) = req.respond(resp) {
            tracing::debug!("AdminServer: writing a response failed: {e}");
        }
    }
}

/// (HTTP status, content type, body) for one request.
pub fn route(
    method: &Method,
    url: &str,
    command_url: &str,
    cx: &commands::Context,
) -> (u16, Option<&'static str>, String) {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    if !matches!(method, Method::Get | Method::Head) {
        return (405, Some("text/plain"), "HTTP method not allowed\n".into());
    }
    let Some(rest) = path.strip_prefix(command_url) else {
        return (404, Some("text/plain"), "Not Found\n".into());
    };
    let name = rest.trim_start_matches('/');
    if !rest.is_empty() && !rest.starts_with('/') {
        return (404, Some("text/plain"), "Not Found\n".into());
    }
    if name.is_empty() {
        // ZooKeeper's listing: a link per primary name.
        let mut body = String::new();
        for n in commands::primary_names() {
            body.push_str(&format!("<a href=\"{command_url}/{n}\">{n}</a>\n<br/>\n"));
        }
        return (200, None, body);
    }
    let args = parse_query(query);
    let doc = commands::run(name, &args, cx);
    (200, Some("application/json"), jackson::pretty(&doc))
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
