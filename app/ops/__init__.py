"""Operations: health and readiness, logging, the audit log."""
