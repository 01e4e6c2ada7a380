# smsbounce buffer: `docker build -t smsbounce .` then see compose.yaml (docs/operations.md).
FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir "$(ls /wheels/smsbounce-*.whl)[postgres]" \
    && rm -rf /wheels \
    && useradd --system --uid 10001 --home-dir /data --create-home smsbounce
USER 10001
WORKDIR /data
# Listen on every interface of the container; SQLite in the /data volume unless a PostgreSQL
# URL is given (compose.yaml does).
ENV SMSBOUNCE_HOST=0.0.0.0 \
    PORT=8080 \
    SMSBOUNCE_DATABASE_URL=sqlite:////data/smsbounce.db
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['PORT'], timeout=4)"]
# Exec form: granian's master is PID 1 and gets `docker stop`'s SIGTERM (graceful stop).
ENTRYPOINT ["smsbounce"]
CMD ["serve"]
