# Slotpool: build a wheel with its dependencies, then run it as a non-root user.
# The container migrates the database, then serves the API (and, unless disabled, the scheduler).

FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/slotpool
ENV PATH=/opt/slotpool/bin:$PATH
COPY pyproject.toml README.md ./
COPY app ./app
COPY carriers ./carriers
RUN pip install --no-cache-dir --upgrade pip && pip install --no-cache-dir .

FROM python:3.11-slim AS runtime
RUN useradd --create-home --uid 10001 slotpool
COPY --from=build /opt/slotpool /opt/slotpool
WORKDIR /srv/slotpool
COPY alembic.ini ./
COPY migrations ./migrations
RUN mkdir -p var && chown slotpool:slotpool var
USER slotpool
ENV PATH=/opt/slotpool/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SLOTPOOL_DATABASE_URL=sqlite+aiosqlite:///./var/slotpool.db
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ready')"
CMD ["sh", "-c", "alembic upgrade head && exec slotpool run --host 0.0.0.0 --port 8000"]
