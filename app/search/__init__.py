"""Full-text search over the documents: a Whoosh index fed through an outbox table.

Writing: `outbox` (rows written with each document change, and the request to drain them),
`indexer` (the drain, rebuilds, drift checks and their tasks) under `writer_lock`, into the
index `index` opens and swaps, with the fields and word analysis of `schema`.

Reading: `service.search` is the one entry point; it reads the query language (`query`),
translates the filters (`filters`), collects a page, the total and the facets (`collect`), and
adds snippets and "did you mean" (`snippets`). `views` is the page and its CSV, `cli` is
`flask search`.
"""
