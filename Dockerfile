# Korttid: the bot's web service, as a non-root user. Build: docker build -t korttid .
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed uid, so a mounted volume's ownership is predictable on the host.
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin korttid

WORKDIR /app
# .dockerignore keeps secrets (.env), virtual environments, databases and tests out of the image.
COPY . .
RUN pip install . \
    && rm -rf build ./*.egg-info \
    && mkdir -p /app/var \
    && chown korttid:korttid /app/var

USER korttid
# SQLite (the default database) lives here; with PostgreSQL the volume stays empty.
VOLUME ["/app/var"]
EXPOSE 3978

# /healthz answers while the process serves; /readyz also checks the database and its schema.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:3978/healthz', timeout=4).status != 200)"]

CMD ["korttid", "serve", "--host", "0.0.0.0"]
