//! Exercise 8.1, "A heap with lazy deletion": what do a million cancelled timeouts leave behind in
//! a `BTreeMap` (taketurns), in a binary heap with lazy deletion, and in a heap with asyncio's
//! rebuild rule?
//!
//! The exercise asks you to replace the `BTreeMap` of `src/timers.rs`. A solution file cannot
//! patch the library, so this one builds a **model**: the timer list alone, three ways, behind one
//! small trait (`insert`, `remove`, `next_deadline`, `fire_due`, `len`). `btree` is taketurns'
//! list, rewritten here; `heap` is a `BinaryHeap<Reverse<(deadline, seq)>>` plus a `HashMap` from
//! sequence number to waker, where cancelling removes only the waker and a heap entry without one
//! is skipped when it reaches the top; `heap-rebuild` adds asyncio's rule (rebuild when there are
//! more than 100 entries and more than half are cancelled). A fourth variant, `taketurns`, runs the
//! real thing: a million `time::timeout`s, each polled once and dropped. Each variant runs in its
//! own child process so that its peak memory (`VmHWM`) is its own. The model has no runtime
//! around it: no loop asks for the next deadline between the cancels, so dead entries leave the
//! plain heap only by a rebuild. asyncio's `_scheduled` is such a heap (with the rebuild rule in
//! `_run_once`); tokio uses a hierarchical timer wheel, where cancelling unlinks the entry at once.
//!
//! ```console
//! $ cargo run --release --example exercise_08_1 -- --timers 1000000
//! ```

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::process::Command;
use std::task::Waker;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};

/// Create and cancel many timers in three timer lists and in taketurns; print what is left and
/// the peak memory of each.
#[derive(Parser, Debug)]
#[command(name = "exercise_08_1")]
struct Args {
    /// How many timers to create and cancel.
    #[arg(long, default_value_t = 1_000_000)]
    timers: u64,
    /// Run one variant in this process (the default runs each in a child process).
    #[arg(long, value_enum)]
    variant: Option<Variant>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Variant {
    Btree,
    Heap,
    HeapRebuild,
    Taketurns,
}

// ANCHOR: timer_list
/// What the loop needs from a timer list.
trait TimerList {
    /// Add a timer; the returned key cancels it.
    fn insert(&mut self, deadline: Instant, waker: Waker) -> Key;
    /// Cancel a timer.
    fn remove(&mut self, key: Key);
    /// The nearest live deadline.
    fn next_deadline(&mut self) -> Option<Instant>;
    /// Take the wakers of every timer due at `now`.
    fn fire_due(&mut self, now: Instant) -> Vec<Waker>;
    /// Entries held, cancelled ones included.
    fn len(&self) -> usize;
    /// Bytes the entries' storage holds (capacity, not length), a lower bound on its memory.
    fn bytes(&self) -> usize;
}

/// A timer's key: its deadline, and a sequence number that keeps equal deadlines apart.
type Key = (Instant, u64);

/// taketurns' list: ordered by key, a cancel removes the entry at once.
#[derive(Default)]
struct BTree {
    entries: BTreeMap<Key, Waker>,
    next_seq: u64,
}

impl TimerList for BTree {
    fn insert(&mut self, deadline: Instant, waker: Waker) -> Key {
        let key = (deadline, self.next_seq);
        self.next_seq += 1;
        self.entries.insert(key, waker);
        key
    }
    fn remove(&mut self, key: Key) {
        self.entries.remove(&key);
    }
    fn next_deadline(&mut self) -> Option<Instant> {
        self.entries.first_key_value().map(|(key, _)| key.0)
    }
    fn fire_due(&mut self, now: Instant) -> Vec<Waker> {
        let mut due = Vec::new();
        while let Some(entry) = self.entries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            due.push(entry.remove());
        }
        due
    }
    fn len(&self) -> usize {
        self.entries.len()
    }
    fn bytes(&self) -> usize {
        // A B-tree node holds up to 11 entries; count the entries only.
        self.entries.len() * (size_of::<Key>() + size_of::<Waker>())
    }
}

/// A binary heap with lazy deletion: a cancel forgets the waker, the entry stays in the heap.
#[derive(Default)]
struct Heap {
    /// Every entry not yet popped, cancelled ones included, nearest deadline on top.
    heap: BinaryHeap<Reverse<Key>>,
    /// The wakers of live timers. A heap entry whose sequence number is not here is cancelled.
    live: HashMap<u64, Waker>,
    next_seq: u64,
    /// asyncio's rule: rebuild when more than 100 entries and more than half are cancelled.
    rebuild: bool,
}

impl TimerList for Heap {
    fn insert(&mut self, deadline: Instant, waker: Waker) -> Key {
        let key = (deadline, self.next_seq);
        self.next_seq += 1;
        self.heap.push(Reverse(key));
        self.live.insert(key.1, waker);
        key
    }
    fn remove(&mut self, key: Key) {
        self.live.remove(&key.1);
        let cancelled = self.heap.len() - self.live.len();
        if self.rebuild && self.heap.len() > 100 && cancelled * 2 > self.heap.len() {
            let live = &self.live;
            self.heap.retain(|Reverse(k)| live.contains_key(&k.1));
        }
    }
    fn next_deadline(&mut self) -> Option<Instant> {
        // Pop dead entries off the top first: this is where lazy deletion deletes.
        while let Some(Reverse(top)) = self.heap.peek() {
            if self.live.contains_key(&top.1) {
                return Some(top.0);
            }
            self.heap.pop();
        }
        None
    }
    fn fire_due(&mut self, now: Instant) -> Vec<Waker> {
        let mut due = Vec::new();
        while let Some(Reverse(top)) = self.heap.peek() {
            if top.0 > now {
                break;
            }
            let seq = top.1;
            self.heap.pop();
            if let Some(waker) = self.live.remove(&seq) {
                due.push(waker);
            }
        }
        due
    }
    fn len(&self) -> usize {
        self.heap.len()
    }
    fn bytes(&self) -> usize {
        self.heap.capacity() * size_of::<Reverse<Key>>()
            + self.live.capacity() * (size_of::<u64>() + size_of::<Waker>())
    }
}
// ANCHOR_END: timer_list

// ANCHOR: churn
/// Insert and cancel `n` timers a minute away, one after another, as a million timeouts that
/// each finish first would; then check three live timers still fire, in order.
fn churn(list: &mut dyn TimerList, n: u64) -> (usize, usize, usize) {
    let now = Instant::now();
    for _ in 0..n {
        let key = list.insert(now + Duration::from_secs(60), Waker::noop().clone());
        list.remove(key);
    }
    let (left, bytes) = (list.len(), list.bytes());
    for secs in [3, 1, 2] {
        list.insert(now + Duration::from_secs(secs), Waker::noop().clone());
    }
    assert_eq!(list.next_deadline(), Some(now + Duration::from_secs(1)));
    let fired = list.fire_due(now + Duration::from_secs(2)).len();
    assert_eq!(list.next_deadline(), Some(now + Duration::from_secs(3)));
    (
        left,
        bytes,
        fired + list.fire_due(now + Duration::from_secs(3)).len(),
    )
}
// ANCHOR_END: churn

// ANCHOR: taketurns
/// The real thing: `n` timeouts on taketurns, each polled once (so its timer is registered) and
/// dropped. Returns what `timers_pending` says afterwards.
fn on_taketurns(n: u64) -> std::io::Result<usize> {
    let rt = taketurns::Runtime::new()?;
    rt.block_on(async {
        for _ in 0..n {
            let mut t = Box::pin(taketurns::time::timeout(
                Duration::from_secs(60),
                std::future::pending::<()>(),
            ));
            assert!(futures::poll!(t.as_mut()).is_pending());
        }
    });
    Ok(rt.stats().timers_pending)
}
// ANCHOR_END: taketurns

fn run_one(variant: Variant, n: u64) -> std::io::Result<()> {
    let start = Instant::now();
    let (left, bytes, fired) = match variant {
        Variant::Btree => churn(&mut BTree::default(), n),
        Variant::Heap => churn(&mut Heap::default(), n),
        Variant::HeapRebuild => churn(
            &mut Heap {
                rebuild: true,
                ..Heap::default()
            },
            n,
        ),
        Variant::Taketurns => (on_taketurns(n)?, 0, 0),
    };
    let took = start.elapsed();
    let hwm = taketurns::workload::machine::status_kib("VmHWM:").unwrap_or(0);
    let name = variant.to_possible_value().expect("no skipped variants");
    // The taketurns run has no storage figure or live-timer check of its own.
    let model_only = match variant {
        Variant::Taketurns => String::new(),
        _ => format!(" storage_bytes={bytes} live_fired={fired}"),
    };
    println!(
        "{:<12} timers={n} entries_left={left}{model_only} peak_rss_kib={hwm} time={took:.1?}",
        name.get_name()
    );
    Ok(())
}

fn main() {
    let args = Args::parse();
    if let Some(variant) = args.variant {
        if let Err(e) = run_one(variant, args.timers) {
            eprintln!("exercise_08_1: could not create a taketurns runtime: {e}");
            std::process::exit(1);
        }
        return;
    }
    let me = std::env::current_exe().expect("a program knows its own path");
    for variant in ["btree", "heap", "heap-rebuild", "taketurns"] {
        let status = Command::new(&me)
            .args(["--variant", variant, "--timers", &args.timers.to_string()])
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("exercise_08_1: the {variant} run failed ({s})");
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("exercise_08_1: could not start the {variant} run: {e}");
                std::process::exit(1);
            }
        }
    }
}
