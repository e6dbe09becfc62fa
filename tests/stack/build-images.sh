#!/usr/bin/env bash
# Builds the two images of the real-stack test harness (tests/stack/compose.yaml) on this
# machine, without any registry:
#
#   receptor-test/gateway:<tag>   the stand-ins for Kong (driven by the project's kong.yml,
#                                 rendered by its kong-entrypoint.sh), its TCP front (the
#                                 nginx.conf rendered from kong-front.conf.template), GoTrue,
#                                 PostgREST and the edge runtime: the static binary and
#                                 Debian's busybox-static (sh, awk) in a FROM scratch image
#   receptor-test/postgres:<tag>  a real PostgreSQL 15, its root filesystem assembled from
#                                 the host's /usr/lib/postgresql/15 and `docker import`ed
#
# Each tag is a content hash of that image's inputs, and an image whose tag exists is not
# built again, so a warm run takes a second or so.
#
# Output contract (what a test parses): stdout carries exactly two lines,
#   GATEWAY_IMAGE=receptor-test/gateway:<tag>
#   POSTGRES_IMAGE=receptor-test/postgres:<tag>
# and the same lines are written to tests/stack/images.env (gitignored), ready for
# `docker compose --env-file`. Progress and timings go to stderr. Exit status 0 on success.
# Concurrent runs are serialised with a lock under target/stand-ins.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target_dir="$root/target/stand-ins"
rust_target=x86_64-unknown-linux-gnu
pg_lib=/usr/lib/postgresql/15
pg_share=/usr/share/postgresql/15
pg_uid=999

log() { printf 'build-images: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}
now_ms() { date +%s%3N; }
since() {
    local ms=$(($(now_ms) - $1))
    printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

# sha256 over the named files (path and content) and whatever arrives on stdin: 16 hex chars.
content_hash() {
    {
        local file
        for file in "$@"; do
            printf '%s ' "${file#"$root"/}"
            sha256sum <"$file"
        done
        cat
    } | sha256sum | cut -c1-16
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Runs a command with its output in a log that is shown only when it fails.
quietly() {
    local log_file="$work/quiet.log"
    if ! "$@" >"$log_file" 2>&1; then
        cat "$log_file" >&2
        return 1
    fi
}

command -v docker >/dev/null || die "docker is not installed"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
    die "the Docker daemon is not reachable; start it and run $0 again"

mkdir -p "$target_dir"
exec 9>"$target_dir/build-images.lock"
flock 9

work=$(mktemp -d "${TMPDIR:-/tmp}/receptor-build-images.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- receptor-test/gateway ------------------------------------------------------------
build_gateway() {
    log "gateway: cargo build --release -p stand-in-gateway (static, $rust_target)"
    RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --locked \
        --manifest-path "$root/Cargo.toml" -p stand-in-gateway \
        --target "$rust_target" --target-dir "$target_dir" 1>&2
    local binary="$target_dir/$rust_target/release/stand-in-gateway"
    if ldd "$binary" 2>&1 | grep -q '=>'; then
        die "$binary is dynamically linked; the FROM scratch image needs a static binary"
    fi

    local context="$work/gateway"
    mkdir -p "$context"
    cp "$binary" "$context/stand-in-gateway"
    cp "$busybox" "$context/busybox"
    # Kong's image starts Kong with `/entrypoint.sh kong docker-start`: here, the stand-in.
    printf '#!/bin/sh\nexec /stand-in-gateway "$@"\n' >"$context/entrypoint.sh"
    chmod 0755 "$context/entrypoint.sh" "$context/busybox"
    cp "$here/gateway.Dockerfile" "$context/Dockerfile"
    # The legacy builder: BuildKit (buildx) may be missing, and nothing is pulled for scratch.
    DOCKER_BUILDKIT=0 quietly docker build --tag "$GATEWAY_IMAGE" \
        --label "receptor-test.inputs=$gateway_tag" "$context"
    quietly docker run --rm "$GATEWAY_IMAGE" --help ||
        die "$GATEWAY_IMAGE does not start"
}

# Debian's static BusyBox (package busybox-static), fetched once with apt and kept under
# target/stand-ins: a POSIX sh and awk for the project's kong-entrypoint.sh.
busybox="$target_dir/busybox"
if [ ! -x "$busybox" ]; then
    command -v apt-get >/dev/null || die "apt-get is missing: the gateway image needs Debian's busybox-static"
    log "gateway: apt-get download busybox-static"
    # A machine without apt's package lists gets them once, then tries again.
    (cd "$work" && quietly apt-get download busybox-static) ||
        { log "gateway: apt-get update, then apt-get download busybox-static again" &&
            quietly apt-get update && (cd "$work" && quietly apt-get download busybox-static); } ||
        die "apt-get download busybox-static failed, also after apt-get update"
    dpkg-deb -x "$work"/busybox-static_*.deb "$work/busybox-static"
    install -m 0755 "$work/busybox-static/bin/busybox" "$busybox.$$"
    if ldd "$busybox.$$" 2>&1 | grep -q '=>'; then
        rm -f "$busybox.$$"
        die "busybox-static's busybox is dynamically linked"
    fi
    mv "$busybox.$$" "$busybox"
fi

gateway_files=$(find "$root/stand-ins/gateway" -name target -prune -o -type f -print | LC_ALL=C sort)
# shellcheck disable=SC2086 # one path a line, no spaces in this repository's paths
gateway_tag=$(rustc --version | content_hash $gateway_files "$root/Cargo.lock" \
    "$here/gateway.Dockerfile" "$here/build-images.sh" "$busybox")
GATEWAY_IMAGE="receptor-test/gateway:$gateway_tag"

started=$(now_ms)
if image_exists "$GATEWAY_IMAGE"; then
    log "gateway: $GATEWAY_IMAGE exists, not rebuilt ($(since "$started"))"
else
    build_gateway
    log "gateway: built $GATEWAY_IMAGE in $(since "$started")"
fi

# --- receptor-test/postgres -----------------------------------------------------------
# Copies each shared library the named ELF files need to the same path under the rootfs.
copy_shared_libraries() {
    local rootfs=$1 listing lib
    shift
    listing=$(ldd "$@" 2>/dev/null || true)
    if grep -q 'not found' <<<"$listing"; then
        die "a shared library of the host's PostgreSQL is missing: $(grep 'not found' <<<"$listing" | head -n1)"
    fi
    # "name => /path (addr)" lines and the loader's "/path (addr)"; not the "file:" headers.
    for lib in $(awk '$2 == "=>" && $3 ~ /^\// { print $3 } NF == 2 && $1 ~ /^\// { print $1 }' \
        <<<"$listing" | LC_ALL=C sort -u); do
        mkdir -p "$rootfs$(dirname "$lib")"
        cp -L "$lib" "$rootfs$lib"
    done
}

build_postgres() {
    local rootfs="$work/rootfs"
    log "postgres: assembling a root filesystem from the host's PostgreSQL $pg_version"
    mkdir -p "$rootfs"/usr/{bin,lib,lib64,sbin,share/postgresql,lib/postgresql} \
        "$rootfs"/usr/local/{bin,share/receptor-test} \
        "$rootfs"/{etc,dev,proc,sys,root,run/postgresql,var/lib/postgresql/data}
    mkdir -m 1777 "$rootfs/tmp"
    ln -s usr/bin "$rootfs/bin"
    ln -s usr/sbin "$rootfs/sbin"
    ln -s usr/lib "$rootfs/lib"
    ln -s usr/lib64 "$rootfs/lib64"
    ln -s ../run "$rootfs/var/run"
    chmod 0700 "$rootfs/var/lib/postgresql/data"
    chmod 2775 "$rootfs/run/postgresql"

    # PostgreSQL without the LLVM JIT (it would pull in libLLVM) and the build files.
    cp -a "$pg_lib" "$rootfs/usr/lib/postgresql/15"
    rm -rf "$rootfs/usr/lib/postgresql/15/lib"/{bitcode,llvmjit.so,llvmjit_types.bc,pgxs}
    cp -a "$pg_share" "$rootfs/usr/share/postgresql/15"
    rm -rf "$rootfs/usr/share/postgresql/15/man"
    cp -a /usr/share/zoneinfo "$rootfs/usr/share/zoneinfo"
    # initdb and pg_ctl start their children through /bin/sh.
    cp -L /bin/sh "$rootfs/usr/bin/dash"
    ln -s dash "$rootfs/usr/bin/sh"
    copy_shared_libraries "$rootfs" "$rootfs/usr/bin/dash" \
        "$rootfs/usr/lib/postgresql/15/bin"/* "$rootfs/usr/lib/postgresql/15/lib"/*.so

    printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' \
        "postgres:x:$pg_uid:$pg_uid:PostgreSQL administrator:/var/lib/postgresql:/bin/sh" \
        >"$rootfs/etc/passwd"
    printf '%s\n' 'root:x:0:' "postgres:x:$pg_uid:" >"$rootfs/etc/group"
    printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"
    install -m 0755 "$here/postgres/entrypoint.sh" "$rootfs/usr/local/bin/receptor-db-entrypoint"
    install -m 0644 "$here/postgres/init.sql" "$rootfs/usr/local/share/receptor-test/init.sql"

    # Everything root-owned except the two directories the server writes to.
    local tarball="$work/rootfs.tar"
    tar --create --file "$tarball" --directory "$rootfs" --numeric-owner --owner=0 --group=0 \
        --exclude=./var/lib/postgresql/data --exclude=./run/postgresql .
    tar --append --file "$tarball" --directory "$rootfs" --numeric-owner \
        --owner="$pg_uid" --group="$pg_uid" --no-recursion ./var/lib/postgresql/data ./run/postgresql

    log "postgres: docker import ($(du -m "$tarball" | cut -f1) MB)"
    quietly docker import \
        --change "ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/bin:/usr/bin" \
        --change "ENV PGDATA=/var/lib/postgresql/data" \
        --change "ENV TZ=UTC" \
        --change "USER $pg_uid:$pg_uid" \
        --change "WORKDIR /var/lib/postgresql" \
        --change "EXPOSE 5432" \
        --change "LABEL receptor-test.inputs=$postgres_tag" \
        --change 'HEALTHCHECK --interval=1s --timeout=3s --retries=60 CMD ["/usr/lib/postgresql/15/bin/pg_isready", "-q", "-h", "127.0.0.1", "-U", "supabase_admin", "-d", "postgres"]' \
        --change 'ENTRYPOINT ["/usr/local/bin/receptor-db-entrypoint"]' \
        --message "receptor-test/postgres: host PostgreSQL $pg_version" \
        "$tarball" "$POSTGRES_IMAGE"
    # Every binary must find its libraries; a broken image must not stay cached.
    if ! quietly docker run --rm --entrypoint /usr/lib/postgresql/15/bin/postgres "$POSTGRES_IMAGE" --version ||
        ! quietly docker run --rm --entrypoint /usr/lib/postgresql/15/bin/psql "$POSTGRES_IMAGE" --version; then
        docker image rm "$POSTGRES_IMAGE" >/dev/null 2>&1 || true
        die "$POSTGRES_IMAGE cannot run postgres or psql; see the output above"
    fi
}

[ -x "$pg_lib/bin/postgres" ] ||
    die "PostgreSQL 15 is not installed at $pg_lib (apt-get install postgresql-15)"
pg_version=$("$pg_lib/bin/postgres" --version)
postgres_tag=$( {
    printf '%s\n' "$pg_version" "$(uname -m)"
    dpkg-query -W -f '${Version}\n' postgresql-15 2>/dev/null || true
} | content_hash "$here/build-images.sh" "$here/postgres/entrypoint.sh" "$here/postgres/init.sql")
POSTGRES_IMAGE="receptor-test/postgres:$postgres_tag"

started=$(now_ms)
if image_exists "$POSTGRES_IMAGE"; then
    log "postgres: $POSTGRES_IMAGE exists, not rebuilt ($(since "$started"))"
else
    build_postgres
    log "postgres: built $POSTGRES_IMAGE in $(since "$started")"
fi

# --- the refs ---------------------------------------------------------------------------
refs=$(printf 'GATEWAY_IMAGE=%s\nPOSTGRES_IMAGE=%s\n' "$GATEWAY_IMAGE" "$POSTGRES_IMAGE")
printf '%s\n' "$refs" >"$here/.images.env.$$"
mv "$here/.images.env.$$" "$here/images.env"
printf '%s\n' "$refs"
