#!/usr/bin/env bash
# Times `setup --env dev` (the built binary, not cargo) on a project whose
# `.env` is large: many lines of settings, or one long value. Each case is run
# on an existing `.env` (the run that keeps everything), once; a case that
# runs over TIMEOUT seconds (default 120) is reported as such.
#
#   bench/envfile-scale.sh [TIMEOUT]
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-120}
cargo build --quiet --release -p xtask
bin=${XTASK_BIN:-$PWD/target/release/xtask}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r docker setup.conf "$work/"
(cd "$work" && "$bin" setup --env dev >/dev/null)
base="$work/receptor-dev/.env.base"
cp "$work/receptor-dev/.env" "$base"

run() { # name, then how to extend the .env on stdout
    local name=$1
    cp "$base" "$work/receptor-dev/.env"
    cat >>"$work/receptor-dev/.env"
    chmod 600 "$work/receptor-dev/.env"
    local size; size=$(stat -c %s "$work/receptor-dev/.env")
    local t0 t1 code=0
    t0=$(date +%s%N)
    (cd "$work" && timeout "$limit" "$bin" setup --env dev >/dev/null 2>"$work/err") || code=$?
    t1=$(date +%s%N)
    local what="exit $code"
    [ "$code" = 124 ] && what="over ${limit} s (stopped)"
    [ "$code" = 2 ] && what="refused: $(head -c 100 "$work/err")"
    printf '%-22s %9d bytes  %9.2f s  %s\n' "$name" "$size" "$(((t1 - t0) / 1000000))e-3" "$what"
}

lines() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++) printf "SETTING_%05d=v%05d\n", i, i }'; }
run "10,000 lines" < <(lines 10000)
run "40,000 lines" < <(lines 40000)
run "1,000,000 lines" < <(lines 1000000)
run "one 1,000,000-byte value" < <(printf 'BIG_VALUE=%s\n' "$(head -c 1000000 /dev/zero | tr '\0' a)")
run "one 50 MB value" < <(printf 'BIG_VALUE=%s\n' "$(head -c 50000000 /dev/zero | tr '\0' a)")
