//! Sessions as ZooKeeper's `SessionTrackerImpl` keeps them: ids, passwords, timeouts and
//! expiry in tickTime buckets.

use crate::limits::{SESSION_PASSWORD_LEN, SESSION_PASSWORD_SECRET};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// java.util.Random, enough of it to reproduce ZooKeeper's session passwords bit for bit.
struct JavaRandom {
    seed: u64,
}

impl JavaRandom {
    const MULTIPLIER: u64 = 0x5_DEEC_E66D;
    const MASK: u64 = (1 << 48) - 1;

    fn new(seed: i64) -> JavaRandom {
        JavaRandom {
            seed: (seed as u64 ^ Self::MULTIPLIER) & Self::MASK,
        }
    }

    fn next_int(&mut self) -> i32 {
        self.seed = (self.seed.wrapping_mul(Self::MULTIPLIER).wrapping_add(0xB)) & Self::MASK;
        (self.seed >> 16) as i32
    }

    fn next_bytes(&mut self, out: &mut [u8]) {
        let mut i = 0;
        while i < out.len() {
            let mut rnd = self.next_int();
            for _ in 0..(out.len() - i).min(4) {
                out[i] = rnd as u8;
                rnd >>= 8;
                i += 1;
            }
        }
    }
}

/// The password ZooKeeper gives a session: a pure function of its id.
pub fn session_password(session_id: i64) -> [u8; SESSION_PASSWORD_LEN] {
    let mut out = [0u8; SESSION_PASSWORD_LEN];
    JavaRandom::new(session_id ^ SESSION_PASSWORD_SECRET).next_bytes(&mut out);
    out
}

/// The first session id of a server, as `SessionTrackerImpl.initializeNextSessionId`.
pub fn initial_session_id(now_ms: i64, server_id: i64) -> i64 {
    let next = ((now_ms << 24) as u64 >> 8) as i64;
    next | (server_id << 56)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub session_id: i64,
    /// The negotiated timeout stored with the session (and written to snapshots).
    pub timeout_ms: i32,
    /// The timeout in force for touches on the current connection.
    pub touch_timeout_ms: i32,
    pub expire_at_ms: i64,
    /// Set once a closeSession txn is under way; later requests see SESSIONEXPIRED.
    pub closing: bool,
}

/// Live sessions and their expiry buckets.
#[derive(Clone)]
pub struct SessionTracker {
    tick_ms: i64,
    next_session_id: i64,
    sessions: HashMap<i64, Session>,
    buckets: BTreeMap<i64, BTreeSet<i64>>,
}

impl SessionTracker {
    pub fn new(tick_ms: i64, first_session_id: i64) -> SessionTracker {
        SessionTracker {
            tick_ms: tick_ms.max(1),
            next_session_id: first_session_id,
            sessions: HashMap::new(),
            buckets: BTreeMap::new(),
        }
    }

    /// `roundToNextInterval`: expiry lands on the next tick boundary.
    fn round_up(&self, t: i64) -> i64 {
        (t / self.tick_ms + 1) * self.tick_ms
    }

    pub fn next_id(&mut self) -> i64 {
        let id = self.next_session_id;
        self.next_session_id += 1;
        id
    }

    /// Ensures later ids stay above one already in use (after replay). Only ids of this
    /// server count: the top byte is the server id, and another server's ids (seen in an
    /// ensemble's log) must not move this server's counter onto that server's range.
    pub fn observe_id(&mut self, session_id: i64) {
        let same_server = (session_id >> 56) == (self.next_session_id >> 56);
        if same_server && session_id >= self.next_session_id {
            self.next_session_id = session_id + 1;
        }
    }

    pub fn add(&mut self, session_id: i64, timeout_ms: i32, elapsed_ms: i64) {
        self.observe_id(session_id);
        let s = Session {
            session_id,
            timeout_ms,
            touch_timeout_ms: timeout_ms,
            expire_at_ms: 0,
            closing: false,
        };
        self.sessions.insert(session_id, s);
        self.touch(session_id, elapsed_ms);
    }

    pub fn get(&self, session_id: i64) -> Option<&Session> {
        self.sessions.get(&session_id)
    }

    pub fn is_live(&self, session_id: i64) -> bool {
        self.sessions.get(&session_id).is_some_and(|s| !s.closing)
    }

    pub fn set_touch_timeout(&mut self, session_id: i64, timeout_ms: i32) {
        if let Some(s) = self.sessions.get_mut(&session_id) {
            s.touch_timeout_ms = timeout_ms;
        }
    }

    /// Moves a session to the bucket `timeout` after `elapsed_ms` (the monotonic clock). False if it is gone or closing.
    pub fn touch(&mut self, session_id: i64, elapsed_ms: i64) -> bool {
        let tick = self.tick_ms;
        let Some(s) = self.sessions.get_mut(&session_id) else {
            return false;
        };
        if s.closing {
            return false;
        }
        let at = (elapsed_ms + s.touch_timeout_ms as i64) / tick * tick + tick;
        if at <= s.expire_at_ms {
            return true;
        }
        let old = s.expire_at_ms;
        s.expire_at_ms = at;
        if let Some(b) = self.buckets.get_mut(&old) {
            b.remove(&session_id);
            if b.is_empty() {
                self.buckets.remove(&old);
            }
        }
        self.buckets.entry(at).or_default().insert(session_id);
        true
    }

    pub fn mark_closing(&mut self, session_id: i64) {
        if let Some(s) = self.sessions.get_mut(&session_id) {
            s.closing = true;
        }
    }

    pub fn remove(&mut self, session_id: i64) {
        if let Some(s) = self.sessions.remove(&session_id) {
            if let Some(b) = self.buckets.get_mut(&s.expire_at_ms) {
                b.remove(&session_id);
                if b.is_empty() {
                    self.buckets.remove(&s.expire_at_ms);
                }
            }
        }
    }

    /// Sessions whose bucket time has passed and that are not already closing.
    pub fn take_expired(&mut self, elapsed_ms: i64) -> Vec<i64> {
        let due: Vec<i64> = self.buckets.range(..=elapsed_ms).map(|(t, _)| *t).collect();
        let mut out = Vec::new();
        for t in due {
            if let Some(ids) = self.buckets.remove(&t) {
                for id in ids {
                    if let Some(s) = self.sessions.get_mut(&id) {
                        if !s.closing {
                            s.closing = true;
                            out.push(id);
                        }
                    }
                }
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values()
    }

    /// Expiry buckets for `dump`: time and the sessions due then.
    pub fn buckets(&self) -> impl Iterator<Item = (&i64, &BTreeSet<i64>)> {
        self.buckets.iter()
    }

    pub fn round_up_to_tick(&self, t: i64) -> i64 {
        self.round_up(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observe_id_ignores_other_servers_ids() {
        let mut t = SessionTracker::new(2000, initial_session_id(1_000, 1));
        let other = initial_session_id(2_000, 3) + 10;
        t.observe_id(other);
        assert_eq!(t.next_id() >> 56, 1, "took another server's id range");
        let mine = initial_session_id(1_000, 1) + 50;
        t.observe_id(mine);
        assert_eq!(t.next_id(), mine + 1);
    }

    #[test]
    fn java_random_matches_jdk() {
        // new Random(42).nextInt() == -1170105035 in every JDK.
        assert_eq!(JavaRandom::new(42).next_int(), -1170105035);
        let mut r = JavaRandom::new(0);
        assert_eq!(r.next_int(), -1155484576);
    }

    #[test]
    fn expiry_in_tick_buckets() {
        let mut t = SessionTracker::new(2000, initial_session_id(1_700_000_000_000, 1));
        let id = t.next_id();
        assert_eq!(id >> 56, 1);
        t.add(id, 4000, 10_000);
        assert_eq!(t.get(id).unwrap().expire_at_ms, 16_000);
        assert!(t.take_expired(15_999).is_empty());
        t.touch(id, 13_000);
        assert!(t.take_expired(16_000).is_empty());
        assert_eq!(t.take_expired(18_000), vec![id]);
        assert!(!t.is_live(id));
    }
}
