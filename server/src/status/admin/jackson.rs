//! JSON printed the way ZooKeeper's Jackson DefaultPrettyPrinter prints it (`"key" : value`,
//! two-space indents, `[ ]` and `{ }` when empty), so a diff against ZooKeeper's answers is
//! about content.

use serde_json::Value;

pub fn pretty(v: &Value) -> String {
    let mut out = String::new();
    write(v, 0, &mut out);
    out
}

fn write(v: &Value, indent: usize, out: &mut String) {
    match v {
        Value::Object(m) if m.is_empty() => out.push_str("{ }"),
        Value::Object(m) => {
            out.push_str("{\n");
            for (i, (k, val)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                out.push_str(&" ".repeat(indent + 2));
                out.push_str(&Value::String(k.clone()).to_string());
                out.push_str(" : ");
                write(val, indent + 2, out);
            }
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            out.push('}');
        }
        Value::Array(a) if a.is_empty() => out.push_str("[ ]"),
        Value::Array(a) => {
            out.push_str("[ ");
            for (i, val) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(val, indent, out);
            }
            out.push_str(" ]");
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn like_jackson() {
        let v = json!({"connections": [{"a": 1}], "secure_connections": [], "m": {}, "x": 0.0,
                       "ids": [1, 2], "command": "stats", "error": null});
        assert_eq!(
            pretty(&v),
            "{\n  \"connections\" : [ {\n    \"a\" : 1\n  } ],\n  \"secure_connections\" : [ ],\n  \
             \"m\" : { },\n  \"x\" : 0.0,\n  \"ids\" : [ 1, 2 ],\n  \"command\" : \"stats\",\n  \
             \"error\" : null\n}"
        );
    }
}
