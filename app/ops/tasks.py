"""Background work that keeps an eye on the workers themselves.

Importing this module also installs the consumer hooks (app.ops.consumer): each
consumer's heartbeat, and the records of failed tasks and periodic runs.
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime

from flask import current_app

from app.extensions import db
from app.ops import consumer, workers
from app.queue import task


@task()
def record_heartbeat() -> dict[str, object]:
    """Beat now for the consumer that runs this, and say which process, database and queue it serves."""
    identity = consumer.current_identity()
    if identity is not None:
        workers.write_heartbeat(identity)
    return {
        "at": datetime.now(UTC).isoformat(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "consumer": identity.name if identity else None,
        "database": db.engine.dialect.name,
        "queue": current_app.config["QUEUE_NAME"],
    }
