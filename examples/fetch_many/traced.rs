//! `--trace FILE` and `--timeline`: after the measured runs, fetch the plan once more on a traced
//! event loop in this process, one task per fetch named `fetch N`, and write its Chrome trace
//! (open it at ui.perfetto.dev) or draw its timeline. That run is not in the table: tracing
//! costs time, and this process is not a fresh one.
//!
//! asyncio's nearest tool is its debug mode (`PYTHONASYNCIODEBUG=1`), which logs slow callbacks
//! but draws nothing; tokio's is tokio-console or `tracing` spans. Chapter 12 explains the
//! timeline and the trace.

use std::io::BufWriter;
use std::path::Path;
use std::rc::Rc;

use taketurns::task::Builder;
use taketurns::workload::{FetchPlan, fetch};

// ANCHOR: traced_fetch
/// Fetch the plan once on a traced event loop in this process, one named task per fetch; write
/// the Chrome trace to `trace` if given, and return the drawn timeline.
pub fn traced_fetch(plan: &FetchPlan, trace: Option<&Path>) -> Result<String, String> {
    let request: Rc<[u8]> = plan
        .request()
        .map_err(|e| format!("cannot build the request: {e}"))?
        .into();
    let rt = taketurns::Runtime::builder()
        .trace(true)
        .build()
        .map_err(|e| format!("cannot create the runtime: {e}"))?;
    let (addr, timeout) = (plan.addr, plan.timeout);
    let failed = rt.block_on(async {
        let fetches: Vec<_> = (1..=plan.count)
            .map(|i| {
                let request = Rc::clone(&request);
                Builder::new()
                    .name(format!("fetch {i}"))
                    .spawn(async move { fetch(addr, &request, timeout).await })
            })
            .collect();
        let mut failed = 0;
        for handle in fetches {
            if !matches!(handle.await, Ok(Ok(_))) {
                failed += 1;
            }
        }
        failed
    });
    let timeline = rt.timeline();
    if let Some(path) = trace {
        let file = std::fs::File::create(path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        timeline
            .write_chrome_trace(BufWriter::new(file))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        eprintln!(
            "fetch_many: traced run: {} fetches ({failed} failed), {} events ({} dropped), \
             Chrome trace written to {} (open it at ui.perfetto.dev)",
            plan.count,
            timeline.events().len(),
            timeline.dropped(),
            path.display()
        );
    }
    Ok(timeline.render_ascii(64))
}
// ANCHOR_END: traced_fetch
