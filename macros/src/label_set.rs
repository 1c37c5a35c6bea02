//! `#[derive(LabelSet)]`: a struct whose fields are label values (or flattened label sets)
//! becomes a label set indexed mixed radix over its fields.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::ctxt::Ctxt;
use crate::label_attr;
use crate::names;

enum Field<'a> {
    Value {
        ident: &'a syn::Ident,
        ty: &'a syn::Type,
        name: String,
    },
    Flatten {
        ident: &'a syn::Ident,
        ty: &'a syn::Type,
    },
}

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let mut cx = Ctxt::default();
    let container = label_attr::parse(&input.attrs, &["crate"], &mut cx);
    let fields = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => &named.named,
            other => {
                cx.error(
                    other,
                    "`LabelSet` needs named fields: each field name is a label name",
                );
                return cx.check().map(|()| TokenStream::new());
            }
        },
        Data::Enum(e) => {
            cx.error(
                e.enum_token,
                "`LabelSet` can only be derived for structs; for one label of several values, \
                 derive `LabelValue`",
            );
            return cx.check().map(|()| TokenStream::new());
        }
        Data::Union(u) => {
            cx.error(u.union_token, "`LabelSet` can only be derived for structs");
            return cx.check().map(|()| TokenStream::new());
        }
    };

    let mut model = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for field in fields {
        let Some(ident) = &field.ident else { continue };
        let attrs = label_attr::parse(&field.attrs, &["name", "flatten"], &mut cx);
        if attrs.flatten.is_some() {
            if let Some(name) = &attrs.name {
                cx.error(
                    name,
                    "a flattened field has no name of its own: its set's labels are used",
                );
            }
            model.push(Field::Flatten {
                ident,
                ty: &field.ty,
            });
            continue;
        }
        let (name, at) = match &attrs.name {
            Some(lit) => (lit.value(), quote!(#lit)),
            None => {
                let n = ident.to_string();
                (
                    n.strip_prefix("r#").unwrap_or(&n).to_owned(),
                    quote!(#ident),
                )
            }
        };
        if let Some(problem) = names::label_name_problem(&name) {
            cx.error(&at, problem);
        } else if seen.contains(&name) {
            cx.error(&at, format!("duplicate label name `{name}`"));
        }
        seen.push(name.clone());
        model.push(Field::Value {
            ident,
            ty: &field.ty,
            name,
        });
    }
    if model.is_empty() {
        cx.error(
            &input.ident,
            "`LabelSet` needs at least one field; for no labels, use `()`",
        );
    }
    cx.check()?;

    let krate = label_attr::krate(container.krate);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();

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
    let names_const = if model.iter().all(|f| matches!(f, Field::Value { .. })) {
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
    };

    // Flattened sets' names are known only to the compiler: check them in a constant, which
    // fails the build (a generic struct is checked when it is registered instead).
    let unique_check = model
        .iter()
        .find_map(|f| match f {
            Field::Flatten { ty, .. } if input.generics.params.is_empty() => Some(ty),
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
        });

    Ok(quote! {
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
    })
}
