//! What the struct must satisfy: at least one field, valid label names, each name once (names
//! from flattened sets are checked by a constant in the generated code).

use super::ast::{Field, Struct};
use crate::ctxt::Ctxt;
use crate::names;

impl Struct<'_> {
    pub(super) fn validate(&self) -> syn::Result<()> {
        let mut cx = Ctxt::default();
        let mut seen: Vec<&str> = Vec::new();
        for field in &self.fields {
            let Field::Value { name, name_at, .. } = field else {
                continue;
            };
            if let Some(problem) = names::label_name_problem(name) {
                cx.error(name_at, problem);
            } else if seen.contains(&name.as_str()) {
                cx.error(name_at, format!("duplicate label name `{name}`"));
            }
            seen.push(name);
        }
        if self.fields.is_empty() {
            cx.error(
                &self.input.ident,
                "`LabelSet` needs at least one field; for no labels, use `()`",
            );
        }
        cx.check()
    }
}
