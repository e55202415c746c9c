//! hyper 1.x on taketurns (`taketurns::hyper_rt`), one test binary: [`http1`] for the `hyper`
//! feature (HTTP/1.1 against itself and against hyper on tokio), [`http2`] for `hyper-http2`
//! (many streams on one connection, keep-alive pings on our timer).
//!
//! Feature gating, the same way in every test binary: a binary that needs a feature as a whole
//! says so in Cargo.toml with `required-features` (this one needs `hyper`, so plain `cargo test`
//! does not build it, and `cargo test --test hyper` without the feature says which one to turn
//! on); a part of a binary that needs more is a module behind `#[cfg(feature = "...")]`, as
//! `http2` is here. No test checks a feature at run time.
//!
//! Run: `cargo test --features hyper --test hyper` (HTTP/1.1), or
//! `cargo test --features hyper-http2 --test hyper` (both).

#[path = "../support/mod.rs"]
mod support;

mod http1;
#[cfg(feature = "hyper-http2")]
mod http2;
