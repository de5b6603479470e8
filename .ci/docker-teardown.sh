#!/usr/bin/env bash
# Stops what .ci/docker-setup.sh started: the Go module proxy and, when the setup started it,
# dockerd (after removing leftover containers of the docker suite). Images stay on disk for the
# next run unless DOCKER_CI_PRUNE=1. Safe to run twice.
set -uo pipefail
DIR="${DOCKER_CI_DIR:-/tmp/conjure-docker}"
stop_pid() {  # stop_pid FILE: SIGTERM, then SIGKILL after 10 s
  local file=$1 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}
if docker version >/dev/null 2>&1; then
  leftovers=$(docker ps -aq --filter label=com.docker.compose.project.working_dir 2>/dev/null \
    | xargs -r docker inspect --format '{{.Id}} {{index .Config.Labels "com.docker.compose.project"}}' \
    | awk '$2 ~ /^conjure-test/ {print $1}')
  [ -n "$leftovers" ] && docker rm -f $leftovers >/dev/null
  [ "${DOCKER_CI_PRUNE:-0}" = 1 ] && docker system prune -af --volumes >/dev/null
fi
stop_pid "$DIR/goproxy.pid"
stop_pid "$DIR/dockerd.pid"
rm -f "$DIR/env"
echo "[docker-teardown] done"
