#!/usr/bin/env bash
# Kept so old habits and links keep working: the setup is now `cargo xtask setup`.
# Example: ./utils/setup.sh --env dev
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo xtask setup "$@"
