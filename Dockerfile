# One image for every role: `docker run IMAGE worker`, `... scheduler`, `... shim`, `... migrate`.

# The panel the shim serves at /, built once; only its static files reach the final image.
FROM node:20-slim AS panel
WORKDIR /ui
COPY ui/package.json ui/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY ui ./
RUN npm run build

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    MTI_ENVIRONMENT=production MTI_HTTP_HOST=0.0.0.0 MTI_LOG_FORMAT=json \
    MTI_UI_DIR=/app/ui

WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY worker ./worker
COPY migrations ./migrations
COPY --from=panel /ui/dist ./ui
RUN pip install . && useradd --system --uid 10001 mti

USER mti
EXPOSE 8000
ENTRYPOINT ["manual-trigger"]
CMD ["run"]
