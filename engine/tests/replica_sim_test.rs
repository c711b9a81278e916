//! Seeded deterministic simulation of an ensemble (issue 8): voters and an Observer, each a
//! `replica::Member` (raft-rs + Engine) with a simulated disk, on a network that drops,
//! delays, duplicates and reorders messages, with partitions, crashes that lose unsynced
//! writes and Observers that lose their disk; members snapshot and compact their logs every
//! few entries. One seed decides everything; a failure prints the command that replays it.
//!
//! Checked after every round: committed entries agree across members; members at the same
//! zxid (with nothing prepared on top) have the same tree; zxids strictly increase (asserted
//! inside the member). Checked per reply: replies come in request order, a session reads its
//! own create, sync-then-read sees every create acknowledged before the sync. At the end, with
//! every fault healed: the ensemble accepts a write, every member applies the same log, every
//! acknowledged write is on every member, and the history of the shared znodes (concurrent
//! creates, setData, deletes and sync-then-reads from all clients) is linearizable.
//!
//! RINGKEEPER_SIM_SEEDS=<n> runs n seeds per shape (default 60); RINGKEEPER_SIM_SEED=<s> runs
//! just that one; RINGKEEPER_SIM_VERBOSE=1 prints a line per seed; RINGKEEPER_SIM_TRACE=1
//! prints every client output. RINGKEEPER_SIM_BREAK=<fault> adds a deliberate fault, to see a
//! failure end to end: `swap-versions` swaps the versions two setData answered in each seed's
//! history; `unsynced-reads` sends the shared znodes' reads without their sync (some seeds in
//! the first few hundred then read stale data).
//!
//! One shape also asks random members to take leadership over (ClickHouse Keeper's `rqld`)
//! while the clients write.

mod harness;
mod replica_sim;

use replica_sim::sim::Sim;

const ROUNDS: u64 = 1500;

/// Seeds `unsynced_reads_fail_the_check` may run before it must have seen stale data.
const UNSYNCED_SEEDS_MAX: u64 = 400;

/// A deliberate fault, to see the checks fail.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Break {
    Nothing,
    SwapVersions,
    UnsyncedReads,
}

fn break_from_env() -> Break {
    match std::env::var("RINGKEEPER_SIM_BREAK").as_deref() {
        Err(_) => Break::Nothing,
        Ok("swap-versions") => Break::SwapVersions,
        Ok("unsynced-reads") => Break::UnsyncedReads,
        Ok(other) => {
            panic!("RINGKEEPER_SIM_BREAK={other}: expected swap-versions or unsynced-reads")
        }
    }
}

/// Runs one seed through chaos and healing and the end checks that need the members; the
/// history is left to the caller.
fn run_seed(seed: u64, shape: Shape, fault: Break) -> Sim {
    let mut sim = Sim::new(seed, shape.voters, shape.observers);
    if shape.transfers {
        sim.request_transfers();
    }
    if fault == Break::UnsyncedReads {
        sim.skip_syncs();
    }
    for _ in 0..ROUNDS {
        sim.round();
    }
    sim.settle();
    sim.check_acked_everywhere();
    sim.observe_shared();
    if fault == Break::SwapVersions {
        sim.record.history.swap_set_versions();
    }
    sim
}

/// The ensemble a seed runs on.
#[derive(Clone, Copy)]
struct Shape {
    voters: u64,
    observers: u64,
    /// Members are asked at random to take leadership over (`rqld`).
    transfers: bool,
}

const THREE_AND_OBSERVER: Shape = Shape {
    voters: 3,
    observers: 1,
    transfers: false,
};

fn seeds() -> Vec<u64> {
    if let Ok(s) = std::env::var("RINGKEEPER_SIM_SEED") {
        return vec![s.parse().expect("RINGKEEPER_SIM_SEED is a number")];
    }
    let n: u64 = std::env::var("RINGKEEPER_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    (1..=n).collect()
}

fn run_shape(shape: Shape) -> Totals {
    let mut totals = Totals::default();
    let fault = break_from_env();
    let Shape {
        voters, observers, ..
    } = shape;
    for seed in seeds() {
        let result = std::panic::catch_unwind(|| {
            let sim = run_seed(seed, shape, fault);
            if let Err(e) = sim.record.history.check() {
                panic!("{e}");
            }
            if std::env::var_os("RINGKEEPER_SIM_VERBOSE").is_some() {
                eprintln!("seed {seed}: {}", sim.summary());
            }
            (
                sim.record.acked.len(),
                sim.record.history.answered(),
                sim.transfers_asked,
            )
        });
        match result {
            Ok((acked, answered, transfers)) => {
                totals.acked += acked;
                totals.answered += answered;
                totals.transfers_sent += transfers.1;
                totals.transfers_led += transfers.2;
            }
            Err(e) => {
                let prefix = std::env::var("RINGKEEPER_SIM_BREAK")
                    .map(|f| format!("RINGKEEPER_SIM_BREAK={f} "))
                    .unwrap_or_default();
                eprintln!(
                    "seed {seed} failed ({voters} voters, {observers} observers); replay with:\n  \
                     {prefix}RINGKEEPER_SIM_SEED={seed} cargo test -p ringkeeper-engine --test replica_sim_test"
                );
                std::panic::resume_unwind(e);
            }
        }
    }
    // The runs must have done work, or the checks above prove nothing.
    let Totals {
        acked, answered, ..
    } = totals;
    assert!(
        acked as u64 >= seeds().len() as u64 * 5,
        "only {acked} writes acknowledged over all seeds"
    );
    assert!(
        answered as u64 >= seeds().len() as u64 * 20,
        "only {answered} shared znode operations answered over all seeds"
    );
    totals
}

/// What a shape's seeds did, summed.
#[derive(Default)]
struct Totals {
    acked: usize,
    answered: usize,
    /// Leadership requests that went out, and those after which the asking member led.
    transfers_sent: u64,
    transfers_led: u64,
}

#[test]
fn three_voters_and_an_observer() {
    run_shape(THREE_AND_OBSERVER);
}

#[test]
fn five_voters_and_two_observers() {
    run_shape(Shape {
        voters: 5,
        observers: 2,
        transfers: false,
    });
}

/// Leadership moves on request (`rqld`) while clients write: proposals raft drops during a
/// transfer must neither lose an acknowledged write nor break the zxid order, and every
/// check above still holds. Transfers must have happened, or this proves nothing.
#[test]
fn leadership_transfers_under_writes() {
    let totals = run_shape(Shape {
        transfers: true,
        ..THREE_AND_OBSERVER
    });
    let seeds = seeds().len() as u64;
    assert!(
        totals.transfers_sent >= seeds * 5,
        "only {} leadership requests went out over {seeds} seeds",
        totals.transfers_sent
    );
    assert!(
        totals.transfers_led >= seeds,
        "members led after only {} of their leadership requests over {seeds} seeds",
        totals.transfers_led
    );
}

/// The linearizability check on real histories can fail: each seed's history passes, and the
/// same history with two setData answers swapped (a write ordered against real time) does not.
#[test]
fn reordered_sim_history_fails_the_check() {
    let mut swapped = 0;
    for seed in 1..=8 {
        let mut sim = run_seed(seed, THREE_AND_OBSERVER, Break::Nothing);
        let history = &mut sim.record.history;
        history
            .check()
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        if history.swap_set_versions() {
            swapped += 1;
            let e = history
                .check()
                .expect_err("swapped versions pass the check");
            assert!(e.contains("is not linearizable"), "{e}");
        }
    }
    assert!(
        swapped >= 6,
        "only {swapped} of 8 seeds had two setData to swap"
    );
}

/// The simulation catches a real consistency bug: with clients reading shared znodes without
/// the sync before (as if sync answered at once, from the tree of a member that lags), some
/// seed reads stale data within the first few hundred. Release builds only: about 70 seeds
/// run before the first stale read, minutes in a debug build.
#[test]
fn unsynced_reads_fail_the_check() {
    if cfg!(debug_assertions) {
        eprintln!("unsynced_reads_fail_the_check runs in release builds only");
        return;
    }
    let caught = (1..=UNSYNCED_SEEDS_MAX).find(|&seed| {
        let sim = run_seed(seed, THREE_AND_OBSERVER, Break::UnsyncedReads);
        sim.record.history.check().is_err()
    });
    assert!(
        caught.is_some(),
        "{UNSYNCED_SEEDS_MAX} seeds read shared znodes without sync and never saw stale data"
    );
}
