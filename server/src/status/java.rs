//! Java's text forms, as ZooKeeper's outputs print them.

use std::net::{IpAddr, SocketAddr};

pub fn java_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let a = x.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{x}");
        if s.contains('.') {
            s
        } else {
            s + ".0"
        }
    } else {
        let s = format!("{x:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        if m.contains('.') {
            format!("{m}E{e}")
        } else {
            format!("{m}.0E{e}")
        }
    }
}

/// java.util.Date.toString in UTC: `Thu Jan 01 00:00:00 UTC 1970`.
pub fn java_date(epoch_ms: i64) -> String {
    let secs = epoch_ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        WD[days.rem_euclid(7) as usize],
        MON[(month - 1) as usize],
        day,
        tod / 3600,
        tod % 3600 / 60,
        tod % 60,
        year
    )
}

/// Long.toHexString.
pub fn hex(v: i64) -> String {
    format!("{:x}", v as u64)
}

/// InetSocketAddress.toString of a resolved address without host name (JDK 14+):
/// `/127.0.0.1:5000`, `/[0:0:0:0:0:0:0:1]:5000`.
pub fn java_socket_addr(a: &SocketAddr) -> String {
    let ip = match a.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => format!("/{}:{}", v4, a.port()),
        IpAddr::V6(v6) => {
            let segs: Vec<String> = v6.segments().iter().map(|s| format!("{s:x}")).collect();
            format!("/[{}]:{}", segs.join(":"), a.port())
        }
    }
}

/// String.hashCode.
pub fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

/// The order in which a ConcurrentHashMap filled with `keys` (in this order, nothing removed)
/// lists them: by bin (the spread hash masked to the table size the map grew to), keys sharing
/// a bin in insertion order. ZooKeeper's metrics registry lists gauges and summary sets so.
pub fn hash_map_order(keys: Vec<String>) -> Vec<String> {
    // The table starts at 16 bins and doubles once it holds 3/4 of its size.
    let mut bins = 16usize;
    while keys.len() * 4 >= bins * 3 {
        bins *= 2;
    }
    let bin = |k: &str| {
        let h = java_string_hash(k);
        ((h ^ ((h as u32) >> 16) as i32) & 0x7fff_ffff) as usize & (bins - 1)
    };
    let mut keyed: Vec<(usize, String)> = keys.into_iter().map(|k| (bin(&k), k)).collect();
    keyed.sort_by_key(|(b, _)| *b);
    keyed.into_iter().map(|(_, k)| k).collect()
}
