# One image for every role: `docker run IMAGE worker`, `... scheduler`, `... shim`, `... migrate`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    MTI_ENVIRONMENT=production MTI_HTTP_HOST=0.0.0.0 MTI_LOG_FORMAT=json

WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY worker ./worker
COPY migrations ./migrations
RUN pip install . && useradd --system --uid 10001 mti

USER mti
EXPOSE 8000
ENTRYPOINT ["manual-trigger"]
CMD ["run"]
