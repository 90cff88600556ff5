"""Documents: upload, blob storage, text extraction, the processing tasks."""
