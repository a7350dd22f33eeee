#!/usr/bin/env bash
# The HTTP API checked against its own OpenAPI document with schemathesis (pinned in
# requirements.txt, installed into a venv under target/): a fresh server with the demo
# neighbourhood, then one bounded run per role, each with that role's bearer token. Fails on any
# finding: a 5xx, an undocumented status or content type, a body off its schema...
# From the repository root: HEHE_SERVER_BIN=target/debug/hehe-server bash server/contract/ci.sh
# HEHE_CONTRACT_SECS (default 150) is the whole time budget; HEHE_CONTRACT_SEED replays a run;
# HEHE_CONTRACT_REPORTS names a directory to keep each role's NDJSON event stream in.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

bin="${HEHE_SERVER_BIN:-$root/target/debug/hehe-server}"
case "$bin" in /*) ;; *) bin="$root/$bin" ;; esac
if [ ! -x "$bin" ]; then
  (cd "$root" && cargo build -p hehe-server --locked)
fi

# The venv is kept between runs and made anew when the pins change.
venv="${HEHE_CONTRACT_VENV:-$root/target/contract-venv}"
stamp="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [ "$(cat "$venv/.pins" 2>/dev/null)" != "$stamp" ]; then
  echo "== installing schemathesis into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
  echo "$stamp" >"$venv/.pins"
fi
py="$venv/bin/python"

work="$(mktemp -d)"
server=""
stop() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap stop EXIT
trap 'exit 130' INT TERM

mkdir "$work/data"
reports_dir="${HEHE_CONTRACT_REPORTS:-$work/reports}"
mkdir -p "$reports_dir"
reports_dir="$(cd "$reports_dir" && pwd)"
HEHE_LISTEN=127.0.0.1:0 HEHE_DATA_DIR="$work/data" HEHE_SEED_DEMO=true \
  HEHE_RATE_LIMITS=false HEHE_LOGIN_FREE_FAILURES=1000000 HEHE_SHUTDOWN_GRACE_SECS=1 \
  HEHE_LOG=info HEHE_LOG_JSON=true \
  "$bin" >"$work/server.log" 2>&1 &
server=$!
addr="$("$py" "$here/contract.py" addr "$work/server.log" 30)"
base="http://$addr"
"$py" "$here/contract.py" ready "$base" 30
echo "== hehe-server at $base"

# A resident mostly meets 403s and 404s, a street chief chairs and dispatches in his street, an
# admin may do everything. Admin goes last, as he may disable the others' accounts and the
# chief may take the resident's role; the budget leans to him, who reaches the most code.
budget="${HEHE_CONTRACT_SECS:-150}"
roles=("resident:$((budget * 3 / 10))" "chief:$((budget * 3 / 10))" "admin:$((budget * 2 / 5))")
seed=()
[ -n "${HEHE_CONTRACT_SEED:-}" ] && seed=(--seed "$HEHE_CONTRACT_SEED")

status=0
reports=()
for entry in "${roles[@]}"; do
  role="${entry%%:*}"
  secs="${entry##*:}"
  # Fails here, plainly, rather than as a run of 401s.
  "$py" "$here/contract.py" login "$base" "$role" hehe-demo >/dev/null
  report="$reports_dir/$role.ndjson"
  reports+=("$report")
  echo "== schemathesis as $role, ${secs} s"
  # Run from the work directory: schemathesis leaves its files where it runs.
  (cd "$work" && HEHE_CONTRACT_USER="$role" "$venv/bin/st" --config-file "$here/schemathesis.toml" \
    run "$base/api/openapi.json" --max-time "$secs" --workers 1 --no-color \
    --report ndjson --report-ndjson-path "$report" "${seed[@]}") || status=1
done

# A panic in a handler loses its connection, which schemathesis may retry past: look for it.
if ! kill -0 "$server" 2>/dev/null || grep -q "panicked" "$work/server.log"; then
  echo "hehe-server panicked or died during the run; its log ends:"
  tail -n 50 "$work/server.log"
  status=1
fi
"$py" "$here/contract.py" summary "${reports[@]}"
exit "$status"
