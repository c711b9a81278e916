//! What to send: the op mix, key choice and the request each op kind becomes.

use std::collections::VecDeque;

use ringkeeper_engine::proto::{op, Acl, CreateRequest, MultiOp, Request};

use crate::error::{BenchError, Result};

/// Root of everything the bench creates; removed again by cleanup.
pub const ROOT: &str = "/rkbench";
/// Parent of the nodes that `create` makes and `delete` removes.
pub const CREATE_DIR: &str = "/rkbench/c";

/// The op kinds a mix can contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    /// getData of a key.
    Get,
    /// setData of a key, version -1.
    Set,
    /// create of a fresh persistent node under /rkbench/c.
    Create,
    /// delete of a node this session created earlier (a create when there is none yet).
    Delete,
    /// exists of a key.
    Exists,
    /// getChildren of a key (keys have no children: measures the op path, not list size).
    Children,
    /// getChildren of /rkbench, the parent of every key: a reply of `keys` + 1 names, so the
    /// server's own work, not the round trip, dominates.
    List,
    /// getAllChildrenNumber of /rkbench: the server walks every key, the reply is one int,
    /// so this read costs the server far more than the client.
    Count,
    /// multi {check key version -1, setData key}.
    Multi,
    /// getData of a key with watch=true; notifications are counted, not timed.
    Watch,
}

impl OpKind {
    pub const ALL: [OpKind; 10] = [
        OpKind::Get,
        OpKind::Set,
        OpKind::Create,
        OpKind::Delete,
        OpKind::Exists,
        OpKind::Children,
        OpKind::List,
        OpKind::Count,
        OpKind::Multi,
        OpKind::Watch,
    ];

    pub fn name(self) -> &'static str {
        match self {
            OpKind::Get => "get",
            OpKind::Set => "set",
            OpKind::Create => "create",
            OpKind::Delete => "delete",
            OpKind::Exists => "exists",
            OpKind::Children => "children",
            OpKind::List => "list",
            OpKind::Count => "count",
            OpKind::Multi => "multi",
            OpKind::Watch => "watch",
        }
    }

    pub fn from_name(name: &str) -> Option<OpKind> {
        OpKind::ALL.iter().copied().find(|k| k.name() == name)
    }

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn is_read(self) -> bool {
        matches!(
            self,
            OpKind::Get
                | OpKind::Exists
                | OpKind::Children
                | OpKind::List
                | OpKind::Count
                | OpKind::Watch
        )
    }
}

/// Relative weights of the op kinds.
#[derive(Clone, Debug, PartialEq)]
pub struct Mix {
    weights: Vec<(OpKind, u32)>,
    total: u32,
}

impl Mix {
    /// `get=70,set=20,create=5,delete=5,exists`: a bare name has weight 1.
    pub fn parse(spec: &str) -> Result<Mix> {
        let mut weights: Vec<(OpKind, u32)> = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = match part.split_once('=') {
                Some((n, w)) => {
                    let w = w.trim().parse::<u32>().map_err(|_| {
                        BenchError::new(format!("--mix: weight of {n:?} is not a number: {w:?}"))
                    })?;
                    (n.trim(), w)
                }
                None => (part, 1),
            };
            let kind = OpKind::from_name(name).ok_or_else(|| {
                let known: Vec<&str> = OpKind::ALL.iter().map(|k| k.name()).collect();
                BenchError::new(format!(
                    "--mix: unknown op {name:?}; known: {}",
                    known.join(",")
                ))
            })?;
            match weights.iter_mut().find(|(k, _)| *k == kind) {
                Some(entry) => entry.1 += weight,
                None => weights.push((kind, weight)),
            }
        }
        Mix::from_weights(weights)
    }

    /// getData with probability `read_ratio`, setData otherwise.
    pub fn from_read_ratio(read_ratio: f64) -> Result<Mix> {
        if !(0.0..=1.0).contains(&read_ratio) {
            return Err(BenchError::new(format!(
                "--read-ratio {read_ratio} is outside 0..1"
            )));
        }
        let reads = (read_ratio * 10_000.0).round() as u32;
        Mix::from_weights(vec![(OpKind::Get, reads), (OpKind::Set, 10_000 - reads)])
    }

    fn from_weights(mut weights: Vec<(OpKind, u32)>) -> Result<Mix> {
        weights.retain(|(_, w)| *w > 0);
        weights.sort();
        let total = weights.iter().map(|(_, w)| *w).sum();
        if total == 0 {
            return Err(BenchError::new("the op mix is empty"));
        }
        Ok(Mix { weights, total })
    }

    pub fn pick(&self, rng: &mut Rng) -> OpKind {
        let mut r = rng.below(self.total as u64) as u32;
        for (kind, w) in &self.weights {
            if r < *w {
                return *kind;
            }
            r -= w;
        }
        self.weights[self.weights.len() - 1].0
    }

    pub fn kinds(&self) -> impl Iterator<Item = OpKind> + '_ {
        self.weights.iter().map(|(k, _)| *k)
    }

    pub fn needs_create_dir(&self) -> bool {
        self.kinds()
            .any(|k| matches!(k, OpKind::Create | OpKind::Delete))
    }
}

impl std::fmt::Display for Mix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .weights
            .iter()
            .map(|(k, w)| format!("{}={}", k.name(), w))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// SplitMix64: small, seeded, good enough to pick keys and ops.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0), by multiply-shift.
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }
}

pub fn key_path(i: u64) -> String {
    format!("{ROOT}/k{i}")
}

/// Shared, read-only description of the load.
#[derive(Clone, Debug)]
pub struct Workload {
    pub mix: Mix,
    pub keys: u64,
    pub value: Vec<u8>,
    key_paths: Vec<String>,
}

impl Workload {
    pub fn new(mix: Mix, keys: u64, value_size: usize) -> Result<Workload> {
        if keys == 0 {
            return Err(BenchError::new("--keys must be at least 1"));
        }
        let value = (0..value_size).map(|i| b'a' + (i % 26) as u8).collect();
        let key_paths = (0..keys).map(key_path).collect();
        Ok(Workload {
            mix,
            keys,
            value,
            key_paths,
        })
    }

    fn random_key(&self, rng: &mut Rng) -> String {
        self.key_paths[rng.below(self.keys) as usize].clone()
    }
}

/// Per-session generator state: the RNG and the nodes this session created and may delete.
#[derive(Debug)]
pub struct OpGen {
    rng: Rng,
    prefix: String,
    counter: u64,
    created: VecDeque<String>,
}

impl OpGen {
    /// `tag` must be unique per session of the run, so created names never collide.
    pub fn new(seed: u64, tag: &str) -> OpGen {
        let prefix = format!("{CREATE_DIR}/{tag}-");
        OpGen {
            rng: Rng::new(seed),
            prefix,
            counter: 0,
            created: VecDeque::new(),
        }
    }

    /// Picks the next op and builds its request. Returns the kind actually issued (a delete
    /// with nothing to delete becomes a create) and its opcode.
    pub fn next(&mut self, w: &Workload) -> (OpKind, i32, Request) {
        let kind = w.mix.pick(&mut self.rng);
        match kind {
            OpKind::Get => {
                let path = w.random_key(&mut self.rng);
                (kind, op::GET_DATA, Request::GetData { path, watch: false })
            }
            OpKind::Watch => {
                let path = w.random_key(&mut self.rng);
                (kind, op::GET_DATA, Request::GetData { path, watch: true })
            }
            OpKind::Exists => {
                let path = w.random_key(&mut self.rng);
                (kind, op::EXISTS, Request::Exists { path, watch: false })
            }
            // `children` lists a random key (no children), `list` the root of the keys.
            OpKind::Children | OpKind::List => {
                let path = if kind == OpKind::List {
                    ROOT.to_string()
                } else {
                    w.random_key(&mut self.rng)
                };
                let req = Request::GetChildren {
                    path,
                    watch: false,
                    with_stat: false,
                };
                (kind, op::GET_CHILDREN, req)
            }
            OpKind::Count => {
                let req = Request::GetAllChildrenNumber {
                    path: ROOT.to_string(),
                };
                (kind, op::GET_ALL_CHILDREN_NUMBER, req)
            }
            OpKind::Set => {
                let path = w.random_key(&mut self.rng);
                let req = Request::SetData {
                    path,
                    data: w.value[..].into(),
                    version: -1,
                };
                (kind, op::SET_DATA, req)
            }
            OpKind::Multi => {
                let check = MultiOp::Check {
                    path: w.random_key(&mut self.rng),
                    version: -1,
                };
                let set = MultiOp::SetData {
                    path: w.random_key(&mut self.rng),
                    data: w.value[..].into(),
                    version: -1,
                };
                (kind, op::MULTI, Request::Multi(vec![check, set]))
            }
            OpKind::Delete => match self.created.pop_front() {
                Some(path) => (kind, op::DELETE, Request::Delete { path, version: -1 }),
                None => self.create(w),
            },
            OpKind::Create => self.create(w),
        }
    }

    fn create(&mut self, w: &Workload) -> (OpKind, i32, Request) {
        let path = format!("{}{}", self.prefix, self.counter);
        self.counter += 1;
        self.created.push_back(path.clone());
        let req = CreateRequest {
            path,
            data: w.value[..].into(),
            acl: Acl::open_unsafe(),
            flags: 0,
            ttl: None,
        };
        (
            OpKind::Create,
            op::CREATE,
            Request::Create {
                opcode: op::CREATE,
                req,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_parses_weights_and_bare_names() {
        let mix = Mix::parse("get=70,set=20,create=5,delete=5,exists").unwrap();
        assert_eq!(mix.to_string(), "get=70,set=20,create=5,delete=5,exists=1");
        assert!(Mix::parse("get=x").is_err());
        assert!(Mix::parse("frob=1").is_err());
        assert!(Mix::parse("get=0").is_err());
    }

    #[test]
    fn read_ratio_mix_picks_in_proportion() {
        let mix = Mix::from_read_ratio(0.9).unwrap();
        let mut rng = Rng::new(1);
        let reads = (0..100_000)
            .filter(|_| mix.pick(&mut rng) == OpKind::Get)
            .count();
        assert!((89_000..91_000).contains(&reads), "{reads}");
        let all_writes = Mix::from_read_ratio(0.0).unwrap();
        assert!((0..1000).all(|_| all_writes.pick(&mut rng) == OpKind::Set));
    }

    #[test]
    fn delete_follows_create() {
        let w = Workload::new(Mix::parse("delete").unwrap(), 10, 4).unwrap();
        let mut gen = OpGen::new(7, "t0s0");
        let (k1, _, r1) = gen.next(&w);
        assert_eq!(k1, OpKind::Create);
        let (k2, _, r2) = gen.next(&w);
        assert_eq!(k2, OpKind::Delete);
        match (r1, r2) {
            (Request::Create { req, .. }, Request::Delete { path, .. }) => {
                assert_eq!(req.path, path)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn list_and_count_read_the_key_root() {
        let w = Workload::new(Mix::parse("list,count").unwrap(), 10, 4).unwrap();
        let mut gen = OpGen::new(3, "t0s0");
        let mut seen = Vec::new();
        for _ in 0..50 {
            let (kind, opcode, req) = gen.next(&w);
            assert!(kind.is_read(), "{kind:?}");
            match (kind, opcode, req) {
                (OpKind::List, op::GET_CHILDREN, Request::GetChildren { path, .. })
                | (
                    OpKind::Count,
                    op::GET_ALL_CHILDREN_NUMBER,
                    Request::GetAllChildrenNumber { path },
                ) => {
                    assert_eq!(path, ROOT)
                }
                other => panic!("{other:?}"),
            }
            seen.push(kind);
        }
        assert!(seen.contains(&OpKind::List) && seen.contains(&OpKind::Count));
    }
}
