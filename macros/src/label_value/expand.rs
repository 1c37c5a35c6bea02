//! The `LabelValue` impl of a valid enum.

use proc_macro2::TokenStream;
use quote::quote;

use super::ast::Enum;
use crate::paths::krate;

pub(super) fn expand(input: &Enum<'_>) -> TokenStream {
    let krate = krate(input.krate.clone());
    let ident = &input.input.ident;
    let (impl_generics, ty_generics, where_clause) = input.input.generics.split_for_impl();
    let count = input.variants.len();
    let indices = 0..count;
    let variants = input.variants.iter().map(|v| v.ident);
    // Only variants without fields can be rebuilt from an index.
    let (unit_indices, unit_variants): (Vec<usize>, Vec<&syn::Ident>) = input
        .variants
        .iter()
        .enumerate()
        .filter(|(_, v)| v.unit)
        .map(|(i, v)| (i, v.ident))
        .unzip();
    let raw_indices = 0..count;
    let raw = input.variants.iter().map(|v| &v.value);
    let escaped = input.variants.iter().map(|v| escape(&v.value));
    quote! {
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
                        #( #raw_indices => #raw, )*
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
    }
}

/// A label value as exposition writes it: `\`, `"` and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
