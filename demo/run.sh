#!/usr/bin/env bash
# npm run demo: a throwaway CA on a SoftHSM token, the real server, client,
# myproxy-server and myproxy-logon. Installs what is missing first (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "npm run demo must run as root: it creates users and starts programs as myproxy, causer and caparse" >&2
  exit 77
fi
bash test/setup.sh
mkdir -p .demo
echo "demo: bundling demo/demo.ts"
node_modules/.bin/esbuild demo/demo.ts --bundle --platform=node --format=esm --packages=external \
  --log-level=warning --outfile=.demo/demo.mjs
exec node .demo/demo.mjs
