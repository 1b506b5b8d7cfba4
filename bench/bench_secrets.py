"""The cost of masking secrets on a chatty step, in process on the fake runtime (like bench_log_events.py).

Run: ``.venv/bin/python bench/bench_secrets.py [LINES] [--repeat N] [--secrets K]`` (default 200,000 lines of 106
bytes in 64 KiB chunks cut anywhere, best of 5, K=1). The same step runs with no secret and with K secrets declared
(every 1000th line prints one of them, so the masker has work); the events are iterated (``logs=True``, the engine's
whole share: files, line splitting, events). Prints wall and CPU seconds for each and the ratios (target: ≤ 1.1
with one secret; the CPU ratio is the steadier on a busy machine, where wall figures move by 50 % and more). Also
times the log sink alone with and without masking, and the masker alone: ``bytes.replace`` (one value), the regex
alternation (several).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

CHUNK = 1 << 16
VALUE = "s3cr3t-token-7f1c2a9b"


def chunks(lines: int, secrets: list[str]) -> Iterator[bytes]:
    rows = []
    for i in range(4096):
        if secrets and i % 1000 == 999:
            rows.append(f"{i:08d} token={secrets[i % len(secrets)]} {i:075d}\n")
        else:
            rows.append(f"{i:08d} {i:096d}\n")
    data = memoryview("".join(rows).encode() * 16)
    total = lines * 106
    sent = 0
    while sent < total:
        start = sent % len(data)
        take = min(CHUNK, total - sent, len(data) - start)
        yield bytes(data[start : start + take])
        sent += take


def one(lines: int, secrets: list[str]) -> tuple[float, float]:
    """→ (wall seconds, CPU seconds of all threads): CPU time moves far less with a busy machine's load."""
    from pipex.engine.engine import Engine
    from pipex.model import load
    from pipex.runtime.base import LogChunk, Stream
    from pipex.runtime.fake import FakeRuntime

    class Talking(FakeRuntime):
        def start_attached(self, container: str, *, started: Callable[[], None] | None = None) -> Iterator[LogChunk]:
            self.start(container)
            if started is not None:
                started()
            for data in chunks(lines, secrets):
                yield LogChunk(Stream.STDOUT, data)

    names = [f"S{i}" for i in range(len(secrets))]
    declared = f"    secrets: [{', '.join(names)}]\n" if names else ""
    pipeline_text = f"id: sec\nsteps:\n  - id: talk\n    image: alpine:3.20\n    cmd: [sh, -c, talk]\n{declared}"
    with tempfile.TemporaryDirectory(prefix="pipex-bench-") as tmp:
        root = Path(tmp)
        (root / "pipeline.yml").write_text(pipeline_text)
        engine = Engine(workdir=root / "wd", runtime=Talking())
        given = dict(zip(names, secrets, strict=True))

        async def consume() -> None:
            async for _event in engine.run(load(root / "pipeline.yml"), force=True, logs=True, secrets=given):
                pass

        began, cpu = time.perf_counter(), time.process_time()
        asyncio.run(consume())
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
        if secrets:
            log = next((root / "wd" / "sec" / "runs").glob("*/stdout.log")).read_bytes()
            assert not any(s.encode() in log for s in secrets) and b"token=***" in log
        return elapsed, cpu


def sink_alone(lines: int, secrets: list[str], *, masked: bool) -> float:
    """The log sink (files, line splitting, the lines handed over) fed the output, with or without the masker: the
    engine's share that masking touches, steadier than a whole run on a busy machine."""
    from pipex.engine.logsink import LogSink
    from pipex.engine.mask import Masker
    from pipex.runtime.base import LogChunk, Stream

    data = list(chunks(lines, secrets))
    with tempfile.TemporaryDirectory(prefix="pipex-bench-") as tmp:
        sink = LogSink(Path(tmp), lambda stream, got: None, masker=Masker(secrets) if masked else None)
        began = time.perf_counter()
        for chunk in data:
            sink(LogChunk(Stream.STDOUT, chunk))
        sink.close()
        return time.perf_counter() - began


def masker_alone(lines: int, secrets: list[str]) -> float:
    from pipex.engine.mask import Masker

    stream = Masker(secrets).stream()
    data = list(chunks(lines, secrets))
    began = time.perf_counter()
    for chunk in data:
        stream.feed(chunk)
    stream.flush()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lines", nargs="?", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--secrets", type=int, default=1)
    args = parser.parse_args()
    secrets = [VALUE] + [f"{VALUE}-{i}" for i in range(1, args.secrets)]
    without, with_ = [], []
    for _ in range(args.repeat):  # interleaved, so a busy machine weighs on both alike
        without.append(one(args.lines, []))
        with_.append(one(args.lines, secrets))
    a, b = min(w for w, _ in without), min(w for w, _ in with_)
    ca, cb = min(c for _, c in without), min(c for _, c in with_)
    mb = args.lines * 106 / 1e6
    print(f"{args.lines} lines ({mb:.1f} MB), best of {args.repeat}, {len(secrets)} secret(s)")
    print(f"  no secret     {a:7.3f} s wall  {ca:7.3f} s CPU")
    print(
        f"  with secrets  {b:7.3f} s wall  {cb:7.3f} s CPU   ratio {b / a:.3f} wall, {cb / ca:.3f} CPU  (target <= 1.1)"
    )
    plain = min(sink_alone(args.lines, secrets, masked=False) for _ in range(args.repeat))
    masked = min(sink_alone(args.lines, secrets, masked=True) for _ in range(args.repeat))
    print(f"  log sink alone {plain:6.3f} s unmasked, {masked:.3f} s masked   ratio {masked / plain:.3f}")
    alone = min(masker_alone(args.lines, secrets) for _ in range(args.repeat))
    print(f"  masker alone  {alone:7.3f} s   ({mb / alone:.0f} MB/s)")


if __name__ == "__main__":
    main()
