#!/bin/sh
# The image's commands: `serve` (the API, the default), `worker` (the scheduled jobs alone),
# `migrate` (alembic upgrade, run once per release, never by every replica at start); anything
# else is run as given (`docker run IMAGE python -m app check-invariants`).
set -eu

command="${1:-serve}"
[ "$#" -gt 0 ] && shift

case "$command" in
  serve)
    exec python -m app serve --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-1}" "$@"
    ;;
  worker)
    # Its /health, /ready and /metrics, reachable from outside the container (Prometheus).
    export SLOTPOOL_WORKER_HOST="${SLOTPOOL_WORKER_HOST:-0.0.0.0}"
    exec python -m app worker "$@"
    ;;
  migrate)
    exec python -m alembic upgrade "${1:-head}"
    ;;
  *)
    exec "$command" "$@"
    ;;
esac
