//! Collectors: families produced at scrape time by code that owns the numbers (process stats,
//! a connection pool, another library's counters).

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, PoisonError};

use super::EncodeOptions;
use super::descriptor::{Descriptor, Resolved};
use crate::encoding::gather;
use crate::encoding::names::is_legacy;
use crate::encoding::{Labels, MetricEncoder, MetricType, Value, escape};
use crate::error::Result;

/// A source of families read at every scrape.
///
/// [`describe`](Collector::describe) names the families up front, so clashes are refused at
/// registration; [`collect`](Collector::collect) writes their samples. A collector that returns
/// an error or panics is left out of that scrape entirely and counted in
/// `vitalsign_collect_errors_total`; so is one whose write was refused (a family it did not
/// describe, a label carried twice, a series written twice, a negative or NaN counter), even if
/// it ignored the refusal. The rest of the scrape is unaffected.
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
/// ## HELP vitalsign_collect_errors_total Scrapes that left a family out because its metric or collector failed.
/// ## TYPE vitalsign_collect_errors_total counter
/// vitalsign_collect_errors_total{metric="pool_connections"} 0
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

    /// The most series (label sets, across all its families) this collector writes in one
    /// scrape, or `None` (the default) if it cannot say. A declared bound is kept: a write past
    /// it is refused, and [`Registry::series_bound`](crate::Registry::series_bound) counts it;
    /// `None` makes the registry's answer "unbounded".
    fn series_bound(&self) -> Option<u64> {
        None
    }
}

/// Where a [`Collector`] writes its samples; each family's samples are kept together whatever
/// order they arrive in.
#[derive(Debug)]
pub struct Collect<'a> {
    families: &'a [Resolved],
    buffers: &'a mut [Vec<u8>],
    /// Each family's series written so far in this scrape.
    written: &'a mut [HashSet<Box<str>>],
    format: super::Format,
    escaping: crate::encoding::Escaping,
    /// Whether start timestamps are written in this scrape (protobuf always, OpenMetrics's
    /// `_created` lines when asked).
    starts: bool,
    labels: String,
    refused: bool,
    /// The collector's declared bound, and the series written so far.
    bound: Option<u64>,
    count: u64,
    /// Each family's series as data, when the registry is gathered (the buffers stay empty).
    gathered: Option<&'a mut [Vec<gather::Series>]>,
}

impl Collect<'_> {
    /// A counter sample (`_total` is added). Its value must be neither negative nor NaN.
    pub fn counter(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Into<Value>,
    ) -> Result<()> {
        self.counter_at(name, labels, value.into(), None)
    }

    /// A counter sample that has counted since `start` (seconds since the Unix epoch: the
    /// process's start for its CPU time, a runtime's for its workers' counts). The start goes
    /// out as the series' start timestamp (`created_timestamp` in protobuf, `_created` in
    /// OpenMetrics when [`EncodeOptions::created`](crate::EncodeOptions::created) asks), so a
    /// scraper can tell a restart from a counter that stood still.
    pub fn counter_since(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Into<Value>,
        start: f64,
    ) -> Result<()> {
        self.counter_at(name, labels, value.into(), Some(start))
    }

    fn counter_at(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: Value,
        start: Option<f64>,
    ) -> Result<()> {
        let valid = match value {
            Value::U64(_) => true,
            Value::I64(v) => v >= 0,
            Value::F64(v) => v >= 0.0,
        };
        if !valid {
            self.refused = true;
            return Err(crate::error::Error::new(
                crate::error::ErrorKind::InvalidValue,
                format!(
                    "collector wrote counter `{name}` with value {value:?}: a counter is never negative or NaN"
                ),
            ));
        }
        let created = start.filter(|_| self.starts);
        self.write(name, MetricType::Counter, labels, created, |enc, l| {
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
        self.write(name, MetricType::Gauge, labels, None, |enc, l| {
            enc.gauge(l, value)
        })
    }

    /// An info sample (value 1).
    pub fn info(&mut self, name: &str, labels: &[(&str, &str)]) -> Result<()> {
        self.write(name, MetricType::Info, labels, None, |enc, l| enc.info(l))
    }

    fn write(
        &mut self,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        created: Option<f64>,
        f: impl FnOnce(&mut MetricEncoder<'_>, Labels<'_>),
    ) -> Result<()> {
        let result = self.try_write(name, kind, labels, created, f);
        self.refused |= result.is_err();
        result
    }

    fn try_write(
        &mut self,
        name: &str,
        kind: MetricType,
        labels: &[(&str, &str)],
        created: Option<f64>,
        f: impl FnOnce(&mut MetricEncoder<'_>, Labels<'_>),
    ) -> Result<()> {
        let Some(i) = self
            .families
            .iter()
            .position(|d| (&*d.name == name || &*d.given == name) && d.kind == kind)
        else {
            return Err(crate::error::Error::new(
                crate::error::ErrorKind::Collector,
                format!(
                    "collector wrote {} `{name}`, which it did not describe",
                    kind.type_name(super::Format::OpenMetrics)
                ),
            ));
        };
        let desc = &self.families[i];
        self.labels.clear();
        for (j, (k, v)) in labels.iter().enumerate() {
            desc.check_label(k)?;
            if labels[..j].iter().any(|(other, _)| other == k) {
                return Err(crate::error::Error::new(
                    crate::error::ErrorKind::InvalidLabelName,
                    format!("collector wrote `{name}` with label {k:?} twice"),
                ));
            }
            escape::write_label(&mut self.labels, k, v);
        }
        // Labels in another order are the same series.
        let mut sorted: Vec<&(&str, &str)> = labels.iter().collect();
        sorted.sort_unstable();
        let mut key = String::new();
        sorted
            .iter()
            .for_each(|(k, v)| escape::write_label(&mut key, k, v));
        if let Some(bound) = self.bound.filter(|&b| self.count >= b) {
            return Err(crate::error::Error::new(
                crate::error::ErrorKind::Collector,
                format!(
                    "collector wrote `{name}{{{}}}` past the {bound} series it declares",
                    &self.labels
                ),
            ));
        }
        if !self.written[i].insert(key.into()) {
            return Err(crate::error::Error::new(
                crate::error::ErrorKind::Collector,
                format!(
                    "collector wrote the series `{name}{{{}}}` twice in one scrape",
                    &self.labels
                ),
            ));
        }
        let plain = is_legacy(&desc.name, false)
            && desc.const_names.iter().all(|n| is_legacy(n, true))
            && labels.iter().all(|(k, _)| is_legacy(k, true));
        let mut enc = match self.gathered.as_deref_mut() {
            Some(gathered) => MetricEncoder::gathering(
                &mut self.buffers[i],
                &mut gathered[i],
                &desc.name,
                &desc.const_labels,
                created,
            ),
            None => MetricEncoder::new(
                &mut self.buffers[i],
                self.format,
                &desc.name,
                &desc.const_labels,
                created,
            )
            .escaping(self.escaping, plain),
        };
        f(&mut enc, Labels::new(labels).with_text(&self.labels));
        self.count += 1;
        Ok(())
    }
}

pub(crate) struct CollectorEntry {
    collector: Box<dyn Collector>,
    pub(crate) families: Vec<Resolved>,
    buffers: Mutex<Buffers>,
}

/// Per family: the samples written in this scrape, and which series they were.
type Buffers = (Vec<Vec<u8>>, Vec<HashSet<Box<str>>>);

impl CollectorEntry {
    /// The collector's declared bound.
    pub(crate) fn series_bound(&self) -> Option<u64> {
        self.collector.series_bound()
    }

    pub(crate) fn new(collector: Box<dyn Collector>) -> Result<Self> {
        let families = collector
            .describe()
            .into_iter()
            .map(|(kind, desc)| desc.resolve(kind))
            .collect::<Result<Vec<_>>>()?;
        let buffers = Mutex::new((
            vec![Vec::new(); families.len()],
            vec![HashSet::new(); families.len()],
        ));
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
        let mut guard = self.buffers.lock().unwrap_or_else(PoisonError::into_inner);
        let (buffers, written) = &mut *guard;
        let starts = options.format.carries_start_times(options.created);
        self.collect(buffers, written, options, starts, None)?;
        for (desc, buf) in self.families.iter().zip(buffers.iter()) {
            if !buf.is_empty() && desc.selected(options.names) {
                desc.header()
                    .encode(out, options.format, options.escaping, |out| {
                        out.extend_from_slice(buf);
                        true
                    });
            }
        }
        Ok(())
    }

    /// Appends the collector's families, as data, to `families`; on failure appends nothing and
    /// returns the names of the families left out.
    pub(crate) fn gather(
        &self,
        families: &mut Vec<gather::Family>,
    ) -> std::result::Result<(), Vec<&str>> {
        let mut guard = self.buffers.lock().unwrap_or_else(PoisonError::into_inner);
        let (buffers, written) = &mut *guard;
        let mut gathered = vec![Vec::new(); self.families.len()];
        let options = EncodeOptions::default();
        self.collect(buffers, written, &options, true, Some(&mut gathered))?;
        for (desc, series) in self.families.iter().zip(gathered) {
            if !series.is_empty() {
                families.push(desc.gathered(series));
            }
        }
        Ok(())
    }

    /// Runs the collector into `buffers` (or `gathered`), cleared first.
    fn collect(
        &self,
        buffers: &mut [Vec<u8>],
        written: &mut [HashSet<Box<str>>],
        options: &EncodeOptions<'_>,
        starts: bool,
        gathered: Option<&mut [Vec<gather::Series>]>,
    ) -> std::result::Result<(), Vec<&str>> {
        buffers.iter_mut().for_each(Vec::clear);
        written.iter_mut().for_each(HashSet::clear);
        let mut collect = Collect {
            families: &self.families,
            buffers,
            written,
            format: options.format,
            escaping: options.escaping,
            starts,
            labels: String::new(),
            refused: false,
            bound: self.collector.series_bound(),
            count: 0,
            gathered,
        };
        let result = catch_unwind(AssertUnwindSafe(|| self.collector.collect(&mut collect)));
        if collect.refused || !matches!(result, Ok(Ok(()))) {
            return Err(self.families.iter().map(|d| &*d.name).collect());
        }
        Ok(())
    }
}
