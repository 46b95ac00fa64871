"""Bench: the CPU the egress checks add to one ``fetch`` (issue 22's feature table; docs/fetch.md).

    .venv/bin/python bench/egress_bench.py [--calls 2000]

Times, in process CPU, what the fetch activity does for the policy on each call: the up-front check
of a numeric URL and the connection-time check (resolution included) that
``activities.egress_http.EgressGuard`` runs, with the policy ``tideway run`` builds from its
settings, for an allow-listed IP, an allow-listed name and a public IP (no public name: its
resolution time is the resolver's, not the policy's). A fetch run costs tens of milliseconds of CPU in all (bench/capacity.py); this is its egress share.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from activities.egress import EgressPolicy, EgressRefusedError  # noqa: E402
from activities.egress_http import EgressGuard  # noqa: E402
from core.infra.settings import Settings  # noqa: E402


async def main(calls: int) -> None:
    settings = Settings(fetch_allowed_hosts="127.0.0.1,localhost",
                        database_url="postgresql://postgres@127.0.0.1:5432/test")
    guard = EgressGuard(EgressPolicy.from_settings(settings))
    for host in ("127.0.0.1", "localhost", "93.184.215.14"):  # allow-listed IP and name, a public IP
        url = f"http://{host}:8080/ok"
        try:
            await guard.permitted(host, 8080)  # warm: the own services' addresses are cached
        except (OSError, EgressRefusedError) as exc:
            print(f"{host}: {exc} (here); timed all the same")
        started = time.process_time()
        for _ in range(calls):
            await guard.check_numeric_url(url)
            try:
                await guard.permitted(host, 8080)
            except (OSError, EgressRefusedError):
                pass
        per_call = (time.process_time() - started) / calls * 1e6
        print(f"{host:>10}: {per_call:6.1f} µs of CPU per fetch (URL check + connection check, resolution included)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    asyncio.run(main(parser.parse_args().calls))
