#!/usr/bin/env bash
# Runs every `nave bench` workload on SQLite and PostgreSQL with a release
# build and writes BENCHMARKS.md. Sizes can be lowered for a quick look:
#   SCALE=0.1 ORDERS=300 bash scripts/benchmarks.sh
set -euo pipefail
cd "$(dirname "$0")/.."

PG="${NAVE_BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}"
SCALE="${SCALE:-1}"
ORDERS="${ORDERS:-1000}"
OUT=target/bench
mkdir -p "$OUT"
: > "$OUT/results.jsonl"
: > "$OUT/commands.txt"

cargo build --release --locked -p nave
NAVE=target/release/nave

run() {
  echo "nave bench $*" | sed "s|$PG|postgres://…|" >> "$OUT/commands.txt"
  "$NAVE" bench "$@" >> "$OUT/results.jsonl"
}

for db in sqlite "$PG"; do
  dbflag=()
  [ "$db" != sqlite ] && dbflag=(--db "$db")
  run o2c --orders "$ORDERS" --clients 1,8 "${dbflag[@]}"
  run contention --orders 400 --clients 8 "${dbflag[@]}"
  run import --scale "$SCALE" "${dbflag[@]}"
  run overview --scale "$SCALE" --requests 300 "${dbflag[@]}"
  run reports --scale "$SCALE" "${dbflag[@]}"
done

"$NAVE" bench markdown "$OUT/results.jsonl" --commands "$OUT/commands.txt" > BENCHMARKS.md
echo "BENCHMARKS.md written from $OUT/results.jsonl" >&2
