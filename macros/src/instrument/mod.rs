//! `#[instrument_metrics]`: parse the options (`attr`), read the function's shape and check
//! everything against it (`analyze`), then generate the statics and the wrapped body (`expand`).
//! On any error the user's item is emitted unchanged beside the errors, so the rest of their
//! crate still type-checks.

mod analyze;
mod attr;
mod expand;

use proc_macro2::TokenStream;
use quote::quote;
use syn::Item;

use crate::ctxt::Ctxt;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    let options = attr::parse(args, &mut cx);
    let expanded = match syn::parse2::<Item>(item.clone()) {
        Ok(Item::Fn(f)) => expand::free_fn(f, &options, &mut cx),
        Ok(Item::Impl(i)) => expand::impl_block(i, &options, &mut cx),
        Ok(other) => {
            cx.error(
                &other,
                "`#[instrument_metrics]` applies to functions, methods and `impl` blocks",
            );
            TokenStream::new()
        }
        Err(e) => {
            cx.push(e);
            TokenStream::new()
        }
    };
    match cx.check() {
        Ok(()) => expanded,
        Err(errors) => {
            let errors = errors.into_compile_error();
            quote!(#item #errors)
        }
    }
}
