//! The labels of a series as metrics hand them over, and a family's constant labels.

use super::escape;

/// The labels of one series, as a metric hands them to its [`MetricEncoder`](super::MetricEncoder): `(name, value)`
/// pairs with raw (unescaped) values, in order. Each format writes them its own way; none
/// parses back what another rendered.
///
/// ```
/// use vitalsign::encoding::Labels;
///
/// let pairs = [("path", "/a\"b"), ("ok", "true")];
/// let mut seen = Vec::new();
/// Labels::new(&pairs).for_each(&mut |k, v| seen.push(format!("{k}={v}")));
/// assert_eq!(seen, ["path=/a\"b", "ok=true"]);
/// ```
#[derive(Clone, Copy)]
#[must_use]
pub struct Labels<'a> {
    pairs: Pairs<'a>,
    /// The pairs rendered for the text formats (`a="x",b="y"`, values escaped), where the
    /// metric keeps them across scrapes.
    text: Option<&'a str>,
}

#[derive(Clone, Copy)]
enum Pairs<'a> {
    Slice(&'a [(&'a str, &'a str)]),
    Visit(VisitLabels<'a>),
}

/// A visitor of label pairs: what [`Labels::from_fn`] takes. It calls its argument with each
/// `(name, value)` pair.
pub type VisitLabels<'a> = &'a dyn Fn(&mut dyn FnMut(&str, &str));

impl<'a> Labels<'a> {
    /// No labels.
    pub const NONE: Labels<'static> = Labels {
        pairs: Pairs::Slice(&[]),
        text: Some(""),
    };

    /// These pairs.
    pub fn new(pairs: &'a [(&'a str, &'a str)]) -> Self {
        Self {
            pairs: Pairs::Slice(pairs),
            text: None,
        }
    }

    /// The pairs a visitor calls its argument with, in order (for labels held in another shape,
    /// or made up of two parts).
    pub fn from_fn(visit: VisitLabels<'a>) -> Self {
        Self {
            pairs: Pairs::Visit(visit),
            text: None,
        }
    }

    /// The same labels with their text rendering kept by the caller (`a="x",b="y"`, values
    /// escaped as [`escape`] writes them), which the text formats then copy as it is.
    pub(crate) fn with_text(self, text: &'a str) -> Self {
        Self {
            text: Some(text),
            ..self
        }
    }

    /// Calls `f(name, value)` for each pair, in order.
    pub fn for_each(&self, f: &mut dyn FnMut(&str, &str)) {
        match self.pairs {
            Pairs::Slice(pairs) => pairs.iter().for_each(|&(k, v)| f(k, v)),
            Pairs::Visit(visit) => visit(f),
        }
    }

    /// The text rendering, if the metric kept one.
    pub(crate) fn text(&self) -> Option<&'a str> {
        self.text
    }

    /// Renders the pairs as the text formats write them (`a="x",b="y"`), appended to `out`.
    pub(crate) fn render(&self, out: &mut String) {
        if let Some(text) = self.text {
            if !text.is_empty() && !out.is_empty() {
                out.push(',');
            }
            out.push_str(text);
            return;
        }
        self.for_each(&mut |k, v| escape::write_label(out, k, v));
    }
}

impl std::fmt::Debug for Labels<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut list = f.debug_list();
        self.for_each(&mut |k, v| {
            list.entry(&(k, v));
        });
        list.finish()
    }
}

/// A family's constant labels: the pairs, and their text rendering made once at registration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ConstLabels {
    pairs: Box<[(Box<str>, Box<str>)]>,
    text: Box<str>,
}

impl ConstLabels {
    pub(crate) fn new(pairs: Vec<(Box<str>, Box<str>)>) -> Self {
        let mut text = String::new();
        for (k, v) in &pairs {
            escape::write_label(&mut text, k, v);
        }
        Self {
            pairs: pairs.into(),
            text: text.into(),
        }
    }

    pub(crate) fn pairs(&self) -> &[(Box<str>, Box<str>)] {
        &self.pairs
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }
}
