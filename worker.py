"""The Huey consumer's entry point: `huey_consumer worker.huey`.

Building the app binds the queue to its storage and imports every module
that declares tasks, so the consumer knows them all. With QM_WORKER_METRICS_PORT
set, the consumer also answers Prometheus on that port (its pipeline figures).
"""

from app import create_app
from app.ops.metrics import serve_worker_metrics
from app.queue import huey

app = create_app()
if app.config["WORKER_METRICS_PORT"]:  # a consumer in its own container: Prometheus scrapes it there
    serve_worker_metrics(app.config["WORKER_METRICS_PORT"])

__all__ = ["app", "huey"]
