//! Paths in macro input and output: an option key's name, and where the runtime crate is.

use proc_macro2::TokenStream;
use quote::quote;
use syn::Path;

/// An option key as written (`buckets`, or a multi-segment path as tokens).
pub(crate) fn path_name(path: &Path) -> String {
    path.get_ident()
        .map_or_else(|| quote!(#path).to_string(), ToString::to_string)
}

/// The path generated code uses for the runtime crate: `crate = PATH`, else `::vitalsign`.
pub(crate) fn krate(path: Option<Path>) -> TokenStream {
    match path {
        Some(p) => quote!(#p),
        None => quote!(::vitalsign),
    }
}
