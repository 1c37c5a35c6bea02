//! What the enum must satisfy: at least one variant, and one value per variant.

use super::ast::Enum;
use crate::ctxt::Ctxt;

impl Enum<'_> {
    pub(super) fn validate(&self) -> syn::Result<()> {
        let mut cx = Ctxt::default();
        if self.variants.is_empty() {
            cx.error(
                &self.input.ident,
                "`LabelValue` needs at least one variant: a label with no values has no series",
            );
        }
        for (i, variant) in self.variants.iter().enumerate() {
            if let Some(first) = self.variants[..i].iter().find(|v| v.value == variant.value) {
                cx.error(
                    &variant.value_at,
                    format!(
                        "duplicate label value `{}`: variant `{}` has it too",
                        variant.value, first.ident
                    ),
                );
            }
        }
        cx.check()
    }
}
