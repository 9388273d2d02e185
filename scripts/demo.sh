#!/usr/bin/env bash
# `make demo`: Korttid in dev mode with demo data, and the Microsoft 365 Agents Playground
# (the local Teams client emulator) as a demo staff member. Ctrl-C stops both.
#   AS=sjukskoterska make demo     play another role (handlaggare, sjukskoterska, rehab,
#                                  koordinator, enhetschef, boendesamordnare)
#   BOT_PORT / PLAYGROUND_PORT     change the ports (default 3978 / 56150)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
as_role=${AS:-handlaggare}
bot_port=${BOT_PORT:-3978}
playground_port=${PLAYGROUND_PORT:-56150}
demo_dir=$root/var/demo
mkdir -p "$demo_dir"

export KORTTID_ENV=dev
export DATABASE_URL="sqlite+aiosqlite:///$demo_dir/korttid.db"
export KORTTID_LOG_LEVEL=${KORTTID_LOG_LEVEL:-INFO}
unset MicrosoftAppId MicrosoftAppPassword  # the playground sends no token: dev mode only

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_http() {
  for _ in $(seq 1 300); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
  return 1
}
for port in "$bot_port" "$playground_port"; do
  if port_busy "$port"; then
    echo "Port $port is already in use. Stop what uses it, or set BOT_PORT / PLAYGROUND_PORT." >&2
    exit 1
  fi
done

# Korttid speaks 07-18 on working days: in the evening or at a weekend the demo's clock starts
# at 10:00 on the next working day, so its messages arrive while you watch.
if [ -z "${KORTTID_CLOCK_START:-}" ]; then
  clock_start=$(.venv/bin/korttid demo clock-start)
  if [ -n "$clock_start" ]; then
    export KORTTID_CLOCK_START=$clock_start
    echo "  Outside Korttid's sending hours: the demo's clock starts at $clock_start."
  fi
fi
.venv/bin/korttid demo seed
.venv/bin/korttid demo playground-config --as "$as_role" --out "$demo_dir/.m365agentsplayground.yml"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
stopped() { cleanup; echo; echo "  Korttid and the Agents Playground are stopped."; exit 0; }
trap cleanup EXIT
trap stopped INT TERM  # Ctrl-C is how the demo ends: exit 0, so make reports no error

.venv/bin/korttid serve --host 127.0.0.1 --port "$bot_port" >"$demo_dir/bot.log" 2>&1 &
pids+=($!)
if ! wait_http "http://127.0.0.1:$bot_port/readyz"; then
  echo "Korttid did not start; see $demo_dir/bot.log" >&2
  tail -n 20 "$demo_dir/bot.log" >&2
  exit 1
fi

(
  cd "$demo_dir"
  exec env TEAMSAPPTESTER_BROWSER=none TZ=Europe/Stockholm \
    M365_AGENTS_PLAYGROUND_LOGFILE="$demo_dir/playground.log" \
    "$root/node_modules/.bin/agentsplayground" --dt -c msteams -p "$playground_port" \
    -e "http://127.0.0.1:$bot_port/api/messages"
) >"$demo_dir/playground.out" 2>&1 &
pids+=($!)
if ! wait_http "http://127.0.0.1:$playground_port/_debug/ping"; then
  echo "The Agents Playground did not start; see $demo_dir/playground.log" >&2
  exit 1
fi

name=$(.venv/bin/python -c "from bot.demo import demo_person; print(demo_person('$as_role')[1])")
other_role=sjukskoterska
[ "$as_role" = sjukskoterska ] && other_role=handlaggare
cat <<MSG

  Korttid is running with demo data.
  Open  http://127.0.0.1:$playground_port/  in your browser. You are $name ($as_role).
  Type  hjälp  to begin.  Another role:  AS=$other_role make demo
  In a chat, @Korttid demo som sjuksköterska  acts as the nurse (demo som mig: yourself again).
  Logs: $demo_dir/bot.log   Data: $demo_dir/korttid.db   Ctrl-C stops.

MSG
wait
