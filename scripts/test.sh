#!/usr/bin/env bash
# The whole test suite: formatting, lints, and every test on SQLite and PostgreSQL.
#
# PostgreSQL is taken from NAVE_TEST_PG (default postgres://postgres@127.0.0.1:5432/test);
# each test gets a schema of its own, so tests run in parallel. Without a reachable
# PostgreSQL the PostgreSQL half is skipped with a warning, except under CI=true,
# where it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

export NAVE_TEST_PG="${NAVE_TEST_PG:-postgres://postgres@127.0.0.1:5432/test}"

pg_up() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -d "$NAVE_TEST_PG"
  else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
  fi
}

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is down; starting it." >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
fi
if ! pg_up; then
  if [ "${CI:-}" = "true" ]; then
    echo "error: PostgreSQL is not reachable at $NAVE_TEST_PG, and CI=true requires it." >&2
    exit 1
  fi
  echo "warning: PostgreSQL is not reachable at $NAVE_TEST_PG; its half of the suite will be skipped." >&2
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi
