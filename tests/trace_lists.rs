//! The lists export (`taketurns::replay`): replaying the recorded steps gives exactly the lists
//! the runtime's own `Snapshot` reports at the same moments, for yields, channels, joins, timers,
//! sockets, another thread's wake and an abort; a trace that cannot be replayed says why; the
//! book's traces (`book/src/traces/`) are what the examples write today; and every player a
//! chapter embeds carries the file it names inside the page (no request, so it works from disk).

mod support;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use futures::AsyncReadExt;
use futures::AsyncWriteExt;
use futures::channel::oneshot;
use support::run_example;
use taketurns::replay::{ListsTrace, Moment, StepKind, moment};
use taketurns::task::Builder;
use taketurns::{Runtime, yield_now};

type Moments = Rc<RefCell<Vec<(String, Moment)>>>;

/// Note where the program is and what the lists look like (from a task or the block_on future).
fn look(moments: &Moments, label: &str) {
    let now = moment().expect("the runtime is traced");
    moments.borrow_mut().push((label.to_owned(), now));
}

/// Check every moment against the replay, and the whole trace with `check`.
fn assert_replays(rt: &Runtime, moments: &Moments) -> ListsTrace {
    let mut trace = ListsTrace::from_timeline("test", &rt.timeline()).unwrap();
    for (label, m) in moments.borrow().iter() {
        let replayed = trace.replay(m.after).unwrap();
        assert_eq!(replayed, m.lists, "at {label:?}, after {} steps", m.after);
        trace.mark(label.clone(), m);
    }
    trace.check().unwrap();
    assert!(
        moments.borrow().len() > 3,
        "the program looked at the lists"
    );
    trace
}

#[test]
fn replay_equals_snapshot_for_yields_channels_and_joins() {
    let rt = Runtime::builder().trace(true).build().unwrap();
    let moments: Moments = Rc::default();
    let m = moments.clone();
    rt.block_on(async move {
        let (tx, rx) = oneshot::channel::<u32>();
        let m1 = m.clone();
        let a = Builder::new().name("a").spawn(async move {
            for step in 0..3 {
                look(&m1, &format!("a {step}"));
                yield_now().await;
            }
            tx.send(7).unwrap();
        });
        let m2 = m.clone();
        let b = Builder::new().name("b").spawn(async move {
            look(&m2, "b waits");
            let got = rx.await.unwrap();
            look(&m2, "b woken");
            got
        });
        let m3 = m.clone();
        let c = Builder::new().name("c").spawn(async move {
            let m4 = m3.clone();
            let inner = taketurns::spawn(async move { look(&m4, "inner") });
            look(&m3, "c spawned inner");
            inner.await.unwrap();
            look(&m3, "c joined inner");
        });
        let doomed = taketurns::spawn(std::future::pending::<()>());
        look(&m, "main spawned");
        yield_now().await;
        doomed.abort();
        look(&m, "main aborted");
        a.await.unwrap();
        assert_eq!(b.await.unwrap(), 7);
        c.await.unwrap();
        look(&m, "main end");
    });
    assert_replays(&rt, &moments);
}

#[test]
fn replay_equals_snapshot_with_timers_sockets_and_another_thread() {
    let rt = Runtime::builder().trace(true).build().unwrap();
    let moments: Moments = Rc::default();
    let m = moments.clone();
    rt.block_on(async move {
        let m1 = m.clone();
        let sleeper = Builder::new().name("sleeper").spawn(async move {
            taketurns::time::sleep(Duration::from_millis(5)).await;
            look(&m1, "sleeper woke");
        });
        let listener = taketurns::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let m2 = m.clone();
        let server = Builder::new().name("server").spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            look(&m2, "server accepted");
            let mut buf = [0u8; 4];
            stream.read_exact(&mut buf).await.unwrap();
            look(&m2, "server read");
            buf
        });
        let m3 = m.clone();
        let client = Builder::new().name("client").spawn(async move {
            let mut stream = taketurns::net::TcpStream::connect(addr).await.unwrap();
            look(&m3, "client connected");
            taketurns::time::sleep(Duration::from_millis(2)).await;
            stream.write_all(b"ping").await.unwrap();
        });
        let (tx, rx) = oneshot::channel::<()>();
        let m4 = m.clone();
        let remote = Builder::new().name("remote").spawn(async move {
            rx.await.unwrap();
            look(&m4, "remote woken");
        });
        let thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1));
            tx.send(()).unwrap();
        });
        look(&m, "main spawned all");
        sleeper.await.unwrap();
        assert_eq!(&server.await.unwrap(), b"ping");
        client.await.unwrap();
        remote.await.unwrap();
        thread.join().unwrap();
        look(&m, "main end");
    });
    let trace = assert_replays(&rt, &moments);
    let has = |f: &dyn Fn(&StepKind) -> bool| trace.steps.iter().any(|s| f(&s.what));
    assert!(has(&|k| matches!(k, StepKind::TimersFired { .. })));
    assert!(has(
        &|k| matches!(k, StepKind::EventsReturned { sockets, .. } if *sockets > 0)
    ));
    assert!(has(
        &|k| matches!(k, StepKind::EventsCheck { timeout_us, .. } if *timeout_us != Some(0))
    ));
    assert!(has(
        &|k| matches!(k, StepKind::Wake { source, .. } if source == "a timer")
    ));
    assert!(has(
        &|k| matches!(k, StepKind::PollEnd { waits_for: Some(w), .. } if w.starts_with("socket"))
    ));
}

#[test]
fn json_round_trip_keeps_every_step_and_mark() {
    let rt = Runtime::builder().trace(true).build().unwrap();
    let moments: Moments = Rc::default();
    let m = moments.clone();
    rt.block_on(async move {
        for i in 0..3 {
            let m = m.clone();
            taketurns::spawn(async move {
                look(&m, &format!("task {i} \"quoted\""));
                yield_now().await;
            });
        }
        look(&m, "main");
        yield_now().await;
        yield_now().await;
        look(&m, "main again");
    });
    let trace = assert_replays(&rt, &moments);
    let text = trace.to_json();
    let back = read(&text).unwrap();
    assert_eq!(back, trace);
    back.check().unwrap();
}

#[test]
fn a_full_buffer_is_refused_with_the_setting_to_change() {
    let rt = Runtime::builder()
        .trace(true)
        .trace_capacity(4)
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..5 {
            taketurns::spawn(async {});
        }
        yield_now().await;
    });
    let err = ListsTrace::from_timeline("test", &rt.timeline()).unwrap_err();
    assert!(err.to_string().contains("trace_capacity"), "{err}");
}

#[test]
fn an_untraced_runtime_has_no_moment_and_no_export() {
    let rt = Runtime::new().unwrap();
    assert!(rt.block_on(async { moment() }).is_none());
    let err = ListsTrace::from_timeline("test", &rt.timeline()).unwrap_err();
    assert!(err.to_string().contains(".trace(true)"), "{err}");
}

#[test]
fn another_format_or_version_is_refused_and_an_edited_step_is_caught() {
    let err = read(r#"{"format": "taketurns-lists", "version": 99}"#).unwrap_err();
    assert!(err.to_string().contains("version 2"), "{err}");
    let err = read("not json").unwrap_err();
    assert!(err.to_string().contains("not JSON"), "{err}");

    let rt = Runtime::builder().trace(true).build().unwrap();
    rt.block_on(async {
        taketurns::spawn(async {}).await.unwrap();
    });
    let mut trace = ListsTrace::from_timeline("test", &rt.timeline()).unwrap();
    trace.check().unwrap();
    // Drop the spawn: the poll that follows now names a task the replay never saw.
    let spawn = trace
        .steps
        .iter()
        .position(|s| matches!(s.what, StepKind::Spawn { .. }))
        .unwrap();
    trace.steps.remove(spawn);
    let err = trace.check().unwrap_err();
    assert!(err.to_string().contains("never spawned"), "{err}");
}

/// Run `example` with `--trace-lists` into a fresh temporary file; its trace and stdout.
fn regenerate(example: &str) -> (ListsTrace, String) {
    let dir = std::env::temp_dir().join(format!("taketurns-trace-lists-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{example}.json"));
    let file_arg = file
        .to_str()
        .expect("the temporary directory's path is UTF-8");
    let out = run_example::succeeded(
        run_example::run(example, &["--trace-lists", file_arg]),
        &format!("{example} --trace-lists"),
    );
    let trace = read(&std::fs::read_to_string(&file).unwrap()).unwrap();
    std::fs::remove_file(&file).unwrap();
    trace.check().unwrap();
    (trace, String::from_utf8(out.stdout).unwrap())
}

/// The committed trace the book embeds.
fn committed(example: &str) -> ListsTrace {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("book/src/traces")
        .join(format!("{example}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: regenerate it with `cargo run --example {example} -- --trace-lists {}`",
            path.display(),
            path.display()
        )
    });
    let trace = read(&text).unwrap();
    trace.check().unwrap();
    trace
}

/// The steps without their times (which differ from run to run).
fn untimed(trace: &ListsTrace) -> Vec<StepKind> {
    trace.steps.iter().map(|s| s.what.clone()).collect()
}

#[test]
fn hello_trace_is_the_committed_one_and_matches_what_hello_prints() {
    let (fresh, stdout) = regenerate("hello");
    let book = committed("hello");
    assert_eq!(
        untimed(&fresh),
        untimed(&book),
        "book/src/traces/hello.json is out of date: regenerate it with \
         `cargo run --example hello -- --trace-lists book/src/traces/hello.json`"
    );
    assert_eq!(fresh.marks, book.marks);
    assert_eq!(fresh.tasks, book.tasks);
    // Every snapshot line hello printed is the Display of the mark taken at that moment.
    let printed: Vec<&str> = stdout
        .lines()
        .filter_map(|line| line.find("ready [").map(|at| line[..at].trim_end()))
        .collect();
    assert_eq!(printed.len(), book.marks.len(), "{stdout}");
    for mark in &book.marks {
        let shown = mark.lists.to_string();
        assert!(
            stdout.lines().any(|line| line.ends_with(&shown)),
            "hello printed no line ending in {shown:?} (mark {:?}):\n{stdout}",
            mark.label
        );
    }
}

#[test]
fn roast_dinner_and_ping_pong_traces_replay_and_the_committed_ones_too() {
    for example in ["roast_dinner", "ping_pong"] {
        let (fresh, _) = regenerate(example);
        let book = committed(example);
        assert_eq!(fresh.program, book.program);
        assert_eq!(
            fresh.tasks, book.tasks,
            "{example}: the tasks changed: regenerate"
        );
        assert!(!fresh.steps.is_empty());
    }
}

/// Read a lists trace as a program would: the header first (so another version is refused with
/// the message that says what to do), then the whole file, with serde_json.
fn read(text: &str) -> Result<ListsTrace, String> {
    let header: taketurns::replay::Header =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    header.check().map_err(|e| e.to_string())?;
    serde_json::from_str(text).map_err(|e| format!("a bad field: {e}"))
}

/// The book's pages (`book/src/*.md`) and their text.
fn book_pages() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut pages: Vec<(String, String)> = std::fs::read_dir(&src)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    pages.sort();
    pages
}

/// What is wrong with the players `page` embeds: each `<div class="tt-player"
/// data-trace="traces/NAME.json">` must be followed by a blank line and the trace itself,
/// included into a `<script type="application/json" class="tt-trace">`, so the player reads it from the page
/// instead of fetching it (which browsers refuse from `file://`). The number of players and the
/// problems, each naming the line.
fn embed_problems(name: &str, text: &str) -> (usize, Vec<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let (mut players, mut problems) = (0, Vec::new());
    for (n, line) in lines.iter().enumerate() {
        let Some(rest) = line.split("<div class=\"tt-player\" data-trace=\"").nth(1) else {
            continue;
        };
        players += 1;
        let file = rest.split('"').next().unwrap_or_default();
        // The blank line makes the <script> an HTML block of its own, which Markdown ends only
        // at `</script>`: a blank line inside the trace cannot end it early.
        let want = [
            String::new(),
            "<script type=\"application/json\" class=\"tt-trace\">".to_owned(),
            format!("{{{{#include {file}}}}}"),
            "</script>".to_owned(),
        ];
        let got: Vec<&str> = lines.iter().skip(n + 1).take(4).map(|l| l.trim()).collect();
        if got != want {
            problems.push(format!(
                "{name}:{}: the player for {file} must be followed by these four lines, which \
                 embed the trace in the page (book/player/EMBED.md):\n{}\nfound:\n{}",
                n + 1,
                want.join("\n"),
                got.join("\n")
            ));
        }
        if !Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("book/src")
            .join(file)
            .is_file()
        {
            problems.push(format!("{name}:{}: no file book/src/{file}", n + 1));
        }
    }
    (players, problems)
}

#[test]
fn every_player_embeds_the_trace_it_names() {
    let mut players = 0;
    let mut problems = Vec::new();
    for (name, text) in book_pages() {
        let (found, wrong) = embed_problems(&name, &text);
        players += found;
        problems.extend(wrong);
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    assert!(players >= 4, "the chapters embed {players} players");
    // The rule catches a player that still fetches its trace.
    let old = "<div class=\"tt-player\" data-trace=\"traces/hello.json\">\n<p>words</p>\n</div>\n";
    let (found, wrong) = embed_problems("old.md", old);
    assert_eq!((found, wrong.len()), (1, 1), "{wrong:?}");
}

#[test]
fn every_trace_can_sit_inside_a_script_element() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src/traces");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let name = entry.path().display().to_string();
        files += 1;
        // `</` could close the <script> (and the Markdown block around it), and `<!--` changes
        // how the browser reads the rest of it.
        assert!(!text.contains("</"), "{name} holds `</`");
        assert!(!text.contains("<!--"), "{name} holds `<!--`");
    }
    assert!(files >= 3, "{files} traces in {}", dir.display());
}
