"""The Huey consumer's entry point: `huey_consumer worker.huey`.

Building the app binds the queue to its storage and imports every module
that declares tasks, so the consumer knows them all.
"""

from app import create_app
from app.queue import huey

app = create_app()

__all__ = ["app", "huey"]
