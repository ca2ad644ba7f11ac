#!/usr/bin/env bash
# Prepares this machine for the tests and the demo; safe to run again.
# Needs root. With --system it stops after the Debian packages and the users.
set -euo pipefail

# softhsm2: the token in tests; opensc: pkcs11-tool; myproxy-server, myproxy:
# the real server and myproxy-logon; openssl: test PKI; g++ make python3:
# npm ci compiles the PKCS#11 binding; libp11-kit-dev: the PKCS#11 header the
# test module of a smart-card token (test/pkcs11-smartcard) is built with;
# faketime: libfaketime, preloaded into the server where a test moves its clock
# (CRL re-signing, crl.expiring, done/ kept a day: test/helpers/server-clock.ts);
# scep, certmonger, dbus: the SCEP clients the SCEP tests enroll with
# (micromdm's scepclient and scepserver; certmonger's daemon on a session bus).
PACKAGES=(softhsm2 opensc myproxy-server myproxy openssl g++ make python3 libp11-kit-dev faketime scep certmonger dbus)
# The request parser, the signer and the SCEP front end run under these accounts (see sysconfig/etoken-ca).
SERVICE_USERS=(causer caparse scep)

say() { echo "setup: $*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: must run as root (it installs packages and creates system users)" >&2
  exit 77
fi
cd "$(dirname "$0")/.."

missing=()
for pkg in "${PACKAGES[@]}"; do
  if [ "$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null)" != installed ]; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
else
  say "Debian packages present: ${PACKAGES[*]}"
fi

for user in "${SERVICE_USERS[@]}"; do
  if getent passwd "$user" >/dev/null; then
    say "system user $user exists"
  else
    say "creating system user $user"
    useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$user"
  fi
done
if ! getent passwd myproxy >/dev/null; then
  echo "setup: user myproxy is missing although myproxy-server is installed (reinstall myproxy-server)" >&2
  exit 69
fi
say "system user myproxy exists"
# A second front end's account in the MyProxy group: requests from two accounts share the token fairly.
if ! getent passwd myproxy2 >/dev/null; then
  say "creating system user myproxy2 (group myproxy)"
  useradd --system --no-create-home --shell /usr/sbin/nologin --gid myproxy myproxy2
fi

[ "${1:-}" = --system ] && exit 0

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js 20 or later is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 69
fi

# npm writes node_modules/.package-lock.json on every install: older than the lock file means stale.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
else
  say "npm dependencies up to date"
fi

say "building (npm run build)"
npm run build --silent
