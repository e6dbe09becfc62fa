#!/usr/bin/env bash
# Times `setup --env dev` itself (the built binary, not cargo): the first run
# on a fresh project, and a re-run that changes nothing. Prints the median,
# minimum and maximum of each over RUNS runs (default 30).
#
#   bench/setup-timing.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-30}
cargo build --quiet --release -p xtask
bin="$PWD/target/release/xtask"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r docker setup.conf "$work/"

ms() { date +%s%N; }
stats() { # name, then one duration (ns) a line on stdin
    sort -n | awk -v name="$1" '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%-8s runs %3d  median %7.2f ms  min %7.2f ms  max %7.2f ms\n", name, NR, m / 1e6, v[1] / 1e6, v[NR] / 1e6 }'
}

first=() rerun=()
for i in $(seq "$runs"); do
    rm -rf "$work/receptor-dev"
    t0=$(ms); (cd "$work" && "$bin" setup --env dev >/dev/null); t1=$(ms)
    (cd "$work" && "$bin" setup --env dev >/dev/null); t2=$(ms)
    first+=($((t1 - t0))) rerun+=($((t2 - t1)))
done
printf '%s\n' "${first[@]}" | stats first
printf '%s\n' "${rerun[@]}" | stats re-run
