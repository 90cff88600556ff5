"""When the index's segments are merged: a little in every drain, everything once a night.

Every Whoosh commit writes a new segment, and searches read every segment, so segments have to be
merged now and then. Whoosh's default policy merges whenever its heuristic says so, and at
100,000 documents one such merge held the writer for 42 s: a document processed meanwhile could not
be found for that long. The drain's commits therefore use `bounded_merge`, which only ever merges
small segments (the work of a merge grows with the documents in it, so this bounds the pause), and
the big merges happen in `optimize`, a periodic task at a quiet hour.

Tiers by size, as in most search engines: segments of 1-9 documents are tier 0, 10-99 tier 1,
100-999 tier 2. Once a tier holds `SEGMENTS_PER_TIER` segments they become one segment of the next
tier. Segments of `LARGEST_MERGED` documents or more are left for the night. The largest merge a
drain can do is about ten segments of up to 999 documents, whatever the size of the index.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict

from huey import crontab
from whoosh.reading import SegmentReader

from app.queue import periodic_task
from app.search import index as search_index
from app.search.writer_lock import WriterLock

log = logging.getLogger(__name__)

SEGMENTS_PER_TIER = 10
LARGEST_MERGED = 1000  # documents: segments this big or bigger wait for the nightly optimise


def _tier(documents: int) -> int:
    return int(math.log10(max(documents, 1)))


def bounded_merge(writer, segments: list) -> list:
    """A Whoosh merge policy: merge each tier of small segments that has filled up; return the segments kept.

    Deleted documents count toward a segment's size, so a segment of many replaced entries is not
    merged more often than its size deserves.
    """
    tiers: dict[int, list] = defaultdict(list)
    kept = []
    for segment in segments:
        documents = segment.doc_count_all()
        if documents >= LARGEST_MERGED:
            kept.append(segment)
        else:
            tiers[_tier(documents)].append(segment)
    for members in tiers.values():
        if len(members) < SEGMENTS_PER_TIER:
            kept.extend(members)
            continue
        for segment in members:
            reader = SegmentReader(writer.storage, writer.schema, segment)
            writer.add_reader(reader)
            reader.close()
    return kept


def optimize(wait: float = 60.0) -> int | None:
    """Merge every segment into one (and drop deleted entries); return the segments there were, None if busy.

    Holds the writer lock meanwhile, so drains wait for it: run at a quiet hour (the nightly task)
    or by hand (`flask search optimize`).
    """
    lock = WriterLock()
    if not lock.acquire(wait=wait):
        log.info("search optimise skipped: another process is writing the index")
        return None
    try:
        try:
            ix = search_index.open_current(for_writing=True)
        except search_index.IndexUnavailable:
            return 0
        segments = len(ix._segments())
        if segments <= 1 and not ix.has_deletions():
            return segments
        with lock.kept_alive():
            writer = ix.writer(timeout=wait)
            try:
                writer.commit(optimize=True)
            except BaseException:
                writer.cancel()
                raise
        log.info("search index optimised", extra={"segments_before": segments})
        return segments
    finally:
        lock.release()


@periodic_task(crontab(hour="3", minute="10"))
def nightly_optimize() -> None:
    """At 03:10: merge the day's segments into one, off the path of new documents."""
    optimize(wait=600.0)
