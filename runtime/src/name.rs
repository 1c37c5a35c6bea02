//! Validation of metric and label names. The `const fn`s are also what the macros use to
//! reject bad names at compile time.

use crate::encoding::Escaping;
use crate::error::{Error, ErrorKind, Result};

/// Whether `name` is a valid legacy metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`, not starting with
/// `__` (what the macros require). Registries take any UTF-8 name not starting with `__`.
pub const fn is_valid_metric_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() || (b.len() >= 2 && b[0] == b'_' && b[1] == b'_') {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let ok = c.is_ascii_alphabetic() || c == b'_' || c == b':' || (i > 0 && c.is_ascii_digit());
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `name` is a valid legacy label name: `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with
/// `__` (what the macros require). Registries take any UTF-8 name not starting with `__`.
pub const fn is_valid_label_name(name: &str) -> bool {
    let b = name.as_bytes();
    if b.is_empty() || (b.len() >= 2 && b[0] == b'_' && b[1] == b'_') {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let ok = c.is_ascii_alphabetic() || c == b'_' || (i > 0 && c.is_ascii_digit());
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// Checks a metric name by the rules of UTF-8 names: any UTF-8, not empty, not starting with
/// `__`. One the legacy rules do not allow is escaped for scrapers that do not take it
/// (see [`Escaping`]).
pub(crate) fn check_metric_name(name: &str) -> Result<()> {
    let why = if name.is_empty() {
        "it is empty".to_owned()
    } else if name.starts_with("__") {
        "names starting with `__` are reserved".to_owned()
    } else if let Some(why) = reserved_when_escaped(name, false) {
        why
    } else {
        return Ok(());
    };
    Err(Error::new(
        ErrorKind::InvalidMetricName,
        format!("invalid metric name {name:?}: {why}"),
    ))
}

/// Checks a label name; `whose` says where it appears (``metric `x` ``, `a sparse family`).
pub(crate) fn check_label_name(
    whose: &dyn std::fmt::Display,
    label: &str,
    reserved: &[&str],
) -> Result<()> {
    let why = if label.is_empty() {
        "it is empty".to_owned()
    } else if label.starts_with("__") {
        "names starting with `__` are reserved".to_owned()
    } else if reserved.contains(&label) {
        format!("`{label}` is reserved on this metric type")
    } else if let Some(why) = reserved_when_escaped(label, true) {
        why
    } else {
        return Ok(());
    };
    Err(Error::new(
        ErrorKind::InvalidLabelName,
        format!("invalid label name {label:?} on {whose}: {why}"),
    ))
}

/// Why `name`, valid as UTF-8, is not: a scraper without UTF-8 names would get it escaped to a
/// name starting with `__` (`🚀.launches` is `__launches` with underscores).
fn reserved_when_escaped(name: &str, label: bool) -> Option<String> {
    [Escaping::Underscores, Escaping::Dots]
        .into_iter()
        .map(|e| (e, e.escape(name, label)))
        .find(|(_, escaped)| escaped.starts_with("__"))
        .map(|(e, escaped)| {
            format!(
                "a scraper without UTF-8 names gets it as `{escaped}` (escaped with {}), and \
                 names starting with `__` are reserved",
                match e {
                    Escaping::Dots => "dots",
                    _ => "underscores",
                }
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names() {
        for ok in ["a", "_a", ":a", "a:b_c9", "http_requests_total", "_"] {
            assert!(is_valid_metric_name(ok), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a b", "__a", "é", "a.b"] {
            assert!(!is_valid_metric_name(bad), "{bad}");
        }
    }

    #[test]
    fn label_names() {
        for ok in ["a", "_a", "a_9", "le"] {
            assert!(is_valid_label_name(ok), "{ok}");
        }
        for bad in ["", "9a", "a:b", "__name__", "a-b"] {
            assert!(!is_valid_label_name(bad), "{bad}");
        }
    }

    #[test]
    fn messages_name_what_and_where() {
        assert_eq!(
            check_metric_name("__a.b").unwrap_err().to_string(),
            "invalid metric name \"__a.b\": names starting with `__` are reserved"
        );
        assert_eq!(
            check_metric_name("").unwrap_err().to_string(),
            "invalid metric name \"\": it is empty"
        );
        // UTF-8 names: any but the empty and the reserved.
        for ok in [
            "a-b",
            "http.server.duration",
            "xé",
            "a9.b",
            "a b",
            "q\"uoted\"\n",
        ] {
            assert!(check_metric_name(ok).is_ok(), "{ok}");
            assert!(check_label_name(&"metric `x`", ok, &[]).is_ok(), "{ok}");
        }
        assert_eq!(
            check_label_name(&"metric `lat`", "le", &["le"])
                .unwrap_err()
                .to_string(),
            "invalid label name \"le\" on metric `lat`: `le` is reserved on this metric type"
        );
        assert_eq!(
            check_label_name(&"metric `x`", "__a", &[])
                .unwrap_err()
                .to_string(),
            "invalid label name \"__a\" on metric `x`: names starting with `__` are reserved"
        );
        // What a legacy scraper would get escaped must not start with `__` either.
        assert_eq!(
            check_metric_name("🚀.launches").unwrap_err().to_string(),
            "invalid metric name \"🚀.launches\": a scraper without UTF-8 names gets it as \
             `__launches` (escaped with underscores), and names starting with `__` are reserved"
        );
        assert_eq!(
            check_label_name(&"metric `x`", "9a.b", &[])
                .unwrap_err()
                .to_string(),
            "invalid label name \"9a.b\" on metric `x`: a scraper without UTF-8 names gets it as \
             `__a_dot_b` (escaped with dots), and names starting with `__` are reserved"
        );
    }
}
