"""Profile the Tideway process under webhook load with py-spy (issue 9's "profile, then fix").

    .venv/bin/python bench/profile_tideway.py [--variant memory+pollrps] [--seconds 20] [--connections 10]

Starts Tideway like bench/run_all.py, warms up, then samples the api+worker process (threads holding the GIL: CPU, not waits) with
``py-spy record --format raw`` (collapsed stacks, native frames off) while the load runs, and
prints the top frames by own time and by inclusive time (Tideway files first). The raw
profile is kept under bench/results/ for flame graphs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import loadgen  # noqa: E402
from bench.run_all import RESULTS, VARIANTS, cpu_seconds  # noqa: E402
from bench.systems import Tideway  # noqa: E402

OURS = ("api/", "core/", "workflows/", "activities/", "worker/", "schemas/", "cli/")


def summarize(raw: Path, top: int = 25) -> str:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    ours_inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
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
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--connections", type=int, default=10)
    args = parser.parse_args()
    spy = shutil.which("py-spy", path=os.path.dirname(sys.executable)) or shutil.which("py-spy")
    if not spy:
        print("py-spy not installed (pip install py-spy)")
        return 1
    system = Tideway(**VARIANTS[args.variant])
    await asyncio.to_thread(system.start)
    try:
        await loadgen.concurrent(system.url, system.body, args.connections, 5, system.check)
        RESULTS.mkdir(exist_ok=True)
        raw = RESULTS / f"profile-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.txt"
        pid = system.pids["tideway (api+worker)"]
        server = system.pids["temporal dev server"]
        proc = subprocess.Popen([spy, "record", "--pid", str(pid), "--duration", str(int(args.seconds)),
                                 "--rate", "200", "--format", "raw", "--output", str(raw), "--nonblocking", "--gil"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = (cpu_seconds(pid), cpu_seconds(server))
        phase = await loadgen.concurrent(system.url, system.body, args.connections, args.seconds, system.check)
        after = (cpu_seconds(pid), cpu_seconds(server))
        proc.wait(60)
        summary = phase.summary()
        n = max(1, summary["requests"])
        print(f"{args.variant} c{args.connections}: {summary['rps']} req/s, p50 {summary['p50_ms']} ms, "
              f"errors {summary['errors']}; CPU ms/request: tideway {(after[0] - before[0]) / n * 1000:.1f}, "
              f"dev server {(after[1] - before[1]) / n * 1000:.1f} (py-spy sampling adds some)")
        if raw.exists():
            print(summarize(raw))
            print(f"\nraw profile: {raw}")
    finally:
        await asyncio.to_thread(system.stop)
    return 0


if __name__ == "__main__":
    code = asyncio.run(main())
    sys.stdout.flush()
    os._exit(code)
