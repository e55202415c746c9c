#!/usr/bin/env python3
"""The Python side of fetch_many: the same plan, fetched by Python's asyncio and threads.

The questions chapter 1 asks of Python (why asyncio, when threads exist?) measured on the same
workload as the Rust clients: COUNT fetches of one URL from the delay server, each a new
connection that sends `GET PATH HTTP/1.1` with `Connection: close` and reads the whole answer.
Four runners, each the usual Python way to wait:

    sequential       one fetch after another (a `for` loop)
    thread-per-task  a ThreadPoolExecutor with one worker per fetch (a thread each)
    thread-pool      a ThreadPoolExecutor with --pool-size workers (64)
    asyncio          asyncio.gather over one coroutine per fetch, asyncio.open_connection

Each runner prints one JSON line with the fields of fetch_many's reports: wall time, CPU time
from resource.getrusage (user and system, the whole process), and ru_maxrss before and after
the run, so CPU per fetch and peak RSS growth per fetch come out the same way as in Rust. Peak
RSS never goes down inside a process, so `--runner all` runs each runner in a process of its
own, as `fetch_many --python` does.

    $ cargo run --release --example delay_server &        # listens on 127.0.0.1:8080
    $ python3 examples/fetch_many.py --addr 127.0.0.1:8080 --count 1000 --delay-ms 50 --size 1024

--concurrency N caps the fetches in flight (an asyncio.Semaphore; no more threads than N), as
fetch_many's flag of the same name does. Standard library only. Left out: keep-alive, chunked
bodies and redirects (the delay server sends none), retries.
"""

import argparse
import asyncio
import json
import resource
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

RUNNERS = ["sequential", "thread-per-task", "thread-pool", "asyncio"]
# The failure kinds fetch_many counts, in its order.
KINDS = ["refused", "reset", "timeout", "malformed", "short_body", "status", "other"]
READ_SIZE = 4096


class FetchError(Exception):
    """One failed fetch: `kind` is one of KINDS, the message says what happened."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


class Response:
    """A response read chunk by chunk: the head is kept until parsed, the body only counted."""

    def __init__(self):
        self.head = b""
        self.expected = None  # Content-Length, or None: the body ends when the server closes
        self.body = None  # body bytes so far, once the head is parsed

    def feed(self, chunk):
        """Take one chunk; True once the whole response has arrived."""
        if self.body is not None:
            self.body += len(chunk)
        else:
            self.head += chunk
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                if len(self.head) > 65536:
                    raise FetchError("malformed", "the response head is longer than 64 KiB")
                return False
            self.body = len(self.head) - end - 4
            self.parse_head(self.head[:end].decode("latin-1"))
            self.head = b""
        return self.expected is not None and self.body >= self.expected

    def parse_head(self, head):
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise FetchError("malformed", f"not an HTTP/1.x status line: {lines[0][:40]!r}")
        status = int(parts[1])
        if not 200 <= status < 300:
            raise FetchError("status", f"the server answered {status}, not 2xx")
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                if not value.strip().isdigit():
                    raise FetchError("malformed", f"Content-Length is not a number: {value!r}")
                self.expected = int(value)
        if status == 204:
            self.expected = 0

    def end(self):
        """The server closed: the body's length, or why the response is not whole."""
        if self.body is None:
            raise FetchError("malformed", "the server closed before a whole response head")
        if self.expected is not None and self.body < self.expected:
            raise FetchError(
                "short_body",
                f"Content-Length promised {self.expected} bytes, the connection closed after "
                f"{self.body}",
            )
        return self.expected if self.expected is not None else self.body


def classify(error, timeout):
    """An exception from a fetch as a FetchError of the same kinds as fetch_many's."""
    if isinstance(error, FetchError):
        return error
    if isinstance(error, ConnectionRefusedError):
        return FetchError("refused", "connection refused: nothing listens at that address")
    if isinstance(error, (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return FetchError("reset", "connection reset by the server before the response was complete")
    if isinstance(error, (TimeoutError, socket.timeout, asyncio.TimeoutError)):
        return FetchError("timeout", f"no complete response within {timeout} s")
    return FetchError("other", f"{type(error).__name__}: {error}")


# ANCHOR: fetch_blocking
def fetch_blocking(addr, request, timeout):
    """One fetch on a blocking socket: the body's length, or a FetchError."""
    deadline = time.monotonic() + timeout
    try:
        with socket.create_connection(addr, timeout=timeout) as sock:
            sock.sendall(request)
            response = Response()
            while True:
                sock.settimeout(max(deadline - time.monotonic(), 0.001))
                chunk = sock.recv(READ_SIZE)
                if not chunk:
                    return response.end()
                if response.feed(chunk):
                    return response.body
    except Exception as error:  # every failure is counted, never fatal
        raise classify(error, timeout) from None
# ANCHOR_END: fetch_blocking


# ANCHOR: fetch_async
async def fetch_async(addr, request, timeout):
    """One fetch as a coroutine: the same steps with asyncio streams, under one deadline."""

    async def exchange():
        reader, writer = await asyncio.open_connection(*addr)
        try:
            writer.write(request)
            await writer.drain()
            response = Response()
            while True:
                chunk = await reader.read(READ_SIZE)
                if not chunk:
                    return response.end()
                if response.feed(chunk):
                    return response.body
        finally:
            writer.close()

    try:
        return await asyncio.wait_for(exchange(), timeout)
    except Exception as error:
        raise classify(error, timeout) from None
# ANCHOR_END: fetch_async


class Tally:
    """The outcomes of a run, added up like fetch_many's Tally."""

    def __init__(self):
        self.ok = 0
        self.bytes = 0
        self.errors = dict.fromkeys(KINDS, 0)
        self.first_error = None

    def record(self, run_one):
        try:
            self.bytes += run_one()
            self.ok += 1
        except FetchError as error:
            self.errors[error.kind] += 1
            if self.first_error is None:
                self.first_error = str(error)


def run_sequential(plan):
    tally = Tally()
    for _ in range(plan.count):
        tally.record(lambda: fetch_blocking(plan.addr, plan.request, plan.timeout))
    return tally


# ANCHOR: run_threads
def run_threads(plan, workers):
    """Every fetch submitted up front, as executor.map does; the results collected in order."""
    tally = Tally()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(fetch_blocking, plan.addr, plan.request, plan.timeout)
            for _ in range(plan.count)
        ]
        for future in futures:
            tally.record(future.result)
    return tally
# ANCHOR_END: run_threads


# ANCHOR: gather_fetches
async def gather_fetches(plan, limit):
    semaphore = asyncio.Semaphore(limit) if limit else None

    async def one():
        if semaphore is None:
            return await fetch_async(plan.addr, plan.request, plan.timeout)
        async with semaphore:
            return await fetch_async(plan.addr, plan.request, plan.timeout)

    return await asyncio.gather(*(one() for _ in range(plan.count)), return_exceptions=True)
# ANCHOR_END: gather_fetches


def run_asyncio(plan):
    tally = Tally()
    for outcome in asyncio.run(gather_fetches(plan, plan.limit)):
        if isinstance(outcome, BaseException) and not isinstance(outcome, FetchError):
            raise outcome  # a bug, not a failed fetch

        def result(outcome=outcome):
            if isinstance(outcome, FetchError):
                raise outcome
            return outcome

        tally.record(result)
    return tally


def in_flight(plan, runner):
    """Fetches in flight at once, as fetch_many's Client::in_flight counts them."""
    most = {
        "sequential": 1,
        "thread-per-task": plan.count,
        "thread-pool": plan.pool_size,
        "asyncio": plan.count,
    }[runner]
    return min(most, plan.count, plan.limit or plan.count)


def run(plan, runner):
    workers = in_flight(plan, runner)
    if runner == "sequential":
        return run_sequential(plan)
    if runner == "asyncio":
        return run_asyncio(plan)
    return run_threads(plan, workers)


def name(plan, runner):
    if runner == "thread-pool":
        return f"py-thread-pool({min(plan.pool_size, plan.limit or plan.pool_size)})"
    return f"py-{runner}"


def measure(plan, runner):
    """Run one runner between two getrusage readings; its report as a dict."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    tally = run(plan, runner)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    fetches = tally.ok + sum(tally.errors.values())
    user = after.ru_utime - before.ru_utime
    system = after.ru_stime - before.ru_stime
    growth = max(after.ru_maxrss - before.ru_maxrss, 0)  # KiB on Linux
    micros = lambda seconds: round(seconds * 1e6)
    return {
        "client": name(plan, runner),
        "fetches": fetches,
        "ok": tally.ok,
        "bytes": tally.bytes,
        "concurrency": in_flight(plan, runner),
        "errors": tally.errors,
        "first_error": tally.first_error,
        "wall_us": micros(wall),
        "server_delay_us": None if plan.delay_ms is None else plan.delay_ms * 1000,
        "cpu_user_us": micros(user),
        "cpu_system_us": micros(system),
        "cpu_per_fetch_us": round((user + system) * 1e6 / max(fetches, 1), 2),
        "rss_before_kib": before.ru_maxrss,
        "peak_rss_kib": after.ru_maxrss,
        "rss_growth_kib": growth,
        "kib_per_fetch": round(growth / max(fetches, 1), 3),
    }


def raise_fd_limit(needed):
    """Each connection is a file descriptor: raise the soft limit toward the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--addr", required=True, help="the delay server, HOST:PORT")
    parser.add_argument("--count", type=int, default=1000, help="fetches per runner")
    parser.add_argument("--delay-ms", type=int, help="the delay each fetch asks for (50)")
    parser.add_argument("--size", type=int, default=1024, help="the body size asked for")
    parser.add_argument("--path", help="fetch this path instead of /?delay_ms=…&size=…")
    parser.add_argument("--host", help="the Host header (default: --addr)")
    parser.add_argument("--runner", choices=RUNNERS + ["all"], default="all")
    parser.add_argument("--pool-size", type=int, default=64)
    parser.add_argument("--concurrency", type=int, help="at most this many fetches in flight")
    parser.add_argument("--timeout-ms", type=int, default=10_000)
    args = parser.parse_args(argv)
    host, sep, port = args.addr.rpartition(":")
    if not sep or not port.isdigit():
        parser.error(f"--addr must be HOST:PORT, not {args.addr!r}")
    if args.count < 1 or args.pool_size < 1 or (args.concurrency or 1) < 1:
        parser.error("--count, --pool-size and --concurrency must be at least 1")
    args.addr_pair = (host.strip("[]"), int(port))
    return args


class Plan:
    """What every runner is asked to do: the Python twin of fetch_many's FetchPlan."""

    def __init__(self, args):
        self.addr = args.addr_pair
        self.count = args.count
        self.limit = args.concurrency
        self.pool_size = args.pool_size
        self.timeout = args.timeout_ms / 1000
        self.delay_ms = args.delay_ms
        if args.path is None:
            self.delay_ms = 50 if args.delay_ms is None else args.delay_ms
        path = args.path or f"/?delay_ms={self.delay_ms}&size={args.size}"
        host = args.host or args.addr
        self.request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()


def main(argv):
    args = parse_args(argv)
    if args.runner == "all":
        # Each runner in a fresh process: ru_maxrss is a high-water mark for the whole process.
        for runner in RUNNERS:
            subprocess.run([sys.executable, __file__, *child_argv(args), "--runner", runner])
        return 0
    plan = Plan(args)
    raise_fd_limit(in_flight(plan, args.runner) + 64)
    # A report is printed whatever happened to the fetches: failures are counted in it.
    print(json.dumps(measure(plan, args.runner), ensure_ascii=False), flush=True)
    return 0


def child_argv(args):
    """The flags of this run, for a child that runs one runner."""
    argv = ["--addr", args.addr, "--count", str(args.count), "--size", str(args.size)]
    argv += ["--pool-size", str(args.pool_size), "--timeout-ms", str(args.timeout_ms)]
    for flag, value in [
        ("--delay-ms", args.delay_ms),
        ("--path", args.path),
        ("--host", args.host),
        ("--concurrency", args.concurrency),
    ]:
        if value is not None:
            argv += [flag, str(value)]
    return argv


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
