//! How an error value becomes the `error` label of an instrumented call: a [`LabelValue`]
//! error by its variant, any other by its type's short name, chosen by method resolution
//! (autoref) in the code `#[instrument_metrics]` generates, so that no trait bound is asked of
//! the user's error type.

use std::marker::PhantomData;

use super::ErrorKinds;
use crate::labels::LabelValue;

/// The `error` label of one error value.
#[derive(Debug, Clone, Copy)]
pub enum ErrorLabel {
    /// A [`LabelValue`]'s index, and how to name it.
    Index(usize, fn(usize) -> &'static str),
    /// Any other type: how to name it.
    TypeName(fn() -> &'static str),
}

impl ErrorLabel {
    pub(super) fn name(self) -> &'static str {
        match self {
            ErrorLabel::Index(i, value_at) => value_at(i),
            ErrorLabel::TypeName(name) => name(),
        }
    }
}

/// `E`'s name as an `error` label: without the module path (`ParseIntError`), but whole where
/// that would mislead: a type called just `Error` keeps its path (`anyhow::Error`,
/// `std::io::error::Error`), and a generic type keeps its arguments
/// (`Box<dyn core::error::Error + core::marker::Send>`), so a boxed error is not `Box`.
pub fn short_type_name<E: ?Sized>() -> &'static str {
    let full = std::any::type_name::<E>();
    let base_end = full.find('<').unwrap_or(full.len());
    let start = full[..base_end].rfind("::").map_or(0, |i| i + 2);
    let short = &full[start..];
    if short == "Error" { full } else { short }
}

/// An error value being labelled; method resolution picks [`LabelFromValue`] when `E` is a
/// [`LabelValue`] (called as `(&&ErrRef(e)).error_label()`), [`LabelFromName`] otherwise.
#[derive(Debug)]
pub struct ErrRef<'a, E>(pub &'a E);

/// `error` label from a [`LabelValue`] error.
pub trait LabelFromValue {
    /// The label.
    fn error_label(&self) -> ErrorLabel;
}

impl<E: LabelValue> LabelFromValue for &ErrRef<'_, E> {
    #[inline]
    fn error_label(&self) -> ErrorLabel {
        ErrorLabel::Index(self.0.index(), E::value_at)
    }
}

/// `error` label from any other error type: its name.
pub trait LabelFromName {
    /// The label.
    fn error_label(&self) -> ErrorLabel;
}

impl<E> LabelFromName for ErrRef<'_, E> {
    #[inline]
    fn error_label(&self) -> ErrorLabel {
        ErrorLabel::TypeName(short_type_name::<E>)
    }
}

/// An error type whose kinds are wanted; method resolution picks [`KindsFromValues`] when `E`
/// is a [`LabelValue`] (called as `(&&ErrType::<E>::new()).error_kinds(name)`).
#[derive(Debug)]
pub struct ErrType<E>(PhantomData<fn() -> E>);

impl<E> ErrType<E> {
    /// The probe.
    #[allow(
        clippy::new_without_default,
        reason = "a probe, only ever built by generated code"
    )]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

/// Kinds of a [`LabelValue`] error type: its values.
pub trait KindsFromValues {
    /// The kinds.
    fn error_kinds(&self, type_name: &'static str) -> ErrorKinds;
}

impl<E: LabelValue> KindsFromValues for &ErrType<E> {
    fn error_kinds(&self, _: &'static str) -> ErrorKinds {
        ErrorKinds::Values((0..E::CARDINALITY).map(E::value_at).collect())
    }
}

/// Kinds of any other error type: its name.
pub trait KindsFromName {
    /// The kinds.
    fn error_kinds(&self, type_name: &'static str) -> ErrorKinds;
}

impl<E> KindsFromName for ErrType<E> {
    fn error_kinds(&self, type_name: &'static str) -> ErrorKinds {
        ErrorKinds::TypeName(type_name)
    }
}

/// Return types that carry success or failure: `Result`.
pub trait Outcome {
    /// The error type.
    type Error;
    /// The error, if this is one.
    fn error(&self) -> Option<&Self::Error>;
}

impl<T, E> Outcome for core::result::Result<T, E> {
    type Error = E;
    #[inline]
    fn error(&self) -> Option<&E> {
        self.as_ref().err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names() {
        assert_eq!(short_type_name::<std::io::Error>(), "std::io::error::Error");
        assert_eq!(
            short_type_name::<Box<dyn std::error::Error>>(),
            "Box<dyn core::error::Error>"
        );
        assert_eq!(short_type_name::<String>(), "String");
        assert_eq!(
            short_type_name::<std::num::ParseIntError>(),
            "ParseIntError"
        );
    }
}
