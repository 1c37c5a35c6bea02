//! Escaping of label values and HELP text. Both formats escape label values the same way;
//! HELP differs: OpenMetrics also escapes `"`.

/// Appends `s` escaped as a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub(crate) fn write_label_value(out: &mut Vec<u8>, s: &str) {
    write_escaped(out, s, true);
}

/// Appends `s` escaped as HELP text; `quotes` is set for OpenMetrics.
pub(crate) fn write_help(out: &mut Vec<u8>, s: &str, quotes: bool) {
    write_escaped(out, s, quotes);
}

fn write_escaped(out: &mut Vec<u8>, s: &str, quotes: bool) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &c) in bytes.iter().enumerate() {
        let rep: &[u8] = match c {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if quotes => b"\\\"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(rep);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Appends the label `name="value"` (value escaped), after a comma if `out` already holds one.
pub(crate) fn write_label(out: &mut Vec<u8>, name: &str, value: &str) {
    if !out.is_empty() {
        out.push(b',');
    }
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    write_label_value(out, value);
    out.push(b'"');
}

/// `s` escaped as a label value, in a new `String`.
pub(crate) fn label_value(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    write_label_value(&mut out, s);
    // Escaping replaces ASCII bytes with ASCII bytes, so UTF-8 is preserved.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_help() {
        let s = "a\\b\"c\nd}é\0";
        assert_eq!(label_value(s), "a\\\\b\\\"c\\nd}é\0");
        let mut help = Vec::new();
        write_help(&mut help, s, false);
        assert_eq!(help, "a\\\\b\"c\\nd}é\0".as_bytes());
        help.clear();
        write_help(&mut help, s, true);
        assert_eq!(help, "a\\\\b\\\"c\\nd}é\0".as_bytes());
    }
}
