# mingxiao in a container (documented; not built in CI — that machine has no Docker engine).
#   docker build -t mingxiao .
#   docker run -d -p 127.0.0.1:8000:8000 -v mingxiao-data:/var/lib/mingxiao \
#     -e MINGXIAO_SECRET_KEY=... -e MINGXIAO_TLS=1 -e MINGXIAO_PROXY_COUNT=1 mingxiao
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MINGXIAO_INSTANCE_PATH=/var/lib/mingxiao MINGXIAO_BIND=0.0.0.0:8000
# Pango and a CJK font for the PDFs (推荐表, certificates).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
      libharfbuzz-subset0 fonts-noto-cjk fontconfig \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --system --home /var/lib/mingxiao --create-home mingxiao
WORKDIR /opt/mingxiao
COPY pyproject.toml app.py babel.cfg ./
COPY mingxiao mingxiao
COPY blueprints blueprints
COPY sheets_schema sheets_schema
COPY templates templates
COPY static static
COPY translations translations
COPY deploy deploy
RUN pip install --no-cache-dir .
USER mingxiao
VOLUME /var/lib/mingxiao
EXPOSE 8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "app:create_app()"]
