# Sourced by scripts that need a throwaway PostgreSQL cluster (Debian's
# postgresql, as scripts/test installs it): `pg_start NAME [server options]`
# runs initdb in a fresh directory (as the postgres user when run as root: the
# server refuses root), starts it on a free loopback port, creates database
# NAME, and sets PG_DIR, PG_PORT, PG_SECRET and PG_URL (the superuser's URL of
# NAME). `pg_stop` stops the cluster and removes it; `pg_url LOGIN PW` names a login's URL.
pg_start() {
    local db=$1; shift
    PG_BIN=${TOKENWARD_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
    [ -x "$PG_BIN/initdb" ] || { echo "PostgreSQL's initdb not found: run scripts/test once (it installs Debian's postgresql)" >&2; return 1; }
    PG_DIR=$(mktemp -d /tmp/tokenward-pg.XXXXXX)
    chmod 755 "$PG_DIR"
    PG_AS=()
    if [ "$(id -u)" = 0 ]; then PG_AS=(runuser -u postgres --); chown postgres "$PG_DIR"; fi
    PG_SECRET=throwaway-cluster-$$
    echo "$PG_SECRET" > "$PG_DIR/pw"
    PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A scram-sha-256 --pwfile="$PG_DIR/pw" -E UTF8 --locale C >/dev/null
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -w -l "$PG_DIR/log" \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 $*" start >/dev/null
    pg_psql postgres -qc "CREATE DATABASE $db"
    PG_URL=$(pg_url postgres "$PG_SECRET" "$db")
    PG_DB=$db
}

pg_url() { echo "postgres://$1:$2@127.0.0.1:$PG_PORT/${3:-$PG_DB}"; }

pg_psql() {
    local db=$1; shift
    PGPASSWORD=$PG_SECRET "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@" "$db"
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
