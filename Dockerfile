# syntax=docker/dockerfile:1
# Quartermaster's images, one file, three targets (docker-compose.yaml builds all three):
#   web     gunicorn; the runtime requirements only (onnxruntime predicts, nothing trains)
#   worker  the Huey consumer; adds requirements-train.txt (scikit-learn, skl2onnx) to retrain
#   proxy   nginx with nginx/quartermaster.conf.template and the static files
# Needs BuildKit (the default builder since Docker 23 and in `docker compose`): the runtime stages
# install from the builder's wheels through a bind mount, so no wheel file stays in a layer.
#   docker build --target web -t quartermaster-web .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# nginx's stable line, on Alpine; pin a line (e.g. nginx:1.30-alpine) for reproducible builds.
ARG NGINX_IMAGE=nginx:stable-alpine

# ---------------------------------------------------------------- builder: wheels for both requirement sets
FROM ${PYTHON_IMAGE} AS builder
# Every pin has a manylinux wheel on PyPI for x86_64; the compilers are for the ones that may not elsewhere.
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt requirements-train.txt ./
# requirements-train.txt includes requirements.txt: one wheel folder serves both images.
RUN pip wheel --no-cache-dir --wheel-dir /wheels -r requirements-train.txt

# ---------------------------------------------------------------- source: the app, byte-compiled once
FROM ${PYTHON_IMAGE} AS source
WORKDIR /srv/quartermaster
COPY app/ app/
COPY migrations/ migrations/
COPY templates/ templates/
COPY static/ static/
COPY wsgi.py worker.py gunicorn.conf.py ./
RUN python -m compileall -q app migrations wsgi.py worker.py gunicorn.conf.py

# ---------------------------------------------------------------- runtime: no compilers, a user without a shell
FROM ${PYTHON_IMAGE} AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
# pg_dump/pg_restore for `flask backup`: bookworm's client is 15, like the postgres:15 service.
# PATH puts the version's own binaries before Debian's wrapper scripts.
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
# A fixed uid, so the named volume /data keeps one owner across rebuilds and between web and workers.
RUN groupadd --system --gid 10001 quartermaster \
 && useradd --system --uid 10001 --gid quartermaster --create-home --home-dir /home/quartermaster \
      --shell /usr/sbin/nologin quartermaster \
 && mkdir -p /data \
 && chown quartermaster:quartermaster /data
WORKDIR /srv/quartermaster
ENV QM_ENV=production DATA_DIR=/data
# prometheus-client's files, per container rather than on the shared /data volume: pids restart at 1 in
# every container, so two containers' processes would write the same files. It must exist before any
# process imports the app (`flask` commands too, e.g. the migrate service). The web's gunicorn workers
# add theirs up in /metrics; a worker container's processes add theirs up on QM_WORKER_METRICS_PORT.
ENV PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
RUN install -d -o quartermaster -g quartermaster /tmp/prometheus

FROM runtime AS web-deps
COPY requirements.txt requirements-train.txt /tmp/requirements/
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels -r /tmp/requirements/requirements.txt

FROM web-deps AS worker-deps
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels -r /tmp/requirements/requirements-train.txt

# ---------------------------------------------------------------- web: gunicorn (migrations are the migrate service's job)
FROM web-deps AS web
# The code is root's and read-only to the app, which writes only to /data and /tmp.
COPY --from=source /srv/quartermaster /srv/quartermaster
USER quartermaster
# gunicorn's worker heartbeat files in memory (/dev/shm), not on the container's disk.
ENV GUNICORN_BIND=0.0.0.0:8000 \
    GUNICORN_CMD_ARGS="--worker-tmp-dir /dev/shm"
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]

# ---------------------------------------------------------------- worker: the Huey consumer, with the training libraries
FROM worker-deps AS worker
COPY --from=source /srv/quartermaster /srv/quartermaster
USER quartermaster
# SIGINT lets Huey finish the task in hand; SIGTERM drops it (Redis has no acknowledgements).
STOPSIGNAL SIGINT
# Its pipeline figures for Prometheus (extraction and model time, errors) on the internal network.
ENV QM_WORKER_METRICS_PORT=9100
EXPOSE 9100
# Healthy while this container's consumer beat within three heartbeat intervals (Admin > System's rule).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD PGCONNECT_TIMEOUT=5 psql "$DATABASE_URL" -XtAc "SELECT 1 FROM worker_heartbeats WHERE host = '$HOSTNAME' AND last_seen_at > now() - make_interval(secs => 3 * ${QM_HEARTBEAT_SECONDS:-30})" | grep -q 1
CMD ["huey_consumer", "worker.huey", "--workers", "2", "--worker-type", "process", "--quiet"]

# ---------------------------------------------------------------- proxy: nginx renders the template at start
FROM ${NGINX_IMAGE} AS proxy
# The official entrypoint renders /etc/nginx/templates/*.template into /etc/nginx/conf.d/ with envsubst,
# replacing only variables that are set; the filter keeps it to ours (nginx's own $host etc. stay).
ENV NGINX_ENVSUBST_FILTER=^NGINX_ \
    NGINX_HTTP_PORT=80 \
    NGINX_HTTPS_PORT=443 \
    NGINX_PUBLIC_HTTPS_PORT=443 \
    NGINX_UPSTREAM=web:8000 \
    NGINX_CERT_DIR=/etc/nginx/certs \
    NGINX_STATIC_ROOT=/usr/share/quartermaster/static \
    NGINX_MAX_BODY=51m
# The image's welcome server would answer on port 80 beside ours.
RUN rm -f /etc/nginx/conf.d/default.conf
COPY nginx/quartermaster.conf.template /etc/nginx/templates/quartermaster.conf.template
COPY static/ /usr/share/quartermaster/static/
EXPOSE 80 443
# Through TLS with the real server name (SNI and Host), to a page gunicorn answers: the whole path works.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD host="${NGINX_SERVER_NAME%% *}"; curl -fsS -o /dev/null -k --max-time 4 \
        --resolve "$host:$NGINX_HTTPS_PORT:127.0.0.1" "https://$host:$NGINX_HTTPS_PORT/healthz"
