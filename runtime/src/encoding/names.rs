//! Metric and label names on the wire. Any UTF-8 name may be registered; how one that the legacy
//! rules (`[a-zA-Z_:][a-zA-Z0-9_:]*` for metrics, `[a-zA-Z_][a-zA-Z0-9_]*` for labels) do not
//! allow is written depends on what the scraper asked for with the `escaping` parameter of its
//! `Accept` header (Prometheus 3 sends it): as it is (quoted in the text formats), or escaped to
//! a legacy name. Legacy names are always written as they are.

use std::borrow::Cow;

use super::escape::Out;

/// How names the legacy rules do not allow are written: the `escaping` parameter of a scrape's
/// `Accept` header, echoed in the response's `Content-Type`.
///
/// One family with UTF-8 names, OpenTelemetry style, under each scheme:
///
/// ```
/// use vitalsign::{Counter, Descriptor, EncodeOptions, Format, Registry, SparseFamily};
/// use vitalsign::encoding::Escaping;
///
/// let registry = Registry::new();
/// let requests = std::sync::Arc::new(SparseFamily::<Counter, 1>::new(["http.route"], 100)?);
/// registry.register_shared(
///     Descriptor::new("http.server.requests", "Requests served.").const_label("service.name", "shop"),
///     requests.clone(),
/// )?;
/// requests.get(["/cart"]).inc();
/// // The family alone (not the registry's own counts beside it).
/// let render = |format, escaping| {
///     let mut out = Vec::new();
///     let options = EncodeOptions::new(format).escaping(escaping);
///     registry.encode(&mut out, &options.names(Some(&["http.server.requests"])));
///     String::from_utf8(out).unwrap()
/// };
/// // Prometheus 3 (`escaping=allow-utf-8`): names as they are, quoted.
/// assert_eq!(render(Format::PrometheusV1, Escaping::AllowUtf8), r#"# HELP "http.server.requests_total" Requests served.
/// ## TYPE "http.server.requests_total" counter
/// {"http.server.requests_total","service.name"="shop","http.route"="/cart"} 1
/// "#);
/// // Any scraper that does not ask: underscores, as Go's client escapes them.
/// assert_eq!(render(Format::Prometheus, Escaping::Underscores), r#"# HELP http_server_requests_total Requests served.
/// ## TYPE http_server_requests_total counter
/// http_server_requests_total{service_name="shop",http_route="/cart"} 1
/// "#);
/// // The family's name is escaped, a sample's suffix (`_total`) follows it as it is.
/// assert_eq!(render(Format::Prometheus, Escaping::Dots), r#"# HELP http_dot_server_dot_requests_total Requests served.
/// ## TYPE http_dot_server_dot_requests_total counter
/// http_dot_server_dot_requests_total{service_dot_name="shop",http_dot_route="/cart"} 1
/// "#);
/// assert_eq!(render(Format::Prometheus, Escaping::Values), r#"# HELP U__http_2e_server_2e_requests_total Requests served.
/// ## TYPE U__http_2e_server_2e_requests_total counter
/// U__http_2e_server_2e_requests_total{U__service_2e_name="shop",U__http_2e_route="/cart"} 1
/// "#);
/// # Ok::<(), vitalsign::Error>(())
/// ```
///
/// Each scheme on one name:
///
/// ```
/// use vitalsign::encoding::Escaping;
///
/// let name = "http.server.duration";
/// assert_eq!(Escaping::AllowUtf8.escape(name, false), "http.server.duration");
/// assert_eq!(Escaping::Underscores.escape(name, false), "http_server_duration");
/// assert_eq!(Escaping::Dots.escape(name, false), "http_dot_server_dot_duration");
/// assert_eq!(Escaping::Values.escape(name, false), "U__http_2e_server_2e_duration");
/// // Legacy names are never escaped.
/// assert_eq!(Escaping::Values.escape("http_requests_total", false), "http_requests_total");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Escaping {
    /// Names as they are; in the text formats a name the legacy rules do not allow is quoted
    /// (`{"http.server.duration",le="0.1"} 3`). `allow-utf-8`.
    AllowUtf8,
    /// Every character the legacy rules do not allow becomes `_`: what a scraper that sends no
    /// `escaping` gets, as from Go's client. `underscores`.
    #[default]
    Underscores,
    /// `.` becomes `_dot_`, `_` becomes `__`, any other character the rules do not allow `__`.
    /// `dots`.
    Dots,
    /// `U__`, then each character the rules do not allow as `_` and its code point in hex and
    /// `_`, and `_` as `__`: reversible. `values`.
    Values,
}

impl Escaping {
    /// The scheme's name in `escaping=` parameters.
    pub fn as_str(self) -> &'static str {
        match self {
            Escaping::AllowUtf8 => "allow-utf-8",
            Escaping::Underscores => "underscores",
            Escaping::Dots => "dots",
            Escaping::Values => "values",
        }
    }

    /// The scheme an `escaping=` parameter names, if any.
    pub fn from_param(value: &str) -> Option<Self> {
        [
            Escaping::AllowUtf8,
            Escaping::Underscores,
            Escaping::Dots,
            Escaping::Values,
        ]
        .into_iter()
        .find(|e| e.as_str() == value)
    }

    /// `name` as this scheme writes it: as it is when the legacy rules allow it (for a label
    /// name when `label`, else for a metric name) or the scheme is `AllowUtf8`, escaped
    /// otherwise.
    pub fn escape(self, name: &str, label: bool) -> Cow<'_, str> {
        if self == Escaping::AllowUtf8 || is_legacy(name, label) {
            return Cow::Borrowed(name);
        }
        let mut out = String::with_capacity(name.len() + 8);
        self.write_escaped(&mut out, [name], label);
        Cow::Owned(out)
    }

    /// Appends the concatenation of `parts`, escaped as one name (not legacy as a whole).
    fn write_escaped<'p>(
        self,
        out: &mut String,
        parts: impl IntoIterator<Item = &'p str>,
        label: bool,
    ) {
        if self == Escaping::Values {
            out.push_str("U__");
        }
        let mut i = 0;
        for part in parts {
            for c in part.chars() {
                let legacy = legacy_char(c, i == 0, label);
                match (self, c) {
                    (Escaping::Underscores, _) => out.push(if legacy { c } else { '_' }),
                    (Escaping::Dots | Escaping::Values, '_') => out.push_str("__"),
                    (Escaping::Dots, '.') => out.push_str("_dot_"),
                    (_, c) if legacy => out.push(c),
                    (Escaping::Dots, _) => out.push_str("__"),
                    (_, c) => {
                        use std::fmt::Write as _;
                        let _ = write!(out, "_{:x}_", u32::from(c));
                    }
                }
                i += 1;
            }
        }
    }
}

fn legacy_char(c: char, first: bool, label: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || (c == ':' && !label) || (!first && c.is_ascii_digit())
}

/// Whether the legacy rules allow `name` as a label name (`label`) or a metric name.
pub(crate) fn is_legacy(name: &str, label: bool) -> bool {
    !name.is_empty()
        && name
            .chars()
            .enumerate()
            .all(|(i, c)| legacy_char(c, i == 0, label))
}

/// Whether `parts`, concatenated, is a legacy name.
pub(crate) fn is_legacy_parts(parts: &[&str], label: bool) -> bool {
    let mut i = 0;
    for part in parts {
        for c in part.chars() {
            if !legacy_char(c, i == 0, label) {
                return false;
            }
            i += 1;
        }
    }
    i > 0
}

/// Appends the name `parts` make, as `escaping` writes it in the text formats: as it is, quoted
/// (with `\`, `"` and newlines escaped) for `AllowUtf8` when the legacy rules do not allow it,
/// else escaped. Returns whether it was quoted (a metric name then goes inside the braces).
pub(crate) fn write_text_name(
    out: &mut impl Out,
    parts: &[&str],
    escaping: Escaping,
    label: bool,
) -> bool {
    if is_legacy_parts(parts, label) {
        parts.iter().for_each(|p| out.push_str(p));
        return false;
    }
    if escaping == Escaping::AllowUtf8 {
        out.push_str("\"");
        parts
            .iter()
            .for_each(|p| super::escape::write_label_value(out, p));
        out.push_str("\"");
        return true;
    }
    out.push_str(&escape_parts(parts, escaping, label));
    false
}

/// A name that is not a legacy one, escaped: its first part (the family's name), then the
/// rest (a sample's suffix, always legacy) as it is, so parsers still see `_total`, `_bucket`
/// and the other suffixes after the escaped name.
fn escape_parts(parts: &[&str], escaping: Escaping, label: bool) -> String {
    let mut escaped = String::new();
    if let Some((first, rest)) = parts.split_first() {
        if is_legacy(first, label) {
            escaped.push_str(first);
        } else {
            escaping.write_escaped(&mut escaped, [*first], label);
        }
        rest.iter().for_each(|p| escaped.push_str(p));
    }
    escaped
}

/// Whether the text formats quote the name `parts` make (and put a metric name inside the
/// braces).
pub(crate) fn quoted(parts: &[&str], escaping: Escaping, label: bool) -> bool {
    escaping == Escaping::AllowUtf8 && !is_legacy_parts(parts, label)
}

/// The name `parts` make as protobuf carries it: as it is for `AllowUtf8` or a legacy name,
/// escaped otherwise.
#[cfg(feature = "protobuf")]
pub(crate) fn wire_name<'p>(parts: &[&'p str], escaping: Escaping, label: bool) -> Cow<'p, str> {
    if escaping == Escaping::AllowUtf8 || is_legacy_parts(parts, label) {
        return match parts {
            [one] => Cow::Borrowed(one),
            _ => Cow::Owned(parts.concat()),
        };
    }
    Cow::Owned(escape_parts(parts, escaping, label))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each scheme on names that exercise its rules, as prometheus/common's `EscapeName` writes
    /// them (label names here also escape `:`, which the legacy label rules do not allow).
    #[test]
    fn each_scheme_escapes_as_prometheus_does() {
        let cases: [(&str, [&str; 4]); 5] = [
            (
                "http.server.duration",
                [
                    "http.server.duration",
                    "http_server_duration",
                    "http_dot_server_dot_duration",
                    "U__http_2e_server_2e_duration",
                ],
            ),
            ("a.b_c", ["a.b_c", "a_b_c", "a_dot_b__c", "U__a_2e_b__c"]),
            ("0x", ["0x", "_x", "__x", "U___30_x"]),
            ("ünï", ["ünï", "_n_", "__n__", "U___fc_n_ef_"]),
            ("plain_name", ["plain_name"; 4]),
        ];
        let schemes = [
            Escaping::AllowUtf8,
            Escaping::Underscores,
            Escaping::Dots,
            Escaping::Values,
        ];
        for (name, want) in cases {
            for (scheme, want) in schemes.iter().zip(want) {
                assert_eq!(scheme.escape(name, false), want, "{name} {scheme:?}");
            }
        }
        assert_eq!(Escaping::Underscores.escape("a:b", true), "a_b");
        assert_eq!(Escaping::Underscores.escape("a:b", false), "a:b");
    }

    #[test]
    fn text_names_are_quoted_only_where_needed() {
        let mut out = Vec::new();
        assert!(!write_text_name(
            &mut out,
            &["req", "_total"],
            Escaping::AllowUtf8,
            false
        ));
        out.push(b' ');
        assert!(write_text_name(
            &mut out,
            &["a.\"b", "_total"],
            Escaping::AllowUtf8,
            false
        ));
        out.push(b' ');
        assert!(!write_text_name(
            &mut out,
            &["a.b", "_total"],
            Escaping::Values,
            false
        ));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"req_total "a.\"b_total" U__a_2e_b_total"#
        );
    }
}
