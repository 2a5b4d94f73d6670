# inferq image: the API by default; the same image runs workers (`inferq worker`) and one-shot jobs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    INFERQ_HOST=0.0.0.0 \
    INFERQ_PORT=8000 \
    INFERQ_VAR_DIR=/var/lib/inferq \
    INFERQ_STORAGE_URL=file:///data

WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 inferq \
    && mkdir -p /data /var/lib/inferq \
    && chown inferq:inferq /data /var/lib/inferq

USER inferq
EXPOSE 8000
VOLUME ["/data"]

HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"

CMD ["uvicorn", "api.main:app", "--http", "api.http_protocol:HttpProtocol", "--host", "0.0.0.0", "--port", "8000"]
