#!/usr/bin/env bash
# From a new machine to green tests: checks (and where safe, sets up) what working on this
# repository needs, one timed line per step, then a smoke run. See docs/onboarding.md.
#
#   scripts/onboard.sh [--yes] [--skip-docker] [--fix]
#
#   --yes          non-interactive: install what is missing (uv, through pip) without asking
#   --skip-docker  leave out the Docker engine, the dev image and `doit doctor`
#   --fix          apply the configuration changes it would otherwise only recommend
#                  (`go env -w GOPROXY=...`, `go env -w GOSUMDB=...`)
#
# Safe to re-run: a second run changes nothing and takes a few seconds. The full output of
# every command goes to cache/onboard.log. Exit code: 0 when nothing blocks work (warnings
# included), 1 when a step failed, 2 for bad usage.
#
# Environment: ONBOARD_IMAGE_TIMEOUT (seconds for `doit image`, default 1800),
# ONBOARD_SMOKE_TASK (default test-unit), CONJURE_REMOTE (checked when set).
set -uo pipefail

USAGE="usage: scripts/onboard.sh [--yes] [--skip-docker] [--fix] [--help]"
GOOD_GOPROXY="https://proxy.golang.org,direct"
YES=0 SKIP_DOCKER=0 FIX=0
for arg in "$@"; do
  case "$arg" in
    --yes | -y) YES=1 ;;
    --skip-docker) SKIP_DOCKER=1 ;;
    --fix) FIX=1 ;;
    --help | -h) echo "$USAGE"; exit 0 ;;
    *) echo "onboard.sh: unknown option '$arg' ($USAGE)" >&2; exit 2 ;;
  esac
done

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
mkdir -p cache
LOG="$ROOT/cache/onboard.log"
OUT=$(mktemp "${TMPDIR:-/tmp}/onboard.XXXXXX")
trap 'rm -f "$OUT"' EXIT
: >"$LOG"
COUNT_ok=0 COUNT_fixed=0 COUNT_warning=0 COUNT_failed=0 COUNT_skipped=0
DOCKER_READY=0 HAVE_GO=0 TASKS=""

# shellcheck disable=SC2034  # read through ${!color} in step()
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  C_ok=$'\e[32m' C_fixed=$'\e[36m' C_warning=$'\e[33m' C_failed=$'\e[31m' C_skipped=$'\e[2m'
  C_off=$'\e[0m'
else
  C_ok="" C_fixed="" C_warning="" C_failed="" C_skipped="" C_off=""
fi

now() {  # seconds since the epoch, with fractions where the shell has them
  if [ -n "${EPOCHREALTIME:-}" ]; then echo "${EPOCHREALTIME/,/.}"; else date +%s; fi
}
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }
log() { printf '%s\n' "$*" >>"$LOG"; }

# run SECONDS CMD...: runs a command with a time limit; its output goes to $OUT and the log.
run() {
  local limit=$1; shift
  log "\$ $*"
  if command -v timeout >/dev/null 2>&1; then
    timeout --kill-after=5 "$limit" "$@" >"$OUT" 2>&1 </dev/null
  else
    "$@" >"$OUT" 2>&1 </dev/null
  fi
  local rc=$?
  cat "$OUT" >>"$LOG"
  log "(exit $rc)"
  return "$rc"
}
last_line() { grep -v '^[[:space:]]*$' "$OUT" | tail -n 1 | cut -c1-160; }
error_line() {  # the first "error:" line of the last command's output, else its last line
  local line
  line=$(grep -m 1 -E '(^|: )error:' "$OUT" | sed -E 's/^.*error: //' | cut -c1-200)
  if [ -n "$line" ]; then echo "$line"; else last_line; fi
}

# result STATUS MESSAGE [FIX]: the outcome of the current step (ok|fixed|warning|failed|skipped).
result() { STATUS=$1 MESSAGE=$2 FIXHINT=${3:-}; }

# step NAME FUNCTION: runs one step and prints its one line.
step() {
  local name=$1 fn=$2 start line color
  STATUS=failed MESSAGE="(no result)" FIXHINT=""
  start=$(now)
  log "=== $name"
  "$fn"
  line=$(printf '%-8s %-9s %6s  %s' "$STATUS" "$name" "$(elapsed "$start")" "$MESSAGE")
  [ -n "$FIXHINT" ] && line="$line -> fix: $FIXHINT"
  log "$line"
  color="C_$STATUS"
  printf '%s%s%s\n' "${!color}" "$line" "$C_off"
  eval "COUNT_$STATUS=\$((COUNT_$STATUS + 1))"
}

confirm() {  # confirm QUESTION: yes with --yes, asks on a terminal, no otherwise
  [ "$YES" = 1 ] && return 0
  [ -t 0 ] || return 1
  local answer
  read -r -p "$1 [Y/n] " answer
  case "$answer" in "" | [Yy]*) return 0 ;; *) return 1 ;; esac
}

version_ge() {  # version_ge A B: A >= B (dotted numbers)
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]
}

has_task() { printf '%s\n' "$TASKS" | grep -qx "$1"; }

# --- steps -----------------------------------------------------------------------------------

required_python() {
  sed -n 's/^requires-python *= *"[>=~]*\([0-9.]*\).*/\1/p' pyproject.toml | head -n 1
}

check_python() {
  local need version
  need=$(required_python); need=${need:-3}
  if ! command -v python3 >/dev/null 2>&1; then
    result failed "python3 not found" \
      "install Python $need+ with pip (Debian/Ubuntu: sudo apt-get install python3 python3-pip)"
    return
  fi
  version=$(python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
  if version_ge "$version" "$need"; then
    result ok "Python $version ($(command -v python3))"
  else
    result warning "Python $version is older than $need: uv will use or download a newer one" \
      "uv python install $need"
  fi
}

check_git() {
  if command -v git >/dev/null 2>&1; then
    result ok "$(git --version)"
  else
    result failed "git not found" "install git (Debian/Ubuntu: sudo apt-get install git)"
  fi
}

pip_uv() {  # the uv binary of a pip-installed uv package (user site or not), or nothing
  python3 -c 'import uv; print(uv.find_uv_bin())' 2>/dev/null
}

install_uv() {
  # pip first; on a PEP 668 system Python (Debian's), the user site is still the right place
  # for a single self-contained binary, so allow it explicitly.
  run 300 python3 -m pip install --user --quiet --no-warn-script-location uv \
    || { grep -q externally-managed "$OUT" \
      && run 300 python3 -m pip install --user --quiet --no-warn-script-location \
        --break-system-packages uv; }
}

check_uv() {
  local found
  if command -v uv >/dev/null 2>&1; then
    result ok "$(uv --version 2>/dev/null) ($(command -v uv))"
    return
  fi
  if ! command -v python3 >/dev/null 2>&1; then
    result failed "uv not found and no python3 to install it with" \
      "curl -LsSf https://astral.sh/uv/install.sh | sh"
    return
  fi
  if found=$(pip_uv) && [ -x "$found" ]; then
    PATH="$(dirname "$found"):$PATH"; export PATH
    result warning "$(uv --version) is installed at $found, which is not on PATH" \
      "export PATH=\"$(dirname "$found"):\$PATH\" (in your shell profile)"
    return
  fi
  if ! confirm "uv is missing. Install it with pip (python3 -m pip install --user uv)?"; then
    result failed "uv not found" "re-run with --yes, or: python3 -m pip install --user uv"
    return
  fi
  if install_uv && found=$(pip_uv) && [ -x "$found" ]; then
    PATH="$(dirname "$found"):$PATH"; export PATH
    result fixed "installed $(uv --version) with pip at $found" \
      "for new shells: export PATH=\"$(dirname "$found"):\$PATH\""
  else
    result failed "pip could not install uv: $(error_line)" \
      "python3 -m pip install --user uv (see cache/onboard.log)"
  fi
}

tls_hint() {  # a fix for certificate errors behind a TLS-intercepting proxy, else $1
  if grep -qiE 'certificate|SSL' "$OUT"; then
    echo "behind a TLS-intercepting proxy? export SSL_CERT_FILE=/path/to/ca-bundle.pem UV_NATIVE_TLS=1"
  else
    echo "$1"
  fi
}

check_sync() {
  if ! command -v uv >/dev/null 2>&1; then
    result failed "skipped: no uv" "see the uv step"
    return
  fi
  if run 900 uv sync --locked; then
    result ok "$(grep -E '^ *(Audited|Checked|Installed|Prepared) ' "$OUT" | tail -n 1 | sed 's/^ *//')"
    [ -n "$MESSAGE" ] || MESSAGE="environment in sync with uv.lock"
  elif grep -q "needs to be updated" "$OUT"; then
    result failed "uv.lock does not match pyproject.toml" "uv lock, then commit uv.lock"
  else
    result failed "uv sync --locked failed: $(error_line)" "$(tls_hint 'see cache/onboard.log')"
  fi
  list_tasks
}

# The repository's task names (for the optional steps). Errors go to the log; one retry, since
# a busy machine (a CI runner with other jobs) can make the first attempt fail.
list_tasks() {
  local attempt
  for attempt in 1 2; do
    TASKS=$(uv run --no-sync doit list --all 2>>"$LOG" | awk '{print $1}')
    [ -n "$TASKS" ] && return
    log "doit list --all gave no tasks (attempt $attempt)"
    sleep 1
  done
}

go_mod_files() {
  if git rev-parse --git-dir >/dev/null 2>&1; then
    { git ls-files -- 'go.mod' '*/go.mod'; git ls-files -o --exclude-standard -- '*/go.mod'; }
  else
    find . -name go.mod -not -path './.venv/*' -not -path './cache/*' | sed 's|^\./||'
  fi | awk -F/ '!seen[$0]++ { print NF, $0 }' | sort -k1,1n -k2 | cut -d' ' -f2-
}

required_go() {  # the highest `go` line over the repo's go.mod files: "VERSION FILE"
  local file version best="" where=""
  while IFS= read -r file; do
    [ -f "$file" ] || continue
    version=$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$file" | head -n 1)
    [ -n "$version" ] || continue
    if [ -z "$best" ] || ! version_ge "$best" "$version"; then best=$version where=$file; fi
  done < <(go_mod_files)
  [ -n "$best" ] && echo "$best $where"
}

go_missing_fix() {
  local need=$1 dir
  for dir in /usr/local/go/bin "$HOME/go/bin" "$HOME/.local/go/bin"; do
    if [ -x "$dir/go" ]; then
      echo "Go is installed in $dir but not on PATH: export PATH=\"$dir:\$PATH\""
      return
    fi
  done
  echo "install Go $need+ from https://go.dev/dl/ (tar -C /usr/local -xzf go*.tar.gz;" \
    "PATH=\$PATH:/usr/local/go/bin), or work in the dev container: uv run doit dev-up && uv run doit dev-shell"
}

check_go() {
  local need where have toolchain
  read -r need where < <(required_go) || true
  if [ -z "${need:-}" ]; then
    result skipped "no go.mod in this repository"
    return
  fi
  if ! command -v go >/dev/null 2>&1; then
    result warning "Go not found; $where needs Go $need+ (Python work is not blocked)" \
      "$(go_missing_fix "$need")"
    return
  fi
  HAVE_GO=1
  have=$(cd / && go env GOVERSION 2>/dev/null); have=${have#go}
  toolchain=$(cd / && go env GOTOOLCHAIN 2>/dev/null)
  if version_ge "$have" "$need"; then
    result ok "Go $have ($(command -v go)); $where needs $need+"
  elif version_ge "$have" 1.21 && [ "${toolchain%%+*}" != local ]; then
    result warning "Go $have < $need ($where): GOTOOLCHAIN=$toolchain downloads go$need on first use" \
      "install Go $need+ from https://go.dev/dl/ to avoid the download"
  else
    result warning "Go $have is older than $need, which $where needs" \
      "install Go $need+ from https://go.dev/dl/, or use the dev container (uv run doit dev-up)"
  fi
}

proxy_problem() {  # why a GOPROXY value is bad, or nothing
  case "$1" in
    "" | off | off,* | *,off) echo "module downloads are disabled (GOPROXY=$1)" ;;
    direct | direct,* | direct\|*) echo "GOPROXY=$1 fetches every module from its VCS (slow, needs git and every host)" ;;
  esac
}

set_go_env() {  # set_go_env NAME VALUE: go env -w, refusing when the OS environment overrides it
  if [ -n "${!1+x}" ]; then
    echo "$1 is set in your environment, which go env -w cannot override: unset it in your shell profile"
    return 1
  fi
  run 30 go env -w "$1=$2" || { last_line; return 1; }
}

check_goenv() {
  if [ "$HAVE_GO" != 1 ]; then result skipped "no Go"; return; fi
  local proxy sumdb private problem notes=() why
  proxy=$(cd / && go env GOPROXY) sumdb=$(cd / && go env GOSUMDB)
  private=$(cd / && go env GOPRIVATE)
  log "GOPROXY=$proxy GOSUMDB=$sumdb GOPRIVATE=$private GONOSUMDB=$(cd / && go env GONOSUMDB)"
  problem=$(proxy_problem "$proxy")
  [ "$sumdb" = off ] && notes+=("GOSUMDB=off: module checksums are not verified")
  case ",$private," in *",*,"*) notes+=("GOPRIVATE=* makes every module private (no proxy, no checksums)") ;; esac
  if [ -z "$problem" ] && [ ${#notes[@]} -eq 0 ]; then
    result ok "GOPROXY=$proxy GOSUMDB=$sumdb${private:+ GOPRIVATE=$private}"
    return
  fi
  [ -n "$problem" ] && notes=("$problem" "${notes[@]}")
  if [ "$FIX" != 1 ]; then
    local fixes=()
    [ -n "$problem" ] && fixes+=("go env -w GOPROXY=$GOOD_GOPROXY")
    [ "$sumdb" = off ] && fixes+=("go env -w GOSUMDB=sum.golang.org")
    result warning "$(IFS=';'; echo "${notes[*]}" | sed 's/;/; /g')" \
      "$(IFS=';'; echo "${fixes[*]:-set GOPRIVATE to your own module paths only}" | sed 's/;/; /g') (or re-run with --fix)"
    return
  fi
  if [ -n "$problem" ] && ! why=$(set_go_env GOPROXY "$GOOD_GOPROXY"); then
    result warning "$problem" "$why"
    return
  fi
  if [ "$sumdb" = off ] && ! why=$(set_go_env GOSUMDB sum.golang.org); then
    result warning "GOSUMDB=off" "$why"
    return
  fi
  result fixed "GOPROXY=$(cd / && go env GOPROXY) GOSUMDB=$(cd / && go env GOSUMDB) (go env -w, in $(cd / && go env GOENV))"
}

docker_clients() {  # every docker client: PATH's, then Debian's (which has BuildKit built in)
  { command -v docker; [ -x /usr/bin/docker ] && echo /usr/bin/docker; } 2>/dev/null | awk '!seen[$0]++'
}

buildkit_client() {  # a client that can run BuildKit builds: buildx, or built in (before 23)
  local client version
  for client in $(docker_clients); do
    if "$client" buildx version >/dev/null 2>&1; then echo "$client buildx"; return 0; fi
    version=$("$client" version --format '{{.Client.Version}}' 2>/dev/null)
    if [ -n "$version" ] && ! version_ge "${version%%[-+]*}" 23; then
      echo "$client $version (built-in BuildKit)"
      return 0
    fi
  done
  return 1
}

check_docker() {
  if [ "$SKIP_DOCKER" = 1 ]; then result skipped "--skip-docker"; return; fi
  if ! command -v docker >/dev/null 2>&1 && [ ! -x /usr/bin/docker ]; then
    result skipped "no Docker client (optional: dev images and services need it)" \
      "install Docker Engine (https://docs.docker.com/engine/install/), or keep --skip-docker"
    return
  fi
  local client server builder
  client=$(docker_clients | head -n 1)
  if ! run 15 "$client" version --format '{{.Server.Version}}'; then
    result warning "Docker engine not reachable: $(last_line)" \
      "start it (sudo systemctl start docker, or dockerd &), or re-run with --skip-docker"
    return
  fi
  server=$(last_line)
  if ! builder=$(buildkit_client); then
    result warning "engine $server, but no BuildKit-capable client" \
      "install the buildx plugin (Debian/Ubuntu: docker-buildx-plugin or docker-buildx)"
    return
  fi
  DOCKER_READY=1
  result ok "engine $server; BuildKit: $builder"
}

check_image() {
  if [ "$DOCKER_READY" != 1 ]; then result skipped "no usable Docker engine"; return; fi
  if ! has_task image; then
    result skipped "this repository has no \`doit image\` task yet"
    return
  fi
  if run "${ONBOARD_IMAGE_TIMEOUT:-1800}" uv run --no-sync doit image; then
    if grep -q "up to date\|up-to-date" "$OUT"; then
      result ok "dev image up to date"
    else
      result ok "dev image built"
    fi
  else
    result warning "doit image failed: $(error_line)" \
      "see cache/onboard.log and docs/docker.md (base images: GO_IMAGE, PYTHON_IMAGE, UV_IMAGE)"
  fi
}

check_remote() {
  if [ -z "${CONJURE_REMOTE:-}" ]; then result skipped "CONJURE_REMOTE not set"; return; fi
  local shown code
  shown=$(printf '%s' "$CONJURE_REMOTE" | sed -E 's#(://)[^/@]*@#\1***@#')
  code=$(python3 - "$CONJURE_REMOTE" 2>>"$LOG" <<'PY'
import sys, urllib.error, urllib.request
url = sys.argv[1].rstrip("/") + "/"
for method in ("HEAD", "GET"):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as r:
            print(r.status)
        break
    except urllib.error.HTTPError as err:
        if err.code == 405 and method == "HEAD":
            continue
        print(err.code)
        break
    except Exception as err:  # noqa: BLE001 - any failure is "not reachable"
        print(f"unreachable: {err}")
        break
PY
)
  log "remote $shown: $code"
  case "$code" in
    401 | 403) result warning "remote cache $shown answers HTTP $code (credentials?)" \
      "check the user and password in CONJURE_REMOTE" ;;
    [1-4][0-9][0-9]) result ok "remote cache $shown answers (HTTP $code)" ;;
    *) result warning "remote cache $shown: ${code:-no answer}" \
      "check CONJURE_REMOTE and your network/VPN; builds still work, without the shared cache" ;;
  esac
}

check_doctor() {
  if [ "$SKIP_DOCKER" = 1 ]; then result skipped "--skip-docker (doctor checks the Docker setup)"; return; fi
  if [ "$DOCKER_READY" != 1 ]; then result skipped "no usable Docker engine (doctor checks the Docker setup)"; return; fi
  if ! has_task doctor; then result skipped "this repository has no \`doit doctor\` task yet"; return; fi
  if run 120 uv run --no-sync doit doctor; then
    result ok "$(grep -cE '^ok ' "$OUT") checks ok$(grep -qE '^WARN ' "$OUT" && echo ", $(grep -cE '^WARN ' "$OUT") warnings (see log)")"
  else
    local first
    first=$(grep -E '^(FAIL|WARN) ' "$OUT" | head -n 1 | sed -E 's/ +/ /g' | cut -c1-160)
    result warning "doit doctor: ${first:-$(last_line)}" "uv run doit doctor (details in cache/onboard.log)"
  fi
}

check_smoke() {
  local task=${ONBOARD_SMOKE_TASK:-test-unit}
  if command -v uv >/dev/null 2>&1 && [ -z "$TASKS" ]; then list_tasks; fi
  if ! command -v uv >/dev/null 2>&1 || ! has_task "$task"; then
    result failed "cannot run \`doit $task\` (environment not ready or no such task)" \
      "fix the steps above, then: uv run doit $task"
    return
  fi
  if run 900 uv run --no-sync doit "$task"; then
    local passed
    passed=$(grep -oE '[0-9]+ passed' "$OUT" | tail -n 1)
    if [ -z "$passed" ] && grep -qE '0 ran, [0-9]+ up to date' "$OUT"; then
      passed="up to date (passed before on these exact inputs)"
    fi
    result ok "uv run doit $task${passed:+: $passed}"
  else
    result failed "uv run doit $task failed: $(last_line)" "see cache/onboard.log"
  fi
}

# --- main ------------------------------------------------------------------------------------

START=$(now)
log "onboard.sh $* -- $(date -u +%Y-%m-%dT%H:%M:%SZ) in $ROOT"
echo "onboarding $ROOT (log: cache/onboard.log)"
step python check_python
step git check_git
step uv check_uv
step sync check_sync
step go check_go
step goenv check_goenv
step docker check_docker
step image check_image
step remote check_remote
step doctor check_doctor
step smoke check_smoke

summary="total $(elapsed "$START"): $COUNT_ok ok, $COUNT_fixed fixed, $COUNT_warning warning"
summary="$summary, $COUNT_failed failed, $COUNT_skipped skipped"
log "$summary"
echo "$summary"
if [ "$COUNT_failed" -gt 0 ]; then
  echo "blocked: fix the failed step(s) above, then run scripts/onboard.sh again"
  exit 1
fi
echo "next: uv run doit list    (the tasks)"
echo "      uv run doit test-all (every test suite; --suite unit,library to narrow)"
[ "$DOCKER_READY" = 1 ] && echo "      uv run doit dev-up   (the dev container and its services)"
exit 0
