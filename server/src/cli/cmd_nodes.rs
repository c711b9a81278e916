//! Commands on znodes and their data: ls, get, set, create, delete, deleteall, stat, sync,
//! getAllChildrenNumber, getEphemerals (`LsCommand`, `GetCommand`, ... of zkCli).

use std::collections::VecDeque;

use ringkeeper_engine::proto::{create_mode, Acl};

use super::acl_parser;
use super::api::{Api, ApiError, ApiResult};
use super::commands::{parse_int, usage_of};
use super::format;
use super::keeper_error::{code, CliError, KeeperError};
use super::line::{self, OptionSpec, Parsed};

/// "'ls path [watch]' has been deprecated": a third word turns into -w (the word at index 2
/// of the original arguments is replaced, whatever it was, as zkCli does).
fn retain_compatibility(
    spec: OptionSpec,
    args: &[String],
    parsed: Parsed,
    to_watch: bool,
    message: &str,
) -> Result<Parsed, CliError> {
    if parsed.args.len() <= 2 {
        return Ok(parsed);
    }
    eprintln!("{message}");
    let mut args = args.to_vec();
    if to_watch {
        args[2] = "-w".into();
    }
    line::parse(spec, &args)
}

fn need(parsed: &Parsed, n: usize, cmd: &str) -> Result<(), CliError> {
    if parsed.args.len() < n {
        return Err(CliError::new(usage_of(cmd)));
    }
    Ok(())
}

const LS: OptionSpec = &[('?', false), ('s', false), ('w', false), ('R', false)];

pub fn ls(api: &Api, args: &[String]) -> Result<(), CliError> {
    let parsed = line::parse(LS, args)?;
    if parsed.has('?') {
        // HelpFormatter.printHelp("ls [options] path", options)
        println!("usage: ls [options] path\n -?   help\n -R   recurse\n -s   stat\n -w   watch");
    }
    let p = retain_compatibility(
        LS,
        args,
        parsed,
        true,
        "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead.",
    )?;
    need(&p, 2, "ls")?;
    let path = &p.args[1];
    let watch = p.has('w');
    if p.has('R') {
        visit_subtree(api, path, watch, &mut |child| println!("{child}"))?;
    } else {
        let (mut children, stat) = api.get_children(path, watch)?;
        children.sort();
        println!("{}", format::list(&children));
        if p.has('s') {
            let mut out = String::new();
            format::stat(&mut out, &stat);
            print!("{out}");
        }
    }
    Ok(())
}

/// `ZKUtil.visitSubTreeDFS`: the node, then each level's children sorted, depth first;
/// a child deleted meanwhile is skipped.
pub fn visit_subtree(api: &Api, path: &str, watch: bool, f: &mut dyn FnMut(&str)) -> ApiResult<()> {
    api.get_data(path, watch)?;
    f(path);
    visit_children(api, path, watch, f)
}

fn visit_children(api: &Api, path: &str, watch: bool, f: &mut dyn FnMut(&str)) -> ApiResult<()> {
    let mut children = match api.get_children(path, watch) {
        Ok((c, _)) => c,
        Err(ApiError::Keeper(KeeperError {
            code: code::NO_NODE,
            ..
        })) => return Ok(()),
        Err(e) => return Err(e),
    };
    children.sort();
    let full: Vec<String> = children
        .iter()
        .map(|c| {
            if path == "/" {
                format!("/{c}")
            } else {
                format!("{path}/{c}")
            }
        })
        .collect();
    for c in &full {
        f(c);
    }
    for c in &full {
        visit_children(api, c, watch, f)?;
    }
    Ok(())
}

const GET: OptionSpec = &[('s', false), ('w', false)];

pub fn get(api: &Api, args: &[String]) -> Result<(), CliError> {
    let parsed = line::parse(GET, args)?;
    need(&parsed, 2, "get")?;
    let p = retain_compatibility(
        GET,
        args,
        parsed,
        true,
        "'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead.",
    )?;
    let (data, stat) = api.get_data(&p.args[1], p.has('w'))?;
    match data.as_option() {
        Some(bytes) => println!("{}", String::from_utf8_lossy(bytes)),
        None => println!("null"),
    }
    if p.has('s') {
        let mut out = String::new();
        format::stat(&mut out, &stat);
        print!("{out}");
    }
    Ok(())
}

const SET: OptionSpec = &[('s', false), ('v', true)];

pub fn set(api: &Api, args: &[String]) -> Result<(), CliError> {
    let p = line::parse(SET, args)?;
    need(&p, 3, "set")?;
    let version = match p.value('v') {
        Some(v) => parse_int(v)?,
        None => -1,
    };
    let stat = api.set_data(&p.args[1], p.args[2].as_bytes().to_vec(), version)?;
    if p.has('s') {
        let mut out = String::new();
        format::stat(&mut out, &stat);
        print!("{out}");
    }
    Ok(())
}

const CREATE: OptionSpec = &[('e', false), ('s', false), ('c', false), ('t', true)];

pub fn create(api: &Api, args: &[String]) -> Result<(), CliError> {
    let p = line::parse(CREATE, args)?;
    need(&p, 2, "create")?;
    let (e, s, c, t) = (p.has('e'), p.has('s'), p.has('c'), p.has('t'));
    if c && (e || s) {
        return Err(CliError::new(
            "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.",
        ));
    }
    let ttl = match p.value('t') {
        Some(v) => Some(
            v.parse::<i64>()
                .map_err(|_| CliError::new("-t argument must be a long value"))?,
        ),
        None => None,
    };
    if t && e {
        return Err(CliError::new("TTLs cannot be used with Ephemeral znodes"));
    }
    if t && c {
        return Err(CliError::new("TTLs cannot be used with Container znodes"));
    }
    let flags = match (e, s, c) {
        (true, true, _) => create_mode::EPHEMERAL_SEQUENTIAL,
        (true, false, _) => create_mode::EPHEMERAL,
        (false, true, _) if t => create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL,
        (false, true, _) => create_mode::PERSISTENT_SEQUENTIAL,
        (false, false, true) => create_mode::CONTAINER,
        _ if t => create_mode::PERSISTENT_WITH_TTL,
        _ => create_mode::PERSISTENT,
    };
    if let Some(ttl) = ttl {
        if ttl <= 0 || ttl > super::api::MAX_TTL {
            return Err(CliError::new(format!(
                "ttl must be positive and cannot be larger than: {}",
                super::api::MAX_TTL
            )));
        }
    }
    let data = p.args.get(2).map(|d| d.as_bytes().to_vec());
    let acl = match p.args.get(3) {
        Some(a) => acl_parser::parse(a),
        None => Acl::open_unsafe(),
    };
    match api.create(&p.args[1], data, acl, flags, ttl) {
        Ok(created) => {
            eprintln!("Created {created}");
            Ok(())
        }
        Err(ApiError::Keeper(k)) if k.code == code::EPHEMERAL_ON_LOCAL_SESSION => {
            eprintln!("Unable to create ephemeral node on a local session");
            Err(k.into())
        }
        Err(ApiError::Keeper(k)) if k.code == code::INVALID_ACL => {
            eprintln!("{k}");
            Err(k.into())
        }
        Err(e) => Err(e.into()),
    }
}

const DELETE: OptionSpec = &[('v', true)];

pub fn delete(api: &Api, args: &[String]) -> Result<(), CliError> {
    let parsed = line::parse(DELETE, args)?;
    need(&parsed, 2, "delete")?;
    let p = retain_compatibility(
        DELETE,
        args,
        parsed,
        false,
        "'delete path [version]' has been deprecated. Please use 'delete [-v version] path' instead.",
    )?;
    let version = match p.value('v') {
        Some(v) => parse_int(v)?,
        None => -1,
    };
    api.delete(&p.args[1], version)?;
    Ok(())
}

const DELETEALL: OptionSpec = &[('b', true)];

pub fn deleteall(api: &Api, args: &[String]) -> Result<(), CliError> {
    let p = line::parse(DELETEALL, args)?;
    need(&p, 2, "deleteall")?;
    let batch = match p.value('b') {
        Some(v) => v
            .parse::<i32>()
            .map_err(|_| CliError::new("-b argument must be an int value"))?,
        None => 1000,
    };
    if !delete_recursive(api, &p.args[1], batch)? {
        eprintln!("Failed to delete some node(s) in the subtree!");
    }
    Ok(())
}

/// `ZKUtil.deleteRecursive`: list the subtree breadth first, delete it leaves first in
/// multis of `batch` deletes; stops at the first failed multi.
fn delete_recursive(api: &Api, root: &str, batch: i32) -> ApiResult<bool> {
    super::path::validate(root, false).map_err(ApiError::IllegalArgument)?;
    let mut tree = vec![root.to_string()];
    let mut queue = VecDeque::from([root.to_string()]);
    while let Some(node) = queue.pop_front() {
        let (children, _) = api.get_children(&node, false)?;
        for c in children {
            let child = if node == "/" {
                format!("/{c}")
            } else {
                format!("{node}/{c}")
            };
            queue.push_back(child.clone());
            tree.push(child);
        }
    }
    let mut ops: Vec<String> = Vec::new();
    for (i, p) in tree.iter().enumerate().rev() {
        ops.push(p.clone());
        if ops.len() as i64 == batch as i64 || i == 0 {
            if !api.delete_batch(&ops)? {
                return Ok(false);
            }
            ops.clear();
        }
    }
    Ok(true)
}

const STAT: OptionSpec = &[('w', false)];

pub fn stat(api: &Api, args: &[String]) -> Result<(), CliError> {
    let parsed = line::parse(STAT, args)?;
    need(&parsed, 2, "stat")?;
    let p = retain_compatibility(
        STAT,
        args,
        parsed,
        true,
        "'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead.",
    )?;
    let path = &p.args[1];
    match api.exists(path, p.has('w'))? {
        Some(stat) => {
            let mut out = String::new();
            format::stat(&mut out, &stat);
            print!("{out}");
            Ok(())
        }
        None => Err(KeeperError::new(code::NO_NODE, path).into()),
    }
}

pub fn sync(api: &Api, args: &[String]) -> Result<(), CliError> {
    let p = line::parse(&[], args)?;
    need(&p, 2, "sync")?;
    let rc = api.sync(&p.args[1])?;
    if rc == 0 {
        println!("Sync is OK");
    } else {
        println!("Sync has failed. rc={rc}");
    }
    Ok(())
}

pub fn get_all_children_number(api: &Api, args: &[String]) -> Result<(), CliError> {
    let p = line::parse(&[], args)?;
    need(&p, 2, "getAllChildrenNumber")?;
    println!("{}", api.get_all_children_number(&p.args[1])?);
    Ok(())
}

pub fn get_ephemerals(api: &Api, args: &[String]) -> Result<(), CliError> {
    let p = line::parse(&[], args)?;
    let prefix = p.args.get(1).map(String::as_str).unwrap_or("/");
    println!("{}", format::list(&api.get_ephemerals(prefix)?));
    Ok(())
}
