#!/usr/bin/env python3
"""Open the built book in headless Chromium and fail on anything a reader would see broken.

The book is opened the two ways a reader gets it: served over http (`python3 -m http.server`, as
`mdbook serve` or a web host serves it) and from disk (`file://`, the built HTML opened in a
browser), where a page may make no request (no `fetch`). Each way, every HTML page of the built
book is opened twice, once in the light theme and once in a dark one, and each visit checks:

- no console error and no uncaught exception;
- every `<img>` and every inline SVG `<image>` loads (natural width above zero);
- every same-site link resolves: the target answers 200 (from disk: the file exists), and a
  `#fragment` names an element (an `id`, or an `<a name>`) on the target page;
- the page has visible main content, and its background colour differs between the two themes.

On the first page the search box is opened with `s`, "waker" is typed, and at least one result
must appear; the result links are checked like any other link.

Left out: external links (the check makes no request beyond 127.0.0.1), CSS background images,
the narrow-screen layout, and the themes other than these two. mdBook's own pages get two
allowances, each explained where it is made: 404.html's heading anchor (and, from disk, the whole
page, which only a server shows) and toc.html's theme.

`--mode http` or `--mode file` opens the book one way only; the default opens it both ways.

Exit status: 0 when every check passes, 1 with one line per problem when one fails, 2 when the
check cannot run (no built book, no Chromium, no Playwright). Playwright drives the system's
Chromium (`--chromium`, default /usr/bin/chromium); it never downloads a browser of its own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

# The flags the project runs Chromium with: headless, no sandbox (containers run as root), and no
# background traffic, so the only requests the browser makes are the book's own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

LIGHT_THEME = "light"
DARK_THEME = "navy"
SEARCH_TERM = "waker"

# Seconds a single navigation, search or image load may take before it counts as a failure.
STEP_TIMEOUT_S = 20

# Runs in the page after load: waits for every image (lazy ones are made eager first), then
# reports what failed, the links, the element ids, and what the page looks like.
PAGE_PROBE_JS = """
async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) { img.loading = "eager"; }
  await Promise.all(imgs.map((img) => img.decode().catch(() => {})));
  const badImages = imgs
    .filter((img) => !(img.complete && img.naturalWidth > 0))
    .map((img) => img.getAttribute("src") || "(no src)");

  const svgImages = Array.from(document.querySelectorAll("svg image"));
  const svgResults = await Promise.all(svgImages.map((el) => {
    const raw = el.getAttribute("href") || el.getAttributeNS("http://www.w3.org/1999/xlink", "href");
    if (!raw) { return Promise.resolve("(no href)"); }
    const url = new URL(raw, document.baseURI).href;
    return new Promise((resolve) => {
      const probe = new Image();
      probe.onload = () => resolve(probe.naturalWidth > 0 ? null : raw);
      probe.onerror = () => resolve(raw);
      probe.src = url;
    });
  }));
  const badSvgImages = svgResults.filter((r) => r !== null);

  const links = Array.from(document.querySelectorAll("a[href]")).map((a) => ({
    raw: a.getAttribute("href"),
    abs: a.href,
  }));

  const ids = Array.from(document.querySelectorAll("[id]")).map((el) => el.id);
  const names = Array.from(document.querySelectorAll("a[name]")).map((el) => el.getAttribute("name"));

  const main = document.querySelector("main") || document.querySelector("#content") || document.body;
  // The colour the reader sees behind the text: the body's, else the root's, else the canvas,
  // which Chromium paints white, or rgb(18, 18, 18) when the root asks for a dark colour scheme.
  const transparent = "rgba(0, 0, 0, 0)";
  const rootStyle = getComputedStyle(document.documentElement);
  const scheme = rootStyle.colorScheme.split(/\s+/);
  const darkCanvas = scheme.includes("dark")
    && (!scheme.includes("light") || matchMedia("(prefers-color-scheme: dark)").matches);
  const background = [getComputedStyle(document.body).backgroundColor, rootStyle.backgroundColor]
    .find((c) => c !== transparent) || (darkCanvas ? "rgb(18, 18, 18)" : "rgb(255, 255, 255)");
  return {
    badImages,
    badSvgImages,
    links,
    anchors: ids.concat(names),
    mainText: (main.innerText || "").trim().length,
    htmlClass: document.documentElement.className,
    background,
  };
}
"""


@dataclass
class Visit:
    """What one page looked like in one theme."""

    # Empty-text main content, broken images, console errors: one line each, already worded.
    problems: list[str] = field(default_factory=list)
    # (href as written, absolute URL) of every <a href> on the page.
    links: list[tuple[str, str]] = field(default_factory=list)
    # Every id and <a name> on the page: what a #fragment may point at.
    anchors: set[str] = field(default_factory=set)
    # The computed background colour of the page, compared across themes.
    background: str = ""
    # The class list of <html>, where mdBook puts the name of the theme in use.
    html_class: str = ""


def source_hint(page: str) -> str:
    """The Markdown file a built page comes from, for the message that asks for a fix."""
    if page.endswith(".html") and page not in ("print.html", "toc.html", "404.html"):
        stem = page[: -len(".html")]
        return f" (book/src/{'README' if stem == 'index' else stem}.md or its SUMMARY entry)"
    return ""


def free_port() -> int:
    """A port nothing listens on now; the server binds it a moment later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(book: Path):
    """`python3 -m http.server` on 127.0.0.1 for the built book; yields its base URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(book)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(base, timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError, OSError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"browser check: http.server did not start on port {port}")
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


class StatusCache:
    """HTTP status of every same-site URL, asked once each."""

    def __init__(self) -> None:
        # URL without fragment -> status code (0 when the request failed outright).
        self.status: dict[str, int] = {}

    def get(self, url: str) -> int:
        if url not in self.status and url.startswith("file:"):
            # From disk, a link works when the file is there: 200, as a server would answer.
            path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
            self.status[url] = 200 if path.is_file() else 404
        if url not in self.status:
            try:
                with urllib.request.urlopen(url, timeout=STEP_TIMEOUT_S) as r:
                    self.status[url] = r.status
            except urllib.error.HTTPError as e:
                self.status[url] = e.code
            except (urllib.error.URLError, OSError):
                self.status[url] = 0
        return self.status[url]


def answer(code: int) -> str:
    """What a link led to, in words: an HTTP status (a missing file counts as 404)."""
    return f"HTTP {code}" if code else "no answer"


def page_name(base: str, url: str) -> str:
    """The path of a same-site URL relative to the book's root, `index.html` for the root."""
    path = urllib.parse.urlsplit(url).path
    rel = urllib.parse.unquote(path[len(urllib.parse.urlsplit(base).path) :])
    return rel if rel and not rel.endswith("/") else rel + "index.html"


class Tab:
    """One browser tab per theme, reused for every page; its listeners file what they see
    under the page being visited."""

    def __init__(self, context, base: str) -> None:
        # The Playwright page; reusing it saves opening a tab per visit.
        self.page = context.new_page()
        # Where console errors and exceptions go: the visit in progress.
        self.current = Visit()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.current.problems.append(f"uncaught exception: {e}"))
        # Chromium asks every origin for /favicon.ico when a page names no icon (mdBook's toc.html,
        # the sidebar's fallback for readers without JavaScript, names none); a reader never sees it.
        self.favicon = base + "favicon.ico"

    def _console(self, message) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "")
        if where == self.favicon:
            return
        line = message.location.get("lineNumber")
        at = f" (at {where}{f':{line + 1}' if line else ''})" if where else ""
        self.current.problems.append(f"console error: {message.text}{at}")

    def visit(self, url: str) -> Visit:
        """Open one page, wait for it to settle, and collect what `PAGE_PROBE_JS` reports."""
        result = self.current = Visit()
        try:
            self.page.goto(url, wait_until="load", timeout=STEP_TIMEOUT_S * 1000)
            probe = self.page.evaluate(PAGE_PROBE_JS)
        except Exception as e:  # noqa: BLE001 - any failure to load is reported, the rest carry on
            result.problems.append(f"did not load: {e}")
            return result
        for src in probe["badImages"]:
            result.problems.append(f"image {src!r} did not load (naturalWidth 0)")
        for src in probe["badSvgImages"]:
            result.problems.append(f"SVG <image> {src!r} did not load")
        if probe["mainText"] == 0:
            result.problems.append("main content is empty")
        result.links = [(link["raw"], link["abs"]) for link in probe["links"]]
        result.anchors = set(probe["anchors"])
        result.background = probe["background"]
        result.html_class = probe["htmlClass"]
        return result

    def search(self, url: str) -> Visit:
        """Open the page, press `s`, type the search term; the result links become the links
        of the returned visit, so they are checked like any other."""
        result = self.current = Visit()
        page = self.page
        try:
            page.goto(url, wait_until="load", timeout=STEP_TIMEOUT_S * 1000)
            page.keyboard.press("s")
            box = page.locator("#mdbook-searchbar, #searchbar").first
            box.wait_for(state="visible", timeout=STEP_TIMEOUT_S * 1000)
            # Typed key by key: mdBook searches on keyup, which a programmatic fill never fires.
            box.press_sequentially(SEARCH_TERM)
            results = page.locator("ul#mdbook-searchresults li a, ul#searchresults li a")
            try:
                results.first.wait_for(state="visible", timeout=STEP_TIMEOUT_S * 1000)
            except Exception:  # noqa: BLE001 - no result in time is the failure this step looks for
                result.problems.append(
                    f"search for {SEARCH_TERM!r} showed no result"
                    " (is the search index built? mdBook's `search` feature and [output.html.search])"
                )
            result.links = [(a.get_attribute("href") or "", a.evaluate("a => a.href")) for a in results.all()]
        except Exception as e:  # noqa: BLE001 - reported, the other checks carry on
            result.problems.append(f"search box did not open or take input: {e}")
        return result


def check_book(browser, base: str, mode: str, pages: list[str]) -> tuple[list[str], int]:
    """Visit every page under `base` in both themes, search once, and check every same-site link;
    the problems found and the number of links checked."""
    problems: list[str] = []
    visits: dict[str, dict[str, Visit]] = {}
    for theme, scheme in ((LIGHT_THEME, "light"), (DARK_THEME, "dark")):
        context = browser.new_context(color_scheme=scheme)
        context.add_init_script(f"localStorage.setItem('mdbook-theme', {theme!r});")
        tab = Tab(context, base)
        for name in pages:
            visits.setdefault(name, {})[theme] = tab.visit(base + urllib.parse.quote(name))
        if theme == LIGHT_THEME:
            search = tab.search(base + "index.html")
            problems += [f"index.html [{mode}, search]: {p}" for p in dict.fromkeys(search.problems)]
        context.close()

    status = StatusCache()
    checked: set[tuple[str, str]] = set()
    link_sources = [(name, visits[name][LIGHT_THEME].links) for name in pages]
    link_sources.append(("index.html [search results]", search.links))
    for name, links in link_sources:
        for raw, absolute in links:
            target, _, fragment = absolute.partition("#")
            if not target.startswith(base) or (name, absolute) in checked:
                continue
            checked.add((name, absolute))
            target_path = urllib.parse.urlsplit(target)._replace(query="").geturl()
            code = status.get(target_path)
            if code != 200:
                problems.append(f"{name} [{mode}]: link {raw!r} leads to {answer(code)}{source_hint(name)}")
                continue
            fragment = urllib.parse.unquote(fragment)
            if not fragment or (name == "404.html" and raw.startswith("#")):
                # mdBook's 404 page carries <base href="/"> so that it works at any depth,
                # which sends its own heading anchors to the index: mdBook's page, not ours.
                continue
            target_name = page_name(base, target_path)
            if target_name not in visits:
                continue  # not an HTML page of the book: a fragment into a file is not checked
            if fragment not in visits[target_name][LIGHT_THEME].anchors:
                problems.append(
                    f"{name} [{mode}]: link {raw!r}: no element with id {fragment!r} on {target_name}{source_hint(name)}"
                )

    for name in pages:
        light, dark = visits[name][LIGHT_THEME], visits[name][DARK_THEME]
        for theme, v in ((LIGHT_THEME, light), (DARK_THEME, dark)):
            problems += [f"{name} [{mode}, {theme} theme]: {p}" for p in dict.fromkeys(v.problems)]
            # toc.html is the sidebar for readers without JavaScript: it has no theme script and
            # follows the system's colour scheme, which the two browser contexts set apart.
            if v.background and name != "toc.html" and theme not in v.html_class.split():
                problems.append(f"{name} [{mode}, {theme} theme]: <html class={v.html_class!r}> does not name the theme")
        if light.background and light.background == dark.background:
            problems.append(
                f"{name} [{mode}]: background {light.background} is the same in the {LIGHT_THEME} and {DARK_THEME}"
                " themes: the theme is not applied"
            )

    return problems, len(checked)


def main() -> int:
    repo = Path(__file__).resolve().parents[2]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", type=Path, default=repo / "book" / "book", help="built book (default: book/book)")
    parser.add_argument(
        "--chromium",
        default=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
        help="Chromium executable (default: $CHROMIUM or /usr/bin/chromium)",
    )
    parser.add_argument(
        "--mode",
        choices=("both", "http", "file"),
        default="both",
        help="open the book served over http, from disk (file://), or both (default)",
    )
    args = parser.parse_args()

    book = args.book.resolve()
    if not (book / "index.html").is_file():
        print(f"browser check: no built book at {book}: run `mdbook build book` first", file=sys.stderr)
        return 2
    if not os.access(args.chromium, os.X_OK):
        print(
            f"browser check: no Chromium at {args.chromium}: `apt-get install -y chromium`, or pass --chromium PATH",
            file=sys.stderr,
        )
        return 2
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("browser check: Playwright for Python is missing: `python3 -m pip install playwright`", file=sys.stderr)
        return 2

    pages = sorted(str(p.relative_to(book)) for p in book.rglob("*.html"))
    problems: list[str] = []
    started = time.monotonic()

    modes = ("http", "file") if args.mode == "both" else (args.mode,)
    links = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS)
        for mode in modes:
            if mode == "http":
                with serve(book) as base:
                    found, checked = check_book(browser, base, mode, pages)
            else:
                # A server shows 404.html for a missing page; from disk nothing ever shows it, and
                # its `<base href="/">` points at the root of the file system there.
                on_disk = [p for p in pages if p != "404.html"]
                found, checked = check_book(browser, book.as_uri() + "/", mode, on_disk)
            problems += found
            links += checked
        browser.close()

    elapsed = time.monotonic() - started
    if problems:
        problems.sort()  # each line starts with its page: one page's problems read together
        print(f"browser check: {len(problems)} problem(s) in {len(pages)} pages:", file=sys.stderr)
        for p in problems:
            print(f"  {p}", file=sys.stderr)
        return 1
    print(
        f"browser check: {len(pages)} pages in the {LIGHT_THEME} and {DARK_THEME} themes,"
        f" {' and '.join(modes)}, {links} links, search for {SEARCH_TERM!r}: all good ({elapsed:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
