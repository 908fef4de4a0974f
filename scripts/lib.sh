# shellcheck shell=bash
# shellcheck disable=SC2034  # BENCH_* variables set here are read by the scripts sourcing this file
# Shared helpers for the scripts in this folder. Source it; don't run it.
#
# Every function is safe under `set -euo pipefail`, prints short `==> ` progress lines
# on stderr, never prompts, and returns non-zero with a clear message when it cannot
# do its job. Services are reached on 127.0.0.1 only.

# The repository root: the folder above the one holding this file.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REPO_ROOT

PG_HOST=127.0.0.1
PG_PORT="${PG_PORT:-5432}"
REDIS_HOST=127.0.0.1
REDIS_PORT="${REDIS_PORT:-6379}"

# How long to wait for a service to answer after starting it, in seconds.
SERVICE_WAIT_SECONDS="${SERVICE_WAIT_SECONDS:-30}"

_LIB_APT_UPDATED=0

say() { printf '==> %s\n' "$*" >&2; }
die() {
    printf '==> error: %s\n' "$*" >&2
    exit 1
}

# Runs a command as root: directly when we are root, through sudo otherwise.
_as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        printf '==> error: need root to run: %s\n' "$*" >&2
        return 1
    fi
}

# True when the Debian package is installed (not merely known to dpkg).
_pkg_installed() {
    dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'
}

# ensure_packages PKG...: installs the Debian packages that are missing.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        _pkg_installed "$pkg" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    say "installing: ${missing[*]}"
    if [ "$_LIB_APT_UPDATED" -eq 0 ]; then
        _as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null ||
            { printf '==> error: apt-get update failed\n' >&2; return 1; }
        _LIB_APT_UPDATED=1
    fi
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" </dev/null ||
        { printf '==> error: could not install: %s\n' "${missing[*]}" >&2; return 1; }
}

_pg_ready() {
    command -v pg_isready >/dev/null 2>&1 &&
        pg_isready -q -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1
}

# The "VERSION CLUSTER" of the local cluster configured for PG_PORT; falls back to
# the first installed version's `main` cluster.
_pg_cluster() {
    local found=""
    if command -v pg_lsclusters >/dev/null 2>&1; then
        found="$(pg_lsclusters -h 2>/dev/null | awk -v port="$PG_PORT" '$3 == port { print $1, $2; exit }')"
    fi
    if [ -z "$found" ]; then
        local version
        version="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort -V | head -1)"
        [ -n "$version" ] || return 1
        found="$version main"
    fi
    printf '%s\n' "$found"
}

# Runs psql as the postgres superuser over TCP; never prompts for a password
# (PGPASSWORD, when set, is used as usual).
_psql() {
    psql -X -w -q -h "$PG_HOST" -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 "$@" </dev/null
}

# ensure_postgres: makes sure PostgreSQL answers on 127.0.0.1:PG_PORT as user postgres.
ensure_postgres() {
    if ! _pg_ready; then
        ensure_packages postgresql || return 1
        # The package's install step may have started it already.
        if ! _pg_ready; then
            local cluster
            cluster="$(_pg_cluster)" || {
                printf '==> error: PostgreSQL is installed but no cluster exists under /etc/postgresql\n' >&2
                return 1
            }
            say "starting PostgreSQL cluster ${cluster% *}/${cluster#* }"
            # shellcheck disable=SC2086  # "VERSION CLUSTER" is two arguments on purpose
            _as_root pg_ctlcluster --skip-systemctl-redirect $cluster start ||
                _pg_ready || {
                printf '==> error: pg_ctlcluster could not start PostgreSQL; see /var/log/postgresql/\n' >&2
                return 1
            }
        fi
        local waited=0
        until _pg_ready; do
            if [ "$waited" -ge "$SERVICE_WAIT_SECONDS" ]; then
                printf '==> error: PostgreSQL did not answer on %s:%s within %ss; see /var/log/postgresql/\n' \
                    "$PG_HOST" "$PG_PORT" "$SERVICE_WAIT_SECONDS" >&2
                return 1
            fi
            sleep 1
            waited=$((waited + 1))
        done
    fi
    local out
    if ! out="$(_psql -Atc 'select 1' 2>&1)"; then
        printf '==> error: PostgreSQL answers on %s:%s but user postgres cannot sign in:\n%s\n' \
            "$PG_HOST" "$PG_PORT" "$out" >&2
        if printf '%s' "$out" | grep -qi 'password\|authentication'; then
            cat >&2 <<EOF
==> This machine's PostgreSQL asks for a password. Either allow "trust" for user
==> postgres from 127.0.0.1 in pg_hba.conf, or give the password:
==>   export PGPASSWORD='<password>'                      (used by these scripts)
==>   DATABASE_URL=postgres://postgres:<password>@${PG_HOST}:${PG_PORT}/tenant_portal   (in .env)
==>   TEST_DATABASE_URL=postgres://postgres:<password>@${PG_HOST}:${PG_PORT}/postgres   (for scripts/test)
EOF
        fi
        return 1
    fi
    say "PostgreSQL is ready on ${PG_HOST}:${PG_PORT}"
}

_redis_ready() {
    command -v redis-cli >/dev/null 2>&1 &&
        [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null </dev/null)" = "PONG" ]
}

# ensure_redis: makes sure Redis answers PONG on 127.0.0.1:REDIS_PORT.
ensure_redis() {
    if _redis_ready; then
        say "Redis is ready on ${REDIS_HOST}:${REDIS_PORT}"
        return 0
    fi
    ensure_packages redis-server || return 1
    if ! _redis_ready; then
        say "starting Redis on ${REDIS_HOST}:${REDIS_PORT}"
        _as_root mkdir -p /var/lib/redis /var/log/redis || return 1
        _as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" \
            --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log \
            </dev/null || {
            printf '==> error: redis-server did not start; see /var/log/redis/ci.log\n' >&2
            return 1
        }
    fi
    local waited=0
    until _redis_ready; do
        if [ "$waited" -ge "$SERVICE_WAIT_SECONDS" ]; then
            printf '==> error: Redis did not answer PONG on %s:%s within %ss; see /var/log/redis/ci.log\n' \
                "$REDIS_HOST" "$REDIS_PORT" "$SERVICE_WAIT_SECONDS" >&2
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    say "Redis is ready on ${REDIS_HOST}:${REDIS_PORT}"
}

# ensure_database NAME: creates the PostgreSQL database NAME unless it exists.
ensure_database() {
    local name="${1:-}"
    if ! [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]]; then
        printf '==> error: ensure_database: %q is not a plain database name\n' "$name" >&2
        return 1
    fi
    local exists
    exists="$(_psql -d postgres -Atc "select 1 from pg_database where datname = '${name}'")" || return 1
    if [ "$exists" = "1" ]; then
        say "database ${name} exists"
    else
        say "creating database ${name}"
        _psql -d postgres -c "create database \"${name}\"" || return 1
    fi
}

# drop_database NAME: drops the PostgreSQL database NAME if it exists.
drop_database() {
    local name="${1:-}"
    if ! [[ "$name" =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]]; then
        printf '==> error: drop_database: %q is not a plain database name\n' "$name" >&2
        return 1
    fi
    say "dropping database ${name}"
    PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
        _psql -d postgres -c "drop database if exists \"${name}\" with (force)"
}

# A fresh random secret of 100+ URL-safe characters; printed to stdout only, for capture.
generate_secret() {
    local key
    key="$(head -c 96 /dev/urandom | base64 -w0 | tr -d '/+=')"
    if [ "${#key}" -lt 64 ]; then
        printf '==> error: could not generate a long enough secret\n' >&2
        return 1
    fi
    printf '%s' "$key"
}

# ensure_env_file: creates REPO_ROOT/.env from .env.example with a fresh SECRET_KEY
# (mode 600) unless .env exists. The key is never printed.
ensure_env_file() {
    local env_file="$REPO_ROOT/.env" example="$REPO_ROOT/.env.example"
    if [ -e "$env_file" ]; then
        say ".env exists; leaving it as it is"
        return 0
    fi
    if [ ! -f "$example" ]; then
        printf '==> error: %s is missing\n' "$example" >&2
        return 1
    fi
    local key tmp
    key="$(generate_secret)" || return 1
    tmp="$(umask 077 && mktemp "$REPO_ROOT/.env.XXXXXX")" || return 1
    # The key travels through the environment, not argv, so `ps` never shows it.
    if ! SECRET_KEY_VALUE="$key" awk '
        /^[[:space:]]*SECRET_KEY=/ { print "SECRET_KEY=" ENVIRON["SECRET_KEY_VALUE"]; done = 1; next }
        { print }
        END { if (!done) print "SECRET_KEY=" ENVIRON["SECRET_KEY_VALUE"] }
    ' "$example" >"$tmp"; then
        rm -f "$tmp"
        printf '==> error: could not write .env\n' >&2
        return 1
    fi
    chmod 600 "$tmp"
    mv "$tmp" "$env_file"
    say "created .env from .env.example with a fresh SECRET_KEY (mode 600)"
}

# env_value NAME: the value NAME has in the environment, else in REPO_ROOT/.env
# (last assignment wins, surrounding quotes removed), else nothing. Matches the
# portal, whose .env loading never overrides a variable already set.
env_value() {
    local name="$1"
    if [ -n "${!name+x}" ]; then
        printf '%s' "${!name}"
        return 0
    fi
    [ -f "$REPO_ROOT/.env" ] || return 0
    local line
    line="$(grep -E "^[[:space:]]*(export[[:space:]]+)?${name}=" "$REPO_ROOT/.env" | tail -1 || true)"
    [ -n "$line" ] || return 0
    line="${line#*=}"
    line="${line%\"}"; line="${line#\"}"
    line="${line%\'}"; line="${line#\'}"
    printf '%s' "$line"
}

# database_name_from_url URL: the database name in a postgres:// URL (default tenant_portal).
database_name_from_url() {
    local url="${1:-}" name
    name="${url##*/}"
    name="${name%%\?*}"
    if [ -z "$url" ] || [ -z "$name" ] || [ "$name" = "$url" ]; then
        name=tenant_portal
    fi
    printf '%s' "$name"
}

# url_is_local URL: true when the URL's host is 127.0.0.1 or localhost (or absent).
url_is_local() {
    local rest="${1#*://}"
    rest="${rest%%/*}"
    rest="${rest##*@}"
    local host="${rest%:*}"
    case "$host" in
        "" | 127.0.0.1 | localhost) return 0 ;;
        *) return 1 ;;
    esac
}

# require_cargo: fails clearly when the Rust toolchain is not on PATH.
require_cargo() {
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        PATH="$HOME/.cargo/bin:$PATH"
        export PATH
    fi
    command -v cargo >/dev/null 2>&1 ||
        die "cargo is not on PATH: install the Rust toolchain (rustup) and try again"
}

# ensure_test_provider: installs the test OpenID Provider's node packages
# (tests/oidc-provider, `npm ci` from its package-lock.json) unless they are current.
# Installs node and npm from Debian when missing; the provider needs node 20 or later.
ensure_test_provider() {
    local dir="$REPO_ROOT/tests/oidc-provider"
    [ -f "$dir/package-lock.json" ] || return 0
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        ensure_packages nodejs npm || return 1
    fi
    local major
    major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
    if [ "$major" -lt 20 ]; then
        printf '==> error: node %s is too old for tests/oidc-provider: install node 20 or later\n' \
            "$(node --version 2>/dev/null || echo '?')" >&2
        return 1
    fi
    if [ -f "$dir/node_modules/.package-lock.json" ] &&
        [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
        say "test OpenID Provider packages are installed"
        return 0
    fi
    say "installing the test OpenID Provider (npm ci in tests/oidc-provider)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null) ||
        { printf '==> error: npm ci failed in tests/oidc-provider\n' >&2; return 1; }
}

# ensure_axe: installs axe-core (tests/axe, `npm ci` from its package-lock.json), which
# the browser tests inject into every page they visit, unless it is current.
ensure_axe() {
    local dir="$REPO_ROOT/tests/axe"
    [ -f "$dir/package-lock.json" ] || return 0
    if ! command -v npm >/dev/null 2>&1; then
        ensure_packages nodejs npm || return 1
    fi
    if [ -f "$dir/node_modules/.package-lock.json" ] &&
        [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
        say "axe-core is installed"
        return 0
    fi
    say "installing axe-core (npm ci in tests/axe)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null) ||
        { printf '==> error: npm ci failed in tests/axe\n' >&2; return 1; }
}

# The schemathesis release the API contract run (tests/it/schemathesis.rs) is written
# for: its command-line flags change between releases.
SCHEMATHESIS_VERSION=4.32.5

# ensure_schemathesis: installs schemathesis SCHEMATHESIS_VERSION from PyPI into a
# virtual environment of its own (under ~/.cache/tenant-portal, kept between runs) unless
# it is there already, and exports SCHEMATHESIS, the path of its `st` command, for the
# test suite. Needs python3 (3.9 or later) with the venv module.
ensure_schemathesis() {
    local venv="${XDG_CACHE_HOME:-$HOME/.cache}/tenant-portal/schemathesis-$SCHEMATHESIS_VERSION"
    export SCHEMATHESIS="$venv/bin/st"
    if [ -x "$SCHEMATHESIS" ] &&
        "$venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("schemathesis") != sys.argv[1])' \
            "$SCHEMATHESIS_VERSION" 2>/dev/null; then
        say "schemathesis $SCHEMATHESIS_VERSION is installed"
        return 0
    fi
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        ensure_packages python3 python3-venv || return 1
    fi
    say "installing schemathesis $SCHEMATHESIS_VERSION (pip, into $venv)"
    rm -rf "$venv"
    python3 -m venv "$venv" ||
        { printf '==> error: could not create a Python virtual environment at %s\n' "$venv" >&2; return 1; }
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input \
        "schemathesis==$SCHEMATHESIS_VERSION" </dev/null ||
        { printf '==> error: pip could not install schemathesis %s\n' "$SCHEMATHESIS_VERSION" >&2; return 1; }
}

# --- Benchmarks (scripts/bench-*) -------------------------------------------------

# urlencode STRING: percent-encodes STRING for a form body.
urlencode() {
    local s="$1" out="" c i
    for ((i = 0; i < ${#s}; i++)); do
        c="${s:i:1}"
        case "$c" in
            [A-Za-z0-9._~-]) out+="$c" ;;
            *) out+="$(printf '%%%02X' "'$c")" ;;
        esac
    done
    printf '%s' "$out"
}

# free_port: prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
    local i port
    for ((i = 0; i < 50; i++)); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
            printf '%s' "$port"
            return 0
        fi
    done
    printf '==> error: found no free port\n' >&2
    return 1
}

BENCH_START=0
BENCH_URL=""
BENCH_SERVER_PID=""
# Extra processes to stop and extra portal settings, for benchmarks that need them.
BENCH_EXTRA_PIDS=""
BENCH_EXTRA_ENV=()
BENCH_DB=tenant_portal_bench
BENCH_TMP=""
BENCH_HASH_ROUNDS=""

bench_usage() {
    printf 'usage: %s [--start]\n\n' "$(basename "$0")"
    printf '%s\n' \
        "Benchmarks a running portal at \$PORTAL_URL (default http://127.0.0.1:8080), or with" \
        "--start builds a release binary and starts its own portal on a free port against a" \
        "throwaway database ${BENCH_DB} (dropped at the end)." \
        "" \
        "Environment: DURATION (wrk duration, default 15s), CONNECTIONS (open connections)," \
        "PORTAL_URL (without --start; 127.0.0.1 only)." \
        "Results are printed and saved to bench-results/."
}

# bench_parse_args "$@": reads --start / --help.
bench_parse_args() {
    while [ "$#" -gt 0 ]; do
        case "$1" in
            --start) BENCH_START=1 ;;
            -h | --help)
                bench_usage
                exit 0
                ;;
            *)
                bench_usage >&2
                die "unknown argument: $1"
                ;;
        esac
        shift
    done
}

# Stops the server this script started and drops its database; runs on exit.
bench_cleanup() {
    local status=$?
    trap - EXIT
    if [ -n "$BENCH_SERVER_PID" ] && kill -0 "$BENCH_SERVER_PID" 2>/dev/null; then
        say "stopping the benchmark portal (pid ${BENCH_SERVER_PID})"
        kill "$BENCH_SERVER_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 20; i++)); do
            kill -0 "$BENCH_SERVER_PID" 2>/dev/null || break
            sleep 0.5
        done
        kill -9 "$BENCH_SERVER_PID" 2>/dev/null || true
        wait "$BENCH_SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "$BENCH_EXTRA_PIDS" ]; then
        # shellcheck disable=SC2086
        kill $BENCH_EXTRA_PIDS 2>/dev/null || true
    fi
    if [ "$BENCH_START" -eq 1 ]; then
        drop_database "$BENCH_DB" >/dev/null 2>&1 || say "could not drop database ${BENCH_DB}"
    fi
    if [ -n "$BENCH_TMP" ]; then
        rm -rf "$BENCH_TMP"
    fi
    exit "$status"
}

# bench_prepare: installs the tools, then either checks the running portal or starts
# one (--start). Sets BENCH_URL.
bench_prepare() {
    ensure_packages curl wrk
    BENCH_TMP="$(mktemp -d)"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM

    if [ "$BENCH_START" -eq 1 ]; then
        bench_start_server
    else
        BENCH_URL="${PORTAL_URL:-http://127.0.0.1:8080}"
        BENCH_URL="${BENCH_URL%/}"
        case "$BENCH_URL" in
            http://127.0.0.1:* | http://127.0.0.1) ;;
            *) die "PORTAL_URL must be http://127.0.0.1[:port]; benchmarks only target this machine" ;;
        esac
        curl -fsS --max-time 5 -o /dev/null "$BENCH_URL/health/live" ||
            die "no portal answers at $BENCH_URL/health/live: start one (scripts/dev) or use --start"
        local rounds
        rounds="$(env_value AUTH_PASSWORD_HASH_ROUNDS)"
        BENCH_HASH_ROUNDS="the running portal's cost (${rounds:-12} per this environment or .env)"
    fi
    say "benchmarking $BENCH_URL"
}

bench_start_server() {
    ensure_packages libpq-dev libssl-dev build-essential pkg-config
    ensure_postgres
    ensure_redis
    require_cargo
    say "building the portal (release)"
    (cd "$REPO_ROOT" && cargo build --release --bin portal)

    drop_database "$BENCH_DB" >/dev/null
    ensure_database "$BENCH_DB"
    local port secret
    port="$(free_port)"
    secret="$(generate_secret)"
    BENCH_URL="http://127.0.0.1:${port}"
    BENCH_HASH_ROUNDS="cost 12"
    # Everything the portal reads is set here, so a developer's .env changes nothing
    # that matters (the portal never lets .env override a variable already set).
    local -a portal_env=(
        PORTAL_ENV=development
        DATABASE_URL="postgres://postgres@127.0.0.1:${PG_PORT}/${BENCH_DB}?sslmode=disable"
        REDIS_URL="redis://127.0.0.1:${REDIS_PORT}"
        SECRET_KEY="$secret"
        PORTAL_BIND="127.0.0.1:${port}"
        PORTAL_BASE_URL="$BENCH_URL"
        AUTH_PASSWORD_HASH_ROUNDS=12
        AUTH_SESSION_COOKIE_SECURE=false
        PASSWORD_AUTH_ENABLED=true
        PORTAL_LOG_FORMAT=pretty
        RUST_LOG="${BENCH_RUST_LOG:-warn}"
        # One client address sends every request: rate limits would measure
        # themselves. BENCH_RATE_LIMITS=true keeps them on (their cost per request).
        RATE_LIMIT_ENABLED="${BENCH_RATE_LIMITS:-false}"
        PORTAL_MAIL_DIR="$REPO_ROOT/bench-results/mail"
        "${BENCH_EXTRA_ENV[@]}"
    )
    say "applying migrations to ${BENCH_DB}"
    (cd "$REPO_ROOT" && env "${portal_env[@]}" ./target/release/portal migrate) </dev/null
    mkdir -p "$REPO_ROOT/bench-results"
    local log="$REPO_ROOT/bench-results/server.log"
    say "starting the portal on ${BENCH_URL} (log: bench-results/server.log)"
    (cd "$REPO_ROOT" && exec env "${portal_env[@]}" ./target/release/portal serve) \
        </dev/null >"$log" 2>&1 &
    BENCH_SERVER_PID=$!
    local i
    for ((i = 0; i < 60; i++)); do
        if curl -fsS --max-time 2 -o /dev/null "$BENCH_URL/health/live" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$BENCH_SERVER_PID" 2>/dev/null; then
            tail -n 20 "$log" >&2 || true
            die "the portal exited during start-up"
        fi
        sleep 0.5
    done
    tail -n 20 "$log" >&2 || true
    die "the portal did not answer $BENCH_URL/health/live within 30s"
}

# The value of cookie NAME in the curl cookie jar FILE.
_jar_cookie() {
    awk -F'\t' -v name="$2" 'NF >= 7 && $6 == name { value = $7 } END { print value }' "$1"
}

# bench_signup: signs up a fresh organization through the HTML form. Sets BENCH_SLUG,
# BENCH_EMAIL, BENCH_PASSWORD, BENCH_CSRF_TOKEN, BENCH_CSRF_COOKIE (name=value) and
# BENCH_SESSION_COOKIE (name=value).
bench_signup() {
    local jar="$BENCH_TMP/cookies" page="$BENCH_TMP/signup.html"
    local headers="$BENCH_TMP/signup.headers" body="$BENCH_TMP/signup.body"
    BENCH_SLUG="bench$(date +%s)${RANDOM}"
    BENCH_EMAIL="admin@${BENCH_SLUG}.example.com"
    BENCH_PASSWORD="Correct-Horse-Battery-9142"
    say "signing up organization ${BENCH_SLUG}"

    curl -fsS --max-time 30 -c "$jar" -b "$jar" -o "$page" "$BENCH_URL/signup" ||
        die "GET /signup failed"
    BENCH_CSRF_TOKEN="$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$page" | head -n 1)"
    [ -n "$BENCH_CSRF_TOKEN" ] || die "no csrf_token input in the /signup page"
    local csrf_value
    csrf_value="$(_jar_cookie "$jar" portal_csrf)"
    [ -n "$csrf_value" ] || die "GET /signup set no portal_csrf cookie"
    BENCH_CSRF_COOKIE="portal_csrf=${csrf_value}"

    local code
    code="$(curl -sS --max-time 60 -c "$jar" -b "$jar" -D "$headers" -o "$body" -w '%{http_code}' \
        --data-urlencode "csrf_token=${BENCH_CSRF_TOKEN}" \
        --data-urlencode "company_name=Bench ${BENCH_SLUG}" \
        --data-urlencode "business_type=software" \
        --data-urlencode "country=DE" \
        --data-urlencode "name=Bench Admin" \
        --data-urlencode "email=${BENCH_EMAIL}" \
        --data-urlencode "password=${BENCH_PASSWORD}" \
        --data-urlencode "slug=${BENCH_SLUG}" \
        "$BENCH_URL/signup")" || die "POST /signup failed"
    local location want="/t/${BENCH_SLUG}/dashboard"
    location="$(tr -d '\r' <"$headers" | awk 'tolower($1) == "location:" { print $2 }' | tail -n 1)"
    if [ "$code" != "303" ] || [ "${location%"$want"}" = "$location" ]; then
        sed -e 's/<[^>]*>/ /g' "$body" | tr -s ' \n' | head -c 1500 >&2 || true
        die "POST /signup answered ${code} (location: ${location:-none}), expected 303 to ${want}"
    fi
    local name value=""
    for name in portal_session __Host-portal_session; do
        value="$(_jar_cookie "$jar" "$name")"
        if [ -n "$value" ]; then
            BENCH_SESSION_COOKIE="${name}=${value}"
            break
        fi
    done
    [ -n "$value" ] || die "POST /signup set no portal_session cookie"
    say "signed up; dashboard at ${want}"
}

# bench_expect STATUS PATH [curl args...]: fails unless a GET of PATH answers STATUS.
bench_expect() {
    local want="$1" path="$2" code
    shift 2
    code="$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' "$@" "$BENCH_URL$path")" ||
        die "request to $path failed"
    [ "$code" = "$want" ] || die "$path answered $code, expected $want"
}

# bench_report NAME RAW [NOTE...]: prints a summary of wrk's --latency output in RAW,
# then the raw output, and saves both to bench-results/NAME-<timestamp>.txt.
bench_report() {
    local name="$1" raw="$2"
    shift 2
    local dir="$REPO_ROOT/bench-results" stamp out
    stamp="$(date -u +%Y%m%dT%H%M%SZ)"
    mkdir -p "$dir"
    out="$dir/${name}-${stamp}.txt"
    local rps p50 p75 p90 p99 total sockets non2xx unexpected
    rps="$(awk '$1 == "Requests/sec:" { print $2 }' "$raw")"
    p50="$(awk '$1 == "50%" { print $2 }' "$raw")"
    p75="$(awk '$1 == "75%" { print $2 }' "$raw")"
    p90="$(awk '$1 == "90%" { print $2 }' "$raw")"
    p99="$(awk '$1 == "99%" { print $2 }' "$raw")"
    total="$(awk '/requests in/ { print $1, "in", $4 }' "$raw" | tr -d ',')"
    sockets="$(sed -n 's/^ *Socket errors: //p' "$raw")"
    non2xx="$(sed -n 's/^ *Non-2xx or 3xx responses: //p' "$raw")"
    unexpected="$(sed -n 's/^Unexpected status: //p' "$raw")"
    {
        printf '%s benchmark, %s\n' "$name" "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
        printf '  %-14s %s\n' "commit" "$(git -C "$REPO_ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        printf '  %-14s %s\n' "machine" "$(nproc 2>/dev/null || echo '?') CPUs"
        printf '\n'
        printf '  %-14s %s\n' \
            "requests/s" "${rps:-?}" \
            "latency p50" "${p50:-?}" \
            "latency p75" "${p75:-?}" \
            "latency p90" "${p90:-?}" \
            "latency p99" "${p99:-?}" \
            "requests" "${total:-?}" \
            "non-2xx/3xx" "${non2xx:-0}" \
            "socket errors" "${sockets:-none}"
        if [ -n "$unexpected" ]; then
            printf '  %-14s %s\n' "unexpected" "$unexpected"
        fi
        local note
        for note in "$@"; do
            printf '  note: %s\n' "$note"
        done
        printf '\n--- raw wrk output ---\n'
        cat "$raw"
    } | tee "$out"
    say "saved to bench-results/${name}-${stamp}.txt"
    if [ -n "$non2xx" ] || { [ -n "$unexpected" ] && [ "$unexpected" != "0" ]; }; then
        say "warning: some responses were not the expected ones; the figures above are suspect"
    fi
}
