#!/bin/sh
# Entrypoint of receptor-test/postgres: a real PostgreSQL 15 set up the way the Supabase
# db image is, as far as the stack's secrets are concerned.
#
# On the first start (empty data directory) it runs initdb, creates the Supabase roles
# with POSTGRES_PASSWORD and the tables the rotation procedure touches (init.sql). Like
# upstream, the password is applied ONLY then: a later change of POSTGRES_PASSWORD in the
# environment changes nothing inside the database, so services get locked out until the
# roles are altered.
#
# Authentication: the local socket trusts everyone (that is what
# `docker compose exec -T db psql -U supabase_admin -d postgres` uses); every TCP
# connection, also from inside the container, needs a scram-sha-256 password.
#
# The image has dash and the PostgreSQL binaries only: builtins and those, nothing else.
set -eu

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "error: POSTGRES_PASSWORD is not set; the first start gives it to every role" >&2
        exit 2
    fi
    echo "receptor-test/postgres: first start, initialising $PGDATA"
    # The password reaches initdb through a pipe (a file it reads), never its argv.
    printf '%s\n' "$POSTGRES_PASSWORD" | initdb --username=supabase_admin --pwfile=/dev/stdin \
        --auth-local=trust --auth-host=scram-sha-256 --no-locale --encoding=UTF8 \
        --no-instructions >/dev/null

    printf '%s\n' \
        '# receptor-test/postgres: trust the socket, passwords over TCP.' \
        'local all all                trust' \
        'host  all all 0.0.0.0/0      scram-sha-256' \
        'host  all all ::/0           scram-sha-256' \
        >"$PGDATA/pg_hba.conf"
    printf '%s\n' \
        '' \
        '# receptor-test/postgres' \
        "listen_addresses = '*'" \
        "password_encryption = 'scram-sha-256'" \
        'jit = off' \
        >>"$PGDATA/postgresql.conf"

    # A socket-only server for the setup SQL, so nothing can connect over TCP (and the
    # healthcheck, which uses TCP, stays red) until the roles exist.
    pg_ctl --silent --wait --timeout=60 -o "-c listen_addresses=''" start
    psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --username=supabase_admin \
        --dbname=postgres --file=/usr/local/share/receptor-test/init.sql
    pg_ctl --silent --wait --timeout=60 --mode=fast stop
    echo "receptor-test/postgres: initialised; POSTGRES_PASSWORD is not read again"
fi

exec postgres
