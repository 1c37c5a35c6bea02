use crate::encoding::{MetricEncoder, MetricType, escape};
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
    names: Vec<Box<str>>,
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
        let mut names: Vec<Box<str>> = Vec::new();
        let mut out = String::new();
        for (k, v) in labels {
            name::check_label_name(&"an info metric", k, &[])?;
            if names.iter().any(|n| &**n == k) {
                return Err(Error::new(
                    ErrorKind::InvalidLabelName,
                    format!("invalid label name {k:?} on an info metric: it is given twice"),
                ));
            }
            escape::write_label(&mut out, k, v);
            names.push(k.into());
        }
        Ok(Self {
            names,
            rendered: out.into(),
        })
    }
}

impl Series for Info {
    const TYPE: MetricType = MetricType::Info;

    fn own_label_names(&self, f: &mut dyn FnMut(&str)) {
        self.names.iter().for_each(|n| f(n));
    }

    fn encode_series(&self, labels: &str, encoder: &mut MetricEncoder<'_>) {
        if labels.is_empty() {
            encoder.info(&self.rendered);
        } else if self.rendered.is_empty() {
            encoder.info(labels);
        } else {
            encoder.info(&format!("{labels},{}", self.rendered));
        }
    }
}
