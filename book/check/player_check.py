#!/usr/bin/env python3
"""Check the two-lists player (book/player/) in headless Chromium against its traces.

For every trace in the built book's `traces/` directory, and for every player a chapter embeds
(`<div class="tt-player" data-trace=...>`), the player is opened in the light and the navy theme,
both served over http (as `mdbook serve` does) and opened from disk (`file://`, as a reader who
double-clicks the built HTML does), and checked against a replay of the JSON computed here, in
Python, independently of the player's JavaScript:

- the trace a chapter embeds in the player's `<script type="application/json" class="tt-trace">`
  is the file its `data-trace` names (the player reads the embedded copy and makes no request,
  which a `file://` page may not make);
- the page logs no console error and the player loads (no "could not load" message);
- after stepping forward N times (N = 1.. up to STEP_LIMIT, then the end), after a step back, and
  after moving the slider to each mark, the running task, the ready queue (in order), the waiting
  list (in order, with what each task waits for) and the loop's phase are what the replay says;
- at every mark (a moment the program printed its own `Snapshot`, such as each line `hello`
  prints) the Python replay gives exactly the lists the program printed;
- the player's text colour differs between the two themes (it follows mdBook's theme).

The traces in `traces/` are checked on a page this script writes into the built book for the run
(`__player_check.html`, removed afterwards), so they are checked even where no chapter embeds them.
Left out: how the player looks (layout, colours beyond the theme check) and its play timer.

`--mode http` or `--mode file` runs one of the two ways; the default runs both.

Exit status: 0 when every check passes, 1 with one line per problem, 2 when the check cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser_check import CHROMIUM_ARGS, DARK_THEME, LIGHT_THEME, STEP_TIMEOUT_S, serve  # noqa: E402

# How many single steps forward are checked one by one before jumping to the end.
STEP_LIMIT = 30
CHECK_PAGE = "__player_check.html"


def replay(trace: dict, n: int) -> dict:
    """The lists, running task and phase after the first n steps (the format's documented rules)."""
    running, ready, waiting, phase = None, [], [], "start"
    for step in trace["steps"][:n]:
        kind, task = step["kind"], step.get("task")
        if kind == "spawn":
            ready.append(task)
        elif kind == "poll_start":
            if not ready or ready[0] != task:
                raise ValueError(f"poll of #{task} but the ready queue is {ready}")
            ready.pop(0)
            running = task
        elif kind == "poll_end":
            running = None
            if step["result"] == "ready":
                ready.append(task)
            elif step["result"] == "waiting":
                waiting.append((task, step.get("waits_for", "")))
        elif kind == "wake":
            ids = [t for t, _ in waiting]
            if task in ids:
                del waiting[ids.index(task)]
                ready.append(task)
        elif kind == "done":
            ready = [t for t in ready if t != task]
            waiting = [w for w in waiting if w[0] != task]
        elif kind == "tick_start":
            phase = "running"
        elif kind == "events_check":
            phase = "checking" if step["timeout_us"] == 0 else "sleeping"
        elif kind in ("events_returned", "timers_fired"):
            phase = "checking"
        elif kind == "tick_end":
            phase = "between"
    return {"running": running, "ready": ready, "waiting": waiting, "phase": phase}


SHOWN_JS = """
(root) => {
  const ids = (sel) => Array.from(root.querySelectorAll(sel + " .tt-task")).map((c) => parseInt(c.dataset.task, 10));
  const running = ids(".tt-running-row");
  const waiting = Array.from(root.querySelectorAll(".tt-waiting-row .tt-task")).map((c) =>
    [parseInt(c.dataset.task, 10), (c.querySelector(".tt-why") || {}).textContent || ""]);
  return {
    step: parseInt(root.dataset.step, 10),
    running: running.length ? running[0] : null,
    ready: ids(".tt-ready-row"),
    waiting: waiting,
    phase: root.querySelector(".tt-phase").dataset.phase,
    color: getComputedStyle(root).color,
  };
}
"""


# A player's opening tag and the trace embedded right after it, as a chapter writes them
# (book/player/EMBED.md); group 1 is the `data-trace` path, group 2 the embedded JSON, if any.
PLAYER_RE = re.compile(
    r'<div class="tt-player"[^>]*data-trace="([^"]+)"[^>]*>\s*'
    r'(?:<script type="application/json" class="tt-trace">(.*?)</script>)?',
    re.DOTALL,
)


def players_in(book: Path) -> list[tuple[str, int, str, str | None]]:
    """(page, index on the page, trace path, embedded JSON or None) for every player a chapter
    embeds."""
    found = []
    for page in sorted(book.rglob("*.html")):
        name = str(page.relative_to(book))
        # print.html repeats every chapter's players; the chapters themselves are checked.
        if name in (CHECK_PAGE, "print.html"):
            continue
        html = page.read_text(encoding="utf-8", errors="replace")
        for i, m in enumerate(PLAYER_RE.finditer(html)):
            found.append((name, i, m.group(1), m.group(2)))
    return found


def embedded_problems(players: list[tuple[str, int, str, str | None]], loaded: dict[str, dict]) -> list[str]:
    """Every chapter's player must embed exactly the trace file its `data-trace` names."""
    problems = []
    for name, index, t, text in players:
        where = f"{name} player {index} ({t})"
        trace_path = urllib.parse.urljoin(name, t)
        if text is None:
            problems.append(f"{where}: embeds no trace: include the file in a "
                            '<script type="application/json" class="tt-trace"> (book/player/EMBED.md)')
        elif trace_path not in loaded:
            problems.append(f"{where}: names {t}, which is not a trace of the built book")
        else:
            try:
                if json.loads(text) != loaded[trace_path]:
                    problems.append(f"{where}: the embedded trace differs from {trace_path}: rebuild the book")
            except json.JSONDecodeError as e:
                problems.append(f"{where}: the embedded trace is not JSON: {e}")
    return problems


def write_check_page(book: Path, traces: dict[str, dict]) -> None:
    """A page of the built book with one player per trace, embedded as a chapter embeds it, and
    the book's own script."""
    scripts = sorted((book / "player").glob("player*.js"))
    styles = sorted((book / "player").glob("player*.css"))
    if not scripts:
        raise FileNotFoundError("no player/player*.js in the built book: is additional-js set in book.toml?")
    def embed(trace: dict) -> str:
        # `<\/` is JSON's own escape for `/`: no `</script>` inside a trace can end the element.
        return json.dumps(trace).replace("</", "<\\/")

    divs = "\n".join(
        f'<div class="tt-player" data-trace="{t}"><script type="application/json" class="tt-trace">'
        f"{embed(trace)}</script><p>fallback</p></div>"
        for t, trace in traces.items()
    )
    css = "".join(f'<link rel="stylesheet" href="player/{s.name}">' for s in styles)
    (book / CHECK_PAGE).write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><link rel='icon' href='data:,'>{css}"
        f"</head><body><main>{divs}</main>"
        f"<script src='player/{scripts[0].name}'></script></body></html>",
        encoding="utf-8",
    )


def check_player(page, root, trace: dict, where: str) -> tuple[list[str], str]:
    """Step the player and compare with the replay; returns problems and the text colour."""
    problems: list[str] = []
    total = len(trace["steps"])

    def compare(what: str) -> None:
        shown = root.evaluate(SHOWN_JS)
        want = replay(trace, shown["step"])
        got = {k: shown[k] for k in ("running", "ready", "phase")}
        got["waiting"] = [tuple(w) for w in shown["waiting"]]
        if got != want:
            problems.append(f"{where}: after {what} (step {shown['step']}): the player shows {got}, the replay gives {want}")

    fwd, back, slider = root.locator(".tt-forward"), root.locator(".tt-back"), root.locator(".tt-slider")
    compare("loading")
    for n in range(1, min(STEP_LIMIT, total) + 1):
        fwd.click()
        compare(f"{n} steps forward")
    back.click()
    compare("a step back")
    targets = [total] + [m["after"] for m in trace["marks"]]
    for n in targets:
        slider.evaluate("(s, n) => { s.value = String(n); s.dispatchEvent(new Event('input')); }", n)
        shown_step = root.evaluate("(r) => parseInt(r.dataset.step, 10)")
        if shown_step != n:
            problems.append(f"{where}: the slider set to {n} shows step {shown_step}")
        compare(f"the slider at {n}")
    return problems, root.evaluate(SHOWN_JS)["color"]


def check_marks(trace: dict, where: str) -> list[str]:
    """At every mark, the replay must give the lists the program itself printed."""
    problems = []
    for mark in trace["marks"]:
        want = mark["lists"]
        got = replay(trace, mark["after"])
        printed = {"running": want["running"], "ready": want["ready"],
                   "waiting": [(w["task"], w["waits_for"]) for w in want["waiting"]]}
        if {k: got[k] for k in printed} != printed:
            problems.append(f"{where}: mark {mark['label']!r}: the program printed {printed}, the replay gives {got}")
    return problems


def check_pages(browser, base: str, mode: str, visits: list, loaded: dict[str, dict],
                colours: dict) -> list[str]:
    """Open every page of `visits` under `base` in both themes and check each player on it;
    the text colour of each player in each theme goes into `colours`."""
    problems: list[str] = []
    for theme, scheme in ((LIGHT_THEME, "light"), (DARK_THEME, "dark")):
        context = browser.new_context(color_scheme=scheme)
        context.add_init_script(f"localStorage.setItem('mdbook-theme', {theme!r});")
        for name in dict.fromkeys(v[0] for v in visits):
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m, e=errors: e.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc, e=errors: e.append(str(exc)))
            page.goto(base + urllib.parse.quote(name), timeout=STEP_TIMEOUT_S * 1000)
            roots = page.locator(".tt-player")
            for _, index, t in [v for v in visits if v[0] == name]:
                root = roots.nth(index)
                where = f"{name} player {index} ({t}) [{mode}, {theme} theme]"
                try:
                    root.locator(".tt-controls").wait_for(timeout=STEP_TIMEOUT_S * 1000)
                except Exception:  # noqa: BLE001 - a player that never starts is the failure reported
                    text = root.inner_text()
                    problems.append(f"{where}: the player did not start: {text.strip()[:200]!r}")
                    continue
                trace_path = urllib.parse.urljoin(name, t)
                if trace_path not in loaded:
                    problems.append(f"{where}: embeds {t}, which is not a trace of the built book")
                    continue
                found, colour = check_player(page, root, loaded[trace_path], where)
                problems += found
                colours.setdefault((mode, name, index), {})[theme] = colour
            problems += [f"{name} [{mode}, {theme} theme]: console error: {e}" for e in errors]
            page.close()
        context.close()
    return problems


def main() -> int:
    repo = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", type=Path, default=repo / "book" / "book", help="built book (default: book/book)")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument(
        "--mode",
        choices=("both", "http", "file"),
        default="both",
        help="open the book served over http, from disk (file://), or both (default)",
    )
    args = parser.parse_args()
    book = args.book.resolve()
    traces = sorted(str(p.relative_to(book)) for p in (book / "traces").glob("*.json"))
    if not (book / "index.html").is_file() or not traces:
        print(f"player check: no built book with traces/*.json at {book}: run `mdbook build book` first", file=sys.stderr)
        return 2
    if not os.access(args.chromium, os.X_OK):
        print(f"player check: no Chromium at {args.chromium}: pass --chromium PATH", file=sys.stderr)
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("player check: Playwright for Python is missing: `python3 -m pip install playwright`", file=sys.stderr)
        return 2

    problems: list[str] = []
    loaded: dict[str, dict] = {}
    for t in traces:
        trace = json.loads((book / t).read_text(encoding="utf-8"))
        if trace.get("format") != "taketurns-lists" or trace.get("version") != 2:
            problems.append(f"{t}: not a taketurns-lists version 2 trace")
            continue
        loaded[t] = trace
        try:
            problems += check_marks(trace, t)
        except ValueError as e:
            problems.append(f"{t}: the replay fails: {e}")

    embedded = players_in(book)
    problems += embedded_problems(embedded, loaded)
    write_check_page(book, loaded)
    visits = [(CHECK_PAGE, i, t) for i, t in enumerate(loaded)] + [v[:3] for v in embedded]
    modes = ("http", "file") if args.mode == "both" else (args.mode,)
    colours: dict[tuple[str, str, int], dict[str, str]] = {}
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
            for mode in modes:
                if mode == "http":
                    with serve(book) as base:
                        problems += check_pages(browser, base, mode, visits, loaded, colours)
                else:
                    problems += check_pages(browser, book.as_uri() + "/", mode, visits, loaded, colours)
            browser.close()
    finally:
        (book / CHECK_PAGE).unlink(missing_ok=True)

    for (mode, name, index), by_theme in colours.items():
        if name != CHECK_PAGE and len(set(by_theme.values())) < 2:
            problems.append(f"{name} player {index} [{mode}]: the same text colour {by_theme} in both themes")
    for p in problems:
        print(p)
    print(f"player check: {len(visits)} players ({len(embedded)} embedded in chapters), {len(traces)} traces, "
          f"{' and '.join(modes)}: {'ok' if not problems else f'{len(problems)} problem(s)'}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
