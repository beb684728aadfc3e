#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs, then every test:
# dependencies, build, unit tests (ctest), end-to-end tests (bats, real
# kernel events in namespaces the tests create). Run as root.
# Usage: sudo scripts/test.sh [bats files...]   (default: tests/bats/*.bats)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure)
if [ $# -eq 0 ]; then set -- tests/bats/*.bats; fi
bats --timing "$@"
