//! The struct a `LabelSet` is derived for: its fields as labels or flattened sets.

use syn::{Data, DeriveInput, Fields};

use crate::ctxt::Ctxt;
use crate::label_attr;

pub(super) enum Field<'a> {
    Value {
        ident: &'a syn::Ident,
        ty: &'a syn::Type,
        name: String,
        /// Where an error about the name points: the `name` literal, or the field.
        name_at: proc_macro2::TokenStream,
    },
    Flatten {
        ident: &'a syn::Ident,
        ty: &'a syn::Type,
    },
}

pub(super) struct Struct<'a> {
    pub(super) input: &'a DeriveInput,
    pub(super) krate: Option<syn::Path>,
    pub(super) fields: Vec<Field<'a>>,
}

impl<'a> Struct<'a> {
    pub(super) fn from_syn(input: &'a DeriveInput) -> syn::Result<Self> {
        let mut cx = Ctxt::default();
        let container = label_attr::parse(&input.attrs, &["crate"], &mut cx);
        let named = match &input.data {
            Data::Struct(s) => match &s.fields {
                Fields::Named(named) => Some(&named.named),
                other => {
                    cx.error(
                        other,
                        "`LabelSet` needs named fields: each field name is a label name",
                    );
                    None
                }
            },
            Data::Enum(e) => {
                cx.error(
                    e.enum_token,
                    "`LabelSet` can only be derived for structs; for one label of several values, \
                     derive `LabelValue`",
                );
                None
            }
            Data::Union(u) => {
                cx.error(u.union_token, "`LabelSet` can only be derived for structs");
                None
            }
        };
        let mut fields = Vec::new();
        for field in named.into_iter().flatten() {
            let Some(ident) = &field.ident else { continue };
            let attrs = label_attr::parse(&field.attrs, &["name", "flatten"], &mut cx);
            if attrs.flatten.is_some() {
                if let Some(name) = &attrs.name {
                    cx.error(
                        name,
                        "a flattened field has no name of its own: its set's labels are used",
                    );
                }
                fields.push(Field::Flatten {
                    ident,
                    ty: &field.ty,
                });
                continue;
            }
            let (name, name_at) = match &attrs.name {
                Some(lit) => (lit.value(), quote::quote!(#lit)),
                None => {
                    let n = ident.to_string();
                    (
                        n.strip_prefix("r#").unwrap_or(&n).to_owned(),
                        quote::quote!(#ident),
                    )
                }
            };
            fields.push(Field::Value {
                ident,
                ty: &field.ty,
                name,
                name_at,
            });
        }
        cx.check()?;
        Ok(Self {
            input,
            krate: container.krate,
            fields,
        })
    }
}
