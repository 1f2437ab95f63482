#!/usr/bin/env bash
# Runs every benchmark in tools/bench, one after another and each with its default options, so that
# docs/benchmarks.md is refreshed in one go (each script rewrites only its own section, with the machine
# and the load average when it started). Nightly-style: a failing benchmark does not stop the others.
#
#   bash tools/bench/all.sh [--only a,b] [--skip a,b] [--list] [--logs <dir>]
#
# A benchmark is a tools/bench/*.ts file (not *.test.ts) that calls runBenchmark( from bench-kit.ts at
# the start of a line; kits, helpers and child-process scripts beside them do not, so new benchmarks are
# picked up and helpers are left alone. Names are file names without .ts (hub-throughput, pods, ...).
#   --only a,b   run only these      --skip a,b   run all but these      --list   print the names and stop
#   --logs dir   where <name>.log files go (default: a new directory under $TMPDIR)
# Progress lines go to stderr; each benchmark's own output goes to the terminal and to its log.
# Exit status: 0 when every benchmark passed, 1 when any failed (listed at the end), 2 for a bad command
# line, 130 when interrupted (the running benchmark gets SIGTERM and stops what it started). Each
# benchmark runs in its own process group; what is still running in it when the benchmark has ended
# (it was killed outright and could not stop its children) is stopped, by group id.
# KEDGE_BENCH_DIR replaces tools/bench as the place to look (for all.sh's own test).
set -uo pipefail

repo_root="$(cd "$(dirname "$0")/../.." && pwd)"
bench_dir="${KEDGE_BENCH_DIR:-$repo_root/tools/bench}"
started_at=$SECONDS

say() { printf '[all.sh %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
die_usage() { printf 'all.sh: %s\n' "$*" >&2; exit 2; }

only=''
skip=''
list=0
logs=''
while [ $# -gt 0 ]; do
  case "$1" in
    --only) [ $# -ge 2 ] || die_usage '--only needs a comma-separated list of benchmark names'; only="$2"; shift 2 ;;
    --only=*) only="${1#--only=}"; shift ;;
    --skip) [ $# -ge 2 ] || die_usage '--skip needs a comma-separated list of benchmark names'; skip="$2"; shift 2 ;;
    --skip=*) skip="${1#--skip=}"; shift ;;
    --logs) [ $# -ge 2 ] || die_usage '--logs needs a directory'; logs="$2"; shift 2 ;;
    --logs=*) logs="${1#--logs=}"; shift ;;
    --list) list=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die_usage "unknown argument '$1' (see --help)" ;;
  esac
done

# discover: every *.ts that calls runBenchmark( at the start of a line, in name order
available=()
for file in "$bench_dir"/*.ts; do
  [ -e "$file" ] || continue
  case "$file" in *.test.ts) continue ;; esac
  grep -Eq '^[[:space:]]*runBenchmark\(' "$file" || continue
  name="$(basename "$file" .ts)"
  available+=("$name")
done
[ ${#available[@]} -gt 0 ] || die_usage "no benchmarks found in $bench_dir"

is_available() {
  local wanted="$1" name
  for name in "${available[@]}"; do [ "$name" = "$wanted" ] && return 0; done
  return 1
}

# a comma-separated list, each name checked: a typo must not silently run or skip the wrong thing
split_names() {
  local flag="$1" text="$2" name
  local -a names
  IFS=',' read -r -a names <<<"$text"
  for name in "${names[@]}"; do
    name="${name// /}"
    [ -n "$name" ] || continue
    is_available "$name" || die_usage "$flag: no benchmark named '$name' in $bench_dir (there are: ${available[*]})"
    printf '%s\n' "$name"
  done
}

# checked here first: inside the process substitutions below a bad name could not stop the script
[ -z "$only" ] || split_names --only "$only" >/dev/null
[ -z "$skip" ] || split_names --skip "$skip" >/dev/null
only_names=()
skip_names=()
if [ -n "$only" ]; then mapfile -t only_names < <(split_names --only "$only"); fi
if [ -n "$skip" ]; then mapfile -t skip_names < <(split_names --skip "$skip"); fi

contains() {
  local wanted="$1" name
  shift
  for name in "$@"; do [ "$name" = "$wanted" ] && return 0; done
  return 1
}

selected=()
for name in "${available[@]}"; do
  if [ ${#only_names[@]} -gt 0 ] && ! contains "$name" "${only_names[@]}"; then continue; fi
  if [ ${#skip_names[@]} -gt 0 ] && contains "$name" "${skip_names[@]}"; then continue; fi
  selected+=("$name")
done

if [ "$list" = 1 ]; then
  printf '%s\n' "${selected[@]}"
  exit 0
fi
[ ${#selected[@]} -gt 0 ] || die_usage 'nothing left to run after --only/--skip'

if [ -z "$logs" ]; then
  logs="$(mktemp -d "${TMPDIR:-/tmp}/kedge-bench-all-XXXXXX")" || exit 1
else
  mkdir -p "$logs" || exit 1
fi

child=''
interrupted=0
on_signal() {
  interrupted=1
  # the benchmark stops what it started on SIGTERM (runBenchmark's handler) and exits 130
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then kill -TERM "$child" 2>/dev/null; fi
}
trap on_signal INT TERM

say "${#selected[@]} benchmark(s): ${selected[*]}; logs in $logs"
results=()
failed=()
index=0
for name in "${selected[@]}"; do
  index=$((index + 1))
  log="$logs/$name.log"
  say "($index/${#selected[@]}) $name: starting, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
  bench_started=$SECONDS
  # the script's stdout and stderr each reach the terminal and the log; $! is node itself (exec), in a
  # process group of its own (setsid), so whatever it leaves behind can be found and stopped below
  (cd "$repo_root" && exec setsid node --import tsx "$bench_dir/$name.ts") > >(tee "$log") 2> >(tee -a "$log" >&2) &
  child=$!
  wait "$child"
  status=$?
  # a signal interrupts wait, not the benchmark: wait until it has really stopped
  while kill -0 "$child" 2>/dev/null; do
    wait "$child"
    status=$?
  done
  # a benchmark killed outright (SIGKILL, a crash) cannot stop its cloudcore or edges: stop its group
  if kill -0 -- "-$child" 2>/dev/null; then
    say "($index/${#selected[@]}) $name left processes running in its group $child: stopping them"
    kill -TERM -- "-$child" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 -- "-$child" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$child" 2>/dev/null
  fi
  child=''
  seconds=$((SECONDS - bench_started))
  if [ "$status" -eq 0 ]; then
    say "($index/${#selected[@]}) $name: ok in ${seconds} s"
    results+=("$(printf '%-22s ok      %6d s' "$name" "$seconds")")
  else
    say "($index/${#selected[@]}) $name: FAILED with exit status $status after ${seconds} s (log: $log)"
    results+=("$(printf '%-22s FAILED  %6d s  exit %d, %s' "$name" "$seconds" "$status" "$log")")
    failed+=("$name")
  fi
  if [ "$interrupted" = 1 ]; then
    say "interrupted: not starting the remaining benchmarks"
    break
  fi
done

say "done in $((SECONDS - started_at)) s"
printf '%s\n' "${results[@]}" >&2
if [ "$interrupted" = 1 ]; then exit 130; fi
if [ ${#failed[@]} -gt 0 ]; then
  say "failed: ${failed[*]}"
  exit 1
fi
say 'every benchmark passed; docs/benchmarks.md has their fresh sections'
exit 0
