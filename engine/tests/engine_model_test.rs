//! Model check: random write sequences against a tiny reference model of the data tree.
//!
//! Goal: the engine's return codes and final tree agree with ZooKeeper's rules for create,
//! delete, setData, check and multi (validation order, versions, atomic multi with
//! 0 / code / RUNTIMEINCONSISTENCY results, ephemerals cleaned up on closeSession), and the
//! engine's invariants hold after every step. Method: proptest generates sequences of
//! operations on a handful of paths from two sessions (one of which may close and reconnect);
//! each runs through the shared harness and through a model that is a `BTreeMap` of path to
//! (data, version, children, stored cversion, owner). After each operation we compare the
//! reply code, check that every write consumed exactly one zxid, and check the invariants
//! (numChildren equals the child count, zxids strictly increase, every ephemeral owner is a
//! live session); at the end we compare the trees node by node.

mod harness;

use harness::*;
use proptest::prelude::*;
use ringkeeper_engine::proto::{create_mode, op, Acl, CreateRequest, MultiOp, MultiResult};
use std::collections::{BTreeMap, BTreeSet};

const PATHS: &[&str] = &["/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z"];
const DATA: &[&[u8]] = &[b"", b"x", b"yy"];

const NO_NODE: i32 = -101;
const BAD_VERSION: i32 = -103;
const NO_CHILDREN_FOR_EPHEMERALS: i32 = -108;
const NODE_EXISTS: i32 = -110;
const NOT_EMPTY: i32 = -111;
const RUNTIME_INCONSISTENCY: i32 = -2;

#[derive(Clone, Debug)]
enum Sub {
    Create {
        path: usize,
        data: usize,
        ephemeral: bool,
    },
    Delete {
        path: usize,
        version: i32,
    },
    SetData {
        path: usize,
        data: usize,
        version: i32,
    },
    Check {
        path: usize,
        version: i32,
    },
}

#[derive(Clone, Debug)]
enum Op {
    Write {
        client: usize,
        sub: Sub,
    },
    Multi {
        client: usize,
        subs: Vec<Sub>,
    },
    /// closeSession on the client, then a fresh session in its place.
    Restart {
        client: usize,
    },
}

fn sub_strategy() -> impl Strategy<Value = Sub> {
    let path = 0..PATHS.len();
    let data = 0..DATA.len();
    let version = prop_oneof![Just(-1), 0..3i32];
    prop_oneof![
        3 => (path.clone(), data.clone(), any::<bool>()).prop_map(|(path, data, ephemeral)| {
            Sub::Create {
                path,
                data,
                ephemeral,
            }
        }),
        2 => (path.clone(), version.clone()).prop_map(|(path, version)| Sub::Delete { path, version }),
        2 => (path.clone(), data, version.clone())
            .prop_map(|(path, data, version)| Sub::SetData { path, data, version }),
        1 => (path, version).prop_map(|(path, version)| Sub::Check { path, version }),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0..2usize, sub_strategy().prop_filter("check only in multi", |s| {
            !matches!(s, Sub::Check { .. })
        }))
        .prop_map(|(client, sub)| Op::Write { client, sub }),
        3 => (0..2usize, proptest::collection::vec(sub_strategy(), 0..4))
            .prop_map(|(client, subs)| Op::Multi { client, subs }),
        1 => (0..2usize).prop_map(|client| Op::Restart { client }),
    ]
}

// ---------------------------------------------------------------------------------------------
// The model

#[derive(Clone, Debug, PartialEq, Eq)]
struct MNode {
    data: Vec<u8>,
    version: i32,
    children: BTreeSet<String>,
    /// Child creations, as ZooKeeper stores cversion.
    cversion: i32,
    owner: i64,
}

#[derive(Clone, Debug, Default)]
struct Model {
    nodes: BTreeMap<String, MNode>,
}

fn parent_of(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(i) => &path[..i],
        None => unreachable!(),
    }
}

fn name_of(path: &str) -> &str {
    &path[path.rfind('/').unwrap_or(0) + 1..]
}

impl Model {
    fn new() -> Model {
        let mut nodes = BTreeMap::new();
        nodes.insert(
            "/".to_string(),
            MNode {
                data: vec![],
                version: 0,
                children: BTreeSet::new(),
                cversion: 0,
                owner: 0,
            },
        );
        Model { nodes }
    }

    /// Applies one sub-op; Err(code) leaves the model untouched.
    fn apply(&mut self, sub: &Sub, session: i64) -> Result<(), i32> {
        match *sub {
            Sub::Create {
                path,
                data,
                ephemeral,
            } => {
                let path = PATHS[path];
                let parent = self.nodes.get(parent_of(path)).ok_or(NO_NODE)?;
                if self.nodes.contains_key(path) {
                    return Err(NODE_EXISTS);
                }
                if parent.owner != 0 {
                    return Err(NO_CHILDREN_FOR_EPHEMERALS);
                }
                let p = self.nodes.get_mut(parent_of(path)).unwrap();
                p.children.insert(name_of(path).to_string());
                p.cversion += 1;
                self.nodes.insert(
                    path.to_string(),
                    MNode {
                        data: DATA[data].to_vec(),
                        version: 0,
                        children: BTreeSet::new(),
                        cversion: 0,
                        owner: if ephemeral { session } else { 0 },
                    },
                );
                Ok(())
            }
            Sub::Delete { path, version } => {
                let path = PATHS[path];
                let n = self.nodes.get(path).ok_or(NO_NODE)?;
                if version != -1 && version != n.version {
                    return Err(BAD_VERSION);
                }
                if !n.children.is_empty() {
                    return Err(NOT_EMPTY);
                }
                self.remove(path);
                Ok(())
            }
            Sub::SetData {
                path,
                data,
                version,
            } => {
                let n = self.nodes.get_mut(PATHS[path]).ok_or(NO_NODE)?;
                if version != -1 && version != n.version {
                    return Err(BAD_VERSION);
                }
                n.data = DATA[data].to_vec();
                n.version += 1;
                Ok(())
            }
            Sub::Check { path, version } => {
                let n = self.nodes.get(PATHS[path]).ok_or(NO_NODE)?;
                if version != -1 && version != n.version {
                    return Err(BAD_VERSION);
                }
                Ok(())
            }
        }
    }

    fn remove(&mut self, path: &str) {
        self.nodes.remove(path);
        let p = self.nodes.get_mut(parent_of(path)).unwrap();
        p.children.remove(name_of(path));
    }

    /// Atomic multi: the per-op codes ZooKeeper reports, and the model changed only on success.
    fn multi(&mut self, subs: &[Sub], session: i64) -> Vec<i32> {
        let mut scratch = self.clone();
        for (i, s) in subs.iter().enumerate() {
            if let Err(code) = scratch.apply(s, session) {
                let mut out = vec![0; i];
                out.push(code);
                out.resize(subs.len(), RUNTIME_INCONSISTENCY);
                return out;
            }
        }
        *self = scratch;
        vec![0; subs.len()]
    }

    fn close_session(&mut self, session: i64) {
        let mut doomed: Vec<String> = self
            .nodes
            .iter()
            .filter(|(_, n)| n.owner == session)
            .map(|(p, _)| p.clone())
            .collect();
        doomed.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in doomed {
            self.remove(&p);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Driving the engine

fn to_multi_op(sub: &Sub) -> MultiOp {
    match *sub {
        Sub::Create {
            path,
            data,
            ephemeral,
        } => MultiOp::Create {
            opcode: op::CREATE,
            req: CreateRequest {
                path: PATHS[path].into(),
                data: DATA[data].to_vec().into(),
                acl: Acl::open_unsafe(),
                flags: if ephemeral {
                    create_mode::EPHEMERAL
                } else {
                    create_mode::PERSISTENT
                },
                ttl: None,
            },
        },
        Sub::Delete { path, version } => MultiOp::Delete {
            path: PATHS[path].into(),
            version,
        },
        Sub::SetData {
            path,
            data,
            version,
        } => MultiOp::SetData {
            path: PATHS[path].into(),
            data: DATA[data].to_vec().into(),
            version,
        },
        Sub::Check { path, version } => MultiOp::Check {
            path: PATHS[path].into(),
            version,
        },
    }
}

fn single_write(sim: &mut Sim, c: &mut Client, sub: &Sub) -> i32 {
    let r = match *sub {
        Sub::Create {
            path,
            data,
            ephemeral,
        } => {
            let flags = if ephemeral {
                create_mode::EPHEMERAL
            } else {
                create_mode::PERSISTENT
            };
            sim.create(c, PATHS[path], DATA[data], flags).map(|_| ())
        }
        Sub::Delete { path, version } => sim.delete(c, PATHS[path], version),
        Sub::SetData {
            path,
            data,
            version,
        } => sim
            .set_data(c, PATHS[path], DATA[data], version)
            .map(|_| ()),
        Sub::Check { .. } => unreachable!("filtered out"),
    };
    r.err().unwrap_or(0)
}

fn result_code(r: &MultiResult) -> i32 {
    match r {
        MultiResult::Error { err } => *err,
        _ => 0,
    }
}

fn compare_trees(sim: &Sim, model: &Model) -> Result<(), TestCaseError> {
    let tree = sim.engine.tree();
    let user: Vec<&str> = tree
        .iter()
        .map(|(p, _)| &**p)
        .filter(|p| !p.is_empty() && !p.starts_with("/zookeeper"))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let expected: Vec<&str> = model.nodes.keys().map(|k| k.as_str()).collect();
    prop_assert_eq!(user, expected);
    for (path, m) in &model.nodes {
        let n = tree.get(path).unwrap();
        let mut children: BTreeSet<String> = tree
            .children(path)
            .unwrap_or_default()
            .to_vec()
            .into_iter()
            .collect();
        if path == "/" {
            children.remove("zookeeper");
        }
        prop_assert_eq!(&children, &m.children, "children of {}", path);
        if path == "/" {
            continue;
        }
        let st = n.stat();
        prop_assert_eq!(&n.data[..], &m.data[..], "data of {}", path);
        prop_assert_eq!(st.version, m.version, "version of {}", path);
        prop_assert_eq!(st.num_children as usize, m.children.len());
        prop_assert_eq!(st.ephemeral_owner, m.owner, "owner of {}", path);
        prop_assert_eq!(
            st.cversion,
            2 * m.cversion - m.children.len() as i32,
            "cversion of {}",
            path
        );
    }
    Ok(())
}

fn run(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut sim = Sim::with_defaults();
    let mut clients = [sim.connect(), sim.connect()];
    let mut model = Model::new();
    for (step, o) in ops.iter().enumerate() {
        let before = sim.engine.last_zxid();
        match o {
            Op::Write { client, sub } => {
                let session = clients[*client].session_id;
                let want = model.apply(sub, session).err().unwrap_or(0);
                let got = single_write(&mut sim, &mut clients[*client], sub);
                prop_assert_eq!(got, want, "step {}: {:?}", step, o);
                prop_assert_eq!(sim.engine.last_zxid(), before + 1, "one zxid per write");
            }
            Op::Multi { client, subs } => {
                let session = clients[*client].session_id;
                let want = model.multi(subs, session);
                let ops = subs.iter().map(to_multi_op).collect();
                let (h, results) = sim.multi(&mut clients[*client], ops);
                prop_assert_eq!(h.err, 0);
                prop_assert_eq!(h.zxid, before + 1, "a multi consumes one zxid");
                let got: Vec<i32> = results.iter().map(result_code).collect();
                prop_assert_eq!(got, want, "step {}: {:?}", step, o);
            }
            Op::Restart { client } => {
                let old = clients[*client].session_id;
                sim.request(
                    &mut clients[*client],
                    ringkeeper_engine::proto::Request::CloseSession,
                );
                model.close_session(old);
                clients[*client] = sim.connect();
                prop_assert!(sim.engine.sessions().get(old).is_none());
            }
        }
        prop_assert!(sim.engine.durable_zxid() == sim.engine.last_zxid());
        check_invariants(&sim.engine);
    }
    compare_trees(&sim, &model)?;
    // Replaying the whole log from an empty tree lands on the same tree.
    let mut replayed =
        ringkeeper_engine::Engine::new(test_config(), ringkeeper_engine::Now::at(START_MS));
    for t in &sim.wal {
        replayed.replay(t, ringkeeper_engine::Now::at(t.time_ms));
    }
    assert_trees_equal(
        replayed.tree(),
        sim.engine.tree(),
        "replay of the model run",
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_model(ops in proptest::collection::vec(op_strategy(), 1..40)) {
        run(&ops)?;
    }
}

#[test]
fn model_catches_a_known_sequence() {
    // A fixed sequence through the same checker, so a regression shows without shrinking.
    let c = |path, ephemeral| Sub::Create {
        path,
        data: 1,
        ephemeral,
    };
    let ops = vec![
        Op::Write {
            client: 0,
            sub: c(0, false),
        },
        Op::Write {
            client: 1,
            sub: c(2, true),
        },
        Op::Write {
            client: 0,
            sub: c(5, false),
        },
        Op::Multi {
            client: 0,
            subs: vec![
                c(3, false),
                Sub::SetData {
                    path: 3,
                    data: 2,
                    version: 0,
                },
                Sub::Delete {
                    path: 0,
                    version: -1,
                },
            ],
        },
        Op::Restart { client: 1 },
        Op::Write {
            client: 0,
            sub: Sub::Delete {
                path: 3,
                version: 1,
            },
        },
    ];
    run(&ops).unwrap();
}
