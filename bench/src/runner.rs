//! Running the load: client threads, each owning several sessions, closed-loop or at a fixed
//! rate, with warmup, an end by time or op count, and an optional progress line per second.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use ringkeeper_engine::proto::{decode_response, MultiResult, Response};

use crate::client::{poll_readable, Event, Session};
use crate::error::{BenchError, Result};
use crate::histo::{new_histogram, Stats};
use crate::report::RunReport;
use crate::setup;
use crate::workload::{OpGen, OpKind, Workload};

/// Everything a run needs; `cli` builds it from the command line, `ringkeeper-tune` directly.
#[derive(Clone, Debug)]
pub struct BenchConfig {
    /// Sessions are spread over these round-robin.
    pub servers: Vec<String>,
    pub label: String,
    pub sessions: usize,
    /// Requests outstanding per session.
    pub inflight: usize,
    pub threads: usize,
    pub workload: Workload,
    pub duration: Duration,
    /// Stop after this many measured ops instead of after `duration`.
    pub ops: Option<u64>,
    /// Fixed-rate mode: total ops/s over all threads.
    pub rate: Option<f64>,
    pub warmup: Duration,
    pub progress: bool,
    /// Pin client threads: `Some(empty)` round-robin over all cores, else over these core ids.
    pub pin: Option<Vec<usize>>,
    pub session_timeout_ms: i32,
    pub setup: bool,
    pub cleanup: bool,
    pub seed: u64,
}

/// How long to wait for outstanding replies once the run is over.
const DRAIN: Duration = Duration::from_secs(5);
/// Longest single wait in the poll loop.
const MAX_WAIT: Duration = Duration::from_millis(100);
/// How often a worker publishes its progress histogram.
const PUBLISH: Duration = Duration::from_millis(250);

/// Runs setup, the load and cleanup against `cfg.servers`; the first server does setup.
pub fn run(cfg: &BenchConfig) -> Result<RunReport> {
    if cfg.servers.is_empty() || cfg.sessions == 0 || cfg.inflight == 0 {
        return Err(BenchError::new(
            "need at least one server, session and in-flight slot",
        ));
    }
    if cfg.setup {
        setup::setup(&cfg.servers[0], &cfg.workload)?;
    }
    let result = run_load(cfg);
    if cfg.cleanup {
        if let Err(e) = setup::cleanup(&cfg.servers[0], cfg.workload.keys) {
            eprintln!("cleanup failed: {e}");
        }
    }
    let (stats, seconds) = result?;
    let mut report = RunReport {
        label: cfg.label.clone(),
        servers: cfg.servers.clone(),
        sessions: cfg.sessions,
        inflight: cfg.inflight,
        threads: cfg.threads,
        mode: if cfg.rate.is_some() {
            "fixed-rate"
        } else {
            "closed-loop"
        }
        .to_string(),
        rate: cfg.rate,
        mix: cfg.workload.mix.to_string(),
        keys: cfg.workload.keys,
        value_size: cfg.workload.value.len(),
        ..RunReport::default()
    };
    report.fill(&stats, seconds);
    Ok(report)
}

/// Shared between workers and the progress printer.
#[derive(Default)]
struct Progress {
    ops: AtomicU64,
    hist: Mutex<Option<Histogram<u64>>>,
    done: AtomicBool,
}

fn run_load(cfg: &BenchConfig) -> Result<(Stats, f64)> {
    let threads = cfg.threads.clamp(1, cfg.sessions);
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let barrier = Arc::new(Barrier::new(threads));
    let progress = Arc::new(Progress::default());
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let cfg = cfg.clone();
            let barrier = barrier.clone();
            let progress = progress.clone();
            let core = cfg.pin.as_ref().and_then(|list| {
                if list.is_empty() {
                    cores.get(t % cores.len().max(1)).copied()
                } else {
                    let id = list[t % list.len()];
                    Some(core_affinity::CoreId { id })
                }
            });
            thread::Builder::new()
                .name(format!("bench-{t}"))
                .spawn(move || {
                    if let Some(core) = core {
                        core_affinity::set_for_current(core);
                    }
                    worker(&cfg, t, threads, &barrier, &progress)
                })
                .expect("spawn client thread")
        })
        .collect();
    if cfg.progress {
        print_progress(&progress, cfg, &handles);
    }
    let mut merged = Stats::default();
    let mut seconds: f64 = 0.0;
    let mut first_err = None;
    for h in handles {
        match h
            .join()
            .map_err(|_| BenchError::new("client thread panicked"))?
        {
            Ok((stats, secs)) => {
                merged.merge(&stats);
                seconds = seconds.max(secs);
            }
            Err(e) => first_err = first_err.or(Some(e)),
        }
    }
    progress.done.store(true, Ordering::Relaxed);
    match first_err {
        Some(e) => Err(e),
        None => Ok((merged, seconds)),
    }
}

fn print_progress(p: &Progress, cfg: &BenchConfig, handles: &[thread::JoinHandle<WorkerResult>]) {
    let start = Instant::now();
    let mut last_ops = 0;
    let mut tick = 1;
    while !handles.iter().all(|h| h.is_finished()) {
        let next = start + Duration::from_secs(tick);
        while Instant::now() < next && !handles.iter().all(|h| h.is_finished()) {
            thread::sleep(Duration::from_millis(20));
        }
        let ops = p.ops.load(Ordering::Relaxed);
        let p99 = p
            .hist
            .lock()
            .expect("progress lock")
            .as_ref()
            .map_or(0.0, |h| h.value_at_quantile(0.99) as f64 / 1000.0);
        let warm = if start.elapsed() < cfg.warmup {
            " (warmup)"
        } else {
            ""
        };
        eprintln!(
            "[{}] {:>4}s  {:>10.0} ops/s  p99 so far {:>9.1} us{warm}",
            cfg.label,
            tick,
            (ops - last_ops) as f64,
            p99
        );
        last_ops = ops;
        tick += 1;
    }
}

type WorkerResult = Result<(Stats, f64)>;

struct Slot {
    session: Session,
    gen: OpGen,
    alive: bool,
}

/// One client thread: connects its sessions (index t, t+threads, ...), waits for the others,
/// then drives the load. Returns its stats and the length of its measured window.
fn worker(
    cfg: &BenchConfig,
    t: usize,
    threads: usize,
    barrier: &Barrier,
    progress: &Progress,
) -> WorkerResult {
    let connected: Result<Vec<Slot>> = (t..cfg.sessions)
        .step_by(threads)
        .map(|i| {
            let addr = &cfg.servers[i % cfg.servers.len()];
            let session = Session::connect(addr, cfg.session_timeout_ms)?;
            let seed = cfg.seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let gen = OpGen::new(seed, &format!("p{}s{i}", std::process::id()));
            Ok(Slot {
                session,
                gen,
                alive: true,
            })
        })
        .collect();
    barrier.wait();
    let mut slots = connected?;
    let result = drive(cfg, t, threads, &mut slots, progress);
    for slot in slots.into_iter().filter(|s| s.alive) {
        slot.session.close();
    }
    result
}

fn drive(
    cfg: &BenchConfig,
    t: usize,
    threads: usize,
    slots: &mut [Slot],
    progress: &Progress,
) -> WorkerResult {
    let mut stats = Stats::default();
    let mut interval = new_histogram();
    let start = Instant::now();
    let warm_end = start + cfg.warmup;
    let end = cfg.ops.is_none().then(|| warm_end + cfg.duration);
    let budget = cfg
        .ops
        .map(|n| n / threads as u64 + u64::from((t as u64) < n % threads as u64));
    // Fixed rate: the k-th op of this thread is intended at start + k * gap.
    let gap = cfg
        .rate
        .map(|r| Duration::from_secs_f64(threads as f64 / r.max(1e-9)));
    let mut issued: u64 = 0;
    let mut cursor = 0;
    let mut measured: u64 = 0;
    let mut last_measured = warm_end;
    let mut last_publish = start;
    let mut stop_at: Option<Instant> = None;
    let mut fds = Vec::with_capacity(slots.len());
    let mut ready = Vec::with_capacity(slots.len());
    loop {
        let now = Instant::now();
        let over = end.is_some_and(|e| now >= e) || budget.is_some_and(|b| measured >= b);
        if over && stop_at.is_none() {
            stop_at = Some(now);
        }
        let in_flight: usize = slots
            .iter()
            .filter(|s| s.alive)
            .map(|s| s.session.in_flight())
            .sum();
        if !slots.iter().any(|s| s.alive) {
            break;
        }
        if let Some(stopped) = stop_at {
            if in_flight == 0 || now >= stopped + DRAIN {
                break;
            }
        }
        let mut wait = MAX_WAIT;
        if stop_at.is_none() {
            match gap {
                None => {
                    for slot in slots.iter_mut().filter(|s| s.alive) {
                        let sent_at = Instant::now();
                        while slot.session.in_flight() < cfg.inflight {
                            let (kind, opcode, req) = slot.gen.next(&cfg.workload);
                            slot.session.queue(opcode, &req, kind as u8, sent_at);
                        }
                        flush(slot, &mut stats);
                    }
                }
                Some(gap) => {
                    let mut due = start + gap.mul_f64(issued as f64);
                    let n = slots.len();
                    while due <= now && end.is_none_or(|e| due < e) {
                        let free = (0..n).map(|j| (cursor + j) % n).find(|&j| {
                            slots[j].alive && slots[j].session.in_flight() < cfg.inflight
                        });
                        let Some(j) = free else { break };
                        cursor = (j + 1) % n;
                        let (kind, opcode, req) = slots[j].gen.next(&cfg.workload);
                        slots[j].session.queue(opcode, &req, kind as u8, due);
                        issued += 1;
                        due = start + gap.mul_f64(issued as f64);
                    }
                    for slot in slots.iter_mut().filter(|s| s.alive) {
                        flush(slot, &mut stats);
                    }
                    let has_free = slots
                        .iter()
                        .any(|s| s.alive && s.session.in_flight() < cfg.inflight);
                    if has_free {
                        wait = wait.min(due.saturating_duration_since(Instant::now()));
                    }
                }
            }
        }
        let now = Instant::now();
        for slot in slots.iter_mut().filter(|s| s.alive) {
            let due = slot.session.ping_due();
            if now >= due {
                if let Err(e) = slot.session.ping() {
                    lose(slot, &mut stats, format!("ping: {e}"));
                }
            } else {
                wait = wait.min(due - now);
            }
        }
        fds.clear();
        let live: Vec<usize> = (0..slots.len()).filter(|&j| slots[j].alive).collect();
        fds.extend(live.iter().map(|&j| slots[j].session.fd()));
        poll_readable(&fds, wait, &mut ready)?;
        for &r in &ready {
            let slot = &mut slots[live[r]];
            if let Err(e) = slot.session.read_some() {
                lose(slot, &mut stats, e.to_string());
                continue;
            }
            let done = Instant::now();
            let in_window = done >= warm_end && end.is_none_or(|e| done <= e);
            let mut count = 0;
            let mut seen = 0;
            let res = slot.session.process_frames(|ev| match ev {
                Event::Reply {
                    pending,
                    header,
                    body,
                } => {
                    seen += 1;
                    if !in_window || budget.is_some_and(|b| measured + count >= b) {
                        return;
                    }
                    count += 1;
                    let kind = OpKind::ALL[pending.tag as usize];
                    let nanos = done.saturating_duration_since(pending.start).as_nanos() as u64;
                    stats.record(kind, nanos);
                    if cfg.progress {
                        interval.saturating_record(nanos.max(1));
                    }
                    check_reply(&mut stats, kind, pending.opcode, header.err, body);
                }
                Event::Notification => stats.notifications += 1,
                Event::PingReply => {}
            });
            if count > 0 {
                measured += count;
                last_measured = done;
            }
            if cfg.progress {
                progress.ops.fetch_add(seen, Ordering::Relaxed);
            }
            if let Err(e) = res {
                lose(slot, &mut stats, e.to_string());
            }
        }
        if cfg.progress && now >= last_publish + PUBLISH {
            publish(progress, &mut interval);
            last_publish = now;
        }
    }
    if cfg.progress {
        publish(progress, &mut interval);
    }
    let seconds = match end {
        Some(_) => cfg.duration.as_secs_f64(),
        None => last_measured
            .saturating_duration_since(warm_end)
            .as_secs_f64(),
    };
    Ok((stats, seconds))
}

fn flush(slot: &mut Slot, stats: &mut Stats) {
    if let Err(e) = slot.session.flush() {
        lose(slot, stats, format!("write: {e}"));
    }
}

/// Marks a session dead after its connection broke; its outstanding requests are lost.
fn lose(slot: &mut Slot, stats: &mut Stats, why: String) {
    slot.alive = false;
    let lost = slot.session.drain_pending().count() as u64;
    stats.lost_requests += lost;
    let msg = format!(
        "session 0x{:x} on {}: {why} ({lost} requests outstanding)",
        slot.session.session_id, slot.session.addr
    );
    eprintln!("connection lost: {msg}");
    stats.connection_losses.push(msg);
}

/// Counts a server error, or an undecodable body, or a failed multi's first real error.
fn check_reply(stats: &mut Stats, kind: OpKind, opcode: i32, err: i32, body: &[u8]) {
    if err != 0 {
        stats.error(kind, err);
        return;
    }
    match decode_response(opcode, body) {
        Ok(Response::Multi(results)) => {
            let first = results.iter().find_map(|r| match r {
                MultiResult::Error { err } if *err != 0 && *err != -2 => Some(*err),
                _ => None,
            });
            if let Some(code) = first {
                stats.error(kind, code);
            }
        }
        Ok(_) => {}
        Err(_) => stats.decode_errors += 1,
    }
}

fn publish(progress: &Progress, interval: &mut Histogram<u64>) {
    let mut shared = progress.hist.lock().expect("progress lock");
    match shared.as_mut() {
        Some(h) => h.add(&*interval).expect("histograms share bounds"),
        None => *shared = Some(interval.clone()),
    }
    interval.reset();
}
