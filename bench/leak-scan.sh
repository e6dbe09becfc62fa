#!/usr/bin/env bash
# The leak-scan benchmark: generates a repository of 12,000 files (110 MB) with
# a known number of planted Supabase secrets of each kind, then runs side by
# side on it: `cargo xtask verify` (repository scope, release build), `git grep
# -F` for the planted values (the floor: it already knows every answer), and
# detect-secrets from PyPI (a peer). Prints throughput and what each found.
#
# usage: bench/leak-scan.sh [--no-peer] [WORK_DIR]   (default: target/bench-leak-scan)
# Needs python3 (with venv) and git; installs detect-secrets into a venv under
# target/. detect-secrets takes about 17 minutes on 2 cores: --no-peer leaves it out.
set -euo pipefail
cd "$(dirname "$0")/.."
peer=1
if [ "${1:-}" = "--no-peer" ]; then
  peer=0
  shift
fi
work="${1:-target/bench-leak-scan}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"

cargo build --release --quiet --package xtask
xtask="$(pwd)/target/release/xtask"

venv="target/bench-venv"
if [ "$peer" = 1 ] && [ ! -x "$venv/bin/detect-secrets" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "detect-secrets==1.5.0"
fi

python3 bench/generate.py "$work/tree"
(
  cd "$work/tree"
  git init -q
  git add -A
  git -c user.name=bench -c user.email=bench@example.invalid -c commit.gpgsign=false \
    commit -q -m "benchmark tree"
)
if [ "$peer" = 1 ]; then
  python3 bench/compare.py "$work/tree" "$xtask" "$(pwd)/$venv/bin/detect-secrets"
else
  python3 bench/compare.py "$work/tree" "$xtask"
fi
