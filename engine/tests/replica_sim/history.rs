//! The history of the shared znodes: every operation clients invoked on them, when, and what
//! came back, checked linearizable one znode at a time (linearizability is compositional, so
//! the histories of separate znodes can be checked apart, each search far smaller).
//!
//! Times are steps of the history's own clock, taken when a client hands a request to its
//! member and when it takes the reply, so they order the simulation's events exactly.
//!
//! Which reads are in the history: ZooKeeper promises linearizable writes but only sequentially
//! consistent reads (a follower answers from its own, possibly stale, tree), so plain reads do
//! not belong here. A read pipelined behind a `sync` on the same session does, recorded as one
//! operation invoked with the sync and answered with the read. Writes take effect when their
//! entry commits. Ringkeeper's sync learns the leader's commit index C by ReadIndex at some
//! instant t after the sync was sent, and the session's read is served once C is applied, from
//! some committed prefix P >= C. Entry P committed before the read was answered, and entry
//! P + 1 (beyond C) after t: so the committed state was exactly P at some instant between
//! sending the sync and taking the read's answer, a valid linearization point.

use super::lincheck::{check, Operation};
use super::znode::{Znode, ZnodeOp, ZnodeRet, ZnodeState};
use std::collections::BTreeMap;
use std::fmt::Write;

#[derive(Default)]
pub struct History {
    clock: u64,
    ops: Vec<(String, Operation<ZnodeOp, ZnodeRet>)>,
    last_data: u64,
}

impl History {
    /// Data for a new write, unlike any other's.
    pub fn fresh_data(&mut self) -> u64 {
        self.last_data += 1;
        self.last_data
    }

    /// Records an invocation; returns its number, for `answer`.
    pub fn invoke(&mut self, path: &str, op: ZnodeOp) -> usize {
        self.clock += 1;
        let call = self.clock;
        self.ops.push((
            path.to_owned(),
            Operation {
                op,
                call,
                ret: None,
            },
        ));
        self.ops.len() - 1
    }

    pub fn answer(&mut self, id: usize, ret: ZnodeRet) {
        self.clock += 1;
        let o = &mut self.ops[id].1;
        assert!(o.ret.is_none(), "operation {id} answered twice");
        o.ret = Some((self.clock, ret));
    }

    /// Operations invoked on `path` so far.
    pub fn ops_on(&self, path: &str) -> usize {
        self.ops.iter().filter(|(p, _)| p == path).count()
    }

    /// Records what the settled ensemble holds at `path` as a read answered after everything
    /// else: an acknowledged write that the ensemble lost cannot be linearized before it.
    pub fn observe_final(&mut self, path: &str, state: ZnodeState) {
        let id = self.invoke(path, ZnodeOp::SyncedRead);
        self.answer(id, Znode::apply(state, ZnodeOp::SyncedRead).1);
    }

    /// Operations answered.
    pub fn answered(&self) -> usize {
        self.ops.iter().filter(|(_, o)| o.ret.is_some()).count()
    }

    /// One line: operations recorded, answered, and writes never answered.
    pub fn summary(&self) -> String {
        let answered = self.answered();
        let lost = self
            .ops
            .iter()
            .filter(|(_, o)| o.ret.is_none() && o.op != ZnodeOp::SyncedRead)
            .count();
        format!(
            "{} shared znode ops ({answered} answered, {lost} writes never answered)",
            self.ops.len()
        )
    }

    /// Checks every znode's history; the error explains the first znode that fails.
    pub fn check(&self) -> Result<(), String> {
        let mut by_path: BTreeMap<&str, Vec<Operation<ZnodeOp, ZnodeRet>>> = BTreeMap::new();
        for (path, o) in &self.ops {
            // A read never answered says nothing and would only widen the search.
            if o.op == ZnodeOp::SyncedRead && o.ret.is_none() {
                continue;
            }
            by_path.entry(path).or_default().push(o.clone());
        }
        for (path, ops) in &by_path {
            if let Err(v) = check(&Znode, ops) {
                let mut msg = format!(
                    "history of {path} is not linearizable: no order of its {} operations \
                     explains {}; the longest order found ({} operations: {:?}) leaves {}\n",
                    ops.len(),
                    v.stuck.map_or("them".to_owned(), |i| format!("#{i}")),
                    v.longest.len(),
                    v.longest,
                    v.state,
                );
                for (i, o) in ops.iter().enumerate() {
                    let ret = match &o.ret {
                        Some((t, r)) => format!("{t:>5} {r:?}"),
                        None => "never answered".to_owned(),
                    };
                    writeln!(msg, "  #{i:<3} {:>5} {ret:<36} {:?}", o.call, o.op).expect("string");
                }
                return Err(msg);
            }
        }
        Ok(())
    }

    /// A deliberate fault for showing that the check can fail: swaps the versions two setData
    /// answered, where one was answered before the other was invoked and no delete could have
    /// come between them. Versions rise along such a pair, so after the swap no order explains
    /// it. Returns false when the history has no such pair.
    pub fn swap_set_versions(&mut self) -> bool {
        let answered_set = |o: &Operation<ZnodeOp, ZnodeRet>| match o.ret {
            Some((t, ZnodeRet::Set { .. })) => Some(t),
            _ => None,
        };
        let span = |o: &Operation<ZnodeOp, ZnodeRet>| (o.call, o.ret.map_or(u64::MAX, |r| r.0));
        for a in 0..self.ops.len() {
            let Some(a_ret) = answered_set(&self.ops[a].1) else {
                continue;
            };
            for b in 0..self.ops.len() {
                let (path, ob) = &self.ops[b];
                let Some(b_ret) = answered_set(ob) else {
                    continue;
                };
                if *path != self.ops[a].0 || ob.call < a_ret {
                    continue;
                }
                let window = (self.ops[a].1.call, b_ret);
                let delete_between = self.ops.iter().any(|(p, o)| {
                    let (call, ret) = span(o);
                    p == path
                        && matches!(o.op, ZnodeOp::Delete { .. })
                        && call < window.1
                        && ret > window.0
                });
                if delete_between {
                    continue;
                }
                let ra = self.ops[a].1.ret.expect("answered").1;
                let rb = self.ops[b].1.ret.expect("answered").1;
                self.ops[a].1.ret = Some((a_ret, rb));
                self.ops[b].1.ret = Some((b_ret, ra));
                return true;
            }
        }
        false
    }
}
