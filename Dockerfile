# Slotpool for production: dependencies from the hash-checked lock in a layer of their own (a code
# change rebuilds only the last layers), a non-root user, a volume for the SQLite default.
#
#   docker build -t slotpool .
#   docker run --rm -v slotpool-var:/app/var slotpool migrate      # once per release
#   docker run -d -p 8000:8000 -v slotpool-var:/app/var slotpool   # serve (the default)
#   docker run -d -v slotpool-var:/app/var slotpool worker         # the jobs alone
#
# The base image is pinned to an exact release; pin its digest too where builds must be
# reproducible (PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:...).
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS dependencies
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/slotpool
COPY requirements.lock /tmp/requirements.lock
# Wheels only: nothing is compiled in the image, and every file is checked against its hash.
RUN /opt/slotpool/bin/pip install --require-hashes --only-binary=:all: -r /tmp/requirements.lock

FROM ${PYTHON_IMAGE} AS runtime
RUN useradd --create-home --uid 10001 slotpool
COPY --from=dependencies /opt/slotpool /opt/slotpool
WORKDIR /app
# The code is run from /app as it is (no build step); settings are SLOTPOOL_* variables.
ENV PATH=/opt/slotpool/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SLOTPOOL_DATABASE_URL=sqlite+aiosqlite:////app/var/slotpool.db \
    SLOTPOOL_SECRET_KEY_FILE=/app/var/secret.key \
    HOST=0.0.0.0 \
    PORT=8000
COPY --chmod=0755 docker/entrypoint.sh /usr/local/bin/slotpool-entrypoint
COPY alembic.ini ./
COPY migrations ./migrations
COPY carriers ./carriers
COPY app ./app
RUN mkdir -p /app/var && chown slotpool:slotpool /app/var
USER slotpool
# The SQLite database and the generated secret key live here: keep it across containers.
VOLUME ["/app/var"]
EXPOSE 8000 8001
STOPSIGNAL SIGTERM
# Liveness only (/ready also checks the database): an orchestrator should probe /ready itself.
# `serve` answers on PORT, `worker` on SLOTPOOL_WORKER_PORT: healthy when either answers.
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request\nfor port in (os.environ.get('PORT', '8000'), os.environ.get('SLOTPOOL_WORKER_PORT', '8001')):\n    try:\n        urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=1)\n        raise SystemExit(0)\n    except OSError:\n        pass\nraise SystemExit(1)"]
ENTRYPOINT ["slotpool-entrypoint"]
CMD ["serve"]
