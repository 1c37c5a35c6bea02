//! `#[derive(LabelValue)]`: an enum's variants become label values with dense indices. Variants
//! may carry data (an error enum's details): the data is ignored, one label value per variant,
//! and `from_index` gives `None` for them since there is no value to rebuild.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

use crate::case::Case;
use crate::ctxt::Ctxt;
use crate::label_attr;

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
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
            return cx.check().map(|()| TokenStream::new());
        }
        Data::Union(u) => {
            cx.error(u.union_token, "`LabelValue` can only be derived for enums");
            return cx.check().map(|()| TokenStream::new());
        }
    };
    if data.variants.is_empty() {
        cx.error(
            &input.ident,
            "`LabelValue` needs at least one variant: a label with no values has no series",
        );
    }

    let mut values: Vec<(String, &syn::Ident)> = Vec::new();
    for variant in &data.variants {
        let attrs = label_attr::parse(&variant.attrs, &["rename"], &mut cx);
        let value = match &attrs.rename {
            Some(lit) => lit.value(),
            None => case.apply(&variant.ident.to_string()),
        };
        if let Some((_, first)) = values.iter().find(|(v, _)| *v == value) {
            let at = attrs
                .rename
                .as_ref()
                .map_or_else(|| quote!(#variant), |lit| quote!(#lit));
            cx.error(
                at,
                format!("duplicate label value `{value}`: variant `{first}` has it too"),
            );
        }
        values.push((value, &variant.ident));
    }
    cx.check()?;

    let krate = label_attr::krate(container.krate);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let count = values.len();
    let indices = 0..count;
    let variants: Vec<_> = values.iter().map(|(_, v)| *v).collect();
    // Only variants without fields can be rebuilt from an index.
    let (unit_indices, unit_variants): (Vec<usize>, Vec<&syn::Ident>) = data
        .variants
        .iter()
        .enumerate()
        .filter(|(_, v)| matches!(v.fields, Fields::Unit))
        .map(|(i, v)| (i, &v.ident))
        .unzip();
    let raw: Vec<&String> = values.iter().map(|(v, _)| v).collect();
    let escaped: Vec<String> = raw.iter().map(|v| escape(v)).collect();
    let indices3 = indices.clone();
    Ok(quote! {
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #krate::LabelValue for #ident #ty_generics #where_clause {
                const CARDINALITY: ::core::primitive::usize = #count;

                #[inline]
                fn index(&self) -> ::core::primitive::usize {
                    match self {
                        #( Self::#variants { .. } => #indices, )*
                    }
                }

                fn from_index(index: ::core::primitive::usize) -> ::core::option::Option<Self> {
                    match index {
                        #( #unit_indices => ::core::option::Option::Some(Self::#unit_variants), )*
                        _ => ::core::option::Option::None,
                    }
                }

                fn value_at(index: ::core::primitive::usize) -> &'static ::core::primitive::str {
                    match index {
                        #( #indices3 => #raw, )*
                        _ => "",
                    }
                }

                fn escaped_at(index: ::core::primitive::usize) -> #krate::__private::Cow<'static, ::core::primitive::str> {
                    const ESCAPED: &[&::core::primitive::str] = &[#( #escaped ),*];
                    #krate::__private::Cow::Borrowed(match ESCAPED.get(index) {
                        ::core::option::Option::Some(v) => v,
                        ::core::option::Option::None => "",
                    })
                }
            }
        };
    })
}

/// A label value as exposition writes it: `\`, `"` and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
