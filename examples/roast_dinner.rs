//! The roast dinner: four dishes cooked one after another, then all at once by one cook.
//!
//! Each dish is mostly waiting (the oven, the pan, the kettle): a timer, not work. Cooked one
//! after another, the dinner takes the sum of the waits. Cooked as four tasks on one thread, the
//! waits overlap and the dinner takes as long as the longest dish: concurrency without a single
//! extra thread, because a waiting task sits in the waiting list while the others run.
//!
//! ```console
//! $ cargo run --example roast_dinner               # scaled: one kitchen minute = 7 ms
//! $ cargo run --example roast_dinner -- --real     # real minutes (about 1 h 30 min)
//! $ cargo run --example roast_dinner -- --timeline # draw who ran when (chapter 12)
//! ```
//!
//! With `--timeline` the dinner is cooked three more times on traced runtimes, each dish a named
//! task, and each run is drawn: the four tasks one after another, all at once, and all at once
//! behind a task that blocks the thread.
//!
//! With `--trace-lists FILE` the all-at-once dinner is cooked once more on a traced runtime and
//! written as JSON for the book's player (`book/player/`): four tasks moving between the ready
//! queue and the waiting list as their timers fire.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use taketurns::Runtime;
use taketurns::task::Builder;
use taketurns::time::sleep;

/// Cook a roast dinner on one thread: one dish after another, then all dishes at once.
#[derive(Parser)]
struct Cli {
    /// Cook in real minutes instead of 7 ms per kitchen minute.
    #[arg(long)]
    real: bool,
    /// Instead, cook three traced dinners (one after another, all at once, all at once behind
    /// a blocking task) and draw each one's timeline.
    #[arg(long)]
    timeline: bool,
    /// Columns of the timeline drawings.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(10..=1000))]
    width: u16,
    /// Instead, cook the all-at-once dinner traced and write its lists trace (JSON, for the
    /// book's player) to FILE.
    #[arg(long, value_name = "FILE")]
    trace_lists: Option<PathBuf>,
}

// ANCHOR: dishes
/// A dish: a name and its steps, each step a number of kitchen minutes spent waiting.
struct Dish {
    name: &'static str,
    steps: &'static [(&'static str, u64)],
}

const DINNER: [Dish; 4] = [
    Dish {
        name: "chicken",
        steps: &[("season", 5), ("roast", 80), ("rest", 10)],
    },
    Dish {
        name: "potatoes",
        steps: &[("peel", 10), ("parboil", 10), ("roast", 50)],
    },
    Dish {
        name: "broccoli",
        steps: &[("chop", 5), ("steam", 8)],
    },
    Dish {
        name: "gravy",
        steps: &[("stock", 5), ("simmer", 15), ("thicken", 5)],
    },
];

/// Cook one dish: each step is a wait on a timer (the oven does the work, not the cook).
async fn cook(dish: &Dish, minute: Duration, start: Instant) {
    for (step, minutes) in dish.steps {
        sleep(minute * *minutes as u32).await;
        let at = start.elapsed().as_secs_f64() / minute.as_secs_f64();
        println!("  {at:5.0} min  {:<9} {step}", dish.name);
    }
}
// ANCHOR_END: dishes

fn main() {
    let cli = Cli::parse();
    let minute = if cli.real {
        Duration::from_secs(60)
    } else {
        Duration::from_millis(7)
    };
    if cli.timeline {
        timelines(minute, cli.width as usize);
        return;
    }
    if let Some(path) = &cli.trace_lists {
        if let Err(e) = trace_lists(minute, path) {
            eprintln!("roast_dinner: {e}");
            std::process::exit(1);
        }
        return;
    }

    // ANCHOR: main
    let rt = taketurns::Runtime::new().expect("create the runtime");
    println!("One dish after another:");
    let one_by_one = rt.block_on(async {
        let start = Instant::now();
        for dish in &DINNER {
            cook(dish, minute, start).await;
        }
        start.elapsed()
    });

    println!("All dishes at once, one cook (four tasks, one thread):");
    let together = rt.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = DINNER
            .iter()
            .map(|dish| taketurns::spawn(cook(dish, minute, start)))
            .collect();
        for task in tasks {
            task.await.expect("a dish failed");
        }
        start.elapsed()
    });
    // ANCHOR_END: main

    let kitchen = |d: Duration| d.as_secs_f64() / minute.as_secs_f64();
    println!(
        "\none after another: {:6.0} kitchen minutes ({:?})",
        kitchen(one_by_one),
        one_by_one
    );
    println!(
        "all at once:       {:6.0} kitchen minutes ({:?})",
        kitchen(together),
        together
    );
    println!(
        "the longest dish alone is {} minutes; the sum of all waits is {} minutes",
        DINNER.iter().map(total).max().unwrap(),
        DINNER.iter().map(total).sum::<u64>()
    );
    let stats = rt.stats();
    println!(
        "threads used: 1; timers fired: {}; times the loop slept: {}",
        stats.timers_fired, stats.sleeps
    );
}

fn total(dish: &Dish) -> u64 {
    dish.steps.iter().map(|(_, m)| m).sum()
}

// ANCHOR: steps
/// The same dish as `cook`, without printing (the timeline shows the steps).
async fn steps(dish: &'static Dish, minute: Duration) {
    for (_, minutes) in dish.steps {
        sleep(minute * *minutes as u32).await;
    }
}
// ANCHOR_END: steps

// ANCHOR: timelines
/// Cook three traced dinners and draw each one.
fn timelines(minute: Duration, width: usize) {
    let traced = || {
        Runtime::builder()
            .trace(true)
            .build()
            .expect("create the runtime")
    };

    println!("One dish after another (each dish a task, awaited before the next is spawned):\n");
    let rt = traced();
    rt.block_on(async {
        for dish in &DINNER {
            let task = Builder::new().name(dish.name).spawn(steps(dish, minute));
            task.await.expect("a dish failed");
        }
    });
    println!("{}", rt.timeline().render_ascii(width));

    println!("All dishes at once (four tasks spawned together):\n");
    let rt = traced();
    rt.block_on(async {
        let tasks: Vec<_> = DINNER
            .iter()
            .map(|dish| Builder::new().name(dish.name).spawn(steps(dish, minute)))
            .collect();
        for task in tasks {
            task.await.expect("a dish failed");
        }
    });
    println!("{}", rt.timeline().render_ascii(width));
    print!("{}", rt.task_stats());

    println!("\nAll at once, behind a phone call that blocks the cook for 20 minutes:\n");
    let rt = traced();
    rt.block_on(async {
        // std::thread::sleep, not time::sleep: the task keeps the thread, and the loop with it.
        let call = Builder::new()
            .name("phone call")
            .spawn(async move { std::thread::sleep(minute * 20) });
        let tasks: Vec<_> = DINNER
            .iter()
            .map(|dish| Builder::new().name(dish.name).spawn(steps(dish, minute)))
            .collect();
        call.await.expect("the call failed");
        for task in tasks {
            task.await.expect("a dish failed");
        }
    });
    println!("{}", rt.timeline().render_ascii(width));
    print!("{}", rt.task_stats());
}
// ANCHOR_END: timelines

/// Cook the four dishes at once on a traced runtime, each a named task, and write the run's lists
/// trace to `path`.
fn trace_lists(minute: Duration, path: &PathBuf) -> Result<(), String> {
    let rt = Runtime::builder()
        .trace(true)
        .build()
        .map_err(|e| format!("cannot create the runtime: {e}"))?;
    rt.block_on(async {
        let tasks: Vec<_> = DINNER
            .iter()
            .map(|dish| Builder::new().name(dish.name).spawn(steps(dish, minute)))
            .collect();
        for task in tasks {
            task.await.expect("a dish failed");
        }
    });
    let trace = taketurns::replay::ListsTrace::from_timeline("roast_dinner", &rt.timeline())
        .map_err(|e| e.to_string())?;
    trace.check().map_err(|e| e.to_string())?;
    std::fs::write(path, trace.to_json())
        .map_err(|e| format!("cannot write the lists trace to {}: {e}", path.display()))?;
    eprintln!(
        "wrote the lists trace ({} steps) to {}",
        trace.steps.len(),
        path.display()
    );
    Ok(())
}
