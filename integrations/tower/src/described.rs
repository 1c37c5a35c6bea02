//! A sparse family as a layer registers it, with what the layer guarantees about its labels:
//! the values each label can take, for the registry's catalogue (and the dashboards and docs
//! built from it), and, for families whose every series is made up front, a series bound of what
//! exists rather than the cap.
#![cfg_attr(
    not(any(feature = "server", feature = "client")),
    allow(
        dead_code,
        reason = "gRPC alone describes its families without the HTTP shapes"
    )
)]

use std::sync::Arc;

use vitalsign::{Metric, MetricEncoder, MetricType, Series, SparseFamily};

/// What one label of a described family can hold.
#[derive(Debug, Clone)]
pub(crate) enum Values {
    /// Anything (within the family's cap).
    Open,
    /// One of these.
    Fixed(&'static [&'static str]),
    /// One of these, given at run time (declared hosts).
    #[cfg(feature = "client")]
    Declared(Vec<String>),
    /// What the series that exist hold: the layer made every series it can write.
    #[cfg(feature = "grpc")]
    Existing,
}

/// A layer's sparse family and what it guarantees about each of its `N` labels.
pub(crate) struct Described<M, const N: usize> {
    family: Arc<SparseFamily<M, N>>,
    values: [Values; N],
    /// For a family whose every series the layer made up front: its cap.
    made_up_front: Option<usize>,
}

impl<M, const N: usize> Described<M, N> {
    pub(crate) fn new(family: Arc<SparseFamily<M, N>>, values: [Values; N]) -> Self {
        Self {
            family,
            values,
            made_up_front: None,
        }
    }

    /// A family whose first label is an HTTP method (`method_label`'s values), the others
    /// open but for those `rest` names.
    #[cfg(any(feature = "server", feature = "client"))]
    pub(crate) fn http(family: Arc<SparseFamily<M, N>>, rest: &[(usize, Values)]) -> Self {
        let values = std::array::from_fn(|i| match i {
            0 => Values::Fixed(crate::method::METHOD_LABELS),
            _ => rest
                .iter()
                .find(|(at, _)| *at == i)
                .map_or(Values::Open, |(_, v)| v.clone()),
        });
        Self::new(family, values)
    }

    /// A family whose every series the layer made up front (gRPC's declared methods), capped
    /// at `cap`.
    #[cfg(feature = "grpc")]
    pub(crate) fn existing(family: Arc<SparseFamily<M, N>>, cap: usize) -> Self {
        Self {
            family,
            values: std::array::from_fn(|_| Values::Existing),
            made_up_front: Some(cap),
        }
    }
}

impl<M: Series, const N: usize> Metric for Described<M, N> {
    fn metric_type(&self) -> MetricType {
        self.family.metric_type()
    }

    fn label_names(&self, f: &mut dyn FnMut(&str)) {
        self.family.label_names(f);
    }

    fn label_values(&self, f: &mut dyn FnMut(&str, Option<Vec<String>>)) {
        let mut names = Vec::with_capacity(N);
        self.family
            .label_names(&mut |name| names.push(name.to_owned()));
        for (i, name) in names.iter().enumerate() {
            let values = match self.values.get(i) {
                Some(Values::Fixed(values)) => {
                    Some(values.iter().map(|v| (*v).to_owned()).collect())
                }
                #[cfg(feature = "client")]
                Some(Values::Declared(values)) => Some(values.clone()),
                #[cfg(feature = "grpc")]
                Some(Values::Existing) => {
                    let mut seen: Vec<String> = Vec::new();
                    for set in &self.family.label_sets() {
                        if !seen.contains(&set[i]) {
                            seen.push(set[i].clone());
                        }
                    }
                    seen.sort_unstable();
                    Some(seen)
                }
                Some(Values::Open) | None => None,
            };
            f(name, values);
        }
    }

    fn encode(&self, encoder: &mut MetricEncoder<'_>) {
        self.family.encode(encoder);
    }

    fn overflowed(&self) -> Option<u64> {
        self.family.overflowed()
    }

    fn fallible(&self) -> bool {
        self.family.fallible()
    }

    fn expired(&self) -> Option<u64> {
        self.family.expired()
    }

    fn series_bound(&self) -> Option<u64> {
        match self.made_up_front {
            // Its series grow only when another layer declares more methods; a full family
            // also writes its overflow series.
            Some(cap) => {
                let len = self.family.len();
                Some(len as u64 + u64::from(len >= cap))
            }
            None => self.family.series_bound(),
        }
    }
}
