# One image for every eventshop process; the command picks the process:
#   eventshop serve <service> | eventshop frontend | eventshop sandbox <system>
# `eventshop deploy kubernetes --image <this image>` writes the manifests that run them.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install . \
 && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin eventshop

USER 10001
EXPOSE 8080
ENTRYPOINT ["eventshop"]
CMD ["--help"]
