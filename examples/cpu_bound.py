"""The same CPU-bound job as examples/cpu_bound.rs, in CPython, for comparison.

    python3 examples/cpu_bound.py            # 20,000,000 numbers, 2 workers, best of 3
    python3 examples/cpu_bound.py 5000000 4  # n, workers

Sum of i*i % 1000003 for i in range(n), cut into `workers` chunks, run five ways: one thread,
a ThreadPoolExecutor, asyncio tasks, asyncio.to_thread, and a ProcessPoolExecutor. With the GIL,
the threads take turns; only the processes use more than one core. Not part of `cargo test`:
it is here so that the book's Python numbers come from a file you can run.
"""

import asyncio
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor


def sum_of_squares(start, end):
    total = 0
    for i in range(start, end):
        total += i * i % 1000003
    return total


def chunks(n, parts):
    return [(n * k // parts, n * (k + 1) // parts) for k in range(parts)]


def sequential(n, workers):
    return sum_of_squares(0, n)


def threads(n, workers):
    with ThreadPoolExecutor(workers) as pool:
        return sum(pool.map(lambda c: sum_of_squares(*c), chunks(n, workers)))


def event_loop(n, workers):
    async def chunk(start, end):
        return sum_of_squares(start, end)  # no await inside: one task runs at a time

    async def main():
        return sum(await asyncio.gather(*(chunk(*c) for c in chunks(n, workers))))

    return asyncio.run(main())


def to_thread(n, workers):
    async def main():
        calls = (asyncio.to_thread(sum_of_squares, *c) for c in chunks(n, workers))
        return sum(await asyncio.gather(*calls))

    return asyncio.run(main())


def processes(n, workers):
    with ProcessPoolExecutor(workers) as pool:
        starts, ends = zip(*chunks(n, workers))
        return sum(pool.map(sum_of_squares, starts, ends))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000_000
    workers = int(sys.argv[2]) if len(sys.argv) > 2 else (os.cpu_count() or 1)
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
            sums[name].add(mode(n, workers))
            walls[name].append(time.perf_counter() - t0)
    base = min(walls[modes[0][0]])
    for name, _ in modes:
        best = min(walls[name])
        print(f"{name:<28}{best:>9.2f}s{statistics.median(walls[name]):>9.2f}s{base / best:>9.2f}x   "
              f"{','.join(map(str, sums[name]))}")

if __name__ == "__main__":
    main()
