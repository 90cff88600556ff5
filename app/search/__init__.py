"""Full-text search over the documents: a Whoosh index fed through an outbox table."""
