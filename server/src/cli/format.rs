//! Output as zkCli.sh prints it: `StatPrinter` (with `java.util.Date.toString()` times),
//! `ZKUtil.getPermString`, jute's CSV `Id.toString()`, and `List.toString()`.

use ringkeeper_engine::proto::{perms, Id, Stat};

/// `java.util.Date.toString()`: "Thu Jan 01 00:00:00 UTC 1970", in the local time zone.
pub fn java_date(millis: i64) -> String {
    let secs = millis.div_euclid(1000) as libc::time_t;
    // SAFETY: `tm` is plain data that localtime_r fills in; `buf` is a valid buffer of the
    // length given to strftime, and the format is a NUL-terminated C string.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&secs, &mut tm).is_null() {
            return millis.to_string();
        }
        let mut buf = [0u8; 64];
        let n = libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%a %b %d %H:%M:%S %Z %Y".as_ptr(),
            &tm,
        );
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// `StatPrinter.print`.
pub fn stat(out: &mut String, s: &Stat) {
    use std::fmt::Write;
    let _ = writeln!(out, "cZxid = 0x{:x}", s.czxid);
    let _ = writeln!(out, "ctime = {}", java_date(s.ctime));
    let _ = writeln!(out, "mZxid = 0x{:x}", s.mzxid);
    let _ = writeln!(out, "mtime = {}", java_date(s.mtime));
    let _ = writeln!(out, "pZxid = 0x{:x}", s.pzxid);
    let _ = writeln!(out, "cversion = {}", s.cversion);
    let _ = writeln!(out, "dataVersion = {}", s.version);
    let _ = writeln!(out, "aclVersion = {}", s.aversion);
    let _ = writeln!(out, "ephemeralOwner = 0x{:x}", s.ephemeral_owner);
    let _ = writeln!(out, "dataLength = {}", s.data_length);
    let _ = writeln!(out, "numChildren = {}", s.num_children);
}

/// `ZKUtil.getPermString`: the letters in the order c, d, r, w, a.
pub fn perm_string(p: i32) -> String {
    [
        (perms::CREATE, 'c'),
        (perms::DELETE, 'd'),
        (perms::READ, 'r'),
        (perms::WRITE, 'w'),
        (perms::ADMIN, 'a'),
    ]
    .iter()
    .filter(|(bit, _)| p & bit != 0)
    .map(|(_, c)| *c)
    .collect()
}

/// jute's `Utils.toCSVString`.
fn csv_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\0' => out.push_str("%00"),
            '\n' => out.push_str("%0A"),
            '\r' => out.push_str("%0D"),
            ',' => out.push_str("%2C"),
            '}' => out.push_str("%7D"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// `Id.toString()`, the generated CSV form, newline included: getAcl prints
/// "'world,'anyone" and ": cdrwa" on two lines because of it.
pub fn id(i: &Id) -> String {
    format!("{},{}\n", csv_string(&i.scheme), csv_string(&i.id))
}

/// `java.util.List.toString()`.
pub fn list<S: AsRef<str>>(items: &[S]) -> String {
    let parts: Vec<&str> = items.iter().map(|s| s.as_ref()).collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_java() {
        assert_eq!(perm_string(31), "cdrwa");
        assert_eq!(perm_string(perms::READ | perms::ADMIN), "ra");
        let i = Id {
            scheme: "world".into(),
            id: "anyone".into(),
        };
        assert_eq!(id(&i), "'world,'anyone\n");
        assert_eq!(list(&["a", "b"]), "[a, b]");
        assert_eq!(list::<&str>(&[]), "[]");
        let d = java_date(0);
        assert!(d.starts_with("Thu Jan 01 ") && d.ends_with(" 1970"), "{d}");
    }
}
