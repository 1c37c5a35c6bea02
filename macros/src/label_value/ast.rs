//! The enum a `LabelValue` is derived for, with each variant's label value.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

use crate::case::Case;
use crate::ctxt::Ctxt;
use crate::label_attr;

pub(super) struct Enum<'a> {
    pub(super) input: &'a DeriveInput,
    pub(super) krate: Option<syn::Path>,
    pub(super) variants: Vec<Variant<'a>>,
}

pub(super) struct Variant<'a> {
    pub(super) ident: &'a syn::Ident,
    /// The label value, before escaping.
    pub(super) value: String,
    /// Where an error about the value points: the `rename` literal, or the variant.
    pub(super) value_at: TokenStream,
    /// Whether the variant has no fields, so `from_index` can build it.
    pub(super) unit: bool,
}

impl<'a> Enum<'a> {
    pub(super) fn from_syn(input: &'a DeriveInput) -> syn::Result<Self> {
        let mut cx = Ctxt::default();
        let container = label_attr::parse(&input.attrs, &["rename_all", "crate"], &mut cx);
        let case = container.rename_all.unwrap_or(Case::Snake);
        let data = match &input.data {
            Data::Enum(data) => data,
            Data::Struct(s) => {
                cx.error(
                    s.struct_token,
                    "`LabelValue` can only be derived for enums; \
                     for a struct of labels, derive `LabelSet`",
                );
                return Err(cx.check().err().unwrap_or_else(|| unreachable_error(input)));
            }
            Data::Union(u) => {
                cx.error(u.union_token, "`LabelValue` can only be derived for enums");
                return Err(cx.check().err().unwrap_or_else(|| unreachable_error(input)));
            }
        };
        let variants = data
            .variants
            .iter()
            .map(|variant| {
                let attrs = label_attr::parse(&variant.attrs, &["rename"], &mut cx);
                let (value, value_at) = match &attrs.rename {
                    Some(lit) => (lit.value(), quote!(#lit)),
                    None => (case.apply(&variant.ident.to_string()), quote!(#variant)),
                };
                Variant {
                    ident: &variant.ident,
                    value,
                    value_at,
                    unit: matches!(variant.fields, Fields::Unit),
                }
            })
            .collect();
        cx.check()?;
        Ok(Self {
            input,
            krate: container.krate,
            variants,
        })
    }
}

/// An error for a shape whose error was just recorded (never built in practice).
fn unreachable_error(input: &DeriveInput) -> syn::Error {
    syn::Error::new_spanned(&input.ident, "`LabelValue` can only be derived for enums")
}
