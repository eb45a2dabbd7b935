#!/bin/sh
# A demo of the singleinstance CLI guarding a program that knows nothing
# about it: a shell loop stands in for the trading bot. Run from the
# repository root:  sh examples/cli/demo.sh
# It builds the CLI, unless $SINGLEINSTANCE_BIN names one to use. The
# commands it shows are in bold when its output is a terminal (and
# $NO_COLOR is unset), and plain otherwise.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'kill $bot 2>/dev/null || true; rm -rf "$tmp"' EXIT INT TERM
export SINGLEINSTANCE_LOCK_DIR="$tmp/locks"
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	bold=$(printf '\033[1m') plain=$(printf '\033[0m')
else
	bold='' plain=''
fi
step() { printf '\n%s$ %s%s\n' "$bold" "$*" "$plain"; }

si=${SINGLEINSTANCE_BIN:-}
if [ -z "$si" ]; then
	si="$tmp/singleinstance"
	echo "Building the CLI..."
	(cd "$here" && go build -o "$si" ./cmd/singleinstance)
fi

step "singleinstance run trading_bot -- sh -c '...bot loop...' &"
"$si" run trading_bot -- sh -c 'echo "bot: trading (pid $$)"; trap "echo bot: stopping cleanly; exit 0" TERM; while :; do sleep 0.05; done' &
bot=$!
"$si" wait --until held --timeout 10s trading_bot

step "singleinstance run trading_bot -- sh -c 'echo second bot'   # refused"
set +e
"$si" run trading_bot -- sh -c 'echo second bot trading'
code=$?
set -e
echo "(exit code $code)"
[ "$code" = 1 ] || { echo "DEMO FAILED: second start was not refused"; exit 1; }

step "singleinstance check trading_bot"
"$si" check trading_bot

step "singleinstance status trading_bot"
"$si" status trading_bot

step "singleinstance kill trading_bot"
"$si" kill trading_bot
wait $bot || true

step "singleinstance check trading_bot"
set +e
"$si" check trading_bot
code=$?
set -e
[ "$code" = 1 ] || { echo "DEMO FAILED: still running"; exit 1; }

step "singleinstance run trading_bot -- sh -c 'echo ...'   # free again"
"$si" run trading_bot -- sh -c 'echo "bot: trading again (pid $$)"'
echo
echo "Demo finished: one bot at a time, no clean-up needed."
