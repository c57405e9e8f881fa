#!/usr/bin/env bash
# The benchmark comparison of docs/performance.md: builds the benchmarks jar, installs redis-server
# if it is missing (Debian package, as root), starts it on a free loopback port with persistence
# off, runs every workload, and stops Redis again, also when the run fails or is interrupted.
#
#   examples/benchmarks/bench.sh            # the whole comparison: a few minutes on 2 cores
#   examples/benchmarks/bench.sh --quick    # about a minute of measuring (more with the build
#                                           # and on a loaded machine), shorter and smaller
#   examples/benchmarks/bench.sh --long     # adds 1,000,000 sessions on disk (long, ~5 GB)
#
# Other flags go to the harness: --dir=PATH (keep the data there), --workloads=1,3,
# --profile (JFR summary of Latchkey's request), --redis=none (skip Redis).
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing redis-server (apt-get)" >&2
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
  else
    echo "bench: redis-server is not installed (and this is not root on Debian): no Redis rows" >&2
  fi
fi

mvn -B -q -DskipTests -pl examples/benchmarks -am package

work=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-bench-redis.XXXXXX")
redis_pid=""
cleanup() {
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

redis_flag=--redis=none
if command -v redis-server >/dev/null 2>&1; then
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      continue # taken
    fi
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
      --daemonize no --loglevel warning >"$work/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 100); do
      if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
        # --redis-owned: this server was started for the run, the harness may reconfigure it
        redis_flag="--redis=127.0.0.1:$port --redis-owned"
        break 2
      fi
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
    redis_pid=""
  done
  [ -n "$redis_pid" ] || echo "bench: redis-server did not start (see above): no Redis rows" >&2
fi

# shellcheck disable=SC2086 # redis_flag is one or two flags without spaces inside
java -jar examples/benchmarks/target/latchkey-benchmarks.jar $redis_flag "$@"
