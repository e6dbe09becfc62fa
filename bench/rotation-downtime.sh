#!/usr/bin/env bash
# Failed requests and forced re-logins during a key rotation, per stage, on the test
# stack (tests/stack/compose.yaml: a real PostgreSQL and the stand-ins, built locally).
#
#   bench/rotation-downtime.sh [legacy|naive|staged|all] [JWT_EXPIRY]
#
#   legacy  `cargo xtask rotate JWT_SECRET`: the legacy HS256 secret, the API keys re-minted
#   naive   the same change by hand: new JWT_SECRET, ANON_KEY, SERVICE_ROLE_KEY written into
#           .env, then `docker compose up -d --force-recreate` of the whole stack
#   staged  `cargo xtask rotate signing-key --stage standby`, `--stage switch
#           --no-external-verifiers`, then `--stage revoke --margin 5s` once the tokens
#           signed before the switch have expired (JWT_EXPIRY seconds, default 60,
#           shortened for the run)
#
# During each, bench/rotation_clients.py runs users that signed in before the rotation
# (refreshing as supabase-js does) and API-key clients using the current .env keys; each
# request is counted under the stage running when it started. Prints one table. Needs the
# Docker engine, Compose v2+ and python3. Nothing secret is printed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
which=${1:-all}
expiry=${2:-60}
case "$which" in legacy | naive | staged | all) ;; *)
    echo "usage: $0 [legacy|naive|staged|all] [JWT_EXPIRY]" >&2
    exit 2
    ;;
esac

log() { printf 'rotation-downtime: %s\n' "$*" >&2; }

command -v docker >/dev/null || {
    echo "error: docker is not installed" >&2
    exit 1
}
docker version >/dev/null 2>&1 || {
    echo "error: the Docker daemon is not reachable" >&2
    exit 1
}

log "building xtask and the test images"
cargo build -q -p xtask --manifest-path "$root/Cargo.toml"
xtask="$root/target/debug/xtask"
images=$("$root/tests/stack/build-images.sh")

work=$(mktemp -d "${TMPDIR:-/tmp}/rotation-downtime.XXXXXX")
project=""
cleanup() {
    if [ -n "$project" ]; then
        compose down --volumes --timeout 5 >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

compose() {
    env -i PATH="$PATH" HOME="$HOME" docker compose -p "$project" --project-directory "$work/sandbox/$project" \
        --env-file "$work/sandbox/$project/.env" "$@"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# A fresh project on the test stack, up and healthy.
new_stack() {
    project="rxbench-$1-$$"
    rm -rf "$work/sandbox"
    mkdir -p "$work/sandbox"
    cp -a "$root/docker" "$work/sandbox/docker"
    cp "$root/setup.conf" "$work/sandbox/setup.conf"
    (cd "$work/sandbox" && env -i PATH="$PATH" HOME="$HOME" "$xtask" setup --env dev --project-name "$project" >/dev/null)
    cp "$root/tests/stack/compose.yaml" "$work/sandbox/$project/docker-compose.yml"
    port=$(free_port)
    sed -i -e "s/^KONG_HTTP_PORT=.*/KONG_HTTP_PORT=$port/" -e "s/^JWT_EXPIRY=.*/JWT_EXPIRY=$expiry/" "$work/sandbox/$project/.env"
    printf '%s\n' "$images" >>"$work/sandbox/$project/.env"
    compose up -d --wait --wait-timeout 180 >"$work/up.log" 2>&1 || {
        cat "$work/up.log" >&2
        exit 1
    }
}

rotate() {
    (cd "$work/sandbox" && env -i PATH="$PATH" HOME="$HOME" "$xtask" rotate "$@" --env dev --project-name "$project" >"$work/rotate.log" 2>&1)
}

# Runs the clients around the stages named after the scenario ("stage:command" each).
measure() {
    local scenario=$1
    shift
    local stages="$work/stage" out="$work/$scenario.json"
    echo before >"$stages"
    python3 "$here/rotation_clients.py" --port "$port" --env "$work/sandbox/$project/.env" \
        --stage-file "$stages" --out "$out" --margin "$((expiry / 6))" &
    local client=$!
    while [ ! -e "$out.ready" ]; do
        kill -0 "$client" 2>/dev/null || {
            echo "error: the clients did not start" >&2
            exit 1
        }
        sleep 0.2
    done
    local step
    for step in "$@"; do
        echo "${step%%:*}" >"$stages"
        log "$scenario: ${step%%:*}"
        if ! eval "${step#*:}"; then
            log "$scenario: ${step%%:*} failed (see its output below)"
            sed 's/^/  /' "$work/rotate.log" >&2 || true
        fi
    done
    echo done >"$stages"
    wait "$client"
    python3 - "$scenario" "$out" <<'EOF'
import json, sys
scenario, path = sys.argv[1], sys.argv[2]
for row in json.load(open(path)):
    print("| {} | {} | {} / {} | {} / {} | {} |".format(
        scenario, row["stage"],
        row.get("user failed", 0), row.get("user requests", 0),
        row.get("key failed", 0), row.get("key requests", 0),
        row.get("forced re-logins", 0)))
EOF
}

rows=()
run_legacy() {
    new_stack legacy
    rows+=("$(measure legacy "rotate JWT_SECRET:rotate JWT_SECRET --yes" "after (10 s):sleep 10")")
    compose down --volumes --timeout 5 >/dev/null 2>&1
}

run_naive() {
    new_stack naive
    rows+=("$(measure naive \
        "edit .env, recreate all:python3 '$here/naive_jwt_secret.py' '$work/sandbox/$project/.env' && compose up -d --force-recreate --wait --wait-timeout 180 >/dev/null 2>&1" \
        "after (10 s):sleep 10")")
    compose down --volumes --timeout 5 >/dev/null 2>&1
}

run_staged() {
    if ! (cd "$root" && "$xtask" rotate signing-key --help >/dev/null 2>&1); then
        rows+=("| staged | (pending: this build has no \`rotate signing-key\`) | | | |")
        return
    fi
    new_stack staged
    rows+=("$(measure staged \
        "standby:rotate signing-key --stage standby" \
        "switch:rotate signing-key --stage switch --no-external-verifiers" \
        "wait for the old tokens to expire:sleep $((expiry + 10))" \
        "revoke:rotate signing-key --stage revoke --margin 5s" \
        "after (10 s):sleep 10")")
    compose down --volumes --timeout 5 >/dev/null 2>&1
}

case "$which" in
legacy) run_legacy ;;
naive) run_naive ;;
staged) run_staged ;;
all)
    run_legacy
    run_naive
    run_staged
    ;;
esac

echo
echo "JWT_EXPIRY=$expiry s; user requests: a signed-in user's GET /rest/v1/ (refreshed as supabase-js does)"
echo "| procedure | stage | user requests failed | API-key requests failed | forced re-logins |"
echo "| :--- | :--- | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
