//! The stub impl emitted beside the errors of an input that could not be derived, so uses of the
//! type as a `LabelSet` elsewhere in the crate do not add errors of their own.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::label_attr;
use crate::paths::krate;

pub(super) fn expand(input: &DeriveInput) -> TokenStream {
    // The crate path, if it parses; errors were already reported.
    let mut cx = crate::ctxt::Ctxt::default();
    let krate = krate(label_attr::parse(&input.attrs, &["crate"], &mut cx).krate);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #krate::LabelSet for #ident #ty_generics #where_clause {
                const CARDINALITY: ::core::primitive::usize = 1;
                const NAMES: &'static [&'static ::core::primitive::str] = &[];
                fn index(&self) -> ::core::primitive::usize {
                    0
                }
                fn visit(
                    _: ::core::primitive::usize,
                    _: &mut dyn ::core::ops::FnMut(&'static ::core::primitive::str, &::core::primitive::str),
                ) {
                }
            }
        };
    }
}
