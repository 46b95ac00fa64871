"""CPU cost of the Temporal payload codec (core/infra/payload_codec.py) per payload, by size.

    .venv/bin/python bench/codec_bench.py [--seconds 2]

Each payload is a JSON value as the pydantic converter makes it; one "round trip" is what a
payload costs Tideway's processes: sealed once by its writer (client or worker) and opened once
by its reader. Single-threaded, on this machine's CPU, outside Temporal (see temporal_floor.py
--codec both and run_all.py --compare-root for the whole path).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.infra.payload_codec import EncryptionCodec, data_converter  # noqa: E402

KEY = "tG3dRHb-wi9C5sSm0p8XoQBo3fjU2nB2cXOw1SwH3Wc="  # a fixed Fernet key (bench only)
SIZES = (200, 2_000, 20_000, 200_000)  # 200 KB: INLINE_VALUE_BYTES, the largest inline value


async def round_trips(codec: EncryptionCodec, size: int, seconds: float) -> float:
    converter = data_converter(KEY)
    payloads = converter.payload_converter.to_payloads([{"text": "x" * size}])
    count, started = 0, time.process_time()
    while time.process_time() - started < seconds:
        for _ in range(50):
            await codec.decode(await codec.encode(payloads))
        count += 50
    return (time.process_time() - started) / count * 1e6


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    codec = EncryptionCodec(KEY)
    for size in SIZES:
        micros = await round_trips(codec, size, args.seconds)
        print(f"payload of {size:>7,} bytes: {micros:8.1f} µs CPU per encrypt + decrypt", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
