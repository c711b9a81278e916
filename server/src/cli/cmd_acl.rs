//! Commands on ACLs and identity: getAcl, setAcl, addauth, whoami.

use super::acl_parser;
use super::api::{Api, ApiError};
use super::cmd_nodes::visit_subtree;
use super::commands::{parse_int, usage_of};
use super::format;
use super::keeper_error::CliError;
use super::line::{self, OptionSpec};

const GET_ACL: OptionSpec = &[('s', false)];

pub fn get_acl(api: &Api, args: &[String]) -> Result<(), CliError> {
    let p = line::parse(GET_ACL, args)?;
    if p.args.len() < 2 {
        return Err(CliError::new(usage_of("getAcl")));
    }
    let (acl, stat) = api.get_acl(&p.args[1])?;
    for a in &acl {
        println!("{}: {}", format::id(&a.id), format::perm_string(a.perms));
    }
    if p.has('s') {
        let mut out = String::new();
        format::stat(&mut out, &stat);
        print!("{out}");
    }
    Ok(())
}

const SET_ACL: OptionSpec = &[('s', false), ('v', true), ('R', false)];

pub fn set_acl(api: &Api, args: &[String]) -> Result<(), CliError> {
    let p = line::parse(SET_ACL, args)?;
    if p.args.len() < 3 {
        return Err(CliError::new(usage_of("setAcl")));
    }
    let path = &p.args[1];
    let acl = acl_parser::parse(&p.args[2]);
    let version = match p.value('v') {
        Some(v) => parse_int(v)?,
        None => -1,
    };
    if p.has('R') {
        // zkCli prints a node's failure without a newline and goes on.
        visit_subtree(api, path, false, &mut |node| {
            if let Err(ApiError::Keeper(k)) = api.set_acl(node, acl.clone(), version) {
                print!("{k}");
            }
        })?;
    } else {
        let stat = api.set_acl(path, acl, version)?;
        if p.has('s') {
            let mut out = String::new();
            format::stat(&mut out, &stat);
            print!("{out}");
        }
    }
    Ok(())
}

pub fn addauth(api: &Api, args: &[String]) -> Result<(), CliError> {
    let p = line::parse(&[], args)?;
    if p.args.len() < 2 {
        return Err(CliError::new(usage_of("addauth")));
    }
    api.zk
        .add_auth(&p.args[1], p.args.get(2).map(|a| a.as_bytes()));
    Ok(())
}

pub fn whoami(api: &Api, _args: &[String]) -> Result<(), CliError> {
    // `ZooKeeper.whoAmI()` does not look at the reply's error: a failed call prints the
    // heading alone.
    let infos = api.who_am_i().unwrap_or_default();
    println!("Auth scheme: User");
    for i in infos {
        println!("{}: {}", i.auth_scheme, i.user);
    }
    Ok(())
}
