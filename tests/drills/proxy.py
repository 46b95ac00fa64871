"""A loopback TCP proxy that a drill can pause: while paused, open connections are cut and
new ones are closed at once (the database looks down); resume lets traffic through again.
Runs its own event loop in a thread, so the code under test cannot starve it."""

from __future__ import annotations

import asyncio
import contextlib
import threading


class PausableProxy:
    def __init__(self, upstream_host: str, upstream_port: int):
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        self.paused = False
        self.refused = 0
        self.loop = asyncio.new_event_loop()
        self.writers: set[asyncio.StreamWriter] = set()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="drill-proxy")

    def __enter__(self) -> PausableProxy:
        self.thread.start()
        self.ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.paused:
            self.refused += 1
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.close()
            return
        self.writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(Exception):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers.difference_update((writer, up_writer))

    def _cut(self) -> None:
        for w in list(self.writers):
            transport = w.transport
            if transport is not None:
                transport.abort()
        self.writers.clear()

    def pause(self) -> None:
        """The database goes away: cut every connection, refuse new ones."""
        self.paused = True
        self.loop.call_soon_threadsafe(self._cut)

    def resume(self) -> None:
        self.paused = False
