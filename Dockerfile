# syntax=docker/dockerfile:1
# The production image: the same package, wsgi.py and gunicorn.conf.py that the README runs.
# Web (default CMD):  gunicorn wsgi:app -c gunicorn.conf.py
# Worker (ECS sets the command):  saas worker

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: resolve and install the pinned dependencies and the package into a virtualenv ---
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Metadata first, so the dependency layer is reused while only code changes.
COPY pyproject.toml README.md ./
COPY saas ./saas
RUN pip install --upgrade pip==25.3 && pip install .
# The message catalogs compiled here: at run time the app's code is read-only.
RUN python -c "from saas.i18n import compile_catalogs; compile_catalogs()"

# --- runtime: no compilers, no sources beyond what runs, an unprivileged user ---
FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SAAS_ENV=production \
    SAAS_INSTANCE_DIR=/tmp/instance \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
# Quote PDFs (WeasyPrint): Pango lays the text out, the Noto fonts cover Latin, Cyrillic, CJK and Arabic.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-core fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 saas \
    && useradd --system --uid 10001 --gid saas --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin saas
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# Owned by root and read-only for the app user: the process cannot rewrite its own code.
COPY --chown=root:root --chmod=0644 wsgi.py gunicorn.conf.py ./
USER saas:saas
EXPOSE 8000
STOPSIGNAL SIGTERM
CMD ["gunicorn", "wsgi:app", "-c", "gunicorn.conf.py"]
