//! Generating the instrumented item: per function, a static `FunctionMetrics`, its entry in the
//! registration slice, and a body that times the original one in a guard.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Block, Expr, ImplItem, ItemFn, ItemImpl, Signature, Stmt, Type};

use super::analyze::{self, Analysis, Classifier, ErrorType, Errors, Kind, Place};
use super::attr::{self, Options};
use crate::ctxt::Ctxt;
use crate::paths::krate;

pub(super) fn free_fn(mut f: ItemFn, options: &Options, cx: &mut Ctxt) -> TokenStream {
    if options.skip.is_none() {
        if let Some(block) = instrument(&f.sig, &f.block, options, &Place::default(), cx) {
            *f.block = block;
        }
    }
    quote!(#f)
}

pub(super) fn impl_block(mut item: ItemImpl, options: &Options, cx: &mut Ctxt) -> TokenStream {
    if options.skip.is_some() {
        return quote!(#item);
    }
    let type_name = match &*item.self_ty {
        Type::Path(tp) => tp.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    };
    let place = Place {
        type_name,
        outer_generics: analyze::param_names(&item.generics),
    };
    for impl_item in &mut item.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let (own, rest): (Vec<Attribute>, Vec<Attribute>) =
            method.attrs.drain(..).partition(is_instrument_attr);
        method.attrs = rest;
        let mut merged = options.clone();
        merged.skip = None;
        merged.name = None;
        for a in own {
            let args = match &a.meta {
                syn::Meta::List(list) => list.tokens.clone(),
                _ => TokenStream::new(),
            };
            merged = merged.merged_with(attr::parse(args, cx));
        }
        if merged.skip.is_some() {
            continue;
        }
        if let Some(block) = instrument(&method.sig, &method.block, &merged, &place, cx) {
            method.block = block;
        }
    }
    quote!(#item)
}

fn is_instrument_attr(a: &Attribute) -> bool {
    a.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "instrument_metrics")
}

fn instrument(
    sig: &Signature,
    block: &Block,
    options: &Options,
    place: &Place,
    cx: &mut Ctxt,
) -> Option<Block> {
    let analysis = analyze::analyze(sig, block, options, place, cx);
    let krate = krate(options.krate.clone());
    let statics = statics(&analysis, options, &krate);
    let label_index = label_index(&analysis, &krate);
    let outcome = outcome(&analysis, &krate);
    let annotation = analysis.output.as_ref().map(|ty| quote!(: #ty));
    let record = |timed: TokenStream| {
        quote! {
            let __vitalsign_call = __VITALSIGN_FN.start(#label_index);
            let __vitalsign_result #annotation = #timed;
            __vitalsign_call.finish(#outcome);
            __vitalsign_result
        }
    };
    let body = match analysis.kind {
        Kind::Async => {
            let timed = record(quote!(async move #block.await));
            quote!({ #statics #timed })
        }
        Kind::Sync => {
            let ret = analysis.output.as_ref().map(|ty| quote!(-> #ty));
            let timed = record(quote!(#krate::__private::call_once(move || #ret #block)));
            quote!({ #statics #timed })
        }
        Kind::BoxedFuture => {
            let mut stmts = block.stmts.clone();
            let Some(Stmt::Expr(Expr::Call(call), None)) = stmts.last_mut() else {
                return None;
            };
            let inner = call.args.first()?.clone();
            let timed = record(quote!(#inner.await));
            call.args = syn::parse_quote!(async move { #timed });
            quote!({ #statics #( #stmts )* })
        }
    };
    syn::parse2(body).map_err(|e| cx.push(e)).ok()
}

fn statics(a: &Analysis, options: &Options, krate: &TokenStream) -> TokenStream {
    let function = &a.function;
    let p = quote!(#krate::__private);
    let dims = a.params.iter().map(|param| {
        let (name, ty) = (&param.name, &param.ty);
        quote_spanned! {ty.span()=>
            #p::LabelDim {
                name: #name,
                cardinality: <#ty as #krate::LabelValue>::CARDINALITY,
                value_at: <#ty as #krate::LabelValue>::value_at,
            }
        }
    });
    let static_labels = a.static_labels.iter().map(|(k, v)| quote!((#k, #v)));
    let buckets = buckets(a, &p);
    let objective = options
        .objective
        .as_ref()
        .map(|path| objective_link(path, function, &p, krate));
    let errors = error_kinds(a, &p);
    let concurrency = options.concurrency.is_some();
    let classic_only = options.classic_only.is_some();
    let classified = a.classifier.is_some();
    let registry = match &options.registry {
        Some(path) => quote! {
            {
                fn registry() -> &'static #krate::Registry {
                    &#path
                }
                registry
            }
        },
        None => quote!(#krate::default_registry),
    };
    quote! {
        const __VITALSIGN_BUCKETS: ::core::option::Option<&[::core::primitive::f64]> = #buckets;
        #objective
        static __VITALSIGN_FN: #p::LazyLock<#p::FunctionMetrics> = #p::LazyLock::new(|| {
            const LABELS: &[#p::LabelDim] = &[#( #dims ),*];
            const STATIC_LABELS: &[(&::core::primitive::str, &::core::primitive::str)] =
                &[#( #static_labels ),*];
            #p::FunctionMetrics::new(#p::FunctionSpec {
                function: #function,
                module: ::core::module_path!(),
                errors: #errors,
                labels: LABELS,
                static_labels: STATIC_LABELS,
                buckets: __VITALSIGN_BUCKETS,
                concurrency: #concurrency,
                classic_only: #classic_only,
                classified: #classified,
            })
        });
        const _: () = {
            #[#p::linkme::distributed_slice(#p::STATIC_REGISTRATIONS)]
            #[linkme(crate = #p::linkme)]
            static __VITALSIGN_ENTRY: #p::StaticRegistration = #p::StaticRegistration {
                registry: #registry,
                register: |registry| __VITALSIGN_FN.register(registry),
            };
        };
    }
}

/// The function's bucket bounds as a constant, checked as the program compiles when they are
/// a constant's path.
fn buckets(a: &Analysis, p: &TokenStream) -> TokenStream {
    match &a.buckets {
        // Literal lists were checked by the macro; a constant is checked as the program
        // compiles, with the error on the constant's path.
        Some(b) => quote_spanned! {b.span()=>
            {
                const BUCKETS: &[::core::primitive::f64] = #b;
                const _: () = ::core::assert!(
                    #p::buckets_are_valid(BUCKETS),
                    "`buckets` must be finite and strictly increasing, with at least one bound",
                );
                ::core::option::Option::Some(BUCKETS)
            }
        },
        None => quote!(::core::option::Option::None),
    }
}

/// The error kinds the function's label can take, as the runtime is told them.
fn error_kinds(a: &Analysis, p: &TokenStream) -> TokenStream {
    match &a.errors {
        Errors::None if a.classifier.is_some() => quote!(#p::ErrorKinds::Classified),
        Errors::None => quote!(#p::ErrorKinds::None),
        Errors::Dynamic | Errors::Mapped(_) => quote!(#p::ErrorKinds::Dynamic),
        Errors::Typed(ty) => {
            let ty = match &**ty {
                ErrorType::Named(t) => quote!(#t),
                ErrorType::Of(r) => quote!(<#r as #p::Outcome>::Error),
            };
            quote! {
                {
                    #[allow(unused_imports, reason = "one of the two traits answers, by autoref")]
                    use #p::{KindsFromName as _, KindsFromValues as _};
                    (&&#p::ErrType::<#ty>::new()).error_kinds(#p::short_type_name::<#ty>())
                }
            }
        }
    }
}

/// Attaches the function to the objective at `path` (a link-time entry), with a compile-time
/// check that the objective's latency threshold is one of the function's bucket bounds.
fn objective_link(
    path: &syn::Path,
    function: &str,
    p: &TokenStream,
    krate: &TokenStream,
) -> TokenStream {
    let check = quote_spanned! {path.span()=>
        const _: () = ::core::assert!(
            #p::threshold_in(OBJECTIVE, match __VITALSIGN_BUCKETS {
                ::core::option::Option::Some(bounds) => bounds,
                ::core::option::Option::None => #p::DEFAULT_BUCKETS,
            }),
            "the objective's latency threshold must be one of the function's bucket bounds",
        );
    };
    quote! {
        const _: () = {
            const OBJECTIVE: &#krate::Objective = &#path;
            #check
            #[#p::linkme::distributed_slice(#p::OBJECTIVE_LINKS)]
            #[linkme(crate = #p::linkme)]
            static __VITALSIGN_OBJECTIVE: #p::ObjectiveLink = #p::ObjectiveLink {
                objective: OBJECTIVE,
                function: #function,
                module: ::core::module_path!(),
            };
        };
    }
}

/// Mixed-radix index of the parameter labels' values.
fn label_index(a: &Analysis, krate: &TokenStream) -> TokenStream {
    let steps = a.params.iter().map(|param| {
        let ty = &param.ty;
        let value = param.reference();
        quote_spanned! {ty.span()=>
            __vitalsign_index = __vitalsign_index * <#ty as #krate::LabelValue>::CARDINALITY
                + <#ty as #krate::LabelValue>::index(#value);
        }
    });
    quote!({
        #[allow(unused_mut, reason = "a function without labels adds nothing to it")]
        let mut __vitalsign_index: ::core::primitive::usize = 0;
        #( #steps )*
        __vitalsign_index
    })
}

fn outcome(a: &Analysis, krate: &TokenStream) -> TokenStream {
    let p = quote!(#krate::__private);
    // The outcome of an error value `__vitalsign_error`: its kind.
    let kind = match &a.errors {
        Errors::None => None,
        Errors::Typed(_) | Errors::Dynamic => Some(quote! {{
            #[allow(unused_imports, reason = "one of the two traits answers, by autoref")]
            use #p::{LabelFromName as _, LabelFromValue as _};
            __VITALSIGN_FN.error_outcome((&&#p::ErrRef(__vitalsign_error)).error_label())
        }}),
        Errors::Mapped(path) => Some(quote! {
            __VITALSIGN_FN.named_error((#path)(__vitalsign_error))
        }),
    };
    // The outcome of an error: its kind if the value is an `Err`, else `error=""`.
    let as_error = match &kind {
        None => quote!(__VITALSIGN_FN.classified_error()),
        Some(kind) => quote! {
            match #p::Outcome::error(&__vitalsign_result) {
                ::core::option::Option::None => __VITALSIGN_FN.classified_error(),
                ::core::option::Option::Some(__vitalsign_error) => #kind,
            }
        },
    };
    match (&a.classifier, &kind) {
        (None, None) => quote!(#p::OK),
        (None, Some(kind)) => quote! {
            match #p::Outcome::error(&__vitalsign_result) {
                ::core::option::Option::None => #p::OK,
                ::core::option::Option::Some(__vitalsign_error) => #kind,
            }
        },
        (Some(Classifier { path, ok_if: true }), _) => quote! {
            if (#path)(&__vitalsign_result) { #p::OK } else { #as_error }
        },
        (Some(Classifier { path, ok_if: false }), _) => quote! {
            if (#path)(&__vitalsign_result) { #as_error } else { #p::OK }
        },
    }
}
