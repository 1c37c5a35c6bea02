//! Procedural macros of [vitalsign](https://docs.rs/vitalsign). Use them through `vitalsign`,
//! which re-exports them; this crate is an implementation detail pinned to it exactly.

mod case;
mod ctxt;
mod instrument;
mod label_attr;
mod label_set;
mod label_value;
mod names;
mod paths;

use proc_macro::TokenStream;

/// `#[instrument_metrics]`: counts calls by result and error kind, and times them.
#[proc_macro_attribute]
pub fn instrument_metrics(args: TokenStream, item: TokenStream) -> TokenStream {
    instrument::expand(args.into(), item.into()).into()
}

/// Makes an enum a `vitalsign::LabelValue`: each variant is one label value, its name in
/// snake_case (or the container's `#[label(rename_all = "...")]` case: `lowercase`,
/// `UPPERCASE`, `PascalCase`, `camelCase`, `snake_case`, `SCREAMING_SNAKE_CASE`, `kebab-case`),
/// or a variant's `#[label(rename = "...")]`, with dense indices in declaration order.
/// Variants may carry data, as error enums do: the data is ignored, so the label stays bounded,
/// and `from_index` rebuilds only variants without fields. Two variants with one value are a
/// compile error.
#[proc_macro_derive(LabelValue, attributes(label))]
pub fn derive_label_value(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    label_value::derive(&input).into()
}

/// Makes a struct of `LabelValue` fields a `vitalsign::LabelSet`.
#[proc_macro_derive(LabelSet, attributes(label))]
pub fn derive_label_set(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    label_set::derive(&input).into()
}
