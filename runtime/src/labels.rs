//! Label traits. A [`LabelValue`] is one label's closed set of values, each with a dense index; a
//! [`LabelSet`] is a struct of them, indexed mixed-radix. Families use the index to find a series
//! with one array lookup: no hashing and no string comparison on the hot path.
//!
//! `#[derive(LabelValue)]` and `#[derive(LabelSet)]` generate these impls; writing them by hand
//! looks like this:
//!
//! ```
//! use vitalsign::{LabelSet, LabelValue};
//!
//! #[derive(Clone, Copy, Debug, PartialEq)]
//! enum Method { Get, Post }
//!
//! impl LabelValue for Method {
//!     const CARDINALITY: usize = 2;
//!     fn index(&self) -> usize { *self as usize }
//!     fn from_index(index: usize) -> Option<Self> {
//!         [Method::Get, Method::Post].get(index).copied()
//!     }
//!     fn value_at(index: usize) -> &'static str {
//!         ["get", "post"].get(index).copied().unwrap_or("")
//!     }
//! }
//!
//! struct Labels { method: Method, cached: bool }
//!
//! impl LabelSet for Labels {
//!     const CARDINALITY: usize = Method::CARDINALITY * bool::CARDINALITY;
//!     const NAMES: &'static [&'static str] = &["method", "cached"];
//!     fn index(&self) -> usize {
//!         self.method.index() * bool::CARDINALITY + self.cached.index()
//!     }
//!     fn visit(index: usize, f: &mut dyn FnMut(&'static str, &str)) {
//!         f("method", Method::value_at(index / bool::CARDINALITY));
//!         f("cached", bool::value_at(index % bool::CARDINALITY));
//!     }
//! }
//!
//! let l = Labels { method: Method::Post, cached: true };
//! assert_eq!(l.index(), 3);
//! let mut seen = Vec::new();
//! Labels::visit(3, &mut |k, v| seen.push(format!("{k}={v}")));
//! assert_eq!(seen, ["method=post", "cached=true"]);
//! ```

use std::borrow::Cow;

use crate::encoding::escape;

/// One label's value drawn from a closed set, each value with a dense index in
/// `0..CARDINALITY`.
pub trait LabelValue: Sized {
    /// How many distinct values there are.
    const CARDINALITY: usize;

    /// This value's index, in `0..CARDINALITY`.
    fn index(&self) -> usize;

    /// The value with this index, `None` past the end.
    fn from_index(index: usize) -> Option<Self>;

    /// The label value, as written before escaping, for the value with this index
    /// (`""` past the end).
    fn value_at(index: usize) -> &'static str;

    /// The label value escaped for exposition. Derived impls return a literal; the default escapes
    /// [`value_at`](LabelValue::value_at), which borrows unless the value holds `\`, `"` or a newline.
    fn escaped_at(index: usize) -> Cow<'static, str> {
        let raw = Self::value_at(index);
        if raw.bytes().any(|c| matches!(c, b'\\' | b'"' | b'\n')) {
            Cow::Owned(escape::label_value(raw))
        } else {
            Cow::Borrowed(raw)
        }
    }

    /// This value's label string.
    fn as_str(&self) -> &'static str {
        Self::value_at(self.index())
    }
}

impl LabelValue for bool {
    const CARDINALITY: usize = 2;

    fn index(&self) -> usize {
        usize::from(*self)
    }

    fn from_index(index: usize) -> Option<Self> {
        [false, true].get(index).copied()
    }

    fn value_at(index: usize) -> &'static str {
        ["false", "true"].get(index).copied().unwrap_or("")
    }
}

/// A set of labels whose values are all [`LabelValue`]s, so the whole set has a dense index
/// (mixed radix over its fields) and a family can hold every combination in one array.
pub trait LabelSet: Sized {
    /// How many distinct label sets there are: the product of the fields' cardinalities.
    const CARDINALITY: usize;

    /// The label names, in order.
    const NAMES: &'static [&'static str];

    /// This set's index, in `0..CARDINALITY`.
    fn index(&self) -> usize;

    /// Calls `f(name, raw_value)` for each label of the set with this index, in [`NAMES`] order.
    ///
    /// [`NAMES`]: LabelSet::NAMES
    fn visit(index: usize, f: &mut dyn FnMut(&'static str, &str));
}

/// No labels: the set with exactly one member.
impl LabelSet for () {
    const CARDINALITY: usize = 1;
    const NAMES: &'static [&'static str] = &[];

    fn index(&self) -> usize {
        0
    }

    fn visit(_: usize, _: &mut dyn FnMut(&'static str, &str)) {}
}

/// Renders the label string (`a="x",b="y"`) of every member of `L`, in index order, and says
/// what is wrong with `L` if anything is: a member whose `visit` names other labels than
/// `NAMES`, or two members with the same labels (a hand-written impl's mistakes).
pub(crate) fn render_all<L: LabelSet>() -> (Box<[Box<str>]>, Option<String>) {
    let mut problem = None;
    let rendered: Box<[Box<str>]> = (0..L::CARDINALITY)
        .map(|i| {
            let mut out = String::new();
            let mut names = Vec::with_capacity(L::NAMES.len());
            L::visit(i, &mut |name, value| {
                names.push(name);
                escape::write_label(&mut out, name, value);
            });
            if problem.is_none() && names != L::NAMES {
                problem = Some(format!(
                    "its label set's member {i} has labels {names:?}, but its `NAMES` are {:?}",
                    L::NAMES
                ));
            }
            out.into_boxed_str()
        })
        .collect();
    if problem.is_none() {
        let mut seen = std::collections::HashSet::with_capacity(rendered.len());
        problem = rendered
            .iter()
            .find(|l| !seen.insert(&***l))
            .map(|l| format!("two members of its label set have the labels {{{l}}}"));
    }
    (rendered, problem)
}
