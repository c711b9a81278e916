//! Deterministic election timeouts. raft-rs draws each randomized election timeout from
//! `rand::thread_rng()`; the engine must replay exactly from a seed, so after every input the
//! member overrides it with a value derived from (seed, member id, how many times the
//! member's term or role changed).

/// SplitMix64: a tiny, well-mixed, seedable generator.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

pub(super) struct ElectionTimeouts {
    seed: u64,
    /// (term, role) last seen: a change is where raft-rs re-randomizes.
    last: (u64, u8),
    resets: u64,
}

impl ElectionTimeouts {
    pub fn new(seed: u64, id: u64) -> ElectionTimeouts {
        ElectionTimeouts {
            seed: splitmix64(seed ^ id.rotate_left(32)),
            last: (u64::MAX, u8::MAX),
            resets: 0,
        }
    }

    /// The timeout for the member's current (term, role), in [min, max).
    pub fn pick(&mut self, term: u64, role: u8, min: usize, max: usize) -> usize {
        if (term, role) != self.last {
            self.last = (term, role);
            self.resets += 1;
        }
        let span = (max - min).max(1) as u64;
        min + (splitmix64(self.seed.wrapping_add(self.resets)) % span) as usize
    }
}
