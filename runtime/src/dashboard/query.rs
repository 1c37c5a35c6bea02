//! PromQL for dashboard panels, each query written so that it returns the same series whether
//! Prometheus stores a histogram as classic series (`_bucket`, `_count`, `_sum`), as a native
//! histogram (2.x with `--enable-feature=native-histograms`, 3.x with native ingestion on, and
//! no `scrape_classic_histograms`/`always_scrape_classic_histograms`: then there is no
//! `_bucket`, `_count` or `_sum` series), or both: the classic form `or` the native one.

/// The rate window of every panel: Grafana's `$__rate_interval`, at least four scrapes.
pub(super) const RATE: &str = "$__rate_interval";

/// The matchers every panel's selectors start with: the dashboard's `job` and `instance`
/// variables, then `extra`.
pub(super) fn sel(extra: &str) -> String {
    if extra.is_empty() {
        r#"job="$job",instance=~"$instance""#.to_owned()
    } else {
        format!(r#"job="$job",instance=~"$instance",{extra}"#)
    }
}

/// `by (a, b)`, or nothing for no labels.
fn by(labels: &[&str]) -> String {
    if labels.is_empty() {
        String::new()
    } else {
        format!(" by ({})", labels.join(", "))
    }
}

/// Observations a second of histogram `h` (its legacy name), summed by `labels`: from the
/// classic `_count` or the native histogram's count.
pub(super) fn histogram_rate(h: &str, labels: &[&str], sel: &str) -> String {
    let by = by(labels);
    format!(
        "sum{by} (rate({h}_count{{{sel}}}[{RATE}])) or sum{by} (histogram_count(rate({h}{{{sel}}}[{RATE}])))"
    )
}

/// The `q` quantile of histogram `h` by `labels`: from the classic buckets or the native
/// histogram.
pub(super) fn quantile(q: &str, h: &str, labels: &[&str], sel: &str) -> String {
    let mut with_le = vec!["le"];
    with_le.extend_from_slice(labels);
    format!(
        "histogram_quantile({q}, sum{} (rate({h}_bucket{{{sel}}}[{RATE}]))) or histogram_quantile({q}, sum{} (rate({h}{{{sel}}}[{RATE}])))",
        by(&with_le),
        by(labels)
    )
}

/// The mean observation of histogram `h` (or a summary's, whose `_sum` and `_count` are always
/// classic) by `labels`.
pub(super) fn mean(h: &str, labels: &[&str], sel: &str) -> String {
    let by = by(labels);
    format!(
        "(sum{by} (rate({h}_sum{{{sel}}}[{RATE}])) / sum{by} (rate({h}_count{{{sel}}}[{RATE}]))) or (sum{by} (histogram_sum(rate({h}{{{sel}}}[{RATE}]))) / sum{by} (histogram_count(rate({h}{{{sel}}}[{RATE}]))))"
    )
}

/// Histogram `h`'s buckets for a heatmap: the classic buckets by `le`, or the native histogram.
pub(super) fn heatmap(h: &str, sel: &str) -> String {
    format!("sum by (le) (rate({h}_bucket{{{sel}}}[{RATE}])) or sum(rate({h}{{{sel}}}[{RATE}]))")
}

/// A counter's rate summed by `labels`.
pub(super) fn counter_rate(c: &str, labels: &[&str], sel: &str) -> String {
    format!("sum{} (rate({c}{{{sel}}}[{RATE}]))", by(labels))
}

/// `part` over `whole`, where `part` may lack series `whole` has (no 5xx yet on a route):
/// those read 0, not nothing.
pub(super) fn ratio(part: &str, whole: &str) -> String {
    format!("(({part}) or (0 * ({whole}))) / ({whole})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_reads_both_storages() {
        let s = sel(r#"http_route="/""#);
        assert_eq!(s, r#"job="$job",instance=~"$instance",http_route="/""#);
        assert_eq!(
            histogram_rate("h", &["a"], "x=\"1\""),
            r#"sum by (a) (rate(h_count{x="1"}[$__rate_interval])) or sum by (a) (histogram_count(rate(h{x="1"}[$__rate_interval])))"#
        );
        assert_eq!(
            quantile("0.95", "h", &[], ""),
            "histogram_quantile(0.95, sum by (le) (rate(h_bucket{}[$__rate_interval]))) or histogram_quantile(0.95, sum (rate(h{}[$__rate_interval])))"
        );
        assert_eq!(ratio("a", "b"), "((a) or (0 * (b))) / (b)");
    }
}
