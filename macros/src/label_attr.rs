//! The `#[label(...)]` attribute of the derives, parsed once for every position it may appear
//! in; each position says which keys it accepts.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Attribute, LitStr, Path};

use crate::case::{self, Case};
use crate::ctxt::{Ctxt, did_you_mean, set_once};
use crate::paths::path_name;

#[derive(Default)]
pub(crate) struct LabelAttrs {
    pub(crate) rename: Option<LitStr>,
    pub(crate) rename_all: Option<Case>,
    pub(crate) name: Option<LitStr>,
    pub(crate) flatten: Option<Span>,
    pub(crate) krate: Option<Path>,
}

/// Parses every `#[label(...)]` in `attrs`, accepting only `allowed` keys.
pub(crate) fn parse(attrs: &[Attribute], allowed: &[&str], cx: &mut Ctxt) -> LabelAttrs {
    let mut out = LabelAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("label")) {
        let result = attr.parse_nested_meta(|meta| {
            let key = path_name(&meta.path);
            if !allowed.contains(&key.as_str()) {
                let hint = did_you_mean(&key, allowed)
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_default();
                cx.error(
                    &meta.path,
                    format!("unknown `label` option `{key}` here{hint}"),
                );
                // Skip its value, if any, and keep going to find further mistakes.
                if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
                return Ok(());
            }
            match key.as_str() {
                "rename" => {
                    let v: LitStr = meta.value()?.parse()?;
                    set_once(cx, &mut out.rename, v, &meta.path);
                }
                "name" => {
                    let v: LitStr = meta.value()?.parse()?;
                    set_once(cx, &mut out.name, v, &meta.path);
                }
                "rename_all" => {
                    let v: LitStr = meta.value()?.parse()?;
                    match Case::from_name(&v.value()) {
                        Some(case) => set_once(cx, &mut out.rename_all, case, &meta.path),
                        None => cx.error(
                            &v,
                            format!(
                                "unknown case `{}`; expected one of {}",
                                v.value(),
                                case::NAMES
                                    .iter()
                                    .map(|n| format!("`{n}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ),
                    }
                }
                "flatten" => set_once(cx, &mut out.flatten, meta.path.span(), &meta.path),
                "crate" => {
                    let v: Path = meta.value()?.parse()?;
                    set_once(cx, &mut out.krate, v, &meta.path);
                }
                _ => {}
            }
            Ok(())
        });
        if let Err(e) = result {
            cx.push(e);
        }
    }
    out
}
