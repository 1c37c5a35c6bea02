//! Escaping of label values and HELP text. Both formats escape label values the same way;
//! HELP differs: OpenMetrics also escapes `"`.

/// Where escaped text goes: a scrape's byte buffer, or a `String` (label strings kept across
/// scrapes), so neither needs converting to the other.
pub(crate) trait Out {
    fn push_str(&mut self, s: &str);
    fn is_empty(&self) -> bool;
}

impl Out for Vec<u8> {
    #[inline]
    fn push_str(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }

    fn is_empty(&self) -> bool {
        Vec::is_empty(self)
    }
}

impl Out for String {
    #[inline]
    fn push_str(&mut self, s: &str) {
        String::push_str(self, s);
    }

    fn is_empty(&self) -> bool {
        String::is_empty(self)
    }
}

/// Appends `s` escaped as a label value: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub(crate) fn write_label_value(out: &mut impl Out, s: &str) {
    write_escaped(out, s, true);
}

/// Appends `s` escaped as HELP text; `quotes` is set for OpenMetrics.
pub(crate) fn write_help(out: &mut impl Out, s: &str, quotes: bool) {
    write_escaped(out, s, quotes);
}

fn write_escaped(out: &mut impl Out, s: &str, quotes: bool) {
    let mut start = 0;
    for (i, c) in s.bytes().enumerate() {
        let rep = match c {
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'"' if quotes => "\\\"",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both slices end on character boundaries.
        out.push_str(&s[start..i]);
        out.push_str(rep);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Appends the label `name="value"` (value escaped), after a comma if `out` already holds one.
pub(crate) fn write_label(out: &mut impl Out, name: &str, value: &str) {
    if !out.is_empty() {
        out.push_str(",");
    }
    out.push_str(name);
    out.push_str("=\"");
    write_label_value(out, value);
    out.push_str("\"");
}

/// `s` escaped as a label value, in a new `String`.
pub(crate) fn label_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    write_label_value(&mut out, s);
    out
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
