# falkorsync container image: `docker build -t falkorsync .`
#
# Two stages on Debian 12. The build stage installs exactly the build packages
# of scripts/deps.sh (`--list build`; tests/integration/test_packaging.sh fails
# when the two lists differ) and runs the same `make build` / `make install` as a developer.
# The runtime stage holds the binary, the Debian packages of the shared
# libraries it loads (worked out from the binary itself) and CA certificates.
#
# Configure it like the bare binary: environment variables (see
# `falkorsync config` or falkorsync(1)), and optionally a YAML file mounted
# into the container and named as the argument:
#   docker run -v ./config.yaml:/etc/falkorsync/config.yaml:ro falkorsync \
#     /etc/falkorsync/config.yaml

FROM debian:12-slim AS build

ENV DEBIAN_FRONTEND=noninteractive
# Exactly the build packages of scripts/deps.sh (`scripts/deps.sh --list
# build`): the compiler, CMake, Ninja and the -dev packages `make build` links
# against. The test-only tools (scripts/deps.sh --list test) stay out.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libssl-dev libhiredis-dev libjansson-dev libyaml-dev libcivetweb-dev libcmocka-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
RUN make build \
 && make install DESTDIR=/out PREFIX=/usr \
 && packaging/runtime-packages.sh /out/usr/bin/falkorsync > /out/runtime-packages \
 && /out/usr/bin/falkorsync --version


FROM debian:12-slim

LABEL org.opencontainers.image.title="falkorsync" \
      org.opencontainers.image.description="Keeps a FalkorDB graph cache in step with a Neo4j primary" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV DEBIAN_FRONTEND=noninteractive
COPY --from=build /out/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && xargs -a /tmp/runtime-packages apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/falkorsync --create-home \
      --shell /usr/sbin/nologin falkorsync \
 && install -d -o falkorsync -g falkorsync -m 0750 /var/log/falkorsync \
 && install -d -o falkorsync -g falkorsync -m 0750 /app /app/logs

COPY --from=build /out/usr/bin/falkorsync /usr/bin/falkorsync

# Inside a container the HTTP ports must listen beyond loopback. falkorsync
# then refuses to start unless SYNC_API_TOKEN is set (it guards the POST
# routes) or SYNC_ALLOW_PUBLIC_BIND=true says the risk is accepted.
ENV SYNC_BIND_ADDRESS=0.0.0.0

USER 10001:10001
WORKDIR /var/lib/falkorsync
EXPOSE 8080 8081

# The liveness probe: /health/live is 200 unless the process is wedged. Not
# /health (503 while a database is down: restarting falkorsync would not bring
# the database back) and not /health/ready (a stale cache is an alert, not a
# reason to restart). bash's /dev/tcp keeps curl out of the image. Status 200
# is healthy; any other status, or no answer within the timeout, is not.
# /app/logs exists for the seed's config.yaml (logging.file_path:
# /app/logs/sync.log); any other missing log folder falls back to stderr.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${SYNC_HEALTH_PORT:-8080} && printf 'GET /health/live HTTP/1.0\\r\\n\\r\\n' >&3 && read -r -t 4 _ status _ <&3 && [ \"$status\" = 200 ]"]

ENTRYPOINT ["/usr/bin/falkorsync", "serve"]
CMD []
