//! Parsing `#[instrument_metrics(...)]` options into [`Options`], reporting every mistake.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, ExprUnary, Ident, Lit, LitStr, Path, Token, UnOp};

use crate::ctxt::{Ctxt, did_you_mean, set_once};
use crate::paths::path_name;

pub(super) const OPTIONS: &[&str] = &[
    "name",
    "buckets",
    "labels",
    "concurrency",
    "classic_only",
    "registry",
    "ok_if",
    "error_if",
    "error_label",
    "skip",
    "crate",
    "objective",
];

#[derive(Default, Clone)]
pub(super) struct Options {
    pub(super) name: Option<LitStr>,
    pub(super) buckets: Option<BucketsOpt>,
    pub(super) labels: Option<Vec<LabelOpt>>,
    pub(super) concurrency: Option<Path>,
    pub(super) classic_only: Option<Path>,
    pub(super) registry: Option<Path>,
    pub(super) ok_if: Option<Path>,
    pub(super) error_if: Option<Path>,
    pub(super) error_label: Option<Path>,
    pub(super) skip: Option<Path>,
    pub(super) krate: Option<Path>,
    pub(super) objective: Option<Path>,
}

#[derive(Clone)]
pub(super) enum BucketsOpt {
    /// Literal bounds, with the tokens each came from.
    List(Vec<(f64, Expr)>, proc_macro2::Span),
    /// A path to a `const` or `static` `&[f64]`, checked when the program is compiled.
    Path(Path),
}

#[derive(Clone)]
pub(super) enum LabelOpt {
    Static { key: Ident, value: LitStr },
    Param(Ident),
}

/// `buckets = [..]` or `buckets = PATH`; `None` (the error said) for anything else.
fn buckets(meta: &ParseNestedMeta<'_>, cx: &mut Ctxt) -> syn::Result<Option<BucketsOpt>> {
    let value: Expr = meta.value()?.parse()?;
    Ok(match &value {
        Expr::Array(array) => {
            let bounds = array
                .elems
                .iter()
                .filter_map(|e| bound(e, cx).map(|v| (v, e.clone())));
            Some(BucketsOpt::List(bounds.collect(), array.span()))
        }
        Expr::Path(p) => Some(BucketsOpt::Path(p.path.clone())),
        other => {
            cx.error(other, "`buckets` takes a list of bounds (`[0.1, 0.5, 1.0]`) or the path of a `&[f64]` constant");
            None
        }
    })
}

/// `labels(param, key = "value", ..)`.
fn labels(meta: &ParseNestedMeta<'_>, cx: &mut Ctxt) -> syn::Result<Vec<LabelOpt>> {
    let mut labels = Vec::new();
    meta.parse_nested_meta(|label| {
        let Some(ident) = label.path.get_ident().cloned() else {
            cx.error(
                &label.path,
                "a label is a parameter name or `key = \"value\"`",
            );
            return Ok(());
        };
        if label.input.peek(Token![=]) {
            let value: LitStr = label.value()?.parse()?;
            labels.push(LabelOpt::Static { key: ident, value });
        } else {
            labels.push(LabelOpt::Param(ident));
        }
        Ok(())
    })?;
    Ok(labels)
}

pub(super) fn parse(args: TokenStream, cx: &mut Ctxt) -> Options {
    let mut o = Options::default();
    let parser = syn::meta::parser(|meta| {
        let key = path_name(&meta.path);
        match key.as_str() {
            "name" => {
                let v: LitStr = meta.value()?.parse()?;
                if v.value().is_empty() {
                    cx.error(&v, "`name` cannot be empty");
                }
                set_once(cx, &mut o.name, v, &meta.path);
            }
            "buckets" => {
                if let Some(b) = buckets(&meta, cx)? {
                    set_once(cx, &mut o.buckets, b, &meta.path);
                }
            }
            "labels" => {
                let labels = labels(&meta, cx)?;
                set_once(cx, &mut o.labels, labels, &meta.path);
            }
            "concurrency" => set_once(cx, &mut o.concurrency, meta.path.clone(), &meta.path),
            "classic_only" => set_once(cx, &mut o.classic_only, meta.path.clone(), &meta.path),
            "skip" => set_once(cx, &mut o.skip, meta.path.clone(), &meta.path),
            "registry" | "ok_if" | "error_if" | "error_label" | "crate" | "objective" => {
                let v: Path = meta.value()?.parse()?;
                let slot = match key.as_str() {
                    "registry" => &mut o.registry,
                    "ok_if" => &mut o.ok_if,
                    "error_if" => &mut o.error_if,
                    "error_label" => &mut o.error_label,
                    "objective" => &mut o.objective,
                    _ => &mut o.krate,
                };
                set_once(cx, slot, v, &meta.path);
            }
            _ => {
                let hint = did_you_mean(&key, OPTIONS)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                cx.error(
                    &meta.path,
                    format!("unknown `instrument_metrics` argument `{key}`{hint}"),
                );
                if meta.input.peek(Token![=]) {
                    let _: Expr = meta.value()?.parse()?;
                } else if meta.input.peek(syn::token::Paren) {
                    let _ = meta.parse_nested_meta(|inner| {
                        let _: TokenStream = inner.input.parse()?;
                        Ok(())
                    });
                }
            }
        }
        Ok(())
    });
    if let Err(e) = parser.parse2(args) {
        cx.push(e);
    }
    o
}

/// One bucket bound: a float or integer literal, possibly negated.
fn bound(e: &Expr, cx: &mut Ctxt) -> Option<f64> {
    let (negative, lit) = match e {
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr,
            ..
        }) => (true, &**expr),
        other => (false, other),
    };
    let value = match lit {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse::<f64>().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<f64>().ok(),
        _ => None,
    };
    match value {
        Some(v) if v.is_finite() => Some(if negative { -v } else { v }),
        _ => {
            cx.error(
                e,
                "a bucket bound is a finite number literal (`+Inf` is always added)",
            );
            None
        }
    }
}

impl Options {
    /// `self` with `inner`'s options taking precedence (a method inside an instrumented impl).
    pub(super) fn merged_with(&self, inner: Options) -> Options {
        let labels = match (&self.labels, inner.labels) {
            (Some(outer), Some(mut inner)) => {
                let mut all = outer.clone();
                all.append(&mut inner);
                Some(all)
            }
            (outer, inner) => inner.or_else(|| outer.clone()),
        };
        Options {
            name: inner.name,
            buckets: inner.buckets.or_else(|| self.buckets.clone()),
            labels,
            concurrency: inner.concurrency.or_else(|| self.concurrency.clone()),
            classic_only: inner.classic_only.or_else(|| self.classic_only.clone()),
            registry: inner.registry.or_else(|| self.registry.clone()),
            ok_if: inner.ok_if.or_else(|| self.ok_if.clone()),
            error_if: inner.error_if.or_else(|| self.error_if.clone()),
            error_label: inner.error_label.or_else(|| self.error_label.clone()),
            skip: inner.skip,
            krate: inner.krate.or_else(|| self.krate.clone()),
            objective: inner.objective.or_else(|| self.objective.clone()),
        }
    }
}
