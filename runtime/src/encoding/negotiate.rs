//! Content negotiation from an `Accept` header value: the format ([`negotiate`]) and how names
//! the legacy rules do not allow are written ([`negotiate_escaping`]), as Go's client reads them.

use super::{Escaping, Format};

/// Picks the format to answer a scrape with, from the `Accept` header value as Prometheus (or
/// anything else) sends it: the acceptable format with the highest quality, the first listed
/// among equals. Prometheus 2.42 lists protobuf (delimited `MetricFamily` messages) first when
/// its native-histograms feature is on, OpenMetrics first otherwise. Anything unparsable,
/// absent or unsupported falls back to the Prometheus text format, which every scraper
/// understands.
///
/// | `Accept` entry (highest quality first) | format | `Content-Type` of the answer |
/// |---|---|---|
/// | `application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited` | [`Format::Protobuf`] | `application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited; escaping=…` |
/// | `application/openmetrics-text`, version `1.0.0`, `0.0.1` or none | [`Format::OpenMetrics`] | `application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=…` |
/// | `text/plain;version=1.0.0` | [`Format::PrometheusV1`] | `text/plain; version=1.0.0; charset=utf-8; escaping=…` |
/// | `text/plain`, version `0.0.4` or none; `text/*`; `*/*`; no header; anything else | [`Format::Prometheus`] | `text/plain; version=0.0.4; charset=utf-8; escaping=…` |
///
/// The `escaping` parameter (`allow-utf-8`, `underscores`, `dots`, `values`) of the chosen entry,
/// or of an entry of higher quality, picks the [`Escaping`]; without one it is `underscores`.
/// Prometheus 3 sends `escaping=allow-utf-8` with the versions that carry UTF-8 names
/// (OpenMetrics 1.0.0, text 1.0.0); Prometheus 2 sends none. Legacy names are the same in every
/// scheme.
///
/// ```
/// use vitalsign::{Format, encoding::negotiate};
///
/// let prometheus = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;\
///                   version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// assert_eq!(negotiate(Some(prometheus)), Format::OpenMetrics);
/// let native = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
///               encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,\
///               application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,\
///               */*;q=0.1";
/// assert_eq!(negotiate(Some(native)), Format::Protobuf);
/// // Protobuf only as delimited `MetricFamily` messages.
/// assert_eq!(negotiate(Some("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text")), Format::Prometheus);
/// assert_eq!(negotiate(Some("application/vnd.google.protobuf")), Format::Prometheus);
/// assert_eq!(negotiate(Some("text/plain;version=0.0.4")), Format::Prometheus);
/// assert_eq!(negotiate(Some("text/plain;q=0.9, application/openmetrics-text;q=0.5")), Format::Prometheus);
/// assert_eq!(negotiate(Some("application/openmetrics-text; version=2.0.0")), Format::Prometheus);
/// assert_eq!(negotiate(Some(";;;,,q=x")), Format::Prometheus);
/// assert_eq!(negotiate(None), Format::Prometheus);
/// ```
pub fn negotiate(accept: Option<&str>) -> Format {
    let mut best: Option<(u32, Format)> = None;
    for entry in entries(accept) {
        if let Some(format) = entry.format.filter(|_| entry.q > 0)
            && best.is_none_or(|(bq, _)| entry.q > bq)
        {
            best = Some((entry.q, format));
        }
    }
    best.map_or(Format::Prometheus, |(_, f)| f)
}

/// One entry of an `Accept` header: its quality (in thousandths), the format it names if one
/// is served, and its `escaping` if it names a known scheme.
struct Entry {
    q: u32,
    format: Option<Format>,
    escaping: Option<Escaping>,
}

/// The entries of an `Accept` header, in order; at most 64, which bounds the work a hostile
/// header can cause (real ones have a handful).
fn entries(accept: Option<&str>) -> impl Iterator<Item = Entry> + '_ {
    accept
        .unwrap_or("")
        .split(',')
        .take(64)
        .filter(|range| !range.trim().is_empty())
        .map(|range| {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim();
            let (mut q, mut version, mut escaping) = (1000u32, None, None);
            let (mut proto, mut encoding) = (None, None);
            for param in parts {
                let Some((k, v)) = param.split_once('=') else {
                    continue;
                };
                let (k, v) = (k.trim(), v.trim().trim_matches('"'));
                if k.eq_ignore_ascii_case("q") {
                    q = parse_q(v).unwrap_or(0);
                } else if k.eq_ignore_ascii_case("version") {
                    version = Some(v);
                } else if k.eq_ignore_ascii_case("proto") {
                    proto = Some(v);
                } else if k.eq_ignore_ascii_case("encoding") {
                    encoding = Some(v);
                } else if k.eq_ignore_ascii_case("escaping") {
                    escaping = Escaping::from_param(v);
                }
            }
            let format = if media.eq_ignore_ascii_case("application/vnd.google.protobuf") {
                match (proto, encoding) {
                    #[cfg(feature = "protobuf")]
                    (Some("io.prometheus.client.MetricFamily"), Some("delimited")) => {
                        Some(Format::Protobuf)
                    }
                    _ => None,
                }
            } else if media.eq_ignore_ascii_case("application/openmetrics-text") {
                matches!(version, None | Some("1.0.0" | "0.0.1")).then_some(Format::OpenMetrics)
            } else if media.eq_ignore_ascii_case("text/plain") {
                match version {
                    None | Some("0.0.4") => Some(Format::Prometheus),
                    Some("1.0.0") => Some(Format::PrometheusV1),
                    Some(_) => None,
                }
            } else if media == "*/*" || media.eq_ignore_ascii_case("text/*") {
                Some(Format::Prometheus)
            } else {
                None
            };
            Entry {
                q,
                format,
                escaping,
            }
        })
}

/// The name escaping an `Accept` header asks for, by Go's rule: the `escaping` parameter of the
/// entry the format was chosen from, or else of the last entry before it that has one; without
/// one, [`Escaping::Underscores`]. Unknown schemes are ignored.
///
/// ```
/// use vitalsign::encoding::{Escaping, negotiate_escaping};
///
/// // What Prometheus 3 sends by default.
/// let accept = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
///     application/openmetrics-text;version=0.0.1;q=0.5,\
///     text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
/// assert_eq!(negotiate_escaping(Some(accept)), Escaping::AllowUtf8);
/// assert_eq!(negotiate_escaping(Some("text/plain;version=0.0.4")), Escaping::Underscores);
/// assert_eq!(negotiate_escaping(Some("*/*;escaping=dots")), Escaping::Dots);
/// assert_eq!(negotiate_escaping(None), Escaping::Underscores);
/// ```
pub fn negotiate_escaping(accept: Option<&str>) -> Escaping {
    // Go walks the entries from the highest quality down (ties in order), taking up each
    // `escaping` it meets, and stops at the first entry whose format it serves.
    let mut entries: Vec<Entry> = entries(accept).collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.q));
    let mut escaping = Escaping::default();
    for entry in entries {
        if let Some(e) = entry.escaping {
            escaping = e;
        }
        if entry.format.is_some() && entry.q > 0 {
            break;
        }
    }
    escaping
}

/// Whether an `Accept-Encoding` header value allows `coding` (such as `gzip`): named, or `*`,
/// with a quality above zero. Quality values are read by the same rules as [`negotiate`]'s.
///
/// ```
/// use vitalsign::encoding::accepts_encoding;
///
/// assert!(accepts_encoding(Some("deflate, gzip;q=0.5"), "gzip"));
/// assert!(accepts_encoding(Some("*"), "gzip"));
/// assert!(!accepts_encoding(Some("gzip;q=0"), "gzip"));
/// assert!(!accepts_encoding(Some("gzip;q=0.000"), "gzip"));
/// assert!(!accepts_encoding(Some("gzip;q=2"), "gzip")); // malformed: not accepted
/// assert!(!accepts_encoding(Some("identity"), "gzip"));
/// assert!(!accepts_encoding(Some(";;;,,,"), "gzip"));
/// assert!(!accepts_encoding(None, "gzip"));
/// ```
pub fn accepts_encoding(accept_encoding: Option<&str>, coding: &str) -> bool {
    let Some(header) = accept_encoding else {
        return false;
    };
    // Bound the work a hostile header can cause, as `negotiate` does.
    header.split(',').take(64).any(|entry| {
        let mut parts = entry.split(';');
        let name = parts.next().unwrap_or("").trim();
        let mut q = 1000u32;
        for param in parts {
            if let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                q = parse_q(v.trim()).unwrap_or(0);
            }
        }
        (name.eq_ignore_ascii_case(coding) || name == "*") && q > 0
    })
}

/// A quality value in thousandths (`0.75` → 750), `None` if malformed.
fn parse_q(v: &str) -> Option<u32> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let mut thousandths = 0;
    for (i, c) in frac.bytes().enumerate() {
        thousandths += u32::from(c - b'0') * [100, 10, 1][i];
    }
    (whole + thousandths <= 1000).then_some(whole + thousandths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_values() {
        assert_eq!(parse_q("0.75"), Some(750));
        assert_eq!(parse_q("1"), Some(1000));
        assert_eq!(parse_q("1.000"), Some(1000));
        assert_eq!(parse_q("0"), Some(0));
        assert_eq!(parse_q("1.5"), None);
        assert_eq!(parse_q("0.1234"), None);
        assert_eq!(parse_q("abc"), None);
    }

    #[test]
    fn prometheus_3_header_with_escaping() {
        let h = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
                 application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
                 text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(negotiate(Some(h)), Format::OpenMetrics);
        assert_eq!(
            negotiate(Some("text/plain;version=0.0.4;q=0,*/*;q=0")),
            Format::Prometheus
        );
        assert_eq!(
            negotiate(Some("application/openmetrics-text;q=0")),
            Format::Prometheus
        );
    }
}
