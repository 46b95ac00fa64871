"""Profile the Tideway process under webhook load with py-spy (issue 9's "profile, then fix").

    .venv/bin/python bench/profile_tideway.py [--variant memory+pollrps] [--seconds 20] [--connections 10]
    .venv/bin/python bench/profile_tideway.py --floor      # the Temporal floor's process, the same way

Starts Tideway like bench/run_all.py, warms up, then samples the api+worker process (threads holding the GIL: CPU, not waits) with
``py-spy record --format raw`` (collapsed stacks, native frames off) while the load runs, and
prints the top frames by own time and by inclusive time (Tideway files first). The raw
profile is kept under bench/results/ for flame graphs. Last, a table of where the time goes
(:data:`BUCKETS`: Tideway's parts, the Temporal SDK's, the HTTP server's) in milliseconds of
GIL-holding Python per request.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import loadgen  # noqa: E402
from bench.floor_system import TemporalFloor  # noqa: E402
from bench.run_all import RESULTS, VARIANTS, cpu_seconds  # noqa: E402
from bench.systems import Tideway  # noqa: E402

OURS = ("api/", "core/", "workflows/", "activities/", "worker/", "schemas/", "cli/")
RATE = 200  # samples per second of py-spy

# Where a sample's time goes: the first bucket any of whose markers is in one of its frames.
# Most specific first (the codec runs under the SDK's frames, the SDK under Tideway's launcher).
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("payload codec (AES-GCM, core/infra/payload_codec.py)", ("EncryptionCodec.",)),
    ("payload conversion (pydantic JSON, SDK)", ("PayloadConverter.", "PayloadConverter._", "from_payload")),
    ("event log inserts and run records (core/events/writer.py)", ("EventWriter._commit",)),
    ("wait matching (core/events/waits.py)", ("(core/events/waits.py",)),
    ("workspace row and instance tree (core/workspaces, core/apps/tree.py)",
     ("(core/apps/tree.py", "(core/workspaces/service.py")),
    ("Temporal client: start and result (SDK)", ("(temporalio/client/",)),
    ("workflow code: interpreter, run report (workflows/)", ("(workflows/",)),
    ("flush activity, the rest (activities/)", ("(activities/",)),
    # api/workspace_slugs.py is the outermost middleware, under every request: not a marker.
    ("webhook route, its body and caller, the launcher (api/, core/runs/)",
     ("(api/routers/", "(api/bodies.py", "(api/deps.py", "(api/permissions.py", "(core/runs/")),
    ("Temporal worker: activations, polling (SDK)", ("(temporalio/",)),
    ("HTTP server and FastAPI", ("(uvicorn/", "(starlette/", "(fastapi/", "(httptools")),
]


def stacks(raw: Path) -> Iterator[tuple[str, int]]:
    """(collapsed stack, samples) of each line of a ``py-spy --format raw`` profile."""
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():
            yield stack, int(count)


def where_time_goes(raw: Path, requests: int) -> str:
    """A table of the buckets: samples, share and milliseconds of GIL-holding time per request."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for stack, n in stacks(raw):
        total += n
        bucket = next((name for name, markers in BUCKETS if any(m in stack for m in markers)), "asyncio and the rest")
        counts[bucket] += n
    per_request = 1000 / RATE / max(requests, 1)
    rows = ["| where | samples | share | ms per request |", "|---|---|---|---|"]
    rows += [f"| {name} | {n} | {100 * n / max(total, 1):.1f} % | {n * per_request:.2f} |"
             for name, n in counts.most_common()]
    rows.append(f"| all (Python holding the GIL) | {total} | 100 % | {total * per_request:.2f} |")
    return "\n".join(rows)


def summarize(raw: Path, top: int = 25) -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    ours_inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for stack, n in stacks(raw):
        total += n
        frames = stack.split(";")
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
            if any(f"/{p}" in frame or frame.startswith(p) for p in OURS) and ".venv" not in frame:
                ours_inclusive[frame] += n
    out = [f"{total} samples"]
    for title, counter in (("own time", own), ("inclusive, Tideway code", ours_inclusive),
                           ("inclusive, all", inclusive)):
        out.append(f"\n-- top by {title}")
        out += [f"{100 * n / max(total, 1):5.1f}%  {frame}" for frame, n in counter.most_common(top)]
    return "\n".join(out)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", default="memory+pollrps", choices=sorted(VARIANTS))
    parser.add_argument("--floor", action="store_true",
                        help="profile bench/floor_system.py's process instead (the same buckets, side by side)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=10)
    args = parser.parse_args()
    spy = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which("py-spy")
    if not spy:
        print("py-spy not installed (pip install py-spy)")
        return 1
    system: Any = TemporalFloor() if args.floor else Tideway(**VARIANTS[args.variant])
    label = "temporal-floor" if args.floor else args.variant
    await asyncio.to_thread(system.start)
    try:
        await loadgen.concurrent(system.url, system.body, args.connections, 5, system.check)
        RESULTS.mkdir(exist_ok=True)
        raw = RESULTS / f"profile-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.txt"
        pid = next(pid for name, pid in system.pids.items() if name != "temporal dev server")
        server = system.pids["temporal dev server"]
        proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(int(args.seconds)),
                                 "--rate", str(RATE), "--format", "raw", "--output", str(raw), "--nonblocking", "--gil"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = (cpu_seconds(pid), cpu_seconds(server))
        phase = await loadgen.concurrent(system.url, system.body, args.connections, args.seconds, system.check)
        after = (cpu_seconds(pid), cpu_seconds(server))
        proc.wait(60)
        summary = phase.summary()
        n = max(1, summary["requests"])
        print(f"{label} c{args.connections}: {summary['rps']} req/s, p50 {summary['p50_ms']} ms, "
              f"errors {summary['errors']}; CPU ms/request: process {(after[0] - before[0]) / n * 1000:.1f}, "
              f"dev server {(after[1] - before[1]) / n * 1000:.1f} (py-spy sampling adds some)")
        if raw.exists():
            print(summarize(raw))
            print("\n" + where_time_goes(raw, n))
            print(f"\nraw profile: {raw}")
    finally:
        await asyncio.to_thread(system.stop)
    return 0


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stdout.flush()
    os._exit(code)
