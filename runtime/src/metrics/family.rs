use std::marker::PhantomData;
use std::sync::{Mutex, PoisonError};

use crate::encoding::{Labels, MetricEncoder, MetricType};
use crate::error::{Error, ErrorKind, Result};
use crate::labels::{self, LabelSet};
use crate::metrics::{Metric, Series};

/// The most series a dense family may hold. A label set past this is a sparse family's job.
pub const MAX_DENSE_SERIES: usize = 1 << 20;

/// One series for every member of a [`LabelSet`], all created up front: every combination is
/// exported at zero from the start (what alerting on a rate needs), and finding a series is an
/// array index. Label strings are rendered once, here.
///
/// ```
/// use vitalsign::{Counter, Family, Format, LabelSet, LabelValue, Registry};
///
/// struct Cached(bool);
/// impl LabelSet for Cached {
///     const CARDINALITY: usize = 2;
///     const NAMES: &'static [&'static str] = &["cached"];
///     fn index(&self) -> usize { self.0.index() }
///     fn visit(i: usize, f: &mut dyn FnMut(&'static str, &str)) { f("cached", bool::value_at(i)) }
/// }
///
/// let registry = Registry::new();
/// let lookups = registry.register("lookups", "Lookups by cache outcome.", Family::<Cached, Counter>::new())?;
/// lookups.get(&Cached(true)).inc();
/// assert_eq!(registry.render(Format::Prometheus), r#"# HELP lookups_total Lookups by cache outcome.
/// ## TYPE lookups_total counter
/// lookups_total{cached="false"} 0
/// lookups_total{cached="true"} 1
/// "#);
/// # Ok::<(), vitalsign::Error>(())
/// ```
pub struct Family<L, M> {
    series: Box<[M]>,
    labels: Box<[Box<str>]>,
    /// Each series' whole line prefix, for single-line series, kept across scrapes.
    prefixes: Mutex<Option<Prefixes>>,
    /// What is wrong with a hand-written `LabelSet`, reported at registration.
    problem: Option<Box<str>>,
    _labels: PhantomData<fn(&L)>,
}

/// Line prefixes rendered for one family name and set of constant labels.
struct Prefixes {
    name: Box<str>,
    const_labels: Box<str>,
    bytes: Vec<u8>,
    /// Where each series' prefix ends in `bytes`.
    ends: Vec<usize>,
}

impl<L: LabelSet, M> Family<L, M> {
    const CHECK: () = {
        assert!(
            L::CARDINALITY > 0,
            "a label set with no members cannot hold a series"
        );
        assert!(
            L::CARDINALITY <= MAX_DENSE_SERIES,
            "label set too large for a dense family; use a SparseFamily"
        );
    };

    /// A family whose series are made by `make` (for metrics that need configuration, such as a
    /// histogram's buckets).
    pub fn new_with(mut make: impl FnMut() -> M) -> Self {
        let () = Self::CHECK;
        let (labels, problem) = labels::render_all::<L>();
        Self {
            series: (0..L::CARDINALITY).map(|_| make()).collect(),
            labels,
            prefixes: Mutex::new(None),
            problem: problem.map(Into::into),
            _labels: PhantomData,
        }
    }

    /// The series for `labels`.
    #[inline]
    pub fn get(&self, labels: &L) -> &M {
        let i = labels.index();
        // An index past the end can only come from a hand-written `LabelSet` that breaks its
        // contract; the last series takes it rather than a panic in the caller's request.
        self.series
            .get(i)
            .unwrap_or_else(|| &self.series[self.series.len() - 1])
    }

    /// Every series with its label string (`a="x",b="y"`), in index order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &M)> {
        self.labels.iter().map(|l| &**l).zip(self.series.iter())
    }
}

impl<L: LabelSet, M: Default> Family<L, M> {
    /// A family of default-constructed series.
    pub fn new() -> Self {
        Self::new_with(M::default)
    }
}

impl<L: LabelSet, M: Default> Default for Family<L, M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<L, M> std::fmt::Debug for Family<L, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Family")
            .field("series", &self.series.len())
            .finish_non_exhaustive()
    }
}

impl<L: LabelSet, M: Series> Metric for Family<L, M> {
    fn metric_type(&self) -> MetricType {
        M::TYPE
    }

    fn label_names(&self, f: &mut dyn FnMut(&str)) {
        L::NAMES.iter().for_each(|n| f(n));
        if let Some(first) = self.series.first() {
            first.own_label_names(f);
        }
    }

    fn label_values(&self, f: &mut dyn FnMut(&str, Option<Vec<String>>)) {
        let mut values: Vec<Vec<String>> = vec![Vec::new(); L::NAMES.len()];
        for i in 0..L::CARDINALITY {
            let mut field = 0;
            L::visit(i, &mut |_, value| {
                if let Some(seen) = values.get_mut(field)
                    && !seen.iter().any(|v| v == value)
                {
                    seen.push(value.to_owned());
                }
                field += 1;
            });
        }
        for (name, values) in L::NAMES.iter().zip(values) {
            f(name, Some(values));
        }
        if let Some(first) = self.series.first() {
            first.own_label_names(&mut |name| f(name, None));
        }
    }

    fn series_bound(&self) -> Option<u64> {
        Some(self.series.iter().map(Series::label_sets).sum())
    }

    fn fallible(&self) -> bool {
        self.series.first().is_some_and(Series::fallible_series)
    }

    fn validate(&self) -> Result<()> {
        if let Some(problem) = &self.problem {
            return Err(Error::new(ErrorKind::InvalidLabelName, problem.to_string()));
        }
        if let Some(first) = self.series.first() {
            first.validate_series()?;
        }
        // Every series must carry the labels the first one reported (an info's own labels).
        let mut first = Vec::new();
        let mut other = Vec::new();
        if let Some(s) = self.series.first() {
            s.own_label_names(&mut |n| first.push(n.to_owned()));
        }
        for (i, s) in self.series.iter().enumerate().skip(1) {
            other.clear();
            s.own_label_names(&mut |n| other.push(n.to_owned()));
            if other != first {
                return Err(Error::new(
                    ErrorKind::InvalidLabelName,
                    format!("series {i} carries labels {other:?}, but the first carries {first:?}"),
                ));
            }
        }
        Ok(())
    }

    fn encode(&self, encoder: &mut MetricEncoder<'_>) {
        let single = self.series.first().and_then(Series::single_sample);
        let created = M::TYPE == MetricType::Counter && encoder.writes_created();
        let Some((suffix, _)) = single.filter(|_| !created && encoder.writes_lines()) else {
            for (i, (text, series)) in self.iter().enumerate() {
                let visit = |f: &mut dyn FnMut(&str, &str)| L::visit(i, f);
                series.encode_series(Labels::from_fn(&visit).with_text(text), encoder);
            }
            return;
        };
        let mut cache = self.prefixes.lock().unwrap_or_else(PoisonError::into_inner);
        let stale = cache
            .as_ref()
            .is_none_or(|p| *p.name != *encoder.name() || *p.const_labels != *encoder.const_text());
        if stale {
            let mut bytes = Vec::new();
            let mut ends = Vec::with_capacity(self.series.len());
            for labels in &self.labels {
                encoder.line_prefix(&mut bytes, suffix, labels);
                ends.push(bytes.len());
            }
            *cache = Some(Prefixes {
                name: encoder.name().into(),
                const_labels: encoder.const_text().into(),
                bytes,
                ends,
            });
        }
        let Some(prefixes) = cache.as_ref() else {
            return;
        };
        let mut start = 0;
        for (series, &end) in self.series.iter().zip(&prefixes.ends) {
            if let Some((_, value)) = series.single_sample() {
                encoder.sample_with_prefix(&prefixes.bytes[start..end], value, series.exemplar());
            }
            start = end;
        }
    }
}
