// The two-lists player: steps through a lists trace (JSON written by `--trace-lists`, format
// "taketurns-lists" version 2, see book/player/README.md) and draws the ready queue, the waiting
// list with what each task waits for, the running task and the loop's phase.
//
// Every `<div class="tt-player" data-trace="traces/NAME.json">` on a page becomes a player. The
// trace itself is in the page, inside the `<div>`: a `<script type="application/json"
// class="tt-trace">` into which the chapter includes the JSON file (book/player/EMBED.md). So the
// player makes no request and works the same opened from disk (file://, where browsers refuse
// fetch) and served (`mdbook serve`); `data-trace` only names the file, for messages. The
// replay starts from empty lists and applies the steps one by one, the same rules as
// `taketurns::replay::ListsTrace::replay`: spawn joins the back of the ready queue, poll_start
// takes the front, poll_end sends the task to the back of the ready queue (ready) or of the
// waiting list (waiting) or ends it (done), a wake moves a waiting task to the ready queue, done
// removes it. No library and no network; colours come from mdBook's theme variables.
(function () {
  "use strict";

  var PHASES = {
    start: "before the first tick: block_on runs its own future",
    running: "running ready tasks",
    checking: "checking events (no sleep)",
    sleeping: "waiting in epoll",
    between: "between ticks: block_on polls its own future if woken"
  };

  // The lists, the running task and the phase after the first `n` steps.
  function replay(trace, n) {
    var s = { running: null, ready: [], waiting: [], phase: "start", tick: 0 };
    for (var i = 0; i < n; i++) {
      var st = trace.steps[i];
      switch (st.kind) {
        case "spawn": s.ready.push(st.task); break;
        case "poll_start":
          var at = s.ready.indexOf(st.task);
          if (at >= 0) { s.ready.splice(at, 1); }
          s.running = st.task; break;
        case "poll_end":
          s.running = null;
          if (st.result === "ready") { s.ready.push(st.task); }
          if (st.result === "waiting") { s.waiting.push({ task: st.task, waits_for: st.waits_for || "" }); }
          break;
        case "wake":
          for (var w = 0; w < s.waiting.length; w++) {
            if (s.waiting[w].task === st.task) { s.waiting.splice(w, 1); s.ready.push(st.task); break; }
          }
          break;
        case "done":
          s.ready = s.ready.filter(function (id) { return id !== st.task; });
          s.waiting = s.waiting.filter(function (x) { return x.task !== st.task; });
          break;
        case "tick_start": s.phase = "running"; s.tick = st.tick; break;
        case "events_check": s.phase = st.timeout_us === 0 ? "checking" : "sleeping"; break;
        case "events_returned": s.phase = "checking"; break;
        case "timers_fired": s.phase = "checking"; break;
        case "tick_end": s.phase = "between"; break;
      }
    }
    return s;
  }

  // One step in words, for the caption under the lists.
  function describe(trace, st, name) {
    switch (st.kind) {
      case "spawn": return name(st.task) + " is spawned: back of the ready queue";
      case "poll_start": return "the loop takes " + name(st.task) + " from the front of the ready queue and polls it";
      case "poll_end":
        if (st.result === "done") { return name(st.task) + "'s future is finished: done"; }
        if (st.result === "ready") { return name(st.task) + " returns Pending, already woken: ready, back of the ready queue"; }
        return name(st.task) + " returns Pending: waiting list, for " + st.waits_for;
      case "wake": return name(st.task) + " is woken by " + st.source;
      case "done": return name(st.task) + " is done (" + st.outcome + ")";
      case "tick_start": return "tick " + st.tick + " starts: it will run the " + st.ready + " task(s) queued now";
      case "events_check":
        if (st.timeout_us === 0) { return "the loop checks for events without sleeping" + (st.skipped ? " (no socket: no system call)" : ""); }
        return "nothing is ready: the loop sleeps in epoll_wait" + (st.timeout_us === null ? " until something happens" : " for at most " + (st.timeout_us / 1000).toFixed(3) + " ms");
      case "events_returned": return "epoll_wait returned " + st.sockets + " socket event(s)" + (st.remote ? " and another thread's wake" : "");
      case "timers_fired": return st.count + " timer(s) are due";
      case "tick_end": return "the tick ends";
    }
    return st.kind;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function build(root, trace) {
    var names = {};
    trace.tasks.forEach(function (t) { names[t.id] = t.name; });
    var name = function (id) { return "#" + id + " " + (names[id] || ""); };
    var chip = function (id, extra) {
      var c = el("span", "tt-task", name(id));
      c.setAttribute("data-task", String(id));
      if (extra) { c.appendChild(el("span", "tt-why", extra)); }
      return c;
    };

    root.textContent = "";
    root.classList.add("tt-ready-to-play");
    var bar = el("div", "tt-controls");
    var back = el("button", "tt-back", "\u25c0 step");
    var play = el("button", "tt-play", "\u25b6 play");
    var fwd = el("button", "tt-forward", "step \u25b6");
    var slider = el("input", "tt-slider");
    slider.type = "range"; slider.min = "0"; slider.max = String(trace.steps.length); slider.value = "0";
    slider.setAttribute("aria-label", "step");
    var count = el("span", "tt-count");
    [back, play, fwd].forEach(function (b) { b.type = "button"; bar.appendChild(b); });
    bar.appendChild(slider); bar.appendChild(count);

    var phase = el("div", "tt-phase");
    var running = el("div", "tt-row tt-running-row");
    var ready = el("div", "tt-row tt-ready-row");
    var waiting = el("div", "tt-row tt-waiting-row");
    var caption = el("div", "tt-caption");
    [bar, phase, running, ready, waiting, caption].forEach(function (e) { root.appendChild(e); });

    var at = 0, timer = null;
    // A row: its label, then a box for the task chips (returned), so chips wrap beside the label.
    function label(row, text) {
      row.textContent = "";
      row.appendChild(el("span", "tt-label", text));
      return row.appendChild(el("span", "tt-chips"));
    }
    function show() {
      var s = replay(trace, at);
      root.setAttribute("data-step", String(at));
      slider.value = String(at);
      count.textContent = at + " / " + trace.steps.length;
      phase.textContent = "loop: " + PHASES[s.phase] + (s.tick ? " (tick " + s.tick + ")" : "");
      phase.setAttribute("data-phase", s.phase);
      var box = label(running, "running");
      if (s.running !== null) { box.appendChild(chip(s.running)); }
      box = label(ready, "ready queue (front first)");
      s.ready.forEach(function (id) { box.appendChild(chip(id)); });
      box = label(waiting, "waiting list");
      s.waiting.forEach(function (w) { box.appendChild(chip(w.task, w.waits_for)); });
      caption.textContent = at === 0 ? "step forward to start" : "step " + at + ": " + describe(trace, trace.steps[at - 1], name);
      back.disabled = at === 0;
      fwd.disabled = at === trace.steps.length;
    }
    function go(n) { at = Math.max(0, Math.min(trace.steps.length, n)); show(); }
    function stop() { if (timer) { clearInterval(timer); timer = null; } play.textContent = "\u25b6 play"; }
    back.addEventListener("click", function () { stop(); go(at - 1); });
    fwd.addEventListener("click", function () { stop(); go(at + 1); });
    slider.addEventListener("input", function () { stop(); go(parseInt(slider.value, 10)); });
    play.addEventListener("click", function () {
      if (timer) { stop(); return; }
      if (at === trace.steps.length) { go(0); }
      play.textContent = "\u275a\u275a pause";
      timer = setInterval(function () { if (at >= trace.steps.length) { stop(); } else { go(at + 1); } }, 700);
    });
    show();
  }

  function load(root) {
    var name = root.getAttribute("data-trace") || "its trace";
    try {
      var data = root.querySelector("script.tt-trace");
      if (!data) {
        throw new Error("the page embeds no trace: include the JSON file in a " +
          "<script type=\"application/json\" class=\"tt-trace\"> inside the player's <div> " +
          "(book/player/EMBED.md)");
      }
      var trace = JSON.parse(data.textContent);
      if (trace.format !== "taketurns-lists" || trace.version !== 2) {
        throw new Error("it is not a taketurns-lists version 2 trace: regenerate it (book/player/README.md)");
      }
      build(root, trace);
    } catch (e) {
      root.appendChild(el("p", "tt-error", "The player could not load " + name + ": " + e.message));
    }
  }

  window.ttPlayerReplay = replay;
  function start() { document.querySelectorAll(".tt-player[data-trace]").forEach(load); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
