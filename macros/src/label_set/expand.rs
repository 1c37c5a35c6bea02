//! The `LabelSet` impl of a valid struct: mixed-radix index over the fields, `NAMES` (joined
//! from flattened sets at compile time), and `visit`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::ast::{Field, Struct};
use crate::paths::krate;

pub(super) fn expand(input: &Struct<'_>) -> TokenStream {
    let krate = krate(input.krate.clone());
    let model = &input.fields;
    let ident = &input.input.ident;
    let (impl_generics, ty_generics, where_clause) = input.input.generics.split_for_impl();

    let cardinality = |f: &Field<'_>| match f {
        Field::Value { ty, .. } => {
            quote_spanned!(ty.span()=> <#ty as #krate::LabelValue>::CARDINALITY)
        }
        Field::Flatten { ty, .. } => {
            quote_spanned!(ty.span()=> <#ty as #krate::LabelSet>::CARDINALITY)
        }
    };
    let cards: Vec<TokenStream> = model.iter().map(cardinality).collect();
    // The stride of field k is the product of the cardinalities after it.
    let strides: Vec<TokenStream> = (0..model.len())
        .map(|k| {
            let rest = &cards[k + 1..];
            quote!(1 #( * #rest )*)
        })
        .collect();
    let index_terms = model.iter().zip(&strides).map(|(f, stride)| match f {
        Field::Value { ident, ty, .. } => quote_spanned!(ty.span()=>
            <#ty as #krate::LabelValue>::index(&self.#ident) * (#stride)),
        Field::Flatten { ident, ty } => quote_spanned!(ty.span()=>
            <#ty as #krate::LabelSet>::index(&self.#ident) * (#stride)),
    });
    let visits = model
        .iter()
        .zip(&strides)
        .zip(&cards)
        .map(|((f, stride), card)| {
            let sub = quote!((index / (#stride)) % (#card));
            match f {
                Field::Value { ty, name, .. } => {
                    quote!(f(#name, <#ty as #krate::LabelValue>::value_at(#sub));)
                }
                Field::Flatten { ty, .. } => quote!(<#ty as #krate::LabelSet>::visit(#sub, f);),
            }
        });
    let names_const = names(model, &krate);
    let unique_check = unique_check(input, &krate);

    quote! {
        const _: () = {
            #unique_check
            #[automatically_derived]
            impl #impl_generics #krate::LabelSet for #ident #ty_generics #where_clause {
                const CARDINALITY: ::core::primitive::usize = 1usize #( * #cards )*;
                const NAMES: &'static [&'static ::core::primitive::str] = #names_const;

                #[inline]
                fn index(&self) -> ::core::primitive::usize {
                    0usize #( + #index_terms )*
                }

                fn visit(index: ::core::primitive::usize, f: &mut dyn ::core::ops::FnMut(&'static ::core::primitive::str, &::core::primitive::str)) {
                    #( #visits )*
                }
            }
        };
    }
}

/// `NAMES`: a literal list, or the fields' names and flattened sets' `NAMES` joined at compile
/// time.
fn names(model: &[Field<'_>], krate: &TokenStream) -> TokenStream {
    if model.iter().all(|f| matches!(f, Field::Value { .. })) {
        let names = model.iter().filter_map(|f| match f {
            Field::Value { name, .. } => Some(name),
            Field::Flatten { .. } => None,
        });
        quote!(&[#( #names ),*])
    } else {
        let parts: Vec<TokenStream> = model
            .iter()
            .map(|f| match f {
                Field::Value { name, .. } => quote!(&[#name]),
                Field::Flatten { ty, .. } => quote!(<#ty as #krate::LabelSet>::NAMES),
            })
            .collect();
        quote!(&#krate::__private::concat_names::<{ 0usize #( + (#parts).len() )* }>(&[#( #parts ),*]))
    }
}

/// A constant that fails the build if a label name appears twice in the joined `NAMES`.
fn unique_check(input: &Struct<'_>, krate: &TokenStream) -> Option<TokenStream> {
    let ident = &input.input.ident;
    let model = &input.fields;
    // Flattened sets' names are known only to the compiler: check them in a constant, which
    // fails the build (a generic struct is checked when it is registered instead).
    model
        .iter()
        .find_map(|f| match f {
            Field::Flatten { ty, .. } if input.input.generics.params.is_empty() => Some(ty),
            _ => None,
        })
        .map(|ty| {
            let message = format!(
                "`LabelSet` `{ident}`: two fields carry the same label name (a flattened set \
                 repeats a label); each label name may appear once"
            );
            quote_spanned! {ty.span()=>
                const _: () = ::core::assert!(
                    #krate::__private::names_are_unique(<#ident as #krate::LabelSet>::NAMES),
                    #message,
                );
            }
        })
}
