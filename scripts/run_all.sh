#!/usr/bin/env bash
# `make run`: the API on :8000 (which also serves the built app) and Vite's dev server on :5173
# (hot reload, proxying /api, /v1, /health and /voice to the API). Ctrl-C stops both.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
WEB_PORT="${MITHI_WEB_PORT:-5173}"

"$PY" -m backend "$@" &
api=$!
npm --prefix frontend run --silent dev -- --host 127.0.0.1 --port "$WEB_PORT" --strictPort &
web=$!

stop() { kill "$api" "$web" 2>/dev/null; wait "$api" "$web" 2>/dev/null; }
trap 'stop; exit 130' INT TERM
echo "Mithivoices: web app http://localhost:$WEB_PORT (dev) · API http://127.0.0.1:8000 (docs at /docs)"
# whichever stops first (an error, or Ctrl-C) stops the other
wait -n "$api" "$web"
status=$?
stop
exit "$status"
