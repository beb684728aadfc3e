#!/usr/bin/env bash
# Configure and build bccnet into build/ (binaries: build/<tool>).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
make -C build -j"$(nproc)" --no-print-directory
