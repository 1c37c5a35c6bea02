//! The handler's self-metrics, `vitalsign_scrapes_total{code}` and
//! `vitalsign_scrape_encode_duration_seconds`: one set per registry, shared by every handler that
//! serves it, registered in that registry under names users cannot take.

use std::sync::{Arc, Mutex, PoisonError};

use vitalsign::__private::register_self_metric;
use vitalsign::{
    Buckets, Counter, Descriptor, Family, Histogram, LabelSet, LabelValue, Metric, Registry,
};

#[derive(Clone, Copy, LabelValue)]
pub(super) enum ScrapeStatus {
    #[label(rename = "200")]
    Ok,
    #[label(rename = "400")]
    BadRequest,
    #[label(rename = "405")]
    MethodNotAllowed,
    #[label(rename = "503")]
    Busy,
}

#[derive(LabelSet)]
struct ScrapeLabels {
    code: ScrapeStatus,
}

/// Scrape self-metrics of one registry, shared by every handler serving it.
pub(super) struct ScrapeMetrics {
    scrapes: Family<ScrapeLabels, Counter>,
    pub(super) encode_seconds: Histogram,
}

impl ScrapeMetrics {
    pub(super) fn count(&self, code: ScrapeStatus) {
        self.scrapes.get(&ScrapeLabels { code }).inc();
    }

    /// The self-metrics of `registry`, registered in it the first time.
    pub(super) fn of(registry: &'static Registry) -> Arc<Self> {
        static BY_REGISTRY: Mutex<Vec<(usize, Arc<ScrapeMetrics>)>> = Mutex::new(Vec::new());
        let key = std::ptr::from_ref(registry) as usize;
        let mut all = BY_REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, m)) = all.iter().find(|(k, _)| *k == key) {
            return m.clone();
        }
        let buckets = Buckets::exponential(0.0001, 4.0, 9).unwrap_or_else(|_| Buckets::latency());
        let metrics = Arc::new(ScrapeMetrics {
            scrapes: Family::new(),
            encode_seconds: Histogram::new(buckets),
        });
        let scrapes = Arc::new(FieldOf(metrics.clone(), |m| &m.scrapes));
        let encode = Arc::new(FieldOf(metrics.clone(), |m| &m.encode_seconds));
        let registered = register_self_metric(
            registry,
            Descriptor::new("vitalsign_scrapes", "Scrapes answered, by status code."),
            scrapes,
        )
        .and_then(|()| {
            register_self_metric(
                registry,
                Descriptor::new(
                    "vitalsign_scrape_encode_duration_seconds",
                    "Time to encode (and compress) one scrape.",
                ),
                encode,
            )
        });
        if let Err(e) = registered {
            eprintln!("vitalsign-tower: scrape self-metrics not exported: {e}");
        }
        all.push((key, metrics.clone()));
        metrics
    }
}

/// One field of the shared self-metrics, registered as a metric of its own.
struct FieldOf<M: 'static>(Arc<ScrapeMetrics>, fn(&ScrapeMetrics) -> &M);

impl<M: Metric> Metric for FieldOf<M> {
    fn metric_type(&self) -> vitalsign::MetricType {
        (self.1)(&self.0).metric_type()
    }

    fn label_names(&self, f: &mut dyn FnMut(&str)) {
        (self.1)(&self.0).label_names(f);
    }

    fn encode(&self, encoder: &mut vitalsign::MetricEncoder<'_>) {
        (self.1)(&self.0).encode(encoder);
    }

    fn series_bound(&self) -> Option<u64> {
        (self.1)(&self.0).series_bound()
    }

    fn fallible(&self) -> bool {
        (self.1)(&self.0).fallible()
    }
}
