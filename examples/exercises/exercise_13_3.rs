//! Chapter 13, exercise 3: measure spawn + await without criterion, and see why criterion
//! reports three numbers.
//!
//! The `spawn_one` bench says one spawn + run + join of a task that returns a number takes about
//! 130 ns here. This program measures the same thing with nothing but `Instant`: `--batches`
//! batches of `--batch-size` spawn+awaits each, inside one `block_on` on a runtime created once,
//! as the bench does. It prints every batch's time per task sorted, then the quickest, the
//! median, the mean and the slowest, and how many batches were "outliers" by criterion's rule
//! (beyond 1.5 interquartile ranges from the quartiles). On a shared machine the slowest batch is
//! often several times the quickest: that spread is why criterion prints an interval and counts
//! outliers instead of one number.
//!
//! asyncio has no cheap equivalent of a spawn; `asyncio.create_task` plus `await` is about
//! microseconds. tokio's `spawn_one` peer is in the bench. Left out: warm-up beyond one batch,
//! and criterion's regression over iteration counts and its bootstrap.

use std::time::Instant;

use clap::Parser;

/// Time spawn+await in batches and print the spread.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    /// How many batches to time.
    #[arg(long, default_value_t = 100)]
    batches: usize,
    /// spawn+awaits per batch.
    #[arg(long, default_value_t = 10_000)]
    batch_size: u32,
}

// ANCHOR: batches
/// Nanoseconds per spawn+await, one figure per batch (the first, a warm-up, is not returned).
fn time_batches(batches: usize, batch_size: u32) -> Vec<f64> {
    let rt = taketurns::Runtime::new().expect("create a runtime");
    rt.block_on(async {
        let mut per_task = Vec::with_capacity(batches);
        for batch in 0..=batches {
            let start = Instant::now();
            for i in 0..u64::from(batch_size) {
                let out = taketurns::spawn(async move { std::hint::black_box(i) }).await;
                std::hint::black_box(out.expect("task completes"));
            }
            let elapsed = start.elapsed();
            if batch > 0 {
                per_task.push(elapsed.as_nanos() as f64 / f64::from(batch_size));
            }
        }
        per_task
    })
}
// ANCHOR_END: batches

/// The value at quantile `q` of sorted `v` (nearest rank).
fn quantile(v: &[f64], q: f64) -> f64 {
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let cli = Cli::parse();
    if cli.batches == 0 || cli.batch_size < 2 {
        eprintln!("exercise_13_3: need --batches ≥ 1 and --batch-size ≥ 2");
        std::process::exit(2);
    }
    let mut v = time_batches(cli.batches, cli.batch_size);
    v.sort_by(f64::total_cmp);
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let (q1, q3) = (quantile(&v, 0.25), quantile(&v, 0.75));
    let iqr = q3 - q1;
    let outliers = v
        .iter()
        .filter(|&&x| x < q1 - 1.5 * iqr || x > q3 + 1.5 * iqr)
        .count();
    println!(
        "{} batches of {} spawn+await on {}",
        v.len(),
        cli.batch_size,
        taketurns::workload::machine::describe()
    );
    let shown: Vec<String> = v.iter().map(|x| format!("{x:.0}")).collect();
    println!("ns per task, sorted: {}", shown.join(" "));
    println!(
        "quickest {:.1} ns, median {:.1} ns, mean {mean:.1} ns, slowest {:.1} ns",
        v[0],
        quantile(&v, 0.5),
        v[v.len() - 1]
    );
    println!(
        "outliers (beyond 1.5 IQR of the quartiles {q1:.1} and {q3:.1} ns): {outliers} of {}",
        v.len()
    );
}
