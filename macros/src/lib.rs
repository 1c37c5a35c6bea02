//! Procedural macros of [vitalsign](https://docs.rs/vitalsign). Use them through `vitalsign`,
//! which re-exports them; this crate is an implementation detail pinned to it exactly.

mod case;
mod ctxt;
mod instrument;
mod label_attr;
mod label_set;
mod label_value;
mod names;

use proc_macro::TokenStream;

/// Counts calls by result and error kind, and times them, for a function, a method, or every
/// method of an `impl` block. See `vitalsign::instrument_metrics` for the options.
#[proc_macro_attribute]
pub fn instrument_metrics(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument::expand(args.into(), item.into()).into()
}

/// Makes a fieldless enum a `vitalsign::LabelValue`: variants become snake_case label values.
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    label_value::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Makes a struct of `LabelValue` fields a `vitalsign::LabelSet`.
#[proc_macro_derive(LabelSet, attributes(label))]
pub fn derive_label_set(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    label_set::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
