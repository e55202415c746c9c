//! The book's pages as doctests: `cargo test` compiles and runs every Rust code block of every
//! chapter in `book/src/`.
//!
//! This module exists only when rustdoc collects doctests (`#[cfg(doctest)]` on its `mod` line in
//! `lib.rs`); it adds nothing to the crate. Each item below carries one page of the book as its
//! documentation, so each page's code blocks become that item's doctests, run against the public
//! API like any user's code:
//!
//! - ```` ```rust ```` blocks are compiled and run; their `assert!`s are the book's claims.
//! - ```` ```rust,ignore ```` blocks are skipped. They are the blocks that pull the crate's own
//!   source in with mdBook's `{{#include}}`, which rustdoc does not expand, and which use
//!   crate-private items; that code is compiled as part of the crate anyway.
//!   `tests/book_includes.rs` checks that every included file and anchor exists.
//! - ```` ```console ````, ```` ```text ```` and ```` ```toml ```` blocks are not Rust, and are
//!   not tested.
//!
//! A page added to `book/src/SUMMARY.md` needs an item here too.
//!
//! (`mdbook test` is not used: it compiles code blocks without this crate. `cargo test` runs
//! them against it.)

/// Introduction.
///
#[doc = include_str!("../book/src/introduction.md")]
pub struct Introduction;

/// Chapter 1: Doing many things at once.
///
#[doc = include_str!("../book/src/ch01-many-things-at-once.md")]
pub struct Chapter01;

/// Chapter 2: Threads.
///
#[doc = include_str!("../book/src/ch02-threads.md")]
pub struct Chapter02;

/// Chapter 3: Race conditions, and how Rust stops them.
///
#[doc = include_str!("../book/src/ch03-race-conditions.md")]
pub struct Chapter03;

/// Chapter 4: Futures.
///
#[doc = include_str!("../book/src/ch04-futures.md")]
pub struct Chapter04;

/// Chapter 5: The two-list event loop.
///
#[doc = include_str!("../book/src/ch05-two-list-loop.md")]
pub struct Chapter05;

/// Chapter 6: Wakers.
///
#[doc = include_str!("../book/src/ch06-wakers.md")]
pub struct Chapter06;

/// Chapter 7: Waiting on sockets.
///
#[doc = include_str!("../book/src/ch07-reactor.md")]
pub struct Chapter07;

/// Chapter 8: Timers.
///
#[doc = include_str!("../book/src/ch08-timers.md")]
pub struct Chapter08;

/// Chapter 9: async/await and combinators.
///
#[doc = include_str!("../book/src/ch09-combinators.md")]
pub struct Chapter09;

/// Chapter 10: Fetching many sockets.
///
#[doc = include_str!("../book/src/ch10-fetch-many.md")]
#[cfg(feature = "workload")] // its code blocks run the workload's clients
pub struct Chapter10;

/// Chapter 11: CPU-bound work.
///
#[doc = include_str!("../book/src/ch11-cpu-bound.md")]
pub struct Chapter11;

/// Chapter 12: Seeing the schedule.
///
#[doc = include_str!("../book/src/ch12-seeing-the-schedule.md")]
pub struct Chapter12;

/// Chapter 13: Benchmarks.
///
#[doc = include_str!("../book/src/ch13-benchmarks.md")]
pub struct Chapter13;

/// Chapter 14: From here to tokio and asyncio.
///
#[doc = include_str!("../book/src/ch14-from-here.md")]
pub struct Chapter14;

/// Chapter 15: Completion instead of readiness.
///
#[doc = include_str!("../book/src/ch15-completion.md")]
#[cfg(feature = "uring")] // its code blocks use `taketurns::uring`
pub struct Chapter15;

/// Appendix A: Glossary.
///
#[doc = include_str!("../book/src/appendix-a-glossary.md")]
pub struct AppendixA;

/// Appendix B: Exercise solutions.
///
#[doc = include_str!("../book/src/appendix-b-solutions.md")]
pub struct AppendixB;

/// Appendix C: The build track at a glance.
///
#[doc = include_str!("../book/src/build-track.md")]
pub struct AppendixC;

/// Appendix D: Inside a thread.
///
#[doc = include_str!("../book/src/appendix-threads.md")]
pub struct AppendixD;

/// Appendix E: How the numbers are measured.
///
#[doc = include_str!("../book/src/appendix-measuring.md")]
pub struct AppendixE;

/// The README's code blocks are tested too.
#[doc = include_str!("../README.md")]
pub struct Readme;
