# The reference project (django_integration) as one image for every role of docker-compose.yml:
# `web` (gunicorn, the default command), `worker` (manage.py temporal_worker) and `migrate`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=django_integration.settings

# Graphviz's `dot` renders the workflow graphs server-side.
RUN apt-get update \
    && apt-get install -y --no-install-recommends graphviz \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first (a layer that survives code changes), then the project itself.
COPY pyproject.toml README.md ./
COPY joeflow_temporal ./joeflow_temporal
RUN pip install ".[postgres,reference]" gunicorn

COPY . .
RUN DJANGO_DEBUG=0 python manage.py collectstatic --noinput

RUN useradd --system --uid 10001 --no-create-home --home-dir /app joeflow
USER joeflow

EXPOSE 8000
CMD ["gunicorn", "django_integration.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
