"""Object storage benchmark: the S3 blob store against boto3's own transfers, on the same server in the same run.

What it measures, against moto's S3 server (an emulator that keeps objects in memory) started on
loopback for the run, with files of 50 MB and 200 MB in a temporary directory:

1. Upload. Ours: `S3BlobStore.put(open(file))`, everything an upload request does: read the stream,
   spool it to DATA_DIR/cache while hashing it, ask the bucket whether it has those bytes, send the
   file (multipart, 8 MB parts, eight in flight) and keep the spool as this machine's cached copy.
   boto3's: `client.upload_fileobj(open(file), …)` with its default transfer settings. Every
   repetition changes the file's first bytes, so ours never skips a send as a duplicate.
2. Download. Ours: `S3BlobStore.open(sha)` read to the end in 1 MB chunks (what the download route
   streams to the browser), and `S3BlobStore.local_path(sha)` with an empty cache (what a worker
   does: one streamed GET into a file under DATA_DIR/cache, hashed on the way, kept only if it
   matches). boto3's: `client.download_fileobj(…)` into a file (parallel ranged GETs).
3. Memory, for files of 50, 200 and 400 MB: each operation in a fresh Python process (spawned, so
   nothing is inherited), the growth of its peak resident memory (VmHWM) over what it held before
   the operation. Flat means the growth stops growing with the file's size. Only the client process is measured:
   moto keeps every object in its own memory.

Ours and boto3's take turns (which goes first alternates), so background load weighs on both. Each
figure is the median of the repetitions; the ratio the target is judged on is the median of the
per-repetition ratios (ours / boto3's, measured back to back), which background load sways less
than the ratio of the two medians (printed too).

Run from the project root:

    .venv/bin/python bench/blobs.py            # 50 MB and 200 MB, 5 repetitions each (--repeats N)
    .venv/bin/python bench/blobs.py --quick    # 20 MB only, 2 repetitions, memory at 20 and 50 MB
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import library_versions, load_average
from tests.support.s3 import running_s3_server

MB = 1024 * 1024


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _make_file(path: Path, size: int) -> None:
    """Bytes that do not compress or repeat, written in 1 MB blocks."""
    with path.open("wb") as out:
        for _ in range(size // MB):
            out.write(os.urandom(MB))


def _mark(path: Path, number: int) -> None:
    """Change the first 8 bytes: new content, new SHA-256, same size."""
    with path.open("r+b") as handle:
        handle.write(number.to_bytes(8, "big"))


def _store(endpoint: str, bucket: str, cache: Path):
    from app.documents.s3 import BlobCache, S3BlobStore, make_client

    return S3BlobStore(make_client(endpoint), bucket, BlobCache(cache, 64 * 1024 * MB))


def _timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _read_all(stream) -> None:
    with stream:
        while stream.read(MB):
            pass


def _memory_child(operation: str, endpoint: str, bucket: str, file: str, work_dir: str, queue) -> None:
    """One operation in a fresh process; reports (peak growth in MB, seconds)."""
    store = _store(endpoint, bucket, Path(work_dir) / "cache")
    client = store.client
    client.list_objects_v2(Bucket=bucket, MaxKeys=1)  # connections and credentials set up before measuring
    sha = Path(file).name
    before = _status_kb("VmHWM")
    started = time.perf_counter()
    if operation == "ours: put":
        with open(file, "rb") as handle:
            store.put(handle, max_bytes=1 << 40)
    elif operation == "boto3: upload_fileobj":
        with open(file, "rb") as handle:
            client.upload_fileobj(handle, bucket, "boto3/memory")
    elif operation == "ours: open (stream)":
        _read_all(store.open(sha))
    elif operation == "ours: local_path (to cache)":
        store.local_path(sha)
    elif operation == "boto3: download_fileobj":
        with open(Path(work_dir) / "downloaded", "wb") as out:
            client.download_fileobj(bucket, "boto3/memory", out)
    seconds = time.perf_counter() - started
    queue.put(((_status_kb("VmHWM") - before) / 1024, seconds))


def measure_memory(endpoint: str, bucket: str, size: int, work: Path) -> list[tuple[str, float, float]]:
    """Peak RSS growth per operation, each in its own spawned process, for one file of `size` bytes."""
    source = work / "memory-source"
    _make_file(source, size)
    store = _store(endpoint, bucket, work / "parent-cache")
    with source.open("rb") as handle:
        sha = store.put(handle, max_bytes=1 << 40).sha256
    named = work / sha
    source.rename(named)
    context = multiprocessing.get_context("spawn")
    results = []
    operations = [
        "ours: put",
        "boto3: upload_fileobj",
        "ours: open (stream)",
        "ours: local_path (to cache)",
        "boto3: download_fileobj",
    ]
    for operation in operations:
        if operation == "ours: put":
            store.delete(sha)  # so that the child really sends it
        child_dir = Path(tempfile.mkdtemp(dir=work))
        queue = context.Queue()
        process = context.Process(
            target=_memory_child, args=(operation, endpoint, bucket, str(named), str(child_dir), queue)
        )
        process.start()
        growth, seconds = queue.get(timeout=600)
        process.join()
        results.append((operation, growth, seconds))
    named.unlink()
    return results


def measure_throughput(endpoint: str, bucket: str, size: int, repeats: int, work: Path) -> dict[str, list[float]]:
    """MB/s for each way in and out, `repeats` times, taking turns."""
    source = work / f"source-{size}"
    _make_file(source, size)
    store = _store(endpoint, bucket, work / "cache")
    client = store.client
    rates: dict[str, list[float]] = {
        "ours: put": [],
        "boto3: upload_fileobj": [],
        "ours: open (stream)": [],
        "ours: local_path (to cache)": [],
        "boto3: download_fileobj": [],
    }
    megabytes = size / MB
    shas: list[str] = []  # the repetition's blob, as ours stored it
    for repeat in range(repeats):
        _mark(source, repeat + 1)
        shas.clear()

        def ours_put() -> None:
            with source.open("rb") as handle:
                shas.append(store.put(handle, max_bytes=1 << 40).sha256)

        def boto3_upload() -> None:
            with source.open("rb") as handle:
                client.upload_fileobj(handle, bucket, "boto3/object")

        def ours_open() -> None:
            _read_all(store.open(shas[0]))

        def ours_local_path() -> None:
            store.cache.discard(shas[0])
            store.local_path(shas[0])

        def boto3_download() -> None:
            with (work / "downloaded").open("wb") as out:
                client.download_fileobj(bucket, "boto3/object", out)

        uploads = [("ours: put", ours_put), ("boto3: upload_fileobj", boto3_upload)]
        downloads = [
            ("ours: open (stream)", ours_open),
            ("ours: local_path (to cache)", ours_local_path),
            ("boto3: download_fileobj", boto3_download),
        ]
        if repeat % 2:
            uploads.reverse()
            downloads.reverse()
        for name, work_fn in uploads + downloads:
            rates[name].append(megabytes / _timed(work_fn))
        store.delete(shas[0])
        client.delete_object(Bucket=bucket, Key="boto3/object")
    source.unlink()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 MB, 2 repetitions, memory at 20 and 50 MB")
    parser.add_argument("--repeats", type=int, help="repetitions per size (default 5; 2 with --quick)")
    args = parser.parse_args()
    if args.quick:
        sizes, repeats, memory_sizes = [20 * MB], 2, [20 * MB, 50 * MB]
    else:
        sizes, repeats, memory_sizes = [50 * MB, 200 * MB], 5, [50 * MB, 200 * MB, 400 * MB]
    repeats = args.repeats or repeats

    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load {load_average()}")
    print(library_versions(["boto3", "botocore", "s3transfer", "moto"]))
    with tempfile.TemporaryDirectory(prefix="qm-bench-blobs-") as temp:
        work = Path(temp)
        with running_s3_server(work) as server:
            bucket = server.new_bucket()
            print(f"S3 server: moto_server at {server.endpoint_url} (an emulator; objects in its memory)\n")
            for size in sizes:
                rates = measure_throughput(server.endpoint_url, bucket, size, repeats, work)
                print(f"{size // MB} MB file, {repeats} repetitions, median MB/s (all runs):")
                medians = {name: statistics.median(values) for name, values in rates.items()}
                for name, values in rates.items():
                    runs = ", ".join(f"{v:.0f}" for v in values)
                    print(f"  {name:<28} {medians[name]:7.1f}   ({runs})")
                pairs = {
                    "upload": ("ours: put", "boto3: upload_fileobj"),
                    "download (stream)": ("ours: open (stream)", "boto3: download_fileobj"),
                    "download (to cache)": ("ours: local_path (to cache)", "boto3: download_fileobj"),
                }
                paired = {
                    label: statistics.median(a / b for a, b in zip(rates[ours], rates[theirs], strict=True))
                    for label, (ours, theirs) in pairs.items()
                }
                print("  ratio, median of pairs:  " + ", ".join(f"{k} {v:.2f}" for k, v in paired.items()))
                of_medians = {k: medians[ours] / medians[theirs] for k, (ours, theirs) in pairs.items()}
                print("  ratio of the medians:    " + ", ".join(f"{k} {v:.2f}" for k, v in of_medians.items()))
                met = min(paired["upload"], paired["download (stream)"]) >= 0.7
                print(f"  target >= 0.70 (upload, download): {'met' if met else 'NOT met'}\n")
            print("Peak RSS growth of the client process in MB (seconds), each operation in a fresh process:")
            table = {size: measure_memory(server.endpoint_url, bucket, size, work) for size in memory_sizes}
            print("  " + " " * 28 + "".join(f"{size // MB:>6} MB file    " for size in memory_sizes))
            for row, (operation, _, _) in enumerate(table[memory_sizes[0]]):
                cells = "".join(f"{table[size][row][1]:9.1f} ({table[size][row][2]:4.1f} s) " for size in memory_sizes)
                print(f"  {operation:<28}{cells}")
    print(f"\nload at the end {load_average()}")


if __name__ == "__main__":
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)
    main()
