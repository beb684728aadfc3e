#!/usr/bin/env bash
# Everything a fresh Debian/Ubuntu machine needs, then every test:
# dependencies, build, unit tests (ctest), end-to-end tests (bats, real
# kernel events in namespaces the tests create). Run as root.
# Usage: sudo scripts/test.sh [--cache] [bats files...]   (default: tests/bats/*.bats)
#   --cache  run the bats suites twice with one program cache: first every
#            program is compiled and stored, then the same runs load from it
#            (without it, the suites run with the cache off: BCCNET_NO_CACHE)
set -euo pipefail
cd "$(dirname "$0")/.."
cache=0
if [ "${1:-}" = --cache ]; then cache=1; shift; fi
scripts/install-deps.sh
scripts/build.sh
(cd build && ctest --output-on-failure)
if [ $# -eq 0 ]; then set -- tests/bats/*.bats; fi
if ((cache == 0)); then
  exec bats --timing "$@"
fi
dir=$(mktemp -d /tmp/bccnet-test-cache.XXXXXX)
trap 'rm -rf "$dir"' EXIT
export BCCNET_TEST_CACHE_DIR=$dir
entries() { find "$dir" -maxdepth 1 -name '*.prog' | wc -l; }
echo "# cache pass 1 of 2: programs compiled and stored in $dir"
bats --timing "$@"
n=$(entries)
echo "# cache pass 2 of 2: the same runs, loaded from the cache"
bats --timing "$@"
echo "# cache: $n entries after pass 1; $(($(entries) - n)) more in pass 2 (runs whose options differ each time, e.g. a helper's PID)"
