#!/bin/sh
# Receptor test stand-in (recorder) for git and docker: linked or copied under
# the tool's name into a folder put first on PATH by a test. Each call's argv
# is appended to argv.log beside it (arguments NUL-separated, one call per
# line), then the real tool found further on PATH runs with the same argv.
#
# A file named `echo-env-file` beside it makes `docker compose … up` fail the
# way a careless tool would: printing the whole --env-file to stderr. It
# stands in for a child that echoes secrets, which the xtask must redact.
# (Files, not variables: the xtask runs Compose with a cleared environment.)
set -eu
self_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
name=$(basename -- "$0")
{ printf '%s\0' "$name" "$@"; printf '\n'; } >> "$self_dir/argv.log"

if [ "$name" = docker ] && [ -e "$self_dir/echo-env-file" ]; then
  env_file=''
  up=''
  previous=''
  for arg in "$@"; do
    [ "$previous" = --env-file ] && env_file=$arg
    [ "$arg" = up ] && up=yes
    previous=$arg
  done
  if [ -n "$up" ] && [ -n "$env_file" ]; then
    echo "stand-in failure, echoing the env file:" >&2
    cat -- "$env_file" >&2
    exit 1
  fi
fi

old_ifs=$IFS
IFS=:
for dir in $PATH; do
  IFS=$old_ifs
  if [ "$dir" != "$self_dir" ] && [ -x "$dir/$name" ] && [ ! -d "$dir/$name" ]; then
    exec "$dir/$name" "$@"
  fi
done
echo "recorder: no real $name on PATH" >&2
exit 127
