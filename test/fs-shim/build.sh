#!/usr/bin/env bash
# Builds the file-system fault and record shim: build.sh OUTDIR writes OUTDIR/fs-shim.so.
set -euo pipefail
out=${1:?usage: build.sh OUTDIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$out"
gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$out/fs-shim.so" "$here/fs-shim.c" -ldl -pthread
