#!/usr/bin/env bash
# Runs every measurement of docs/performance.md ("Results measured here") with one command:
# SQLite (every scenario of `all`, and the Node oidc-provider peer), SQLite again with each
# request offered open loop at 80 % of its maximum, the 30 s sign-in storm, PostgreSQL (every
# scenario of `all`, then open loop at 80 %, then the 30 s storm), and the million-user scale
# scenario on SQLite and on PostgreSQL.
#
# Needs: the release build (cargo build --release --workspace --bins), Node.js 20+ with npm
# (cd bench/peer && npm ci), and a PostgreSQL server at $TESSERA_BENCH_POSTGRES_URL
# (default postgres://postgres@127.0.0.1:5432/postgres). Reports go to $OUT (default bench-results/).
set -euo pipefail
cd "$(dirname "$0")/.."
bench="${CARGO_TARGET_DIR:-target}/release/tessera-bench"
if [[ ! -x "$bench" ]]; then
    echo "no release build at $bench: run cargo build --release --workspace --bins first" >&2
    exit 1
fi
pg="${TESSERA_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
out="${OUT:-bench-results}"
mkdir -p "$out"
echo "commit $(git rev-parse --short HEAD), reports in $out/" >&2
"$bench" --scenario all,peer | tee "$out/sqlite.md"
"$bench" --at-fraction 0.8 | tee "$out/sqlite-at-0.8.md"
"$bench" --scenario password-signin,login-storm --duration 30 | tee "$out/storm.md"
"$bench" --database-url "$pg" | tee "$out/postgres.md"
"$bench" --database-url "$pg" --at-fraction 0.8 | tee "$out/postgres-at-0.8.md"
"$bench" --database-url "$pg" --scenario password-signin,login-storm --duration 30 | tee "$out/postgres-storm.md"
"$bench" --scenario scale | tee "$out/scale.md"
"$bench" --database-url "$pg" --scenario scale | tee "$out/postgres-scale.md"
