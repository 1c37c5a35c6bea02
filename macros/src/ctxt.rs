//! Collects every error a macro finds, so one compile reports them all.

use std::fmt::Display;

use quote::ToTokens;

#[derive(Default)]
pub(crate) struct Ctxt {
    errors: Option<syn::Error>,
}

impl Ctxt {
    pub(crate) fn error(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(errors) => errors.combine(error),
            None => self.errors = Some(error),
        }
    }

    pub(crate) fn check(self) -> syn::Result<()> {
        self.errors.map_or(Ok(()), Err)
    }
}

/// The closest of `candidates` to `word`, if it is close enough to be a likely typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|&(d, c)| d <= 2.max(c.len() / 3))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Stores `value` in `slot`, or reports that `key` was given twice: the one duplicate-option
/// check every attribute parser uses.
pub(crate) fn set_once<T>(cx: &mut Ctxt, slot: &mut Option<T>, value: T, key: &syn::Path) {
    if slot.is_some() {
        cx.error(
            key,
            format!("duplicate `{}` option", crate::paths::path_name(key)),
        );
    } else {
        *slot = Some(value);
    }
}

/// A derive's output: its impl, or its errors beside `fallback` (a stub impl, so the rest of
/// the user's crate type-checks without follow-on errors, as thiserror does).
pub(crate) fn or_fallback(
    result: syn::Result<proc_macro2::TokenStream>,
    fallback: impl FnOnce() -> proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    match result {
        Ok(tokens) => tokens,
        Err(errors) => {
            let mut out = errors.into_compile_error();
            out.extend(fallback());
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let opts = ["name", "buckets", "labels", "concurrency"];
        assert_eq!(did_you_mean("bukets", &opts), Some("buckets"));
        assert_eq!(did_you_mean("label", &opts), Some("labels"));
        assert_eq!(did_you_mean("concurency", &opts), Some("concurrency"));
        assert_eq!(did_you_mean("frobnicate", &opts), None);
    }
}
