# One image for web, worker and beat. Same Python as the Makefile picks (3.13).
FROM python:3.13.0-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv UV_PYTHON_DOWNLOADS=never PATH=/opt/venv/bin:$PATH

RUN pip install --no-cache-dir uv==0.13.9 \
    && groupadd --system chorus && useradd --system --gid chorus --home /app chorus

WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project

COPY --chown=chorus:chorus . .
# Static files are collected at build time (WhiteNoise serves the hashed manifest).
RUN SECRET_KEY=build-only-not-a-secret python manage.py collectstatic --noinput -v 0

USER chorus
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
