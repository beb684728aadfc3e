#!/usr/bin/env bash
# docs/kernels.md from real runs: boots each kernel (scripts/vmtest.sh), runs
# the whole bats suite there with TAP output (scripts/kernel-suite.sh --tap)
# and the hook census (scripts/kernel-hooks.sh), and renders a tool x kernel
# table (pass / fail / skip with the reason), the hooks each tool attached on
# each kernel, and how long each part took.
# Usage: sudo scripts/kernel-matrix.sh [--kernels "host 6.1 6.12"] [--out docs/kernels.md]
#                                     [--selection] [--run-only | --render-only]
#                                     [--files "tests/bats/X.bats ..."]
# Raw output: $VMTEST_CACHE/matrix-<kernel>.tap (default /var/cache/bccnet-vmtest).
# --run-only runs the listed kernels without rendering (e.g. one kernel per
# machine or at a time); --render-only renders the listed kernels' raw output;
# --selection runs only the tests CI runs on 6.1 (kernel-suite.sh --selection).
# --files runs only those bats files again (after a fix) and appends them to each
# kernel's raw output, where they replace the file's earlier results ("# rerun:").
set -euo pipefail
cd "$(dirname "$0")/.."

kernels="host 6.1 6.12" out=docs/kernels.md run=1 render=1 suite="" rerun=""
while [ $# -gt 0 ]; do
  case "$1" in
    --kernels) kernels=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --run-only) render=0; shift ;;
    --render-only) run=0; shift ;;
    --selection) suite=--selection; shift ;;
    --files) rerun=$2; shift 2 ;;
    *) echo "kernel-matrix.sh: unknown argument '$1' (--kernels LIST, --out FILE, --selection, --files LIST, --run-only, --render-only)" >&2; exit 2 ;;
  esac
done

cache=${VMTEST_CACHE:-/var/cache/bccnet-vmtest}
mkdir -p "$cache"
[ "$run" = 0 ] || scripts/build.sh >/dev/null
files=()
for k in $kernels; do
  tap="$cache/matrix-$k.tap"
  files+=("$k=$tap")
  [ "$run" = 1 ] || continue
  if [ -n "$rerun" ]; then
    s=$(date +%s)
    # shellcheck disable=SC2086 # a list of file names
    scripts/vmtest.sh --kernel "$k" --timeout 9000 -- scripts/kernel-suite.sh --tap $rerun >"$tap.rerun" || true
    printf '# rerun: %s, %s s (%s)\n' "$rerun" "$(( $(date +%s) - s ))" "$(date -u '+%F %H:%M UTC')" >>"$tap"
    grep -v '^# kernel ' "$tap.rerun" >>"$tap"
    rm -f "$tap.rerun"
    continue
  fi
  s=$(date +%s)
  scripts/vmtest.sh --kernel "$k" -- true
  boot=$(( $(date +%s) - s ))
  s=$(date +%s)
  echo "# mode: ${suite:-whole suite}" >"$tap"
  scripts/vmtest.sh --kernel "$k" --timeout 9000 -- sh -c "scripts/kernel-hooks.sh; scripts/kernel-suite.sh --tap $suite" >>"$tap" || true
  printf '# timing: boot %s s, hooks + suite %s s (%s)\n' "$boot" "$(( $(date +%s) - s ))" "$(date -u '+%F %H:%M UTC')" >>"$tap"
done
[ "$render" = 1 ] || exit 0
python3 scripts/kernel-matrix-render.py "${files[@]}" >"$out"
echo "kernel-matrix.sh: wrote $out" >&2
