#!/usr/bin/env bash
# npm run bench: prepares the machine, builds, bundles the benchmark and runs it.
# Needs root. Installs what is missing: the Debian packages and users of
# test/setup.sh (softhsm2, opensc, myproxy-server, myproxy, openssl, scep;
# users causer, caparse, scep) and libengine-pkcs11-openssl, the pkcs11 engine the
# `openssl ca` baseline signs with. With --scep-only, only the SCEP figures
# (etoken-ca-scep against micromdm's scepserver) are measured; with
# --p6-10m-only, only P6 at 10,000,000 certificates.
set -euo pipefail
cd "$(dirname "$0")/.."

bash test/setup.sh --system
if [ "$(dpkg-query -W -f='${db:Status-Status}' libengine-pkcs11-openssl 2>/dev/null)" != installed ]; then
  echo "bench: installing Debian package libengine-pkcs11-openssl (the openssl ca baseline with the key on the token)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q libengine-pkcs11-openssl
fi

echo "bench: building (npm run build) and bundling the benchmark"
npm run build --silent
npx tsc -p bench/tsconfig.json
node bench/bundle.mjs
case "${1:-}" in
  --scep-only) exec node bench/dist/bench-scep.js ;;
  --p6-10m-only) exec node bench/dist/bench-p6-10m.js ;;
esac
exec node bench/dist/bench.js
