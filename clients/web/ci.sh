#!/usr/bin/env bash
# The web client's end-to-end tests, as CI runs them: Debian's Chromium (and a CJK font, so the
# Chinese screens render) installed when missing, the server binary built, then `npm ci` and
# `npm test` (node --test e2e/*.test.js) against target/debug/hehe-server.
# From the repository root: bash clients/web/ci.sh
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
fc-list 2>/dev/null | grep -qiE 'wqy|noto sans cjk|droid sans fallback' || need+=(fonts-wqy-microhei)
if ((${#need[@]})); then
  echo "== installing ${need[*]}"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  fi
fi

export HEHE_SERVER_BIN="${HEHE_SERVER_BIN:-$PWD/../../target/debug/hehe-server}"
if [ ! -x "$HEHE_SERVER_BIN" ]; then
  (cd ../.. && cargo build -p hehe-server --locked)
fi
npm ci --no-audit --no-fund --loglevel=error
npm test
