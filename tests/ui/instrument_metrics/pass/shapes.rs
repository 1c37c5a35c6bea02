//! Function shapes the attribute must accept: generics, `impl Trait`, references with elided
//! lifetimes, `self` in every form, `unsafe fn`, early returns and `?`, trait impls.

#![allow(dead_code, reason = "shapes that only have to compile")]

use std::fmt::Display;

use vitalsign::instrument_metrics;

#[instrument_metrics]
fn generic<T: Display + Clone>(value: &T) -> String {
    value.to_string()
}

#[instrument_metrics]
fn where_clause<T>(value: T) -> Option<T>
where
    T: Copy,
{
    Some(value)
}

#[instrument_metrics]
fn returns_impl(n: u32) -> impl Iterator<Item = u32> {
    0..n
}

#[instrument_metrics]
fn takes_impl(value: impl Display) -> usize {
    value.to_string().len()
}

#[instrument_metrics]
fn elided(s: &str) -> &str {
    s.trim()
}

#[instrument_metrics]
fn early(n: i32) -> Result<i32, std::num::TryFromIntError> {
    if n < 0 {
        return Ok(0);
    }
    let small: u8 = u8::try_from(n)?;
    Ok(i32::from(small))
}

#[instrument_metrics]
fn io() -> std::io::Result<()> {
    Ok(())
}

#[instrument_metrics]
fn fmt_result(f: &mut String) -> std::fmt::Result {
    use std::fmt::Write;
    write!(f, "x")
}

/// # Safety
/// `p` must point to a live `u8`.
#[instrument_metrics]
unsafe fn raw(p: *const u8) -> u8 {
    // SAFETY: the caller's contract.
    unsafe { *p }
}

#[instrument_metrics]
fn recursive(n: u64) -> u64 {
    if n == 0 { 0 } else { n + recursive(n - 1) }
}

struct Cart {
    items: Vec<String>,
}

#[instrument_metrics]
impl Cart {
    fn new() -> Self {
        Self { items: Vec::new() }
    }

    fn first(&self) -> Option<&String> {
        self.items.first()
    }

    fn add(&mut self, item: &str) -> &mut Self {
        self.items.push(item.to_owned());
        self
    }

    fn into_items(self) -> Vec<String> {
        self.items
    }

    fn boxed(self: Box<Self>) -> usize {
        self.items.len()
    }

    async fn total(&self) -> Result<usize, std::io::Error> {
        Ok(self.items.len())
    }
}

struct Wrapper<T>(T);

#[instrument_metrics]
impl<T: Clone> Wrapper<T> {
    fn get(&self) -> T {
        self.0.clone()
    }

    fn try_get(&self) -> Result<T, String> {
        Ok(self.0.clone())
    }
}

#[instrument_metrics]
impl Display for Cart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} items", self.items.len())
    }
}

fn main() {
    let _ = generic(&1);
    let _ = where_clause(1);
    let _ = returns_impl(3).count();
    let _ = takes_impl("x");
    let _ = elided(" x ");
    let _ = early(-1);
    let _ = io();
    let _ = fmt_result(&mut String::new());
    // SAFETY: a reference is a live pointer.
    let _ = unsafe { raw(&1) };
    let _ = recursive(3);
    let mut cart = Cart::new();
    cart.add("tea").add("milk");
    let _ = cart.first();
    let _ = cart.to_string();
    let _ = cart.total();
    let _ = Box::new(Cart::new()).boxed();
    let _ = cart.into_items();
    let _ = Wrapper(1).get();
    let _ = Wrapper(1).try_get();
}
