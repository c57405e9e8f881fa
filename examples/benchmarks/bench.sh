#!/usr/bin/env bash
# The benchmark comparison of docs/performance.md: builds the benchmarks jar, installs redis-server
# if it is missing (Debian package, as root), starts it on a free loopback port with persistence
# off, runs every workload, and stops Redis again, also when the run fails or is interrupted.
# SIGINT (Ctrl-C), SIGTERM and SIGHUP stop the run at once: the Java harness is sent SIGTERM, its shutdown
# hook kills the worker and JMH JVMs it started and deletes its temporary directory (not a --dir),
# and this script stops its Redis and deletes its own temporary directory. If the script itself is
# killed (SIGKILL), its watchdog does the same (see watchdog below).
#
# Run with --help for every flag. LATCHKEY_BENCH_CLASSPATH=CP (for the harness's own tests) skips
# the build and runs the harness from that class path instead of the jar.
set -euo pipefail
cd "$(dirname "$0")/../.."

usage() {
  cat <<'EOF'
usage: examples/benchmarks/bench.sh [flags]
  (no flag)            the whole comparison: about 9 minutes on a quiet 2-core machine (more under load)
  --quick              under a minute: workloads 1-3 (unless --workloads says otherwise),
                       short iterations, 1,000 sessions; judges no target
  --long               the default run plus 1,000,000 sessions on disk (~5 GB, long)
  --smoke              a few tiny iterations, judges no target (what `mvn verify` runs)
  --workloads=1,2,3,4  run only these workloads (5: only workload 4's sweep)
  --profile            also record Latchkey's request under JFR and summarise it
  --dir=PATH           keep the run's logs (JMH, workers, JFR) under PATH/run-DATE-UNIQUE/;
                       each workload deletes its sessions (default: a temporary
                       directory, deleted at the end and on SIGTERM/SIGINT)
  --redis=HOST:PORT    use this Redis instead of starting one (not reconfigured unless
                       --redis-owned; no install, no redis-server started)
  --redis=none         no Redis rows
  --redis-owned        the --redis server was started for this run: workload 2 may turn on
                       its append-only file
  --help, -h           print this and exit
Without --redis the script installs redis-server if it is missing (apt-get, as root), starts it
on a free loopback port with persistence off and stops it afterwards.
Exit status: 0; 1 if Latchkey failed a check (lost or failed an update it guarantees);
2 for bad flags; 3 for a harness error (the cause on standard error); 130 after SIGINT,
143 after SIGTERM, 129 after SIGHUP. Killed outright (SIGKILL), the script leaves a watchdog
that stops the harness and Redis and deletes the script's temporary directory.
EOF
}

# bad_flag MESSAGE: the usage and exit status 2, before anything is built, installed or started
bad_flag() {
  echo "bench: $1" >&2
  usage >&2
  exit 2
}

# every flag and every value is checked here, as the harness checks them, before anything else
redis_given=""
mode=""
for arg in "$@"; do
  case "$arg" in
    --help | -h)
      usage
      exit 0
      ;;
    --quick | --long | --smoke)
      [ -z "$mode" ] || [ "$mode" = "$arg" ] || bad_flag "$mode and $arg exclude each other"
      mode=$arg
      ;;
    --profile | --redis-owned) ;;
    --dir=?*) ;;
    --workloads=?*)
      IFS=, read -r -a numbers <<<"${arg#--workloads=}"
      [ "${#numbers[@]}" -gt 0 ] || bad_flag "--workloads takes numbers from 1 to 5: $arg"
      for n in "${numbers[@]}"; do
        [[ "$n" =~ ^[[:space:]]*[1-5][[:space:]]*$ ]] ||
          bad_flag "--workloads takes numbers from 1 to 5, separated by commas: $arg"
      done
      ;;
    --redis=none | --redis=auto) redis_given=yes ;;
    --redis=?*:*)
      port=${arg##*:}
      [[ "$port" =~ ^[0-9]{1,5}$ ]] && [ "$((10#$port))" -ge 1 ] && [ "$((10#$port))" -le 65535 ] ||
        bad_flag "--redis takes HOST:PORT (port 1-65535), none or auto: $arg"
      redis_given=yes
      ;;
    *)
      case "$arg" in
        --redis=* | --dir=* | --workloads=*)
          bad_flag "bad value: $arg" ;;
      esac
      bad_flag "unknown flag: $arg"
      ;;
  esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/latchkey-bench-sh.XXXXXX")
redis_pid=""
child=""

# The watchdog: stops the harness (SIGTERM, so that its shutdown hook stops its own children; then
# SIGKILL after 20 s) and Redis, and deletes this script's directory, once this script is gone
# however it went, SIGKILL included. It reads a pipe whose only writer is this script (fd 9, closed
# in every command the script starts): end-of-file means the script has ended. After a normal end
# the exit trap has already done all this and deleted the directory, and the watchdog just ends.
watchdog() {
  read -r _ || true
  [ -d "$work" ] || exit 0
  harness=$(cat "$work/harness.pid" 2>/dev/null || true)
  redis=$(cat "$work/redis.pid" 2>/dev/null || true)
  if [ -n "$harness" ] && kill -TERM "$harness" 2>/dev/null; then
    for _ in $(seq 200); do
      kill -0 "$harness" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$harness" 2>/dev/null || true
  fi
  if [ -n "$redis" ] && kill "$redis" 2>/dev/null; then
    for _ in $(seq 50); do
      kill -0 "$redis" 2>/dev/null || break
      sleep 0.1
    done
  fi
  rm -rf "$work"
}
exec 9> >(watchdog 9>&- >/dev/null 2>&1)
watchdog_pid=$!

cleanup() {
  if [ -n "$redis_pid" ]; then
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  # the watchdog sees end-of-file, finds nothing left to do, and ends before this script does
  exec 9>&-
  wait "$watchdog_pid" 2>/dev/null || true
}
# stop SIGNAL STATUS: ends the running child (the build or the harness) and exits; the EXIT trap
# then stops Redis. The harness gets SIGTERM (its shutdown hook stops its own children) and 20 s.
stop() {
  # PIPE ignored and the signal sent before the message: with standard error on a closed pipe
  # (`bench.sh 2>&1 | head`) the message would otherwise end this script before the harness
  trap '' INT TERM HUP PIPE
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null || true
    echo "bench: $1: stopping the run (pid $child)" >&2 2>/dev/null || true
    for _ in $(seq 200); do
      kill -0 "$child" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit "$2"
}
trap cleanup EXIT
trap 'stop SIGINT 130' INT
trap 'stop SIGTERM 143' TERM
trap 'stop SIGHUP 129' HUP

# runs a command in the background and waits for it, so that a signal reaches the traps at once
# (bash runs a trap only after a foreground command ends)
run() {
  "$@" 9>&- &
  child=$!
  echo "$child" >"$work/harness.pid"
  local rc=0
  wait "$child" || rc=$?
  child=""
  return "$rc"
}

# PING in RESP over bash's /dev/tcp: no redis-cli needed
redis_ping() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf 'PING\r\n' >&3
    IFS= read -r -t 2 reply <&3
    [[ "$reply" == "+PONG"* ]]
  ) 2>/dev/null
}

redis_flag=""
if [ -z "$redis_given" ]; then
  if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "bench: installing redis-server (apt-get)" >&2
      if ! apt_out=$({ apt-get update -qq && apt-get install -y -qq redis-server; } 2>&1); then
        echo "bench: apt-get update && apt-get install redis-server failed:" >&2
        printf '%s\n' "$apt_out" | tail -n 20 | sed 's/^/  apt: /' >&2
        echo "bench: continuing without the Redis rows (install redis-server yourself, or pass" \
          "--redis=HOST:PORT of a running server)" >&2
      fi
    else
      echo "bench: redis-server is not installed (and this is not root with apt-get): continuing" \
        "without the Redis rows (install it, or pass --redis=HOST:PORT of a running server)" >&2
    fi
  fi
  redis_flag=--redis=none
  if command -v redis-server >/dev/null 2>&1; then
    for attempt in 1 2 3 4 5; do
      port=$((20000 + RANDOM % 40000))
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        continue # taken
      fi
      redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
        --daemonize no --loglevel warning >"$work/redis.log" 2>&1 9>&- &
      redis_pid=$!
      echo "$redis_pid" >"$work/redis.pid"
      for _ in $(seq 100); do
        if redis_ping "$port"; then
          # --redis-owned: this server was started for the run, the harness may reconfigure it
          redis_flag="--redis=127.0.0.1:$port --redis-owned"
          break 2
        fi
        kill -0 "$redis_pid" 2>/dev/null || break
        sleep 0.1
      done
      echo "bench: redis-server attempt $attempt on port $port failed:" >&2
      sed 's/^/  redis: /' "$work/redis.log" >&2 || true
      kill "$redis_pid" 2>/dev/null || true
      wait "$redis_pid" 2>/dev/null || true
      redis_pid=""
    done
    [ -n "$redis_pid" ] || echo "bench: redis-server did not start (see above): no Redis rows" >&2
  fi
fi

# the harness's temporary files (its run directory, its workers', JMH's) go inside this script's
# directory, so that they are deleted when the script ends however the harness ended (kill -9 too)
mkdir "$work/java"
java_opts=("-Djava.io.tmpdir=$work/java")
rc=0
if [ -n "${LATCHKEY_BENCH_CLASSPATH:-}" ]; then
  # shellcheck disable=SC2086 # redis_flag is up to two flags without spaces inside
  run java "${java_opts[@]}" -cp "$LATCHKEY_BENCH_CLASSPATH" dev.latchkey.benchmarks.Bench \
    $redis_flag "$@" || rc=$?
else
  run mvn -B -q -DskipTests -pl examples/benchmarks -am package
  # shellcheck disable=SC2086
  run java "${java_opts[@]}" -jar examples/benchmarks/target/latchkey-benchmarks.jar \
    $redis_flag "$@" || rc=$?
fi
exit "$rc"
