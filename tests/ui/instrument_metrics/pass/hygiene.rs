//! Generated code names everything by absolute path: shadowing `std`, `core`, `Result`, `Ok`,
//! `Err`, `Option`, `Some`, `None` and `vitalsign` itself, and using the crate under another
//! name, changes nothing.

#![allow(
    dead_code,
    non_camel_case_types,
    reason = "names that collide with what the expansion uses, only to compile"
)]

extern crate vitalsign as vs;

mod std {}
mod core {}
mod vitalsign {}
struct Result;
struct Ok;
struct Err;
struct Option;
struct Some;
struct None;
struct usize;
struct str;

#[derive(vs::LabelValue)]
enum PaymentError {
    CardDeclined,
}

#[derive(vs::LabelValue)]
enum Region {
    Eu,
}

#[derive(vs::LabelSet)]
struct Labels {
    region: Region,
}

#[vs::instrument_metrics(labels(region), buckets = [0.1])]
fn charge(region: Region) -> ::core::result::Result<u8, PaymentError> {
    match region {
        Region::Eu => ::core::result::Result::Err(PaymentError::CardDeclined),
    }
}

#[vs::instrument_metrics(crate = vs)]
async fn reserve() -> ::core::result::Result<(), ::std::io::Error> {
    ::core::result::Result::Ok(())
}

fn main() {
    let _ = charge(Region::Eu);
    let _ = reserve();
}
