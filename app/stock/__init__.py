"""Products, the stock ledger, orders. Knows nothing of documents."""
