//! `#[derive(LabelValue)]`: an enum's variants become label values with dense indices. Variants
//! may carry data (an error enum's details): the data is ignored, one label value per variant,
//! and `from_index` gives `None` for them since there is no value to rebuild.
//!
//! Parse (`ast`), check (`valid`), generate (`expand`); on any error, the errors and a stub impl
//! (`fallback`) so the rest of the crate type-checks without follow-on errors.

mod ast;
mod expand;
mod fallback;
mod valid;

use proc_macro2::TokenStream;
use syn::DeriveInput;

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    crate::ctxt::or_fallback(try_derive(input), || fallback::expand(input))
}

fn try_derive(input: &DeriveInput) -> syn::Result<TokenStream> {
    let input = ast::Enum::from_syn(input)?;
    input.validate()?;
    Ok(expand::expand(&input))
}
