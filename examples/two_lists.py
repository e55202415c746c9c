"""Step 3's two-list loop in Python: generators as tasks, a ready queue, a waiting list.

    python3 examples/two_lists.py

The same kitchen as examples/step_03_wakers.rs (a chef, a waiter who waits for the dinner and
the wine, a guest who reads meanwhile), on a loop of about thirty lines. A task is a generator;
running it is `next()`, which runs it to its next `yield`. A bare `yield` means "let the others
run" (asyncio's `await asyncio.sleep(0)`); `yield slot` means "wake me when this slot is
filled", and the loop files the task in the waiting list until the slot calls its waker. The
output is step 3's, line for line, which `cargo test` checks (tests/examples/two_lists.rs).

asyncio draws the same picture with other names: a Slot is an `asyncio.Future`, its waiters are
the future's done-callbacks, and a wake is `loop.call_soon(task.__step)`, which appends to
`loop._ready`. asyncio keeps no waiting list: a waiting task is only reachable from the future it
waits on. Standard library only.
"""

from collections import deque
from functools import partial


# ANCHOR: loop
class Loop:
    """A ready queue, a waiting list, and wakes that move a task once."""

    def __init__(self):
        self.tasks = {}  # each task's generator, by number from 1; None once it has finished
        self.polls = {}  # how many times each task has run
        self.ready = deque()  # tasks that can run, oldest first
        self.waiting = []  # tasks that wait for a slot to be filled

    def spawn(self, task):
        number = len(self.tasks) + 1
        self.tasks[number] = task
        self.polls[number] = 0
        self.ready.append(number)

    def wake(self, task):
        if task in self.waiting:  # a task already in the ready queue stays there, once
            self.waiting.remove(task)
            self.ready.append(task)

    def run(self):
        poll = 0
        while self.ready:
            task = self.ready.popleft()
            poll += 1
            print(f"poll {poll}: running {task} | ready: {list(self.ready)} "
                  f"| waiting: {self.waiting}")
            self.polls[task] += 1
            try:
                slot = next(self.tasks[task])  # run the task to its next yield
            except StopIteration:
                self.tasks[task] = None  # finished: never run again
                continue
            if slot is None:  # a bare yield: ready again, at the back
                self.ready.append(task)
            else:  # waiting: the slot holds the task's waker
                slot.waiters.append(partial(self.wake, task))
                self.waiting.append(task)
        print(f"end: ready: {list(self.ready)} | waiting: {self.waiting}")
# ANCHOR_END: loop


# ANCHOR: slot
class Slot:
    """A value that arrives later (a one-shot channel); filling it wakes whoever waits."""

    def __init__(self):
        self.value = None
        self.waiters = []  # wakers

    def put(self, value):
        self.value = value
        for wake in self.waiters:
            wake()
        self.waiters.clear()

    def get(self):
        while self.value is None:
            yield self  # wake me when you are filled
        return self.value
# ANCHOR_END: slot


# ANCHOR: kitchen
def chef(dinner, wine):
    for step in ["chop", "stir", "taste"]:
        print(f"chef: {step}")
        yield  # let the others run
    dinner.put("roast")
    wine.put("wine")


def waiter(dinner, wine):
    print("waiter: waits")
    roast = yield from dinner.get()
    bottle = yield from wine.get()
    print(f"waiter: serves {roast} and {bottle}")


def guest():
    for step in ["sits", "reads"]:
        print(f"guest: {step}")
        yield
# ANCHOR_END: kitchen


def main():
    loop = Loop()
    dinner, wine = Slot(), Slot()
    loop.spawn(chef(dinner, wine))
    loop.spawn(waiter(dinner, wine))
    loop.spawn(guest())
    print("tasks: 1 chef, 2 waiter, 3 guest")
    loop.run()
    for task, polls in loop.polls.items():
        finished = "true" if loop.tasks[task] is None else "false"  # as Rust prints it
        print(f"task {task}: {polls} polls, finished: {finished}")


if __name__ == "__main__":
    main()
