//! Chapter 13, exercise 2: would a heap with lazy deletion make the timers faster?
//!
//! The crate keeps its timers in a `BTreeMap` keyed by (deadline, sequence number) (chapter 8
//! says why). In the fetch workload every fetch does the same three things to its timeout: insert
//! it, look it up once when the task is polled again (to refresh the waker), and remove it when
//! the fetch finishes in time. In the `timers` bench, 100,000 sleeps are inserted and then all
//! fire, nearest first. This program runs both patterns on two structures, outside any runtime,
//! so that only the data structure is timed:
//!
//! Each pattern runs `--rounds` times per structure and the quickest round is printed; the
//! sleeps are checked to fire in deadline order, and the timeouts to leave (almost) nothing
//! behind.
//!
//! - `btree`: a `BTreeMap<(Instant, u64), V>`, as `src/driver/timers.rs` has it;
//! - `heap`: a `slab::Slab` holding each live timer (so insert, look-up and cancel are one index),
//!   and a `BinaryHeap` of (deadline, sequence, slab key) in which a cancelled timer stays until
//!   it reaches the top or a rebuild throws it out (asyncio's rule: rebuild when more than half
//!   of the heap is cancelled). This is chapter 8's exercise 1, with the slab added.
//!
//! The value stored is a `u64` where the crate stores a `Waker`; both are small. tokio uses a
//! timing wheel instead (chapter 8). Left out: a wheel; deadlines that are not in creation order
//! for the timeout pattern (a real program's timeouts mostly are).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::hint::black_box;
use std::time::{Duration, Instant};

use clap::Parser;
use slab::Slab;

/// Time two timer structures on the fetch's timeout pattern and on the fire-in-order pattern.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// Timers per round (the fetch runs 10,000 at once; the timers bench 100,000).
    #[arg(long, default_value_t = 100_000)]
    timers: usize,
    /// Rounds per structure and pattern; the quickest round is reported.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
}

/// What both structures can do: what `Sleep` and the loop ask of the timer list.
trait TimerList {
    /// A handle to one timer.
    type Key: Copy;
    fn insert(&mut self, deadline: Instant, value: u64) -> Self::Key;
    /// The refresh: is it still pending? (and the chance to replace its value).
    fn refresh(&mut self, key: Self::Key, value: u64) -> bool;
    fn remove(&mut self, key: Self::Key) -> Option<u64>;
    /// Pop every timer due at `now`, nearest first, into `out`.
    fn fire_due(&mut self, now: Instant, out: &mut Vec<u64>);
    /// Entries held, cancelled ones included: the structure's memory.
    fn held(&self) -> usize;
}

// ANCHOR: btree
/// The crate's structure: ordered by (deadline, sequence number).
#[derive(Default)]
struct BTreeTimers {
    /// Live timers, nearest first.
    entries: BTreeMap<(Instant, u64), u64>,
    /// The next sequence number.
    seq: u64,
}

impl TimerList for BTreeTimers {
    type Key = (Instant, u64);
    fn insert(&mut self, deadline: Instant, value: u64) -> Self::Key {
        let key = (deadline, self.seq);
        self.seq += 1;
        self.entries.insert(key, value);
        key
    }
    fn refresh(&mut self, key: Self::Key, value: u64) -> bool {
        self.entries.get_mut(&key).map(|v| *v = value).is_some()
    }
    fn remove(&mut self, key: Self::Key) -> Option<u64> {
        self.entries.remove(&key)
    }
    fn fire_due(&mut self, now: Instant, out: &mut Vec<u64>) {
        while let Some(entry) = self.entries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            out.push(entry.remove());
        }
    }
    fn held(&self) -> usize {
        self.entries.len()
    }
}
// ANCHOR_END: btree

// ANCHOR: heap
/// A slab of live timers and a min-heap of (deadline, sequence, slab key) with lazy deletion.
#[derive(Default)]
struct HeapTimers {
    /// Live timers: (sequence number, value). A heap entry whose slot is empty, or holds another
    /// sequence number (the slot was reused), is a cancelled timer.
    live: Slab<(u64, u64)>,
    /// Every timer not yet popped, cancelled ones included, nearest on top.
    heap: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    /// The next sequence number.
    seq: u64,
}

impl HeapTimers {
    fn is_live(&self, seq: u64, slot: usize) -> bool {
        self.live.get(slot).is_some_and(|(s, _)| *s == seq)
    }
}

impl TimerList for HeapTimers {
    type Key = (u64, usize);
    fn insert(&mut self, deadline: Instant, value: u64) -> Self::Key {
        let seq = self.seq;
        self.seq += 1;
        let slot = self.live.insert((seq, value));
        self.heap.push(Reverse((deadline, seq, slot)));
        (seq, slot)
    }
    fn refresh(&mut self, (seq, slot): Self::Key, value: u64) -> bool {
        match self.live.get_mut(slot) {
            Some((s, v)) if *s == seq => {
                *v = value;
                true
            }
            _ => false,
        }
    }
    fn remove(&mut self, (seq, slot): Self::Key) -> Option<u64> {
        if !self.is_live(seq, slot) {
            return None;
        }
        let (_, value) = self.live.remove(slot);
        // asyncio's rule: when more than half of the heap is dead, rebuild it from the live.
        if self.heap.len() > 100 && self.live.len() * 2 < self.heap.len() {
            let live = &self.live;
            self.heap
                .retain(|Reverse((_, s, k))| live.get(*k).is_some_and(|(ls, _)| ls == s));
        }
        Some(value)
    }
    fn fire_due(&mut self, now: Instant, out: &mut Vec<u64>) {
        while let Some(Reverse((deadline, seq, slot))) = self.heap.peek().copied() {
            if deadline > now {
                break;
            }
            self.heap.pop();
            if self.is_live(seq, slot) {
                out.push(self.live.remove(slot).1);
            }
        }
    }
    fn held(&self) -> usize {
        self.heap.len()
    }
}
// ANCHOR_END: heap

// ANCHOR: patterns
/// The fetch's pattern: `n` timeouts inserted (deadlines in creation order, 10 s ahead), each
/// refreshed once, then each cancelled. Nanoseconds per timer.
fn timeouts<T: TimerList + Default>(n: usize) -> f64 {
    let mut timers = T::default();
    let base = Instant::now() + Duration::from_secs(10);
    let start = Instant::now();
    let keys: Vec<T::Key> = (0..n)
        .map(|i| timers.insert(base + Duration::from_nanos(i as u64), i as u64))
        .collect();
    for &key in &keys {
        assert!(timers.refresh(key, 7), "a pending timer was not found");
    }
    for &key in &keys {
        black_box(timers.remove(key));
    }
    let elapsed = start.elapsed();
    assert!(timers.held() * 2 <= n.max(200), "cancelled timers piled up");
    elapsed.as_nanos() as f64 / n as f64
}

/// The timers bench's pattern: `n` sleeps, all fired at once, which must come out in deadline
/// order. `scrambled`: deadlines in a fixed shuffled order; otherwise in creation order, as in
/// the bench (`sleep(3 ms + i × 10 ns)`). Nanoseconds per timer.
fn fire_all<T: TimerList + Default>(n: usize, scrambled: bool) -> f64 {
    let mut timers = T::default();
    let base = Instant::now();
    // A fixed permutation of 0..n: i * 7919 mod n visits each value once when n is not a
    // multiple of the prime 7919.
    let step = if !scrambled || n.is_multiple_of(7919) {
        1
    } else {
        7919
    };
    let start = Instant::now();
    for i in 0..n {
        let order = (i * step) % n;
        timers.insert(base + Duration::from_nanos(order as u64), order as u64);
    }
    let mut fired = Vec::with_capacity(n);
    timers.fire_due(base + Duration::from_secs(1), &mut fired);
    let elapsed = start.elapsed();
    assert_eq!(fired.len(), n, "every timer fires");
    assert!(fired.windows(2).all(|w| w[0] < w[1]), "fired out of order");
    elapsed.as_nanos() as f64 / n as f64
}
// ANCHOR_END: patterns

/// The quickest of `rounds` runs of `f`.
fn best(rounds: u32, f: impl Fn() -> f64) -> f64 {
    (0..rounds.max(1))
        .map(|_| f())
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let cli = Cli::parse();
    if cli.timers < 2 {
        eprintln!("exercise_13_2: --timers must be at least 2");
        std::process::exit(2);
    }
    let n = cli.timers;
    println!(
        "{n} timers, quickest of {} rounds, on {}",
        cli.rounds,
        taketurns::workload::machine::describe()
    );
    println!("pattern                                   btree      heap");
    println!(
        "timeouts (insert, refresh, cancel)   {:>7.1} ns {:>7.1} ns  per timer",
        best(cli.rounds, || timeouts::<BTreeTimers>(n)),
        best(cli.rounds, || timeouts::<HeapTimers>(n))
    );
    println!(
        "sleeps, deadlines in creation order  {:>7.1} ns {:>7.1} ns  per timer",
        best(cli.rounds, || fire_all::<BTreeTimers>(n, false)),
        best(cli.rounds, || fire_all::<HeapTimers>(n, false))
    );
    println!(
        "sleeps, deadlines scrambled          {:>7.1} ns {:>7.1} ns  per timer",
        best(cli.rounds, || fire_all::<BTreeTimers>(n, true)),
        best(cli.rounds, || fire_all::<HeapTimers>(n, true))
    );
    println!("in order: yes (checked for both structures)");
}
