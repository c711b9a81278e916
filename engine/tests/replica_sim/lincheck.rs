//! A linearizability checker: Wing & Gong's search with Lowe's memoisation ("Testing for
//! linearizability", G. Lowe, 2017; the algorithm porcupine and knossos call WGL).
//!
//! A history is a set of operations, each invoked at one time and answered at a later one,
//! or never answered. It is linearizable when every operation can be given one instant
//! between its invocation and its answer such that running the operations one at a time, in
//! the order of those instants, through a sequential model gives every answer the history
//! recorded. An operation never answered (the client timed out, its connection closed, its
//! server crashed) may have taken effect at any instant after its invocation, or never: its
//! answer is treated as coming after everything else, and the model accepts any result for
//! it. Taking effect after the last answered operation is indistinguishable from never taking
//! effect, so "never" needs no case of its own.
//!
//! The search walks a list of call and return events in time order. At a call it tries to
//! linearize that operation next (the model must accept it); it then removes the operation's
//! call and return from the list and starts again at the front. Reaching a return means the
//! operation answered first among those left was not linearized in time: undo the last choice
//! and try the next call after it. Each (set of linearized operations, model state) pair is
//! explored once: reaching it again by another order can lead nowhere new.

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;

/// Search steps one history may take before the checker gives up: the search is exponential
/// in the worst case, so callers keep histories small (a few dozen operations per object).
pub const SEARCH_STEPS_MAX: u64 = 20_000_000;

/// A sequential specification.
pub trait Model {
    type State: Clone + Eq + Hash + Debug;
    type Op: Debug;
    type Ret: Debug;

    fn init(&self) -> Self::State;

    /// The state after `op`, if `op` applied to `state` can answer `ret`. `ret` is `None` for
    /// an operation never answered, which any result satisfies: the step must then succeed,
    /// so such operations can always be placed after the answered ones.
    fn step(
        &self,
        state: &Self::State,
        op: &Self::Op,
        ret: Option<&Self::Ret>,
    ) -> Option<Self::State>;
}

/// One operation: invoked at `call`, answered at `ret`'s time or never. Times come from one
/// clock and are distinct across the history.
#[derive(Clone, Debug)]
pub struct Operation<O, R> {
    pub op: O,
    pub call: u64,
    pub ret: Option<(u64, R)>,
}

/// Why a history is not linearizable: the longest linearization the search found, as indices
/// into the history, the state it leads to, and an answered operation that cannot come next.
#[derive(Debug)]
pub struct Violation {
    pub longest: Vec<usize>,
    pub state: String,
    pub stuck: Option<usize>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Bitset(Vec<u64>);

impl Bitset {
    fn new(bits: usize) -> Bitset {
        Bitset(vec![0; bits.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

#[derive(Clone, Copy)]
enum Event {
    Call(usize),
    Return(usize),
}

/// The events in time order, as a doubly linked list over a vector with a sentinel at the
/// end, so an operation's two events can be taken out and put back in O(1).
struct Events {
    event: Vec<Event>,
    next: Vec<usize>,
    prev: Vec<usize>,
    /// Per operation: the positions of its call and its return.
    at: Vec<(usize, usize)>,
}

impl Events {
    fn new<O, R>(history: &[Operation<O, R>]) -> Events {
        let mut timed: Vec<(u64, Event)> = Vec::with_capacity(history.len() * 2);
        for (i, o) in history.iter().enumerate() {
            let answered = o.ret.as_ref().map_or(u64::MAX, |(t, _)| *t);
            assert!(
                answered > o.call,
                "operation {i} answered before it was invoked"
            );
            timed.push((o.call, Event::Call(i)));
            timed.push((answered, Event::Return(i)));
        }
        // Stable: never-answered returns all sit at the end, in history order.
        timed.sort_by_key(|(t, _)| *t);
        // With a tie, which came first would be the sort's guess.
        assert!(
            timed
                .windows(2)
                .all(|w| w[0].0 < w[1].0 || w[0].0 == u64::MAX),
            "two events at one time"
        );
        let n = timed.len();
        let head = n;
        let mut at = vec![(0, 0); history.len()];
        for (pos, (_, e)) in timed.iter().enumerate() {
            match e {
                Event::Call(i) => at[*i].0 = pos,
                Event::Return(i) => at[*i].1 = pos,
            }
        }
        // A ring through the sentinel (position n); with no events it points at itself.
        Events {
            event: timed.into_iter().map(|(_, e)| e).collect(),
            next: (0..=n).map(|p| if p == n { 0 } else { p + 1 }).collect(),
            prev: (0..=n).map(|p| if p == 0 { head } else { p - 1 }).collect(),
            at,
        }
    }

    fn head(&self) -> usize {
        self.event.len()
    }

    fn first(&self) -> usize {
        self.next[self.head()]
    }

    fn unlink(&mut self, p: usize) {
        let (a, b) = (self.prev[p], self.next[p]);
        self.next[a] = b;
        self.prev[b] = a;
    }

    /// Undoes `unlink(p)`; only valid in reverse order of the unlinks.
    fn relink(&mut self, p: usize) {
        let (a, b) = (self.prev[p], self.next[p]);
        self.next[a] = p;
        self.prev[b] = p;
    }

    fn lift(&mut self, op: usize) {
        let (c, r) = self.at[op];
        self.unlink(c);
        self.unlink(r);
    }

    fn unlift(&mut self, op: usize) {
        let (c, r) = self.at[op];
        self.relink(r);
        self.relink(c);
    }
}

/// Checks one history against `model`.
pub fn check<M: Model>(model: &M, history: &[Operation<M::Op, M::Ret>]) -> Result<(), Violation> {
    let mut events = Events::new(history);
    let mut state = model.init();
    let mut linearized = Bitset::new(history.len());
    let mut seen: HashSet<(Bitset, M::State)> = HashSet::new();
    // Linearized operations, with the state before each.
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut longest = Violation {
        longest: Vec::new(),
        state: format!("{state:?}"),
        stuck: None,
    };
    let mut answered_left = history.iter().filter(|o| o.ret.is_some()).count();
    let mut entry = events.first();
    let mut steps = 0u64;
    // Once every answered operation is placed, the others can follow in any order.
    while answered_left > 0 {
        steps += 1;
        assert!(
            steps <= SEARCH_STEPS_MAX,
            "linearizability search gave up after {SEARCH_STEPS_MAX} steps on {} operations",
            history.len()
        );
        // Answered returns come before the never-answered ones, so while an answered operation
        // is left the walk meets its return before the end of the list.
        assert!(entry != events.head(), "walked past every answered return");
        match events.event[entry] {
            Event::Call(i) => {
                let o = &history[i];
                let next = model.step(&state, &o.op, o.ret.as_ref().map(|(_, r)| r));
                if let Some(next) = next {
                    linearized.set(i);
                    if seen.insert((linearized.clone(), next.clone())) {
                        stack.push((i, std::mem::replace(&mut state, next)));
                        events.lift(i);
                        if o.ret.is_some() {
                            answered_left -= 1;
                        }
                        if stack.len() > longest.longest.len() {
                            longest = Violation {
                                longest: stack.iter().map(|(i, _)| *i).collect(),
                                state: format!("{state:?}"),
                                stuck: None,
                            };
                        }
                        entry = events.first();
                        continue;
                    }
                    linearized.clear(i);
                }
                entry = events.next[entry];
            }
            Event::Return(stuck) => {
                // The first return met right after the longest linearization was reached is
                // the operation that cannot follow it.
                if stack.len() == longest.longest.len() && longest.stuck.is_none() {
                    longest.stuck = Some(stuck);
                }
                let Some((i, before)) = stack.pop() else {
                    return Err(longest);
                };
                state = before;
                linearized.clear(i);
                events.unlift(i);
                if history[i].ret.is_some() {
                    answered_left += 1;
                }
                entry = events.next[events.at[i].0];
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A register holding a number: write(v) answers (), read answers the number.
    struct Register;

    #[derive(Debug)]
    enum Op {
        Write(u32),
        Read,
    }

    impl Model for Register {
        type State = u32;
        type Op = Op;
        type Ret = u32;

        fn init(&self) -> u32 {
            0
        }

        fn step(&self, state: &u32, op: &Op, ret: Option<&u32>) -> Option<u32> {
            match op {
                Op::Write(v) => Some(*v),
                Op::Read => ret.is_none_or(|r| r == state).then_some(*state),
            }
        }
    }

    fn op(op: Op, call: u64, ret: Option<(u64, u32)>) -> Operation<Op, u32> {
        Operation { op, call, ret }
    }

    #[test]
    fn empty_history_is_linearizable() {
        assert!(check(&Register, &[]).is_ok());
    }

    #[test]
    fn overlapping_writes_may_take_effect_in_either_order() {
        // Two writes overlap; reads after both see 2, then a write of 1 is seen.
        let h = [
            op(Op::Write(1), 1, Some((4, 0))),
            op(Op::Write(2), 2, Some((3, 0))),
            op(Op::Read, 5, Some((6, 2))),
            op(Op::Read, 7, Some((8, 2))),
        ];
        assert!(check(&Register, &h).is_ok());
    }

    #[test]
    fn read_of_an_overwritten_value_is_not_linearizable() {
        // write 1 completes, then write 2 completes, then a read sees 1: stale.
        let h = [
            op(Op::Write(1), 1, Some((2, 0))),
            op(Op::Write(2), 3, Some((4, 0))),
            op(Op::Read, 5, Some((6, 1))),
        ];
        let v = check(&Register, &h).unwrap_err();
        assert_eq!(v.stuck, Some(2), "{v:?}");
    }

    #[test]
    fn reads_may_not_go_back() {
        // Two overlapping reads are fine either way, but once a read saw the new value a
        // later one may not see the old.
        let h = [
            op(Op::Write(1), 1, Some((10, 0))),
            op(Op::Read, 2, Some((3, 1))),
            op(Op::Read, 4, Some((5, 0))),
        ];
        assert!(check(&Register, &h).is_err());
    }

    #[test]
    fn unanswered_write_may_take_effect_late_or_never() {
        // The write of 7 was never answered: reads before and after may or may not see it,
        // but once one sees it a later one must too.
        let late = [
            op(Op::Write(7), 1, None),
            op(Op::Read, 2, Some((3, 0))),
            op(Op::Read, 4, Some((5, 7))),
        ];
        assert!(check(&Register, &late).is_ok());
        let never = [op(Op::Write(7), 1, None), op(Op::Read, 2, Some((3, 0)))];
        assert!(check(&Register, &never).is_ok());
        let undone = [
            op(Op::Write(7), 1, None),
            op(Op::Read, 2, Some((3, 7))),
            op(Op::Read, 4, Some((5, 0))),
        ];
        assert!(check(&Register, &undone).is_err());
    }

    #[test]
    fn unanswered_write_cannot_take_effect_before_its_call() {
        let h = [op(Op::Read, 1, Some((2, 7))), op(Op::Write(7), 3, None)];
        assert!(check(&Register, &h).is_err());
    }

    #[test]
    fn concurrent_writes_are_searched_in_every_order() {
        // 12 overlapping writes, then a read: only orders ending with the first write explain
        // what it saw, and no order explains a value never written. The memo keeps either
        // search to the (linearized set, state) pairs, not the 12! orders.
        let writes =
            || (0..12u32).map(|i| op(Op::Write(i + 1), i.into(), Some((100 + u64::from(i), 0))));
        let mut h: Vec<_> = writes().collect();
        h.push(op(Op::Read, 200, Some((201, 1))));
        assert!(check(&Register, &h).is_ok());
        let mut h: Vec<_> = writes().collect();
        h.push(op(Op::Read, 200, Some((201, 99))));
        assert!(check(&Register, &h).is_err());
    }
}
