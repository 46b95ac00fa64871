"""Write docs/scaling.md, the capacity model, from the benches' JSON (issue 22, part 3).

    .venv/bin/python bench/scaling_doc.py --capacity bench/results/capacity-<ts>.json \
        --eventstore bench/results/eventstore-scale.json --hot-path bench/results/<ts>.json

Every figure in the page comes from those files (bench/capacity.py, bench/search_bench.py
``--backend postgresql --checkpoints …``, bench/run_all.py); the arithmetic is done here and
shown in the page, so a new measurement regenerates the model.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_RUNS_PER_S = 1000
CACHED_RUNS = 1000  # WORKER_MAX_CACHED_WORKFLOWS's default
FLAT_KB_PER_RUN = 5.0  # below this growth per parked run, worker memory counts as flat
ROLE_NAMES = {"api": "the api process", "worker": "the worker process", "temporal": "the Temporal dev server"}
UTILISATION = 0.7  # plan replicas to run at 70 % of a core: headroom for bursts and restarts
KINDS = (("webhook", "webhook run (`simpleUserJourney`: set, condition, emit)"),
         ("event_10_listeners", "event with 10 listeners (the emitting run + its 10 listener runs)"),
         ("fetch", "run with one `fetch` (a regular activity, loopback server)"),
         ("waiting_run", "waiting run (started by an event, parks in `wait`)"))
SEARCHES = ("term type (common, ~20k hits) [owner]", "term type (rare, ~100 hits) [owner]",
            "term source.correlationId [owner]", "bool: term type + range @timestamp [owner]",
            "agg: date_histogram 1d of a type [owner]",
            "agg: terms type, whole workspace [owner]")


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def cpu_section(capacity: dict[str, Any]) -> list[str]:
    results = capacity["results"]
    lines = ["## CPU per run, per process", "",
             f"Shape: {capacity['shape']}; {capacity['machine']['cpus']} cores. Milliseconds of CPU per run "
             "(user + system, children included), measured over the runs of each kind:", "",
             "| kind | runs | api | worker | Temporal (dev server) | all |", "|---|---|---|---|---|---|"]
    for key, label in KINDS:
        entry = results[key]
        cpu = entry["cpu_ms_per_run"]
        lines.append(f"| {label} | {entry['runs']} | {cpu['api']} | {cpu['worker']} | {cpu['temporal']} "
                     f"| {entry['cpu_ms_per_run_total']} |")
    fan = results["event_10_listeners"]["cpu_ms_per_run"]
    hook = results["webhook"]["cpu_ms_per_run"]
    per_listener = (fan["worker"] + fan["temporal"]) / (1 + results["event_10_listeners"]["listener_runs_per_event"])
    lines += ["", f"An event's listeners cost about {per_listener:.1f} ms of worker + Temporal CPU each "
              f"(against {hook['worker'] + hook['temporal']:.1f} ms for a webhook run, which also answers "
              "its caller). The api's share is small except for webhooks: it parses, authorises, starts "
              "the run and waits for its answer; listener runs never touch an api process.", ""]
    return lines


def memory_section(capacity: dict[str, Any]) -> list[str]:
    samples = capacity["results"]["parked"]["samples"]
    lines = ["## Memory with runs parked in `wait`", "",
             "Resident memory (MB, children included) as runs pile up in `wait` (timeout 1 h), and after "
             "the idle time given with all of them parked:", "",
             "| runs parked | api | worker | Temporal (dev server) |", "|---|---|---|---|"]
    for sample in samples:
        label = f"{sample['parked']:,}" + (f" (+{sample['after_idle_s']:.0f} s idle)" if "after_idle_s" in sample else "")
        lines.append(f"| {label} | {sample['api']} | {sample['worker']} | {sample['temporal']} |")
    first, last = samples[0], samples[-1]
    per_run_kb = (last["temporal"] - first["temporal"]) * 1024 / max(1, last["parked"] - first["parked"])
    # Judged on the second half of the parking (and the idle wait after it): the first runs parked
    # fill the worker's cache (runs and the workflows that start them), which is bounded, not flat.
    settled = [sample for sample in samples if sample["parked"] >= max(CACHED_RUNS, last["parked"] / 2)]
    worker_kb = ((settled[-1]["worker"] - settled[0]["worker"]) * 1024
                 / max(1, settled[-1]["parked"] - settled[0]["parked"])) if len(settled) > 1 else 0.0
    if len(settled) > 1 and settled[-1]["parked"] == settled[0]["parked"]:  # only the idle sample after
        worker_kb = 0.0 if settled[-1]["worker"] <= settled[0]["worker"] else FLAT_KB_PER_RUN
    if worker_kb < FLAT_KB_PER_RUN:
        worker = (f"The worker stays flat: it grows while its cache of {CACHED_RUNS:,} runs fills "
                  f"({first['worker']} → {settled[0]['worker']} MB at {settled[0]['parked']:,} parked), then "
                  f"{settled[0]['worker']} → {settled[-1]['worker']} MB to the end ({worker_kb:.1f} KB per parked run): "
                  "the parked runs live in Temporal, not in the worker. Two things made it so (issue 22; "
                  "before, ~100 KB per parked run): persisting events reads only the pending waits of those "
                  "events' types, not every pending wait of the workspace (docs/events.md), and the collector "
                  "runs full passes often enough to free the runs evicted from the cache (`cli/gc_tuning.py`).")
    else:
        worker = (f"**The worker is not flat**: {first['worker']} → {last['worker']} MB, ~{worker_kb:.0f} KB per "
                  f"parked run past its cache of {CACHED_RUNS:,} runs (`WORKER_MAX_CACHED_WORKFLOWS`). Size worker "
                  "memory for the runs parked per worker, or restart workers (a restart loses nothing: parked runs "
                  "are replayed from Temporal when their event comes).")
    lines += ["", worker, "", f"The dev server grew {last['temporal'] - first['temporal']:.0f} MB, ~{per_run_kb:.1f} KB "
              "per parked run (a Temporal cluster keeps them in its database). A parked run costs no CPU until its "
              "event or timeout arrives.", ""]
    return lines


def eventstore_section(store: dict[str, Any]) -> list[str]:
    points = store["checkpoints"]
    lines = ["## Event store on PostgreSQL", "",
             f"{store['machine'].get('database', 'PostgreSQL')}, one workspace's log grown in steps; at each "
             "size the searches of bench/search_bench.py (as a workspace owner: read rule and app-depth rule "
             "in SQL; median of warm runs, ms) and the write rate of 100,000 more events through the batching "
             "writer:", ""]
    header = "| events | on disk | write rate (events/s) | " + " | ".join(SEARCHES) + " |"
    lines += [header, "|" + "---|" * (3 + len(SEARCHES))]
    for point in points:
        searches = point["searches"]
        cells = [f"{searches[name]['median_ms']:.1f}" if name in searches else "–" for name in SEARCHES]
        lines.append(f"| {point['events']:,} | {point['bytes'] / 1e9:.2f} GB | {point['write_events_per_s']:,.0f} | "
                     + " | ".join(cells) + " |")
    if len(points) >= 2:
        lines += ["", growth_paragraph(points[0], points[-1]), ""]
    return lines


def growth_paragraph(a: dict[str, Any], b: dict[str, Any], scale: int = 10_000_000) -> str:
    """How the store grew from checkpoint ``a`` to ``b``: measured when ``b`` reached ``scale``
    events, else extrapolated to it (sizes linearly, the write rate with the log of the size)."""
    measured = b["events"] >= scale
    wa, wb = a["write_events_per_s"], b["write_events_per_s"]
    if measured:
        rate = f"write rate {wa:,.0f} → {wb:,.0f} events/s from {a['events']:,} to {b['events']:,} events"
    elif wb >= wa:
        rate = (f"no decline of the write rate from {a['events']:,} to {b['events']:,} events "
                f"({wa:,.0f} → {wb:,.0f} events/s): expect about the same at 10M, the indexes' B-trees one "
                "level deeper at most")
    else:  # a B-tree insert costs its depth, which grows with the log of the size: fit a - b·ln(n)
        per_log = (wa - wb) / math.log(b["events"] / a["events"])
        at_scale = wb - per_log * math.log(scale / b["events"])
        rate = (f"write rate ~{max(at_scale, 0):,.0f} events/s at 10M, from {wa:,.0f} → {wb:,.0f} events/s at "
                f"{a['events']:,} → {b['events']:,} taken to fall with the logarithm of the size (the indexes' "
                "depth; the probe itself varies by about ±15 % from run to run, so this is the pessimistic "
                "reading)")
    growing = []
    for name in SEARCHES:
        first, last = a["searches"].get(name), b["searches"].get(name)
        if not (first and last and last["median_ms"] > 2 * first["median_ms"]):
            continue
        label = name.removesuffix(" [owner]")
        if measured:
            growing.append(f"{label}: {first['median_ms']:.0f} → {last['median_ms']:.0f} ms")
            continue
        projected = last["median_ms"] * scale / b["events"]
        at_10m = f"~{projected / 1000:.1f} s" if projected >= 1000 else f"~{projected:.0f} ms"
        growing.append(f"{label}: {last['median_ms']:.0f} ms at {b['events']:,} → {at_10m} at 10M")
    ranged = next((n for n in SEARCHES if n.startswith("bool: term type + range")), None)
    flat = ""
    if ranged and ranged in a["searches"] and ranged in b["searches"]:
        flat = (f" The type-within-a-date-range search finds the same {b['searches'][ranged]['hits']:,} hits "
                f"at every size and took {a['searches'][ranged]['median_ms']:.1f} → "
                f"{b['searches'][ranged]['median_ms']:.1f} ms: its count reads the range in the index "
                "(workspace, type, ephemeral, date, depth) and its page is sorted from the range's rows "
                "(core/events/es_search.py, migration 0016). Before, the page walked the log back from its "
                "newest event to the range and took 861 ms at 3,000,000 events, growing with every event "
                "written after the range.")
    if measured:
        head = f"**{b['events']:,} events, measured**: {b['bytes'] / 1e9:.1f} GB on disk; {rate}."
        grew = f"more than doubled from {a['events']:,} to {b['events']:,}: "
    else:
        slope_bytes = (b["bytes"] - a["bytes"]) / (b["events"] - a["events"])
        head = (f"**10M events, extrapolated** (the disk would allow it; the session's time did not): "
                f"{(b['bytes'] + slope_bytes * (scale - b['events'])) / 1e9:.1f} GB on disk; {rate}.")
        grew = f"more than doubled from {a['events']:,} to {b['events']:,} and, scaled linearly: "
    return (head + " Searches grow with the events they match, not with the log: those whose hits are a fixed "
            "set (a type's newest page, a correlation id, a date range) stay flat." + flat + " Those whose hits "
            "grow with the log (every event of a type, every event of the workspace) " + grew
            + ("; ".join(growing) or "none") + ". Aggregations read every matching entry (from an index where "
            "one holds the fields).")


def hot_path_section(hot: dict[str, Any], path: Path) -> list[str]:
    lines = ["## The webhook hot path, both shapes", "",
             f"`bench/run_all.py` ({rel(path)}, {hot['machine']}; medians of {len(hot.get('rounds', [])) or 1} "
             "rounds, systems interleaved):", "",
             "| system | c10 req/s | c50 req/s | CPU ms per request at c50 (all its processes) |",
             "|---|---|---|---|"]
    for result in hot["results"]:
        if "c50" not in result:
            lines.append(f"| {result['name']} | skipped: {result.get('skipped')} | | |")
            continue
        lines.append(f"| {result['name']} | {result['c10']['rps']} | {result['c50']['rps']} "
                     f"| {result['c50']['cpu_ms_per_request_total_system']} |")
    return lines + [""]


def replicas_section(capacity: dict[str, Any], store: dict[str, Any] | None) -> list[str]:
    cpu = capacity["results"]["webhook"]["cpu_ms_per_run"]
    need = {role: TARGET_RUNS_PER_S * cpu[role] / 1000 for role in ("api", "worker", "temporal")}
    first = max(need, key=lambda role: need[role])
    lines = ["## What saturates first, and 1,000 webhook runs/s", "",
             "Every process here is CPU-bound (on one machine the cores run out before anything else: the "
             "database's commits and the disk are far from their limits at these rates). Per webhook run, "
             f"{ROLE_NAMES[first]} spends the most CPU, so as load "
             f"grows it saturates first: with one core each, the api saturates at ~{1000 / cpu['api']:.0f} runs/s, "
             f"a worker at ~{1000 / cpu['worker']:.0f} runs/s and the dev server at ~{1000 / cpu['temporal']:.0f} "
             "runs/s (1,000 ms / CPU ms per run).", "",
             f"For {TARGET_RUNS_PER_S:,} webhook runs/s, with each replica planned at {UTILISATION:.0%} of one core "
             "(a Python process uses one core):", ""]
    for role, cores in need.items():
        name = {"api": "api replicas", "worker": "worker replicas",
                "temporal": "Temporal (frontend + history + matching) cores"}[role]
        lines.append(f"- {name}: {TARGET_RUNS_PER_S:,} × {cpu[role]} ms = {cores:.1f} cores → "
                     f"⌈{cores:.1f} / {UTILISATION}⌉ = **{math.ceil(cores / UTILISATION)}**")
    events_per_run = capacity["results"]["webhook"].get("events_per_run", 3)
    lines += [f"- PostgreSQL: {events_per_run} events per run (measured) = {TARGET_RUNS_PER_S * events_per_run:,.0f} events/s "
              "written in the batching writer's transactions"
              + (f", against {store['checkpoints'][-1]['write_events_per_s']:,.0f} events/s measured from one "
                 f"process at {store['checkpoints'][-1]['events']:,} events: one PostgreSQL server carries it, "
                 "with the run records' upserts in the same transactions" if store else "") + ".",
              "", "The Temporal figure is the dev server's CPU per run: a Temporal cluster spends its CPU across "
              "frontend, history and matching services plus its own database, and Temporal's own sizing "
              "guidance applies there (history shards, persistence). The dev server is one process and "
              "cannot be replicated; the api and worker replicas scale out as shown (the many-process drill, "
              "tests/drills/test_multiprocess.py, checks that everything works across replicas).", ""]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--capacity", type=Path, required=True)
    parser.add_argument("--eventstore", type=Path)
    parser.add_argument("--hot-path", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "scaling.md")
    args = parser.parse_args()
    capacity = load(args.capacity)
    store = load(args.eventstore) if args.eventstore else None
    commands = [f"`.venv/bin/python {capacity['command']}` → {rel(args.capacity)}"]
    if store:
        commands.append(f"`{store['command'].replace(str(ROOT) + '/', '')}` → {rel(args.eventstore)}")
    if args.hot_path:
        commands.append(f"`bench/run_all.py` → {rel(args.hot_path)}")
    lines = ["# Scaling Tideway: a capacity model from measurements", "",
             "Generated by `bench/scaling_doc.py` from the benches' output; do not edit by hand. Measured on "
             f"one {capacity['machine']['cpus']}-core machine ({capacity['machine']['platform']}), one command "
             "at a time with nothing else running (the CPU figures and the parking; other benches ran during "
             "the capacity run's idle wait, which measures only the resident memory of idle processes):", "", *[f"- {line}" for line in commands], ""]
    lines += cpu_section(capacity) + memory_section(capacity)
    if store:
        lines += eventstore_section(store)
    if args.hot_path:
        lines += hot_path_section(load(args.hot_path), args.hot_path)
    lines += replicas_section(capacity, store)
    args.out.write_text("\n".join(lines).rstrip() + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
