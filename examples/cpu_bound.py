"""The same CPU-bound job as examples/cpu_bound.rs, in CPython, run every way Python offers.

    python3 examples/cpu_bound.py            # 20,000,000 numbers, a worker per core, 3 rounds
    python3 examples/cpu_bound.py 5000000 4  # n, workers

Sum of i*i % 1000003 for i in range(n), cut into `workers` chunks, run five ways: one thread,
asyncio tasks, a ThreadPoolExecutor, asyncio.to_thread, and a ProcessPoolExecutor. With the GIL,
the threads take turns; only the processes use more than one core.

`measure` (the program that writes the book's tables) runs two more modes, which print one JSON
object per line instead of a table:

    python3 examples/cpu_bound.py cpu --target-ms 1000 --jobs 8 --workers 2 --rounds 3
    python3 examples/cpu_bound.py mixed --addr 127.0.0.1:8080 --path '/?delay_ms=50&size=1024' \
        --count 100 --compute-ms 10 --workers 2 --rounds 3

`cpu` sizes the job to take about --target-ms one after another, cuts it into --jobs chunks and
times each way; `mixed` fetches --count pages at once from a server that answers slowly and
computes on each body, with asyncio alone, asyncio.to_thread, a thread per fetch, and asyncio
with a process pool. Standard library only; the fetching is examples/fetch_many.py's.
"""

import argparse
import asyncio
import os
import resource
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor


# ANCHOR: job
def sum_of_squares(start, end):
    total = 0
    for i in range(start, end):
        total += i * i % 1000003
    return total


def chunks(n, parts):
    return [(n * k // parts, n * (k + 1) // parts) for k in range(parts)]
# ANCHOR_END: job


# ANCHOR: ways
def sequential(n, jobs, workers):
    return sum(sum_of_squares(*c) for c in chunks(n, jobs))


def event_loop(n, jobs, workers):
    async def job(start, end):
        return sum_of_squares(start, end)  # no await inside: one task runs at a time

    async def main():
        return sum(await asyncio.gather(*(job(*c) for c in chunks(n, jobs))))

    return asyncio.run(main())


def threads(n, jobs, workers):
    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(lambda c: sum_of_squares(*c), chunks(n, jobs)))


def to_thread(n, jobs, workers):
    async def main():
        calls = (asyncio.to_thread(sum_of_squares, *c) for c in chunks(n, jobs))
        return sum(await asyncio.gather(*calls))

    return asyncio.run(main())


def processes(n, jobs, workers):
    with ProcessPoolExecutor(workers) as pool:
        starts, ends = zip(*chunks(n, jobs))
        return sum(pool.map(sum_of_squares, starts, ends))
# ANCHOR_END: ways


WAYS = {
    "sequential": sequential,
    "asyncio": event_loop,
    "threads": threads,
    "to_thread": to_thread,
    "processes": processes,
}


def cpu_time():
    """CPU time of this process and of its children that have finished: what the cores did."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(call):
    """Run call(); its result, wall time and CPU time."""
    cpu0, t0 = cpu_time(), time.perf_counter()
    result = call()
    return result, time.perf_counter() - t0, cpu_time() - cpu0


def calibrate(target_s):
    """How many numbers sum_of_squares gets through in about target_s seconds here."""
    trial = 100_000
    fastest = min(timed(lambda: sum_of_squares(0, trial))[1] for _ in range(3))
    return max(1, int(target_s / max(fastest, 1e-9) * trial))


def report(**fields):
    """One machine-readable line: key=value pairs separated by tabs (tabs and newlines inside a
    value become spaces), so the Rust side reads it without a JSON library."""
    def clean(value):
        return str(value).replace("\t", " ").replace("\n", " ")
    print("\t".join(f"{key}={clean(value)}" for key, value in fields.items()), flush=True)


def describe():
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    return {"python": sys.version.split()[0], "implementation": sys.implementation.name,
            "gil": gil, "executable": sys.executable, "cpu_count": os.cpu_count()}


def run_cpu(args):
    n = calibrate(args.target_ms / 1000)
    ways = list(WAYS) if args.ways == "all" else args.ways.split(",")
    unknown = [w for w in ways if w not in WAYS]
    if unknown:
        sys.exit(f"cpu_bound.py: unknown way {unknown[0]!r}; the ways are {', '.join(WAYS)}")
    report(**describe(), n=n, jobs=args.jobs, workers=args.workers)
    want = None
    # Rounds: every way once per round, so that load from other programs falls on all alike.
    for round_ in range(args.rounds):
        for way in ways:
            total, wall, cpu = timed(lambda: WAYS[way](n, args.jobs, args.workers))
            if want is not None and total != want:
                sys.exit(f"cpu_bound.py: {way} summed {total}, the first way {want}")
            want = total
            report(way=way, round=round_, n=n, wall_us=round(wall * 1e6),
                   cpu_us=round(cpu * 1e6), sum=total)


# ANCHOR: mixed
async def fetch_then_compute(plan, offload):
    """One fetch, then the computation on its body: in the coroutine, or handed to `offload`."""
    length = await fetch_async(plan.addr, plan.request, plan.timeout)
    if offload is None:
        return sum_of_squares(length, length + plan.n)  # holds the loop until it is done
    return await offload(sum_of_squares, length, length + plan.n)


def fetch_and_compute_blocking(plan):
    """The same in a thread: the fetch waits in recv, the computation needs the GIL."""
    length = fetch_blocking(plan.addr, plan.request, plan.timeout)
    return sum_of_squares(length, length + plan.n)


async def gather_all(plan, way):
    if way == "asyncio":
        offload = None
    elif way == "to_thread":
        offload = asyncio.to_thread
    else:  # processes: the loop fetches, a pool of processes computes
        pool = ProcessPoolExecutor(plan.workers)
        loop = asyncio.get_running_loop()
        offload = lambda f, *a: loop.run_in_executor(pool, f, *a)
    try:
        calls = (fetch_then_compute(plan, offload) for _ in range(plan.count))
        return await asyncio.gather(*calls, return_exceptions=True)
    finally:
        if way == "processes":
            pool.shutdown()
# ANCHOR_END: mixed


def mixed_way(plan, way):
    if way == "threads":
        with ThreadPoolExecutor(plan.count) as pool:
            futures = [pool.submit(fetch_and_compute_blocking, plan) for _ in range(plan.count)]
            outcomes = []
            for future in futures:
                try:
                    outcomes.append(future.result())
                except FetchError as error:
                    outcomes.append(error)
            return outcomes
    return asyncio.run(gather_all(plan, way))


class MixedPlan:
    def __init__(self, args):
        host, _, port = args.addr.rpartition(":")
        if not host or not port.isdigit():
            sys.exit(f"cpu_bound.py mixed: --addr must be HOST:PORT, not {args.addr!r}")
        self.addr = (host.strip("[]"), int(port))
        self.request = (f"GET {args.path} HTTP/1.1\r\nHost: {args.addr}\r\n"
                        "Connection: close\r\n\r\n").encode()
        self.count = args.count
        self.workers = args.workers
        self.timeout = args.timeout_ms / 1000
        self.n = calibrate(args.compute_ms / 1000)


def run_mixed(args):
    plan = MixedPlan(args)
    report(**describe(), n=plan.n, count=plan.count, workers=plan.workers)
    for round_ in range(args.rounds):
        for way in ["asyncio", "to_thread", "threads", "processes"]:
            outcomes, wall, cpu = timed(lambda: mixed_way(plan, way))
            failed = [o for o in outcomes if isinstance(o, BaseException)]
            for error in failed:
                if not isinstance(error, FetchError):
                    raise error  # a bug, not a failed fetch
            report(way=way, round=round_, n=plan.n, wall_us=round(wall * 1e6),
                   cpu_us=round(cpu * 1e6), ok=len(outcomes) - len(failed), errors=len(failed),
                   first_error=str(failed[0]) if failed else None)


def machine(argv):
    parser = argparse.ArgumentParser(prog="cpu_bound.py", description=__doc__.split("\n\n")[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    cpu = modes.add_parser("cpu", help="the job every way; one JSON line per run")
    cpu.add_argument("--target-ms", type=int, default=1000,
                     help="size the job to take about this long one after another")
    cpu.add_argument("--jobs", type=int, default=8, help="chunks the job is cut into")
    cpu.add_argument("--ways", default="all", help=f"comma-separated, of: {', '.join(WAYS)}")
    mixed = modes.add_parser("mixed", help="fetch, then compute on each body; JSON lines")
    mixed.add_argument("--addr", required=True, help="the server, HOST:PORT")
    mixed.add_argument("--path", default="/?delay_ms=50&size=1024")
    mixed.add_argument("--count", type=int, default=100, help="fetches, all at once")
    mixed.add_argument("--compute-ms", type=int, default=10,
                       help="size each body's computation to take about this long")
    mixed.add_argument("--timeout-ms", type=int, default=60_000)
    for mode in (cpu, mixed):
        mode.add_argument("--workers", type=int, default=os.cpu_count() or 1)
        mode.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    for name in ["workers", "rounds", "jobs", "count", "target_ms", "compute_ms"]:
        if getattr(args, name, 1) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    (run_cpu if args.mode == "cpu" else run_mixed)(args)


def human(argv):
    n = int(argv[0]) if len(argv) > 0 else 20_000_000
    workers = int(argv[1]) if len(argv) > 1 else (os.cpu_count() or 1)
    runs = 3
    print(f"cpu_bound.py: Python {sys.version.split()[0]}, n={n}, {workers} workers, "
          f"os.cpu_count()={os.cpu_count()}, best and median of {runs} rounds")
    print(f"{'mode':<28}{'best':>10}{'median':>10}{'speed-up':>10}   sum")
    modes = [("sequential (1 thread)", sequential),
             (f"threads x {workers}", threads),
             (f"asyncio tasks x {workers}", event_loop),
             (f"asyncio.to_thread x {workers}", to_thread),
             (f"processes x {workers}", processes)]
    # Rounds: every mode once per round, so that load from other programs falls on all alike.
    walls = {name: [] for name, _ in modes}
    sums = {name: set() for name, _ in modes}
    for _ in range(runs):
        for name, mode in modes:
            t0 = time.perf_counter()
            sums[name].add(mode(n, workers, workers))
            walls[name].append(time.perf_counter() - t0)
    base = min(walls[modes[0][0]])
    for name, _ in modes:
        best = min(walls[name])
        print(f"{name:<28}{best:>9.2f}s{statistics.median(walls[name]):>9.2f}s{base / best:>9.2f}x   "
              f"{','.join(map(str, sums[name]))}")


if __name__ == "__main__":
    # The fetching is fetch_many.py's, beside this file (Python puts a script's own directory
    # first on sys.path, so this works from any working directory).
    from fetch_many import FetchError, fetch_async, fetch_blocking

    if len(sys.argv) > 1 and sys.argv[1] in ("cpu", "mixed", "-h", "--help"):
        machine(sys.argv[1:])
    else:
        human(sys.argv[1:])
