//! Collectors: families produced at scrape time by code that owns the numbers (process stats,
//! a connection pool, another library's counters).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, PoisonError};

use super::EncodeOptions;
use super::descriptor::{Descriptor, Resolved};
use crate::encoding::{MetricEncoder, MetricType, Value, escape};
use crate::error::Result;

/// A source of families read at every scrape.
///
/// [`describe`](Collector::describe) names the families up front, so clashes are refused at
/// registration; [`collect`](Collector::collect) writes their samples. A collector that returns
/// an error, panics, or writes a family it did not describe is left out of that scrape entirely
/// and counted in `vitalsign_collect_errors_total`; the rest of the scrape is unaffected.
///
/// ```
/// use vitalsign::{Collect, Collector, Descriptor, Format, MetricType, Registry};
///
/// struct Pool;
/// impl Collector for Pool {
///     fn describe(&self) -> Vec<(MetricType, Descriptor)> {
///         vec![(MetricType::Gauge, Descriptor::new("pool_connections", "Connections by state."))]
///     }
///     fn collect(&self, out: &mut Collect<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///         out.gauge("pool_connections", &[("state", "idle")], 3)?;
///         out.gauge("pool_connections", &[("state", "busy")], 5)?;
///         Ok(())
///     }
/// }
///
/// let registry = Registry::new();
/// registry.register_collector(Pool)?;
/// assert_eq!(registry.render(Format::Prometheus), r#"# HELP pool_connections Connections by state.
/// ## TYPE pool_connections gauge
/// pool_connections{state="idle"} 3
/// pool_connections{state="busy"} 5
/// "#);
/// # Ok::<(), vitalsign::Error>(())
/// ```
pub trait Collector: Send + Sync {
    /// The families this collector writes.
    fn describe(&self) -> Vec<(MetricType, Descriptor)>;

    /// Writes this scrape's samples.
    fn collect(
        &self,
        out: &mut Collect<'_>,
    ) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>>;
}

/// Where a [`Collector`] writes its samples; each family's samples are kept together whatever
/// order they arrive in.
#[derive(Debug)]
pub struct Collect<'a> {
    families: &'a [Resolved],
    buffers: &'a mut [Vec<u8>],
    format: super::Format,
    labels: Vec<u8>,
}

impl Collect<'_> {
    /// A counter sample (`_total` is added).
    pub fn counter(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Into<Value>,
    ) -> Result<()> {
        let value = value.into();
        self.write(name, MetricType::Counter, labels, |enc, l| {
            enc.counter(l, value)
        })
    }

    /// A gauge sample.
    pub fn gauge(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Into<Value>,
    ) -> Result<()> {
        let value = value.into();
        self.write(name, MetricType::Gauge, labels, |enc, l| {
            enc.gauge(l, value)
        })
    }

    /// An info sample (value 1).
    pub fn info(&mut self, name: &str, labels: &[(&str, &str)]) -> Result<()> {
        self.write(name, MetricType::Info, labels, |enc, l| enc.info(l))
    }

    fn write(
        &mut self,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        f: impl FnOnce(&mut MetricEncoder<'_>, &str),
    ) -> Result<()> {
        let Some(i) = self
            .families
            .iter()
            .position(|d| (&*d.name == name || &*d.given == name) && d.kind == kind)
        else {
            return Err(crate::Error::new(
                crate::ErrorKind::Collector,
                format!(
                    "collector wrote {} `{name}`, which it did not describe",
                    kind.type_name(super::Format::OpenMetrics)
                ),
            ));
        };
        let desc = &self.families[i];
        self.labels.clear();
        for (k, v) in labels {
            desc.check_label(k)?;
            escape::write_label(&mut self.labels, k, v);
        }
        let labels = std::str::from_utf8(&self.labels).unwrap_or_default();
        let mut enc = MetricEncoder {
            out: &mut self.buffers[i],
            format: self.format,
            name: &desc.name,
            const_labels: &desc.const_labels,
            created: None,
        };
        f(&mut enc, labels);
        Ok(())
    }
}

pub(crate) struct CollectorEntry {
    collector: Box<dyn Collector>,
    pub(crate) families: Vec<Resolved>,
    buffers: Mutex<Vec<Vec<u8>>>,
}

impl CollectorEntry {
    pub(crate) fn new(collector: Box<dyn Collector>) -> Result<Self> {
        let families = collector
            .describe()
            .into_iter()
            .map(|(kind, desc)| desc.resolve(kind))
            .collect::<Result<Vec<_>>>()?;
        let buffers = Mutex::new(vec![Vec::new(); families.len()]);
        Ok(Self {
            collector,
            families,
            buffers,
        })
    }

    /// Writes the collector's families; on failure writes nothing and returns the names of the
    /// families left out.
    pub(crate) fn encode(
        &self,
        out: &mut Vec<u8>,
        options: &EncodeOptions<'_>,
    ) -> std::result::Result<(), Vec<&str>> {
        if !self.families.iter().any(|d| d.selected(options.names)) {
            return Ok(());
        }
        let mut buffers = self.buffers.lock().unwrap_or_else(PoisonError::into_inner);
        buffers.iter_mut().for_each(Vec::clear);
        let mut collect = Collect {
            families: &self.families,
            buffers: &mut buffers,
            format: options.format,
            labels: Vec::new(),
        };
        let result = catch_unwind(AssertUnwindSafe(|| self.collector.collect(&mut collect)));
        if !matches!(result, Ok(Ok(()))) {
            return Err(self.families.iter().map(|d| &*d.name).collect());
        }
        for (desc, buf) in self.families.iter().zip(buffers.iter()) {
            if !buf.is_empty() && desc.selected(options.names) {
                desc.write_header(out, options.format);
                out.extend_from_slice(buf);
            }
        }
        Ok(())
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::U64(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::I64(i64::from(v))
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::F64(v)
    }
}
