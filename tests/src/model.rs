//! What a parser should read from an exposition, and the canonical dump of it that
//! `tests/conformance/dump.py` prints, so a test can compare them exactly.

use vitalsign::Format;

/// What a parser should see: families in order, each with its samples.
#[derive(Debug)]
pub struct Fam {
    pub name: String,
    pub om_type: &'static str,
    pub help: String,
    pub unit: &'static str,
    pub samples: Vec<Sample>,
}

#[derive(Debug)]
pub struct Sample {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
    /// OpenMetrics leaves out `_count`/`_sum` it cannot carry; 0.0.4 keeps them.
    pub in_openmetrics: bool,
}

pub fn fam(name: &str, om_type: &'static str, help: &str, unit: &'static str) -> Fam {
    Fam {
        name: name.into(),
        om_type,
        help: help.into(),
        unit,
        samples: Vec::new(),
    }
}

impl Fam {
    #[must_use]
    pub fn s(mut self, name: &str, labels: &[(&str, &str)], value: f64) -> Self {
        self.samples.push(Sample {
            name: name.into(),
            labels: labels.iter().map(|&(k, v)| (k.into(), v.into())).collect(),
            value,
            in_openmetrics: true,
        });
        self
    }

    /// A sample only the 0.0.4 format carries.
    #[must_use]
    pub fn s_text_only(mut self, name: &str, value: f64) -> Self {
        self = self.s(name, &[], value);
        if let Some(s) = self.samples.last_mut() {
            s.in_openmetrics = false;
        }
        self
    }

    #[must_use]
    pub fn buckets(mut self, name: &str, le_counts: &[(&str, u64)]) -> Self {
        for &(le, c) in le_counts {
            self = self.s(&format!("{name}_bucket"), &[("le", le)], c as f64);
        }
        self
    }
}

pub fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The dump `conformance/dump.py` prints for `families` in `format`.
pub fn expected_dump(families: &[Fam], format: Format) -> String {
    let mut out = String::new();
    for f in families {
        let (name, ty, unit) = match (format, f.om_type) {
            (Format::OpenMetrics, t) => (f.name.clone(), t, f.unit),
            (Format::Prometheus, "info") => (format!("{}_info", f.name), "gauge", ""),
            (Format::Prometheus, "stateset") => (f.name.clone(), "gauge", ""),
            (_, t) => (f.name.clone(), t, ""),
        };
        let unit = if unit.is_empty() { "-" } else { unit };
        // prometheus_client's 0.0.4 parser strips the whole line with Python's `isspace`
        // (so HELP loses Unicode whitespace at its end, but not a newline, written `\n`), and
        // skips ASCII whitespace (`string.whitespace`) between fields (so HELP loses it at its
        // start). The strict OpenMetrics parser and Prometheus' own parser keep everything.
        let help = match format {
            Format::OpenMetrics => f.help.as_str(),
            _ => f
                .help
                .trim_start_matches([' ', '\t', '\r', '\u{b}', '\u{c}'])
                .trim_end_matches(|c| c != '\n' && python_isspace(c)),
        };
        out += &format!("F {name} {ty} {} {unit}\n", hex(help));
        for s in &f.samples {
            if format == Format::OpenMetrics && !s.in_openmetrics {
                continue;
            }
            let mut labels: Vec<_> = s.labels.iter().collect();
            labels.sort();
            let labels: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}={}", hex(v)))
                .collect();
            let labels = if labels.is_empty() {
                "-".to_owned()
            } else {
                labels.join(",")
            };
            out += &format!("S {} {labels} {:016x}\n", s.name, s.value.to_bits());
        }
    }
    out
}

/// Python's `str.isspace`: Unicode White_Space plus the information separators U+001C..U+001F.
fn python_isspace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}
