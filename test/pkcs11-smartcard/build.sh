#!/usr/bin/env bash
# Builds the smart-card test module into OUTPUT_DIR/pkcs11-smartcard.so.
# Safe to run again: the library is replaced whole (rename), so processes that
# have the old one loaded keep it.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 OUTPUT_DIR" >&2
  exit 64
fi
source_dir=$(cd "$(dirname "$0")" && pwd)
output_dir=$1
# Debian package libp11-kit-dev.
header_dir=/usr/include/p11-kit-1

if [ ! -f "$header_dir/p11-kit/pkcs11.h" ]; then
  echo "build.sh: $header_dir/p11-kit/pkcs11.h is missing: apt-get install libp11-kit-dev" >&2
  exit 69
fi
if ! command -v gcc >/dev/null; then
  echo "build.sh: gcc is missing: apt-get install gcc" >&2
  exit 69
fi

mkdir -p "$output_dir"
staged=$(mktemp "$output_dir/.pkcs11-smartcard.so.XXXXXX")
trap 'rm -f "$staged"' EXIT
gcc -shared -fPIC -O2 -Wall -Wextra -Werror -pthread -fvisibility=hidden -Wl,-z,defs \
  -I"$header_dir" -o "$staged" "$source_dir/smartcard.c" -ldl
chmod 0755 "$staged"
mv -f "$staged" "$output_dir/pkcs11-smartcard.so"
trap - EXIT
