//! Chapter 11's exercises (`examples/exercises/exercise_11_M.rs`), run small: `yield_now` alone
//! does not let timers fire before the loop's event interval, and the blocking pool's cap makes
//! rounds. Lower bounds that follow from how the work is scheduled, never speed.

use crate::output::{millis, run_succeeding};

#[test]
fn exercise_11_1_yield_alone_does_not_fire_timers_but_a_short_event_interval_does() {
    // 20 chunks: fewer than the default event_interval of 61, so with the default the loop never
    // checks its timers during the work; with event_interval 1 it checks after every chunk.
    let out = run_succeeding(
        "exercise_11_1",
        &["--work-ms", "60", "--period-ms", "5", "--chunks", "20"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("chunks"))
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    // chunks, chunk, ms, event_interval, work, ms, worst, ms, during
    let during = |row: &Vec<&str>| -> u64 { row[8].parse().unwrap() };
    assert_eq!(rows.len(), 3, "{stdout}");
    assert_eq!((rows[0][0], rows[0][3]), ("1", "61"), "{stdout}");
    assert_eq!(
        during(&rows[0]),
        0,
        "one chunk: nothing runs during it\n{stdout}"
    );
    assert_eq!((rows[1][0], rows[1][3]), ("20", "61"), "{stdout}");
    assert_eq!(
        during(&rows[1]),
        0,
        "20 yields, but no timer check before 61 polls\n{stdout}"
    );
    assert_eq!((rows[2][0], rows[2][3]), ("20", "1"), "{stdout}");
    let work: f64 = rows[2][4].parse().unwrap();
    if work > 3.0 * 5.0 {
        assert!(
            during(&rows[2]) >= 1,
            "timers checked after every chunk: the heartbeat beats during the work\n{stdout}"
        );
    }
}

#[test]
fn exercise_11_2_the_pool_cap_makes_rounds() {
    let out = run_succeeding("exercise_11_2", &["--jobs", "40", "--ms", "20"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let blocking = millis(&stdout, "spawn_blocking(thread::sleep):");
    let asynchronous = millis(&stdout, "spawn(time::sleep):");
    // 40 jobs, 16 at a time: at least 3 rounds of 20 ms. The timers: at least one round.
    assert!(blocking[0] >= 60.0, "{stdout}");
    assert!(asynchronous[0] >= 20.0, "{stdout}");
    assert!(stdout.contains("(16 helper threads;"), "{stdout}");
}
