//! What the macro learns from a function's signature, checked against the options: which
//! labels come from which parameters, what the return type says about errors, and whether the
//! body is an `async-trait` future to instrument inside.

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::spanned::Spanned;
use syn::{
    Block, Expr, FnArg, GenericArgument, Ident, Pat, PathArguments, ReturnType, Signature, Stmt,
    Type, TypeParamBound,
};

use super::attr::{BucketsOpt, LabelOpt, Options};
use crate::ctxt::{Ctxt, did_you_mean};
use crate::names;

/// Labels `instrument_metrics` sets itself.
const OWN_LABELS: &[&str] = &["function", "module", "result", "error", "le"];

/// Where the function sits: free, or in an `impl` block the macro can see.
#[derive(Default)]
pub(super) struct Place {
    /// `Type` of `impl ... for Type`, for the `Type::method` function label.
    pub(super) type_name: Option<String>,
    /// Type, const and lifetime parameters of the enclosing `impl`.
    pub(super) outer_generics: Vec<String>,
}

pub(super) struct ParamLabel {
    pub(super) name: String,
    pub(super) ident: Ident,
    /// The parameter's type with references removed.
    pub(super) ty: Type,
    /// How many references were removed.
    pub(super) refs: usize,
}

pub(super) enum Errors {
    /// Not a `Result`: only panics are errors (and what a classifier says).
    None,
    /// A `Result` whose error type can be named in a static.
    Typed(Box<ErrorType>),
    /// A `Result` whose error type depends on generic parameters.
    Dynamic,
    /// A `Result` whose errors `error_label = path` names.
    Mapped(syn::Path),
}

/// `ok_if = path` or `error_if = path`: a predicate on the return value that decides the result;
/// the error kind still comes from the error where there is one.
pub(super) struct Classifier {
    pub(super) path: syn::Path,
    pub(super) ok_if: bool,
}

pub(super) enum ErrorType {
    /// `E` of `Result<T, E>`.
    Named(Type),
    /// `<R as Outcome>::Error` of an alias such as `io::Result<()>`.
    Of(Type),
}

pub(super) struct Analysis {
    pub(super) function: String,
    pub(super) params: Vec<ParamLabel>,
    pub(super) static_labels: Vec<(String, String)>,
    pub(super) buckets: Option<TokenStream>,
    pub(super) errors: Errors,
    pub(super) classifier: Option<Classifier>,
    /// The type of the value whose outcome is recorded (the future's output for async code).
    pub(super) output: Option<Type>,
    pub(super) kind: Kind,
}

pub(super) enum Kind {
    Sync,
    Async,
    /// A non-`async` method returning `Box::pin(async move { ... })`, as `async-trait` writes.
    BoxedFuture,
}

pub(super) fn analyze(
    sig: &Signature,
    block: &Block,
    options: &Options,
    place: &Place,
    cx: &mut Ctxt,
) -> Analysis {
    if let Some(c) = &sig.constness {
        cx.error(
            c,
            "`#[instrument_metrics]` cannot instrument a `const fn`: a call at compile time has no \
             clock and no registry to count in",
        );
    }
    if let (Some(_), Some(error_if)) = (&options.ok_if, &options.error_if) {
        cx.error(
            error_if,
            "`ok_if` and `error_if` cannot be used together; keep one",
        );
    }

    let ident = sig.ident.to_string();
    let ident = ident.strip_prefix("r#").unwrap_or(&ident);
    let function = match (&options.name, &place.type_name) {
        (Some(name), _) => name.value(),
        (None, Some(ty)) => format!("{ty}::{ident}"),
        (None, None) => ident.to_owned(),
    };

    let generics: Vec<String> = param_names(&sig.generics)
        .into_iter()
        .chain(place.outer_generics.iter().cloned())
        .chain(["Self".to_owned()])
        .collect();

    let (params, static_labels) = labels(sig, options, &generics, cx);
    let buckets = buckets(options.buckets.as_ref(), cx);

    let (kind, output) = if sig.asyncness.is_some() {
        (Kind::Async, Some(return_type(&sig.output)))
    } else if let Some(out) = boxed_future_output(&sig.output, block) {
        (Kind::BoxedFuture, Some(out))
    } else {
        (Kind::Sync, Some(return_type(&sig.output)))
    };
    let classifier = match (&options.ok_if, &options.error_if) {
        (Some(path), _) => Some(Classifier {
            path: path.clone(),
            ok_if: true,
        }),
        (None, Some(path)) => Some(Classifier {
            path: path.clone(),
            ok_if: false,
        }),
        (None, None) => None,
    };
    let mut errors = output
        .as_ref()
        .map_or(Errors::None, |ty| result_errors(ty, &generics));
    if let Some(path) = &options.error_label {
        if matches!(errors, Errors::None) {
            cx.error(
                path,
                "`error_label` names the errors of a function returning `Result`; this one does not",
            );
        } else {
            errors = Errors::Mapped(path.clone());
        }
    }
    let output = output.filter(|ty| !mentions(ty, &[], true));
    Analysis {
        function,
        params,
        static_labels,
        buckets,
        errors,
        classifier,
        output,
        kind,
    }
}

/// The names of type, const and lifetime parameters.
pub(super) fn param_names(generics: &syn::Generics) -> Vec<String> {
    generics
        .params
        .iter()
        .map(|p| match p {
            syn::GenericParam::Type(t) => t.ident.to_string(),
            syn::GenericParam::Const(c) => c.ident.to_string(),
            syn::GenericParam::Lifetime(l) => l.lifetime.ident.to_string(),
        })
        .collect()
}

fn return_type(output: &ReturnType) -> Type {
    match output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    }
}

fn labels(
    sig: &Signature,
    options: &Options,
    generics: &[String],
    cx: &mut Ctxt,
) -> (Vec<ParamLabel>, Vec<(String, String)>) {
    let mut params = Vec::new();
    let mut statics = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let typed: Vec<(&Ident, &Type)> = sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            FnArg::Typed(t) => match &*t.pat {
                Pat::Ident(p) => Some((&p.ident, &*t.ty)),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect();
    for label in options.labels.iter().flatten() {
        let (ident, name) = match label {
            LabelOpt::Static { key, .. } | LabelOpt::Param(key) => {
                let n = key.to_string();
                (key, n.strip_prefix("r#").unwrap_or(&n).to_owned())
            }
        };
        if OWN_LABELS.contains(&name.as_str()) {
            cx.error(
                ident,
                format!("label `{name}` is set by `instrument_metrics` itself"),
            );
            continue;
        }
        if let Some(problem) = names::label_name_problem(&name) {
            cx.error(ident, problem);
            continue;
        }
        if seen.contains(&name) {
            cx.error(ident, format!("duplicate label `{name}`"));
            continue;
        }
        seen.push(name.clone());
        match label {
            LabelOpt::Static { value, .. } => statics.push((name, value.value())),
            LabelOpt::Param(p) => {
                let Some(&(_, ty)) = typed.iter().find(|(i, _)| *i == p) else {
                    let names: Vec<String> = typed.iter().map(|(i, _)| i.to_string()).collect();
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    let hint = did_you_mean(&name, &names)
                        .map(|s| format!("; did you mean `{s}`?"))
                        .unwrap_or_default();
                    cx.error(
                        p,
                        format!("no parameter named `{name}` to use as a label{hint}"),
                    );
                    continue;
                };
                let (ty, refs) = strip_refs(ty);
                if mentions(&ty, generics, false) {
                    cx.error(
                        &ty,
                        format!(
                            "label parameter `{name}` has a generic type; a label needs a \
                             concrete `LabelValue` type so its values are known up front"
                        ),
                    );
                    continue;
                }
                params.push(ParamLabel {
                    name,
                    ident: p.clone(),
                    ty,
                    refs,
                });
            }
        }
    }
    (params, statics)
}

fn strip_refs(ty: &Type) -> (Type, usize) {
    match ty {
        Type::Reference(r) => {
            let (inner, n) = strip_refs(&r.elem);
            (inner, n + 1)
        }
        Type::Paren(p) => strip_refs(&p.elem),
        other => (other.clone(), 0),
    }
}

fn buckets(buckets: Option<&BucketsOpt>, cx: &mut Ctxt) -> Option<TokenStream> {
    match buckets? {
        BucketsOpt::List(bounds, span) => {
            if bounds.is_empty() {
                cx.push(syn::Error::new(*span, "`buckets` needs at least one bound"));
                return None;
            }
            for pair in bounds.windows(2) {
                let ((a, prev), (b, expr)) = (&pair[0], &pair[1]);
                if b <= a {
                    let problem = if a == b {
                        "duplicate bucket bound"
                    } else {
                        "unsorted bucket bound"
                    };
                    let (b, a) = (expr.to_token_stream(), prev.to_token_stream());
                    cx.error(
                        expr,
                        format!(
                            "{problem}: bounds must be strictly increasing, and `{b}` follows `{a}`"
                        ),
                    );
                }
            }
            let values = bounds.iter().map(|(v, e)| {
                let lit = syn::LitFloat::new(&format!("{v:?}f64"), e.span());
                quote!(#lit)
            });
            Some(quote!(&[#( #values ),*]))
        }
        BucketsOpt::Path(path) => Some(path.to_token_stream()),
    }
}

/// What a `Result` return type says about the error label.
fn result_errors(ty: &Type, generics: &[String]) -> Errors {
    let Type::Path(tp) = ty else {
        return Errors::None;
    };
    let Some(last) = tp.path.segments.last() else {
        return Errors::None;
    };
    if last.ident != "Result" {
        return Errors::None;
    }
    let types: Vec<&Type> = match &last.arguments {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|g| match g {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let error_type = match types.as_slice() {
        [_, e] => ErrorType::Named((*e).clone()),
        [_] => {
            // An alias such as `io::Result<T>` fixes its error type whatever `T` is.
            let mut alias = tp.clone();
            if let Some(PathArguments::AngleBracketed(a)) =
                alias.path.segments.last_mut().map(|s| &mut s.arguments)
            {
                for arg in &mut a.args {
                    if let GenericArgument::Type(t) = arg {
                        *t = syn::parse_quote!(());
                    }
                }
            }
            ErrorType::Of(Type::Path(alias))
        }
        _ => ErrorType::Of(ty.clone()),
    };
    let (ErrorType::Named(probe) | ErrorType::Of(probe)) = &error_type;
    if mentions(probe, generics, false) {
        Errors::Dynamic
    } else {
        Errors::Typed(Box::new(error_type))
    }
}

/// Whether `ty` mentions any of `names`, a lifetime other than `'static`, or (when
/// `impl_only`) only whether it holds an `impl Trait`.
fn mentions(ty: &Type, names: &[String], impl_only: bool) -> bool {
    fn walk(tokens: TokenStream, names: &[String], impl_only: bool) -> bool {
        let mut lifetime = false;
        for t in tokens {
            match t {
                TokenTree::Group(g) => {
                    if walk(g.stream(), names, impl_only) {
                        return true;
                    }
                }
                TokenTree::Punct(p) => lifetime = p.as_char() == '\'',
                TokenTree::Ident(i) => {
                    let s = i.to_string();
                    if s == "impl" {
                        return true;
                    }
                    if !impl_only && ((lifetime && s != "static") || names.contains(&s)) {
                        return true;
                    }
                    lifetime = false;
                }
                TokenTree::Literal(_) => lifetime = false,
            }
        }
        false
    }
    walk(ty.to_token_stream(), names, impl_only)
}

/// `Output` of `Pin<Box<dyn Future<Output = T> + ...>>` when the body ends in
/// `Box::pin(async move { ... })`.
fn boxed_future_output(output: &ReturnType, block: &Block) -> Option<Type> {
    let Some(Stmt::Expr(Expr::Call(call), None)) = block.stmts.last() else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    let is_pin = func.path.segments.last().is_some_and(|s| s.ident == "pin");
    if !is_pin || !matches!(call.args.first(), Some(Expr::Async(_))) || call.args.len() != 1 {
        return None;
    }
    let ReturnType::Type(_, ty) = output else {
        return None;
    };
    find_future_output(ty)
}

fn find_future_output(ty: &Type) -> Option<Type> {
    match ty {
        Type::Path(tp) => tp
            .path
            .segments
            .iter()
            .find_map(|seg| match &seg.arguments {
                PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
                    GenericArgument::Type(t) => find_future_output(t),
                    _ => None,
                }),
                _ => None,
            }),
        Type::TraitObject(obj) => obj.bounds.iter().find_map(|b| match b {
            TypeParamBound::Trait(t) => {
                let seg = t.path.segments.last()?;
                if seg.ident != "Future" {
                    return None;
                }
                match &seg.arguments {
                    PathArguments::AngleBracketed(a) => a.args.iter().find_map(|arg| match arg {
                        GenericArgument::AssocType(assoc) if assoc.ident == "Output" => {
                            Some(assoc.ty.clone())
                        }
                        _ => None,
                    }),
                    _ => None,
                }
            }
            _ => None,
        }),
        Type::Paren(p) => find_future_output(&p.elem),
        Type::Group(g) => find_future_output(&g.elem),
        _ => None,
    }
}

impl ParamLabel {
    /// `&param`, `&*param`, ... : a reference to the `LabelValue` whatever the parameter's depth.
    pub(super) fn reference(&self) -> TokenStream {
        let ident = &self.ident;
        let stars = (0..self.refs).map(|_| quote!(*));
        quote!(&#( #stars )* #ident)
    }
}
