//! The blocking pool: the helper threads that run `spawn_blocking`'s closures off the loop.
//!
//! A driver like the reactor and the timer list: it takes work (a boxed closure), does it on its
//! own threads, and the closure itself wakes whoever waits (through a waker, the remote path). It
//! knows nothing of tasks. The pool is [`crate::threaded`]'s, with other sizes: started lazily,
//! bounded, and its idle threads exit; the `blocking` module says why, and what asyncio and tokio
//! do instead.

use std::cell::OnceCell;
use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use crate::threaded::{Job, Limits, Pool, Queued};

/// The most helper threads one runtime's blocking pool runs at once. Jobs beyond it wait in the
/// pool's queue, oldest first. (tokio: 512; asyncio's default executor: `min(32, cpus + 4)`.)
pub const MAX_BLOCKING_THREADS: usize = 16;

/// How long a helper thread waits for a new job before it exits (tokio's default, 10 s).
pub const BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The name every helper thread gets (Linux shows its first 15 bytes, `taketurns-block`, in
/// `/proc/self/task/*/comm`, `top -H` and debuggers).
pub const BLOCKING_THREAD_NAME: &str = "taketurns-blocking";

/// The runtime's blocking pool, created on first use. Owned by the runtime's `Core`; dropping it
/// (with the runtime) tells every helper thread to exit.
#[derive(Default)]
pub(crate) struct BlockingPool {
    /// The helper threads and their queue, once the first `spawn_blocking` has asked for them.
    pool: OnceCell<Arc<Pool>>,
}

impl BlockingPool {
    // ANCHOR: blocking_limits
    /// Queue `job` for a helper thread, starting one if none is idle and the cap allows.
    ///
    /// # Errors
    /// If no helper thread exists and the kernel refuses to start one.
    pub(crate) fn submit(&self, job: Job) -> io::Result<()> {
        self.pool().submit(job)
    }

    /// The pool, created (without threads yet) on first use: the same pool as
    /// [`crate::threaded::ThreadPool`], sized to grow from none to [`MAX_BLOCKING_THREADS`] as
    /// jobs arrive and to shrink again after [`BLOCKING_KEEP_ALIVE`] without work.
    fn pool(&self) -> &Arc<Pool> {
        self.pool.get_or_init(|| {
            Pool::new(Limits {
                min_threads: 0,
                max_threads: MAX_BLOCKING_THREADS,
                keep_alive: BLOCKING_KEEP_ALIVE,
                name: |_| BLOCKING_THREAD_NAME.to_owned(),
            })
        })
    }
    // ANCHOR_END: blocking_limits
}

impl Drop for BlockingPool {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.get() {
            // The tasks waiting on queued jobs are gone with the runtime, so nobody runs them.
            // Running closures finish on their own; nobody waits for them.
            pool.shutdown(Queued::Drop);
        }
    }
}

impl fmt::Debug for BlockingPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingPool")
            .field("started", &self.pool.get().is_some())
            .finish()
    }
}
