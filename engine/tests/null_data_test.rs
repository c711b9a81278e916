//! Null znode data (a jute buffer of length -1) is not empty data: ZooKeeper stores the null
//! from create, setData and multi creates, returns it from getData (dataLength 0), and logs it
//! as null in the txn (CreateTxn, SetDataTxn), so it survives replay.

mod harness;

use harness::*;
use ringkeeper_engine::proto::{
    decode_txn, encode_txn, op, Acl, CreateRequest, Data, MultiOp, MultiReadOp, MultiResult,
    Request, Response,
};
use ringkeeper_engine::{Engine, EngineConfig};

fn create_with(path: &str, data: Data) -> CreateRequest {
    CreateRequest {
        path: path.into(),
        data,
        acl: Acl::open_unsafe(),
        flags: 0,
        ttl: None,
    }
}

fn get_data(sim: &mut Sim, c: &mut Client, path: &str) -> (Data, i32) {
    let req = Request::GetData {
        path: path.into(),
        watch: false,
    };
    match sim.call_result(c, req) {
        Ok(Response::GetData { data, stat }) => (data, stat.data_length),
        other => panic!("getData {path}: {other:?}"),
    }
}

#[test]
fn null_data_stays_null_through_writes_reads_the_log_and_replay() {
    let mut sim = Sim::with_defaults();
    let mut c = sim.connect();
    let create = |path: &str, data: Data| Request::Create {
        opcode: op::CREATE,
        req: create_with(path, data),
    };
    sim.call_result(&mut c, create("/null", Data::null()))
        .unwrap();
    sim.call_result(&mut c, create("/empty", Data::from(&b""[..])))
        .unwrap();
    assert_eq!(get_data(&mut sim, &mut c, "/null"), (Data::null(), 0));
    assert_eq!(
        get_data(&mut sim, &mut c, "/empty"),
        (Data::from(&b""[..]), 0)
    );

    // setData(null) over bytes, and setData(empty) over null.
    let set = |path: &str, data: Data| Request::SetData {
        path: path.into(),
        data,
        version: -1,
    };
    sim.call_result(&mut c, set("/empty", Data::null()))
        .unwrap();
    sim.call_result(&mut c, set("/null", Data::from(&b""[..])))
        .unwrap();
    assert_eq!(get_data(&mut sim, &mut c, "/empty"), (Data::null(), 0));
    assert_eq!(
        get_data(&mut sim, &mut c, "/null"),
        (Data::from(&b""[..]), 0)
    );

    // A create and a setData inside a multi, and a multiRead of the result.
    let multi = Request::Multi(vec![
        MultiOp::Create {
            opcode: op::CREATE,
            req: create_with("/m", Data::from(&b"x"[..])),
        },
        MultiOp::SetData {
            path: "/m".into(),
            data: Data::null(),
            version: -1,
        },
        MultiOp::Create {
            opcode: op::CREATE,
            req: create_with("/m2", Data::null()),
        },
    ]);
    sim.call_result(&mut c, multi).unwrap();
    let read = Request::MultiRead(vec![
        MultiReadOp::GetData { path: "/m".into() },
        MultiReadOp::GetData { path: "/m2".into() },
    ]);
    let Ok(Response::Multi(results)) = sim.call_result(&mut c, read) else {
        panic!("multiRead failed");
    };
    for r in &results {
        match r {
            MultiResult::GetData { data, .. } => assert!(data.is_null(), "{results:?}"),
            other => panic!("multiRead answered {other:?}"),
        }
    }

    // Every logged txn decodes to itself (null kept), and replaying the log rebuilds the
    // same data, null and empty apart.
    let mut replica = Engine::new(
        EngineConfig::default(),
        ringkeeper_engine::Now::at(START_MS),
    );
    for txn in &sim.wal {
        let mut buf = Vec::new();
        encode_txn(txn, &mut buf);
        let back = decode_txn(&buf).unwrap();
        assert_eq!(&back, txn);
        replica.replay(&back, ringkeeper_engine::Now::at(START_MS));
    }
    for (path, null) in [
        ("/null", false),
        ("/empty", true),
        ("/m", true),
        ("/m2", true),
    ] {
        let data = &replica.tree().get(path).unwrap().data;
        assert_eq!(data.is_null(), null, "{path} after replay");
        assert_eq!(sim.engine.tree().get(path).unwrap().data, *data, "{path}");
    }
}
