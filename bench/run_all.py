"""Side-by-side benchmark of the ``simpleUserJourney`` webhook (issue 9): ``make bench``.

Systems, one at a time, in the same run, with the same load generator (bench/loadgen.py):
Tideway as ``make run`` starts it (and the dev-server variants: persistence file/memory,
``history.transferProcessorMaxPollRPS`` default/10000), the naive Temporal baseline
(bench/baseline/), and n8n when ``make bench-peers`` installed it.

Per system, after warm-up: sequential p50/p95/p99 over 300 requests; rps and p50/p99 at 10
and 50 connections for 30 s each; CPU seconds per request of every process; errors. Writes
``bench/results/<timestamp>.json`` and ``.md``.

    .venv/bin/python bench/run_all.py                      # everything (~9 min)
    .venv/bin/python bench/run_all.py --quick              # 5 s phases, 60 sequential requests
    .venv/bin/python bench/run_all.py --systems tideway --variants file,memory+pollrps
    .venv/bin/python bench/run_all.py --systems tideway --variants file --rounds 3 \
        --compare-root before=/tmp/tideway-before   # this tree vs another checkout, interleaved
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil  # noqa: E402

from bench import loadgen  # noqa: E402
from bench.systems import N8n, NaiveBaseline, System, Tideway, smoke  # noqa: E402

SYSTEMS = ("tideway", "cluster", "baseline", "n8n", "n8n-pg", "floor")

RESULTS = Path(__file__).resolve().parent / "results"
# Tideway variants: the keyword arguments of bench.systems.Tideway (``file`` is ``make run``).
VARIANTS: dict[str, dict[str, Any]] = {
    "file": {"persistence": "file"}, "file-plain": {"persistence": "file-plain"},
    "file+pollrps": {"persistence": "file", "poll_rps": True},
    "memory": {"persistence": "memory"}, "memory+pollrps": {"persistence": "memory", "poll_rps": True},
    # The run trace's levels (issue 19, docs/runs.md); `file` runs at the default, `steps`.
    "file+trace-off": {"persistence": "file", "extra_env": {"RUN_TRACE_LEVEL": "off"}, "label": "trace-off"},
    "file+trace-values": {"persistence": "file", "extra_env": {"RUN_TRACE_LEVEL": "values"}, "label": "trace-values"},
    # The same journey inside try/catch, and with one Custom Code call (examples/hello).
    "file+try": {"persistence": "file", "endpoint": "tryJourney", "label": "tryJourney"},
    "file+code": {"persistence": "file", "endpoint": "codeJourney", "label": "codeJourney"},
}
TARGETS = {"seq_p50_ms": 30.0, "rps_vs_baseline": 2.5}


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User+system CPU of a process and all its descendants (children that exited are not seen)."""
    try:
        root = psutil.Process(pid)
        total = 0.0
        for proc in [root, *(root.children(recursive=True) if children else [])]:
            try:
                t = proc.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        return total
    except psutil.NoSuchProcess:
        return 0.0


def cpu_snapshot(system: System) -> dict[str, float]:
    snap = {name: cpu_seconds(pid) for name, pid in system.pids.items()}
    snap["load generator"] = cpu_seconds(os.getpid(), children=False)
    return snap


async def measure(system: System, phase: str, coro: Any) -> dict[str, Any]:
    before = cpu_snapshot(system)
    result: loadgen.Phase = await coro
    after = cpu_snapshot(system)
    summary = result.summary()
    n = max(1, summary["requests"])
    summary["cpu_ms_per_request"] = {k: round((after[k] - before[k]) / n * 1000, 2) for k in after}
    summary["cpu_ms_per_request_total_system"] = round(
        sum(v for k, v in summary["cpu_ms_per_request"].items() if k != "load generator"), 2)
    print(f"  {phase:>5}: {summary['requests']} ok, {summary['errors']} errors, {summary['rps']} req/s, "
          f"p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, p99 {summary['p99_ms']} ms, "
          f"cpu/req {summary['cpu_ms_per_request_total_system']} ms", flush=True)
    return summary


async def bench_system(system: System, seq: int, duration: float) -> dict[str, Any]:
    print(f"== {system.name}", flush=True)
    started = time.perf_counter()
    await asyncio.to_thread(system.start)
    print(f"  started in {time.perf_counter() - started:.1f} s; smoke: {await asyncio.to_thread(smoke, system)}",
          flush=True)
    try:
        # Warm-up: sequential, then concurrent, results thrown away.
        where = system.urls or system.url
        await loadgen.sequential(system.url, system.body, 30, system.check)
        await loadgen.concurrent(where, system.body, 10, min(5.0, duration), system.check)
        await asyncio.sleep(1.0)
        out: dict[str, Any] = {"name": system.name, "url": system.url, "notes": system.notes}
        out["seq"] = await measure(system, "seq", loadgen.sequential(system.url, system.body, seq, system.check))
        for c in (10, 50):
            await asyncio.sleep(1.0)
            out[f"c{c}"] = await measure(system, f"c{c}", loadgen.concurrent(
                where, system.body, c, duration, system.check))
        out["errors"] = sum(out[k]["errors"] for k in ("seq", "c10", "c50"))
        return out
    finally:
        await asyncio.to_thread(system.stop)


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def ratios(results: list[dict[str, Any]]) -> dict[str, Any]:
    by = {r["name"]: r for r in results if "seq" in r}
    base, peer, peer_pg = by.get("naive-temporal"), by.get("n8n"), by.get("n8n[postgresdb]")
    floor = by.get("temporal-floor")
    out: dict[str, Any] = {}
    for name, r in by.items():
        if not name.startswith("tideway"):
            continue
        entry: dict[str, Any] = {}
        for other, label in ((base, "baseline"), (peer, "n8n"), (peer_pg, "n8n_postgresdb"), (floor, "floor")):
            if other is None:
                continue
            entry[f"vs_{label}"] = {
                "seq_p50": ratio(r["seq"]["p50_ms"], other["seq"]["p50_ms"]),
                "c10_rps": ratio(r["c10"]["rps"], other["c10"]["rps"]),
                "c50_rps": ratio(r["c50"]["rps"], other["c50"]["rps"]),
                "cpu_per_request_c50": ratio(r["c50"]["cpu_ms_per_request_total_system"],
                                             other["c50"]["cpu_ms_per_request_total_system"])}
        entry["targets"] = targets(r, base, peer_pg or peer, floor)
        out[name] = entry
    return out


def targets(r: dict[str, Any], base: dict[str, Any] | None, peer: dict[str, Any] | None,
            floor: dict[str, Any] | None = None) -> dict[str, Any]:
    """Issue 22's targets: ≥ 2.5× the baseline and ≥ n8n (on PostgreSQL when it ran) at c10 and
    c50; CPU per run of all the system's processes ≤ 1.25× the Temporal floor's at c50."""
    t: dict[str, Any] = {"seq_p50_le_30ms": r["seq"]["p50_ms"] is not None and r["seq"]["p50_ms"] <= 30.0,
                         "no_errors": r["errors"] == 0}
    if floor:
        mine, bare = r["c50"]["cpu_ms_per_request_total_system"], floor["c50"]["cpu_ms_per_request_total_system"]
        t["c50_cpu_le_1.25x_floor"] = bool(mine and bare and mine <= 1.25 * bare)
    for c in (10, 50):
        if base:
            t[f"c{c}_ge_2.5x_baseline"] = (r[f"c{c}"]["rps"] or 0) >= 2.5 * (base[f"c{c}"]["rps"] or 0)
        if peer:
            t[f"c{c}_ge_n8n"] = (r[f"c{c}"]["rps"] or 0) >= (peer[f"c{c}"]["rps"] or 0)
    return t


def median_result(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One system's figures over several rounds: the median of each figure, errors summed."""
    done = [r for r in runs if "seq" in r]
    if not done:
        return runs[-1]
    out: dict[str, Any] = {"name": done[0]["name"], "url": done[0]["url"], "notes": done[0]["notes"],
                           "rounds": len(done), "errors": sum(r["errors"] for r in done)}
    for phase in ("seq", "c10", "c50"):
        phases = [r[phase] for r in done]
        merged: dict[str, Any] = {}
        for key in ("requests", "errors", "rps", "p50_ms", "p95_ms", "p99_ms", "cpu_ms_per_request_total_system"):
            values = [p[key] for p in phases if p.get(key) is not None]
            merged[key] = round(statistics.median(values), 2) if values else None
        merged["errors"] = sum(p["errors"] for p in phases)
        merged["cpu_ms_per_request"] = {k: round(statistics.median(p["cpu_ms_per_request"][k] for p in phases), 2)
                                        for k in phases[0]["cpu_ms_per_request"]}
        out[phase] = merged
    return out


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# simpleUserJourney webhook benchmark, {report['started']}", "",
             f"Machine: {report['machine']}. Load generator: {report['load_generator']}. "
             f"Sequential {report['seq_requests']} requests; concurrent phases {report['duration_s']} s each.", "",
             "| system | seq p50 / p95 / p99 ms | c10 req/s (p50 / p99 ms) | c50 req/s (p50 / p99 ms) "
             "| CPU ms/req at c50 (per process) | errors |",
             "|---|---|---|---|---|---|"]
    for r in report["results"]:
        if "seq" not in r:
            lines.append(f"| {r['name']} | skipped: {r.get('skipped')} | | | | |")
            continue
        s, c10, c50 = r["seq"], r["c10"], r["c50"]
        cpu = ", ".join(f"{k} {v}" for k, v in c50["cpu_ms_per_request"].items())
        lines.append(f"| {r['name']} | {s['p50_ms']} / {s['p95_ms']} / {s['p99_ms']} | {c10['rps']} "
                     f"({c10['p50_ms']} / {c10['p99_ms']}) | {c50['rps']} ({c50['p50_ms']} / {c50['p99_ms']}) "
                     f"| {c50['cpu_ms_per_request_total_system']} ({cpu}) | {r['errors']} |")
    lines += ["", "Ratios (Tideway / other; < 1 is better for latency and CPU, > 1 better for req/s):", ""]
    for name, entry in report["ratios"].items():
        for key, value in entry.items():
            lines.append(f"- {name} {key}: {json.dumps(value)}")
    if len(report.get("rounds", [])) > 1:
        lines += ["", f"The table gives each figure's median over {len(report['rounds'])} rounds (systems "
                  "interleaved, the order reversed every other round). Ratios within each round:", ""]
        for index, round_ in enumerate(report["rounds"], 1):
            for name, entry in round_["ratios"].items():
                for key, value in entry.items():
                    if key.startswith("vs_"):
                        lines.append(f"- round {index}, {name} {key}: {json.dumps(value)}")
    return "\n".join(lines) + "\n"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default="tideway,cluster,floor,baseline,n8n-pg",
                        help=f"comma-separated, of: {', '.join(SYSTEMS)}")
    parser.add_argument("--variants", default="file,file+pollrps,memory,memory+pollrps",
                        help="Tideway dev-server variants; the first is the headline (file = as make run)")
    parser.add_argument("--seq", type=int, default=300)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="60 sequential requests, 5 s phases")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure every system this many times, interleaved; report medians and per-round ratios")
    parser.add_argument("--compare-root", action="append", default=[], metavar="LABEL=PATH",
                        help="also run the first variant from another checkout (with this venv), "
                             "interleaved with this tree's; e.g. before=/tmp/tideway-before")
    args = parser.parse_args()
    compare = [(label, Path(path)) for label, _, path in (item.partition("=") for item in args.compare_root)]
    if args.quick:
        args.seq, args.duration = 60, 5.0
    wanted = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = sorted(set(wanted) - set(SYSTEMS))
    if unknown:
        parser.error(f"unknown systems {', '.join(unknown)} (known: {', '.join(SYSTEMS)})")
    from bench.peers import why_not_ready

    missing = {name: why_not_ready(db) for name, db in (("n8n", "sqlite"), ("n8n-pg", "postgresdb")) if name in wanted}
    for name, reason in missing.items():
        if reason:
            print(f"{name} peer skipped: {reason}")

    def fresh_systems() -> list[System | tuple[str, str]]:
        """New instances each round: every round starts from empty data folders."""
        systems: list[System | tuple[str, str]] = []
        if "tideway" in wanted:
            variants = [v.strip() for v in args.variants.split(",")]
            systems += [Tideway(**VARIANTS[v]) for v in variants]
            systems += [Tideway(**{**VARIANTS[variants[0]], "root": root, "label": label}) for label, root in compare]
        if "cluster" in wanted:
            from bench.cluster import TidewayCluster

            systems.append(TidewayCluster())
        if "floor" in wanted:
            from bench.floor_system import TemporalFloor

            systems.append(TemporalFloor())
        if "baseline" in wanted:
            systems.append(NaiveBaseline())
        for name, db in (("n8n", "sqlite"), ("n8n-pg", "postgresdb")):
            if name in wanted:
                reason = missing[name]
                systems.append((name, reason) if reason else N8n(db))
        return systems

    started = datetime.now(UTC)
    report: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"), "seq_requests": args.seq, "duration_s": args.duration,
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, {platform.python_version()}, "
                   f"load average at start {os.getloadavg()[0]:.2f}",
        "load_generator": "bench/loadgen.py (asyncio HTTP/1.1 keep-alive, one process)", "results": []}
    # Rounds interleave the systems (the order reversed every other round), so a drift of the
    # shared machine's speed hits every system alike; each round's ratios are kept.
    report["rounds"] = []
    by_system: dict[str, list[dict[str, Any]]] = {}
    for index in range(max(1, args.rounds)):
        results: list[dict[str, Any]] = []
        systems = fresh_systems()
        for system in systems if index % 2 == 0 else list(reversed(systems)):
            if isinstance(system, tuple):
                results.append({"name": system[0], "skipped": system[1]})
                continue
            if args.rounds > 1:
                print(f"-- round {index + 1}/{args.rounds}", flush=True)
            try:
                results.append(await bench_system(system, args.seq, args.duration))
            except Exception as exc:  # a system that cannot start is reported, not fatal
                print(f"  {system.name} failed: {exc!r}", flush=True)
                results.append({"name": system.name, "skipped": f"failed: {exc!r}"})
            results[-1]["load_average_after"] = round(os.getloadavg()[0], 2)
        for result in results:
            by_system.setdefault(result["name"], []).append(result)
        report["rounds"].append({"results": results, "ratios": ratios(results)})
    report["results"] = [median_result(runs) for runs in by_system.values()]
    report["ratios"] = ratios(report["results"])
    RESULTS.mkdir(exist_ok=True)
    stem = RESULTS / started.strftime("%Y%m%dT%H%M%SZ")
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    stem.with_suffix(".md").write_text(text)
    print("\n" + text)
    print(f"written {stem}.json and {stem}.md")
    return 0


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stdout.flush()
    os._exit(code)
