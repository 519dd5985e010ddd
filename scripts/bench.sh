#!/usr/bin/env bash
# Measures server-side latency and throughput over loopback with wrk: the
# nearly empty sign-in page (the yardstick), the task list of a user with 1,000
# tasks (its first and its last page of 50), the create server function, and
# the REST API with a personal access token (all 1,000 tasks in one
# `GET /api/v1/tasks?limit=1000`, and `POST /api/v1/tasks`, at 64
# connections), on SQLite and on PostgreSQL. Prints a Markdown table.
# wrk keeps every connection busy (a closed loop: the rate is what the server
# gives); the API's creates are also sent by oha at a fixed rate
# (BENCH_API_RATE, 2,400 a second by default, the issue's target) over 64
# connections, each latency counted from when its request was due
# (`--latency-correction`), so a stall shows in the tail instead of slowing
# the sender.
# BENCH_ONLY=api measures the API rows alone; BENCH_BACKENDS="sqlite" (or
# "postgres") one backend; BENCH_BINS="before=PATH after=PATH" measures
# release servers built beforehand, each in turn in the same run (a change's
# before and after), instead of building one. Not part of the tests.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$CADENCE_ROOT"
have wrk || apt_install wrk
have oha || cargo install oha --locked
have curl || apt_install curl
ensure_postgres
PG_ADMIN="${CADENCE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
DURATION="${BENCH_DURATION:-10s}"
CONNECTIONS="${BENCH_CONNECTIONS:-16}"
API_CONNECTIONS="${BENCH_API_CONNECTIONS:-64}"
API_RATE="${BENCH_API_RATE:-2400}"
ONLY="${BENCH_ONLY:-}"
TASKS="${BENCH_TASKS:-1000}"
PORT=3217
BASE="http://127.0.0.1:$PORT"

BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
if [ -n "${BENCH_BINS:-}" ]; then
  read -ra BINS <<<"$BENCH_BINS"
else
  log "building the release server (the same build as serve.sh)"
  ensure_wasm_opt
  LEPTOS_SITE_ROOT="$RELEASE_SITE" cargo leptos build --release "${LEPTOS_LIB_ARGS[@]}"
  BINS=("=$CADENCE_ROOT/target/release/server")
fi
WORK="$(mktemp -d)"
trap 'kill "${SERVER_PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# start_server URL [LIST_CACHE_PAGES]
start_server() {
  DATABASE_URL="$1" CADENCE_LIST_CACHE_PAGES="${2:-512}" CADENCE_BIND="127.0.0.1:$PORT" RUST_LOG=warn "$BIN" >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do curl -fsS "$BASE/readyz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "server did not start" >&2; cat "$WORK/server.log" >&2; exit 1
}

stop_server() { kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true; }

seed() {
  curl -fsS -c "$WORK/jar" -o /dev/null "$BASE/api/sign_up" \
    --data "email=bench-$RANDOM$RANDOM@example.com&password=benchmark-pass&display_name=Bench&time_zone=Europe/Berlin"
  COOKIE="$(awk '$6 == "cadence_session" { print "cadence_session=" $7 }' "$WORK/jar")"
  for i in $(seq 1 "$TASKS"); do
    printf 'title=Task+%d&priority=%s&tags=%s&due_date=2027-%02d-%02d\n' "$i" \
      "$(( i % 5 == 0 ? 1 : 0 ))" "t$(( i % 7 )),team" $(( i % 12 + 1 )) $(( i % 28 + 1 ))
  done | sed 's/priority=1/priority=high/; s/priority=0/priority=none/' \
    | xargs -P 4 -I{} curl -fsS -o /dev/null -H "Cookie: $COOKIE" "$BASE/api/create_task" --data '{}'
}

# Prints "p50 p99 rps" from wrk's --latency output; C sets the connections.
measure() {
  wrk -t2 -c"${C:-$CONNECTIONS}" -d"$DURATION" --latency "$@" >"$WORK/wrk.txt"
  awk '/^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 } /^Requests\/sec/ { rps = $2 } END { print p50, p99, rps }' "$WORK/wrk.txt"
}

cat >"$WORK/create.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "/api/create_task", nil, "title=Bench+" .. counter .. "&priority=low&tags=bench")
end
LUA

cat >"$WORK/api-create.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, "/api/v1/tasks", nil,
    '{"title":"API bench ' .. counter .. '","priority":"low","tags":["bench"],"due":{"date":"2027-03-01","time":"09:00"}}')
end
LUA

# A read-and-write token, made with the settings page's form as a user would.
api_token() {
  curl -fsS -H "Cookie: $COOKIE" -H "Accept: text/html" "$BASE/settings/tokens" \
    --data "name=bench-$RANDOM&expires=30&write=on" | grep -o 'cad_[A-Za-z0-9]\{43\}' | head -1
}

# api_rows NAME: all the tasks in one API page, then creates (which add thousands).
api_rows() {
  local name="$1" token
  token="$(api_token)"
  [ -n "$token" ] || { echo "no token made" >&2; exit 1; }
  local got
  got="$(curl -fsS -H "Authorization: Bearer $token" "$BASE/api/v1/tasks?limit=1000" | grep -o '"id"' | wc -l)"
  log "$name: GET /api/v1/tasks?limit=1000 ($got tasks a response, $API_CONNECTIONS connections)"
  read -r p50 p99 rps < <(C=$API_CONNECTIONS measure -H "Authorization: Bearer $token" "$BASE/api/v1/tasks?limit=1000")
  ROWS+=("| $name | GET /api/v1/tasks?limit=1000 ($got tasks, $API_CONNECTIONS conns) | $p50 | $p99 | $rps |")
  log "$name: POST /api/v1/tasks ($API_CONNECTIONS connections)"
  read -r p50 p99 rps < <(C=$API_CONNECTIONS measure -H "Authorization: Bearer $token" -s "$WORK/api-create.lua" "$BASE")
  ROWS+=("| $name | POST /api/v1/tasks ($API_CONNECTIONS conns) | $p50 | $p99 | $rps |")
  log "$name: POST /api/v1/tasks at $API_RATE a second ($API_CONNECTIONS connections)"
  read -r p50 p99 rps < <(open_loop "$token")
  ROWS+=("| $name | POST /api/v1/tasks at $API_RATE/s offered ($API_CONNECTIONS conns, open loop) | $p50 | $p99 | $rps |")
}

# Prints "p50 p99 rps" of creates sent at API_RATE a second, whatever the answers' pace.
open_loop() {
  oha -z "$DURATION" -c "$API_CONNECTIONS" -q "$API_RATE" --latency-correction --no-tui --output-format json \
    -m POST -H "Authorization: Bearer $1" -H "Content-Type: application/json" \
    -d '{"title":"API bench","priority":"low","tags":["bench"],"due":{"date":"2027-03-01","time":"09:00"}}' \
    "$BASE/api/v1/tasks" >"$WORK/oha.json"
  python3 - "$WORK/oha.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
p, ok = d["latencyPercentiles"], d["statusCodeDistribution"]
if set(ok) != {"201"}:
    sys.exit(f"creates answered other than 201: {ok}")
print(f"{p['p50'] * 1e3:.2f}ms {p['p99'] * 1e3:.2f}ms {d['summary']['requestsPerSec']:.0f}")
PY
}

ROWS=()
run_backend() {
  local name="$1" url="$2"
  start_server "$url"
  log "$name: seeding $TASKS tasks"
  seed
  if [ "$ONLY" = api ]; then
    api_rows "$name"
    stop_server
    return
  fi
  if [ -z "${PAGE_HTML:-}" ]; then
    curl -fsS -H "Cookie: $COOKIE" -o "$WORK/page.html" "$BASE/tasks"
    PAGE_HTML="$(wc -c <"$WORK/page.html") B raw, $(gzip -9 -c "$WORK/page.html" | wc -c) B gzip"
  fi
  log "$name: sign-in page (nearly empty, for comparison)"
  read -r p50 p99 rps < <(measure "$BASE/signin")
  ROWS+=("| $name | GET /signin | $p50 | $p99 | $rps |")
  # Follow the Next links to the last page: its address holds the keyset cursor.
  local last="/tasks" pages=1 next
  while next="$(curl -fsS -H "Cookie: $COOKIE" "$BASE$last" | grep -o 'rel="next" href="[^"]*"' | sed 's/.*href="//; s/"$//; s/&amp;/\&/g')" && [ -n "$next" ]; do
    last="$next"
    pages=$((pages + 1))
  done
  list_pages "$name" "" "$last" "$pages"
  stop_server
  # The same pages with no list copies kept: every request reads the database.
  start_server "$url" 0
  list_pages "$name" ", no list cache" "$last" "$pages"
  # Last, as they add thousands of tasks; the API's list is read before its creates.
  api_rows "$name"
  log "$name: create server function"
  read -r p50 p99 rps < <(measure -H "Cookie: $COOKIE" -s "$WORK/create.lua" "$BASE")
  ROWS+=("| $name | POST /api/create_task | $p50 | $p99 | $rps |")
  stop_server
}

# list_pages NAME SUFFIX LAST_PAGE_PATH PAGES
list_pages() {
  local name="$1" suffix="$2" last="$3" pages="$4"
  log "$name: first page of the task list$suffix"
  read -r p50 p99 rps < <(measure -H "Cookie: $COOKIE" "$BASE/tasks")
  ROWS+=("| $name | GET /tasks ($TASKS tasks, first page of 50$suffix) | $p50 | $p99 | $rps |")
  log "$name: last page of the task list$suffix (page $pages)"
  read -r p50 p99 rps < <(measure -H "Cookie: $COOKIE" "$BASE$last")
  ROWS+=("| $name | GET /tasks, last page (page $pages, keyset cursor$suffix) | $p50 | $p99 | $rps |")
}

for entry in "${BINS[@]}"; do
  label="${entry%%=*}"
  BIN="${entry#*=}"
  [ -x "$BIN" ] || { echo "no server at $BIN" >&2; exit 1; }
  suffix="${label:+ ($label)}"
  n=$((${n:-0} + 1))
  if [[ " $BACKENDS " == *" sqlite "* ]]; then
    run_backend "SQLite$suffix" "sqlite://$WORK/bench-$n.db"
  fi
  if [[ " $BACKENDS " == *" postgres "* ]]; then
    PG_DB="cadence_bench_$$_$n"
    psql "$PG_ADMIN" -qc "CREATE DATABASE $PG_DB" >/dev/null
    run_backend "PostgreSQL$suffix" "${PG_ADMIN%/*}/$PG_DB"
    psql "$PG_ADMIN" -qc "DROP DATABASE $PG_DB WITH (FORCE)" >/dev/null
  fi
done

echo
echo "wrk -t2 -c$CONNECTIONS (the API rows -c$API_CONNECTIONS; the open loop oha -q$API_RATE) -d$DURATION over loopback, release build, $(nproc) cores"
echo
echo "| backend | request | p50 | p99 | requests/s |"
echo "|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
if [ -n "${PAGE_HTML:-}" ]; then echo "HTML of the first task page: $PAGE_HTML"; fi
