use std::borrow::Cow;

use crate::encoding::{Labels, MetricEncoder, MetricType, escape};
use crate::error::{Error, ErrorKind, Result};
use crate::metrics::Series;
use crate::name;

/// Constant labels describing the target, with value 1: `build_info{version="1.2.0"} 1`.
/// A native type in OpenMetrics; a gauge named `..._info` in the 0.0.4 format.
///
/// ```
/// use vitalsign::{Format, Info, Registry};
///
/// let registry = Registry::new();
/// registry.register("build", "Build details.", Info::new([("version", "1.2.0"), ("commit", "a1b2c3")])?)?;
/// assert_eq!(registry.render(Format::OpenMetrics), r#"# HELP build Build details.
/// ## TYPE build info
/// build_info{version="1.2.0",commit="a1b2c3"} 1
/// ## EOF
/// "#);
/// assert_eq!(registry.render(Format::Prometheus), r#"# HELP build_info Build details.
/// ## TYPE build_info gauge
/// build_info{version="1.2.0",commit="a1b2c3"} 1
/// "#);
/// # Ok::<(), vitalsign::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Info {
    pairs: Vec<(Box<str>, Box<str>)>,
    /// The pairs rendered for the text formats.
    rendered: Box<str>,
}

impl Info {
    /// An info metric with these labels. Each name must be a valid label name, given once.
    ///
    /// ```
    /// use vitalsign::Info;
    /// assert_eq!(
    ///     Info::new([("a", "1"), ("a", "2")]).unwrap_err().to_string(),
    ///     "invalid label name \"a\" on an info metric: it is given twice"
    /// );
    /// ```
    pub fn new<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut pairs: Vec<(Box<str>, Box<str>)> = Vec::new();
        let mut out = String::new();
        for (k, v) in labels {
            name::check_label_name(&"an info metric", k, &[])?;
            if pairs.iter().any(|(n, _)| &**n == k) {
                return Err(Error::new(
                    ErrorKind::InvalidLabelName,
                    format!("invalid label name {k:?} on an info metric: it is given twice"),
                ));
            }
            escape::write_label(&mut out, k, v);
            pairs.push((k.into(), v.into()));
        }
        Ok(Self {
            pairs,
            rendered: out.into(),
        })
    }
}

impl Series for Info {
    const TYPE: MetricType = MetricType::Info;

    fn own_label_names(&self, f: &mut dyn FnMut(&str)) {
        self.pairs.iter().for_each(|(n, _)| f(n));
    }

    fn encode_series(&self, labels: Labels<'_>, encoder: &mut MetricEncoder<'_>) {
        let both = |f: &mut dyn FnMut(&str, &str)| {
            labels.for_each(f);
            self.pairs.iter().for_each(|(k, v)| f(k, v));
        };
        let text: Option<Cow<'_, str>> = match labels.text() {
            Some("") => Some(Cow::Borrowed(&self.rendered)),
            Some(labels) if self.rendered.is_empty() => Some(Cow::Borrowed(labels)),
            Some(labels) => Some(Cow::Owned(format!("{labels},{}", self.rendered))),
            None => None,
        };
        let both = Labels::from_fn(&both);
        encoder.info(match &text {
            Some(text) => both.with_text(text),
            None => both,
        });
    }
}
