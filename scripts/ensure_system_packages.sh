#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Mithivoices needs, only when something is missing (fast no-op otherwise).
#   python3-venv  - to create .venv (Debian's python3 ships without ensurepip)
#   espeak-ng     - the eSpeak NG library + voices: TTS for all 8 languages (libespeak-ng1, espeak-ng-data)
#   g++ / gcc     - llama-cpp-python has no binary wheel: pip compiles it once (~5 min on 2 cores)
#   chromium      - only with --browser (make test): the browser the end-to-end tests drive
#   nginx         - only with --browser (make test): tests/integration/test_nginx_scale.py runs
#                   deploy/nginx.conf in front of two app processes (the test starts its own nginx on
#                   free ports; Debian's package also enables its default site on port 80), and
#                   tests/integration/test_llm_slots.py runs deploy/llm-slots.conf the same way
#   fonts-noto-core - only with --browser (make test): Noto Sans and its Devanagari, Malayalam, Tamil,
#                   Telugu, Bengali and Gujarati families, so Chromium draws every language's native name
#                   (frontend/e2e/languages.e2e.test.mjs fails on tofu); checked with fc-list
# --web / --browser also check for Node.js 20.19+ with npm (the web app); it is not installed here
# (Debian 12's nodejs is too old). Backend-only targets (deps, lint, models, bench) do not need it.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
need=()
if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
  need+=(python3-venv)
fi
if ! command -v g++ >/dev/null 2>&1 || ! command -v gcc >/dev/null 2>&1; then
  need+=(build-essential)
fi
if ! { ldconfig -p 2>/dev/null | grep -q "libespeak-ng.so.1"; }; then
  need+=(espeak-ng libespeak-ng1)
fi
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  need+=(chromium)
fi
if [ "${1:-}" = "--browser" ] && ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  need+=(nginx)
fi
if [ "${1:-}" = "--browser" ]; then
  for family in "Noto Sans" "Noto Sans Devanagari" "Noto Sans Malayalam" "Noto Sans Tamil" "Noto Sans Telugu" \
    "Noto Sans Bengali" "Noto Sans Gujarati"; do
    if ! { fc-list "$family" family 2>/dev/null | grep -q .; }; then
      need+=(fonts-noto-core)
      command -v fc-list >/dev/null 2>&1 || need+=(fontconfig)
      break
    fi
  done
fi

if [ "${1:-}" = "--web" ] || [ "${1:-}" = "--browser" ]; then
  node_ok=$(node -e 'const [a,b]=process.versions.node.split(".").map(Number); console.log(a>20||(a===20&&b>=19)?1:0)' 2>/dev/null || echo 0)
  if [ "$node_ok" != "1" ] || ! command -v npm >/dev/null 2>&1; then
    echo "Node.js 20.19 or newer with npm is needed for the web app (found: $(node --version 2>/dev/null || echo none))." >&2
    echo "Install it from https://nodejs.org or NodeSource (Debian 12's nodejs package is 18)." >&2
    exit 1
  fi
fi

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing system packages: ${need[*]}. Install them with your package manager (this script knows apt only)." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "Installing system packages: ${need[*]}"
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
