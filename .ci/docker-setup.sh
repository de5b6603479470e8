#!/usr/bin/env bash
# Docker for the docker test suite, without an image registry (see docs/docker.md).
#
# When no engine answers: installs docker.io, debootstrap and docker-compose (apt) and starts
# dockerd. Then makes the local base images the tests build from (reused when they exist):
#   conjure-ci/debian:bookworm        debootstrap --variant=minbase + docker import
#   conjure-ci/python:3.11-bookworm   the above + python3, git, ca-certificates (apt)
#   conjure-ci/golang:local           the host's /usr/local/go (what COPY --from=go needs)
#   conjure-ci/uv:local               uv's own binaries at /uv and /uvx, like ghcr.io/astral-sh/uv
#   conjure-ci/postgres:15            Debian's PostgreSQL with a small entrypoint
# and starts a Go module proxy on 127.0.0.1 (tests/docker/goproxy.py) serving a generated
# module. Everything the tests need is written to $DOCKER_CI_DIR/env (default
# /tmp/conjure-docker/env). Idempotent. .ci/docker-teardown.sh stops what this started.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${DOCKER_CI_DIR:-/tmp/conjure-docker}"
mkdir -p "$DIR"
PREFIX=conjure-ci
log() { printf '[docker-setup %5ss] %s\n' "$SECONDS" "$*"; }

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

start_engine() {
  if engine_up; then log "engine already running"; return; fi
  if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null \
     || ! command -v docker-compose >/dev/null; then
    log "installing docker.io, debootstrap, docker-compose"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap docker-compose \
      >/dev/null
  fi
  log "starting dockerd"
  setsid dockerd --data-root /var/lib/docker >"$DIR/dockerd.log" 2>&1 < /dev/null &
  echo $! >"$DIR/dockerd.pid"
  for _ in $(seq 1 60); do engine_up && break; sleep 0.5; done
  engine_up || { echo "dockerd did not start; see $DIR/dockerd.log" >&2; exit 1; }
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

debian_image() {
  local tag=$PREFIX/debian:bookworm
  if have_image "$tag"; then return; fi
  log "debootstrap bookworm (minbase)"
  local rootfs="$DIR/rootfs"
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$DIR/debootstrap.log"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import -c 'CMD ["/bin/bash"]' - "$tag" >/dev/null
  rm -rf "$rootfs"
}

built_image() {  # built_image TAG DOCKERFILE_TEXT [CONTEXT_DIR]: classic build on the host network
  local tag=$1 text=$2 context=${3:-$DIR/empty}
  if have_image "$tag"; then return; fi
  log "building $tag"
  mkdir -p "$context"
  printf '%s\n' "$text" >"$context/Dockerfile"
  DOCKER_BUILDKIT=0 docker build -q --network host -t "$tag" "$context" >"$DIR/build-${tag//[\/:]/_}.log" 2>&1 \
    || { cat "$DIR/build-${tag//[\/:]/_}.log" >&2; exit 1; }
}

python_image() {
  built_image $PREFIX/python:3.11-bookworm "FROM $PREFIX/debian:bookworm
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
    python3 git ca-certificates >/dev/null && rm -rf /var/lib/apt/lists/*
CMD [\"python3\"]"
}

postgres_image() {
  local context="$DIR/postgres"
  mkdir -p "$context"
  cat >"$context/entrypoint.sh" <<'SH'
#!/bin/sh
# A small stand-in for the official image's entrypoint: POSTGRES_USER/PASSWORD/DB, then postgres.
set -e
BIN=$(echo /usr/lib/postgresql/*/bin)
PGDATA=${PGDATA:-/var/lib/postgresql/data}
user=${POSTGRES_USER:-postgres}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA" && chown postgres "$PGDATA" && chmod 700 "$PGDATA"
  printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}" >/tmp/pw && chown postgres /tmp/pw
  runuser -u postgres -- "$BIN/initdb" -D "$PGDATA" -U "$user" --pwfile=/tmp/pw -A scram-sha-256 >/dev/null
  rm /tmp/pw
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  if [ -n "${POSTGRES_DB:-}" ] && [ "$POSTGRES_DB" != "$user" ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\";" \
      | runuser -u postgres -- "$BIN/postgres" --single -D "$PGDATA" -j postgres >/dev/null
  fi
fi
exec runuser -u postgres -- "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*'
SH
  chmod +x "$context/entrypoint.sh"
  built_image $PREFIX/postgres:15 "FROM $PREFIX/debian:bookworm
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
    postgresql >/dev/null && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/postgresql/15/bin:\$PATH
COPY entrypoint.sh /usr/local/bin/
EXPOSE 5432
ENTRYPOINT [\"/usr/local/bin/entrypoint.sh\"]" "$context"
}

go_image() {
  local tag=$PREFIX/golang:local
  if have_image "$tag"; then return; fi
  local goroot
  goroot=$(go env GOROOT)
  log "importing Go $(go env GOVERSION) from $goroot"
  tar -C "$goroot/.." --transform "s|^$(basename "$goroot")|usr/local/go|" -c "$(basename "$goroot")" \
    | docker import -c 'ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      - "$tag" >/dev/null
}

uv_image() {
  local tag=$PREFIX/uv:local
  if have_image "$tag"; then return; fi
  local uv uvx tree="$DIR/uvtree"
  uv=$(command -v uv)
  if head -c 2 "$uv" | grep -q '#!'; then  # a pyenv shim: find the real binary
    uv=$(pyenv which uv 2>/dev/null || python3 -c 'import uv; print(uv.find_uv_bin())')
  fi
  uvx=$(dirname "$uv")/uvx
  log "importing uv $("$uv" --version | cut -d' ' -f2) from $uv"
  rm -rf "$tree" && mkdir -p "$tree"
  cp "$uv" "$tree/uv" && cp "$uvx" "$tree/uvx"
  tar -C "$tree" -c uv uvx | docker import -c 'ENTRYPOINT ["/uv"]' - "$tag" >/dev/null
  rm -rf "$tree"
}

go_proxy() {
  local root="$DIR/goproxy" pidfile="$DIR/goproxy.pid" port
  mkdir -p "$root"
  python3 tests/docker/goproxy.py publish "$root" example.test/greet v1.0.0
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null \
     && curl -fsS "http://127.0.0.1:$(cat "$DIR/goproxy.port")/example.test/greet/@v/list" >/dev/null 2>&1; then
    port=$(cat "$DIR/goproxy.port")
  else
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    setsid python3 tests/docker/goproxy.py serve "$root" "$port" "$DIR/goproxy.log" \
      >"$DIR/goproxy.out" 2>&1 < /dev/null &
    echo $! >"$pidfile"
    echo "$port" >"$DIR/goproxy.port"
    for _ in $(seq 1 50); do
      curl -fsS "http://127.0.0.1:$port/example.test/greet/@v/list" >/dev/null 2>&1 && break
      sleep 0.1
    done
  fi
  log "Go module proxy on http://127.0.0.1:$port ($root)"
  GOPROXY_URL="http://127.0.0.1:$port"
}

start_engine
debian_image
python_image & p1=$!
postgres_image & p2=$!
go_image & p3=$!
uv_image & p4=$!
for p in $p1 $p2 $p3 $p4; do wait "$p"; done
go_proxy
cat >"$DIR/env" <<ENV
DOCKER_CI_DEBIAN_IMAGE=$PREFIX/debian:bookworm
DOCKER_CI_PYTHON_IMAGE=$PREFIX/python:3.11-bookworm
DOCKER_CI_GO_IMAGE=$PREFIX/golang:local
DOCKER_CI_UV_IMAGE=$PREFIX/uv:local
DOCKER_CI_POSTGRES_IMAGE=$PREFIX/postgres:15
DOCKER_CI_GOPROXY=$GOPROXY_URL
DOCKER_CI_GOPROXY_DIR=$DIR/goproxy
DOCKER_CI_GOPROXY_LOG=$DIR/goproxy.log
ENV
log "ready; settings in $DIR/env"
