//! A certificate subject as Java's `X500Principal.getName()` prints it (RFC 2253 form): the
//! identity ZooKeeper's X509AuthenticationProvider gives a TLS client, and so the string an
//! `x509:` ACL must match exactly.
//!
//! Java's rules (sun.security.x509.AVA.toRFC2253String):
//! * RDNs in reverse order of the certificate, joined by `,`; a multi-valued RDN's values
//!   joined by `+`, in their encoded order;
//! * attribute types with an RFC 2253 keyword (CN, C, L, ST, O, OU, STREET, DC, UID) by
//!   name, any other by its dotted OID;
//! * a value whose type has no keyword, or which is not a directory string (PrintableString,
//!   T61String, IA5String, GeneralString, UTF8String, BMPString), is `#` + the lower-case hex
//!   of its DER encoding;
//! * otherwise the string, with each of `,=+<>#;"\` escaped by a backslash, NUL as `\00`,
//!   and leading and trailing spaces and carriage returns escaped by a backslash.

use x509_parser::der_parser::asn1_rs::{Any, Class, Tag};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

/// The subject of a DER certificate, or None if it does not parse.
pub fn subject_of(cert_der: &[u8]) -> Option<String> {
    let (_, cert) = X509Certificate::from_der(cert_der).ok()?;
    Some(rfc2253(cert.subject()))
}

pub fn rfc2253(name: &X509Name) -> String {
    let rdns: Vec<String> = name
        .iter()
        .map(|rdn| {
            rdn.iter()
                .map(|atv| {
                    let oid = atv.attr_type().to_id_string();
                    match keyword(&oid) {
                        Some(k) => match directory_string(atv.attr_value()) {
                            Some(s) => format!("{k}={}", escape(&s)),
                            None => format!("{k}=#{}", hex_der(atv.attr_value())),
                        },
                        None => format!("{oid}=#{}", hex_der(atv.attr_value())),
                    }
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect();
    rdns.into_iter().rev().collect::<Vec<_>>().join(",")
}

/// The RFC 2253 keywords Java prints by name (AVAKeyword with rfc2253Compliant set).
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// The value as text if it is one of the string types Java prints as text.
fn directory_string(v: &Any) -> Option<String> {
    if v.header.class() != Class::Universal {
        return None;
    }
    let data = v.data;
    match v.tag() {
        Tag::PrintableString | Tag::Ia5String | Tag::Utf8String => {
            Some(String::from_utf8_lossy(data).into_owned())
        }
        // Java reads these byte by byte (ISO-8859-1).
        Tag::T61String | Tag::GeneralString => Some(data.iter().map(|&b| b as char).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = data
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
                .collect();
            Some(String::from_utf16_lossy(&units))
        }
        _ => None,
    }
}

fn escape(value: &str) -> String {
    const ESCAPEES: &str = ",=+<>#;\"\\";
    let mut chars: Vec<String> = Vec::with_capacity(value.len());
    for c in value.chars() {
        if ESCAPEES.contains(c) {
            chars.push(format!("\\{c}"));
        } else if c == '\0' {
            chars.push("\\00".into());
        } else {
            chars.push(c.to_string());
        }
    }
    let blank = |s: &String| s == " " || s == "\r";
    let lead = chars.iter().take_while(|s| blank(s)).count();
    let trail = chars.iter().rev().take_while(|s| blank(s)).count();
    let n = chars.len();
    let mut out = String::with_capacity(value.len() + 4);
    for (i, s) in chars.iter().enumerate() {
        if i < lead || i >= n.saturating_sub(trail) {
            out.push('\\');
        }
        out.push_str(s);
    }
    out
}

/// Lower-case hex of the value's DER encoding (identifier, length, contents).
fn hex_der(v: &Any) -> String {
    let class = (v.header.class() as u8) << 6;
    let constructed = if v.header.is_constructed() { 0x20 } else { 0 };
    let tag = v.tag().0;
    let mut der = Vec::with_capacity(v.data.len() + 6);
    if tag < 31 {
        der.push(class | constructed | tag as u8);
    } else {
        der.push(class | constructed | 0x1f);
        let mut groups = Vec::new();
        let mut t = tag;
        loop {
            groups.push((t & 0x7f) as u8);
            t >>= 7;
            if t == 0 {
                break;
            }
        }
        for (i, g) in groups.iter().enumerate().rev() {
            der.push(if i > 0 { g | 0x80 } else { *g });
        }
    }
    let len = v.data.len();
    if len < 0x80 {
        der.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|&b| b == 0)
            .collect();
        der.push(0x80 | bytes.len() as u8);
        der.extend_from_slice(&bytes);
    }
    der.extend_from_slice(v.data);
    der.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_as_java_does() {
        assert_eq!(escape("a,b+c"), "a\\,b\\+c");
        assert_eq!(escape(" x "), "\\ x\\ ");
        assert_eq!(escape("#1=2"), "\\#1\\=2");
        assert_eq!(escape("plain name"), "plain name");
    }
}
