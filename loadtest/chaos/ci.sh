#!/usr/bin/env bash
# Chaos, short form, for CI: the five faults of `hehe-loadtest chaos`, each against real
# hehe-server processes on loopback that share a PRIVATE PostgreSQL and a PRIVATE Redis started
# here on free ports (the machine's shared services are never touched: other tests use them).
# Ends with "chaos: N passed, M failed" and exits non-zero when any step lost an acknowledged
# write or could not run.
#
#   bash loadtest/chaos/ci.sh              # builds the debug binaries if need be
#   CHAOS_PROFILE=release bash loadtest/chaos/ci.sh
#   CHAOS_STEPS="kill-node redis-restart" bash loadtest/chaos/ci.sh
#   CHAOS_ARGS="--listeners 60" bash loadtest/chaos/ci.sh    # later options win
#   CHAOS_PROFILE=release CHAOS_STEPS=soak CHAOS_STEP_TIMEOUT=1500 \
#     CHAOS_ARGS="--duration 900 --storm-every 120" bash loadtest/chaos/ci.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

profile=${CHAOS_PROFILE:-debug}
steps=${CHAOS_STEPS:-"kill-node redis-restart postgres-restart slow-consumer reconnect-storm"}
if [ "${CHAOS_SKIP_BUILD:-}" != 1 ]; then
  flag=$([ "$profile" = release ] && echo --release || true)
  cargo build $flag --locked -q -p hehe-server -p hehe-loadtest
fi
server_bin="$PWD/target/$profile/hehe-server"
loadtest_bin="$PWD/target/$profile/hehe-loadtest"

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$pg_bin/initdb" ] || { echo "chaos: PostgreSQL's initdb not found under /usr/lib/postgresql"; exit 1; }
command -v redis-server >/dev/null || { echo "chaos: redis-server not found"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hehe-chaos.XXXXXX")
chmod 755 "$work"
# initdb and postgres refuse to run as root: as root, they run as the postgres user.
if [ "$(id -u)" = 0 ]; then
  as_pg="runuser -u postgres --"
  chown postgres "$work"
else
  as_pg=""
fi

free_port() {
  local p
  for p in $(seq "$1" "$(($1 + 99))"); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return
    fi
  done
  echo "chaos: no free port from $1" >&2
  exit 1
}
redis_port=$(free_port 6390)
pg_port=$(free_port 5490)

redis_start="redis-server --bind 127.0.0.1 --port $redis_port --save '' --appendonly no \
  --daemonize yes --pidfile $work/redis.pid --logfile $work/redis.log"
redis_stop="redis-cli -p $redis_port shutdown nosave >/dev/null 2>&1 || true; \
  for i in \$(seq 50); do redis-cli -p $redis_port ping >/dev/null 2>&1 || exit 0; sleep 0.1; done; exit 1"
pg_start="$as_pg $pg_bin/pg_ctl -D $work/pg -w -t 60 -l $work/pg.log \
  -o '-p $pg_port -k $work -c listen_addresses=127.0.0.1 -c max_connections=100 -c fsync=off' start >/dev/null"
pg_stop="$as_pg $pg_bin/pg_ctl -D $work/pg -w -t 60 -m fast stop >/dev/null"

cleanup() {
  $as_pg "$pg_bin/pg_ctl" -D "$work/pg" -m immediate stop >/dev/null 2>&1 || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

$as_pg "$pg_bin/initdb" -D "$work/pg" -U postgres --auth=trust -E UTF8 >/dev/null
sh -c "$pg_start"
sh -c "$redis_start"
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

database_url="postgres://postgres@127.0.0.1:$pg_port/postgres"
redis_url="redis://127.0.0.1:$redis_port"

# More options for every step, e.g. CHAOS_ARGS="--outbox-bytes 1048576".
read -ra more <<<"${CHAOS_ARGS:-}"
passed=0
failed=0
began=$SECONDS
for step in $steps; do
  extra=(--duration 10 --outage 3)
  case $step in
    redis-restart) extra+=(--stop-cmd "$redis_stop" --start-cmd "$redis_start") ;;
    postgres-restart) extra+=(--stop-cmd "$pg_stop" --start-cmd "$pg_start") ;;
    # Posts of 2,000 characters (8 KB) as fast as four posters go, until the nodes have closed
    # the listeners that stopped reading (the server's socket buffer alone takes 4 MB; at most
    # 30 s), then 2 s more.
    slow-consumer) extra=(--duration 40 --outage 30 --listeners 10 --posters 4 --post-rate 400) ;;
    reconnect-storm) extra+=(--listeners 150) ;;
  esac
  # Bounded twice: by the driver's own limits, and here in case it hangs.
  if timeout "${CHAOS_STEP_TIMEOUT:-240}" "$loadtest_bin" chaos "$step" --server-bin "$server_bin" \
      --database-url "$database_url" --redis-url "$redis_url" --work-dir "$work/run" \
      --loadtest-accounts 600 --fault-after 3 --drain 20 "${extra[@]}" "${more[@]}"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    for log in "$work/run/$step"/node-*.log; do
      [ -f "$log" ] || continue
      echo "--- last lines of $step/$(basename "$log")"
      tail -n 20 "$log"
    done
  fi
done
echo "chaos: $((SECONDS - began)) s for the steps"
echo "chaos: $passed passed, $failed failed"
[ "$failed" = 0 ]
