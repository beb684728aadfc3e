#!/usr/bin/env bash
# Runs a command (default: the whole bats suite) on a stock Debian kernel
# booted under QEMU, with this machine's root filesystem shared read-only
# over 9p, so the checkout, the build and every tool are at the same paths.
# Exits with the command's status.
#
# Usage: scripts/vmtest.sh --kernel 6.1|6.12|host [--mem MB] [--timeout SECS] [-- CMD ...]
#   6.1   Debian 12's default kernel (linux-image-amd64)
#   6.12  Debian 12's 6.12 kernel (linux-image-6.12-amd64)
#   host  run CMD directly on the running kernel
#
# It installs what it needs (qemu-system-x86, the kernel image and its
# headers) and builds a 9p-capable initramfs once per kernel (cached in
# $VMTEST_CACHE, default /var/cache/bccnet-vmtest). The guest boots with TCG
# (KVM guests hang on these machines), 2 CPUs, writes only into its own
# tmpfs (/tmp, /run, /root, /var/tmp), and its /lib/modules/<kver>/build is
# the host's (the headers package makes it), which BCC needs.
# CMD's output goes to stdout; boot messages to $VMTEST_CACHE/console-<kernel>.log
# (the last run's). Several runs may go at once (each has its own job dir).
set -euo pipefail

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit 2
}

kernel="" mem_mb=3072 timeout_s=3600
while [ $# -gt 0 ]; do
  case "$1" in
    --kernel) kernel=${2:-}; shift 2 ;;
    --mem) mem_mb=${2:-}; shift 2 ;;
    --timeout) timeout_s=${2:-}; shift 2 ;;
    -h|--help) usage ;;
    --) shift; break ;;
    *) echo "vmtest.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$kernel" in
  6.1) image_pkg=linux-image-amd64 headers_pkg=linux-headers-amd64 ;;
  6.12) image_pkg=linux-image-6.12-amd64 headers_pkg=linux-headers-6.12-amd64 ;;
  host) ;;
  *) echo "vmtest.sh: invalid --kernel '$kernel': expected 6.1, 6.12 or host" >&2; exit 2 ;;
esac
[[ "$mem_mb" =~ ^[0-9]+$ ]] || { echo "vmtest.sh: invalid --mem '$mem_mb': expected MB" >&2; exit 2; }
[[ "$timeout_s" =~ ^[0-9]+$ ]] || { echo "vmtest.sh: invalid --timeout '$timeout_s': expected seconds" >&2; exit 2; }

root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -gt 0 ] || set -- bats --timing "$root"/tests/bats/*.bats
[ "$(id -u)" -eq 0 ] || { echo "vmtest.sh: must run as root (try: sudo $0)" >&2; exit 1; }
[ -x "$root/build/tcp_bytes" ] || "$root/scripts/build.sh" >/dev/null

if [ "$kernel" = host ]; then
  cd "$root"
  exec "$@"
fi

cache=${VMTEST_CACHE:-/var/cache/bccnet-vmtest}
mkdir -p "$cache"
log() { echo "vmtest.sh: $*" >&2; }

# Packages, installed only when missing (one apt-get update at most).
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The kernel release a meta package points at: linux-image-6.1.0-56-amd64 -> 6.1.0-56-amd64.
kernel_release() {
  dpkg-query -W -f='${Depends}' "$1" | tr ',' '\n' | sed -n 's/^ *linux-image-\([^ ]*\).*/\1/p' | head -n1
}

# An initramfs that can mount a 9p root: Debian's lacks the 9p modules.
build_initramfs() {
  local kver=$1 out=$2 conf
  conf=$(mktemp -d "$cache/initramfs.XXXXXX")
  cp -a /etc/initramfs-tools/. "$conf/"
  sed -i 's/^MODULES=.*/MODULES=list/; s/^COMPRESS=.*/COMPRESS=gzip/' "$conf/initramfs.conf"
  printf '%s\n' virtio_pci netfs 9pnet 9pnet_virtio 9p >>"$conf/modules"
  log "building a 9p initramfs for $kver"
  mkinitramfs -d "$conf" -o "$conf.img" "$kver"
  mv "$conf.img" "$out" # atomic: runs at the same time each see a whole file
  rm -rf "$conf"
}

ensure_packages qemu-system-x86 initramfs-tools "$image_pkg" "$headers_pkg"
kver=$(kernel_release "$image_pkg")
[ -n "$kver" ] && [ -e "/boot/vmlinuz-$kver" ] ||
  { log "no kernel image for $image_pkg (/boot/vmlinuz-$kver)"; exit 1; }
[ -e "/lib/modules/$kver/build" ] ||
  { log "no headers at /lib/modules/$kver/build (package $headers_pkg)"; exit 1; }
initrd="$cache/initrd-9p-$kver.img"
[ -s "$initrd" ] && [ "$initrd" -nt "/lib/modules/$kver/modules.dep" ] || build_initramfs "$kver" "$initrd"

# The job: what the guest's init runs, where, and where it reports.
job=$(mktemp -d "$cache/job.XXXXXX")
trap 'rm -rf "$job"' EXIT
printf '%q ' "$@" >"$job/cmd"
printf '%s\n' "$PWD" >"$job/cwd"
console="$job/console.log" # per run: several runs may boot at once

log "booting $kver (TCG, 2 CPUs, ${mem_mb} MB); console log: $cache/console-$kernel.log"
start=$(date +%s)
rc=0
timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -smp 2 -m "$mem_mb" \
  -display none -vga none -monitor none -no-reboot -nic none \
  -kernel "/boot/vmlinuz-$kver" -initrd "$initrd" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap \
  -chardev file,id=console,path="$console" -serial chardev:console \
  -chardev stdio,id=out,signal=off -serial chardev:out \
  -append "console=ttyS0 panic=-1 quiet loglevel=4 root=hostroot rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose ro init=$root/scripts/vmtest-init.sh bccnet_job=$job" \
  </dev/null || rc=$?
log "guest ran $(( $(date +%s) - start )) s"
cp "$console" "$cache/console-$kernel.log.$$" && mv "$cache/console-$kernel.log.$$" "$cache/console-$kernel.log"

status=$(sed -n 's/.*BCCNET_VMTEST_STATUS=\([0-9]*\).*/\1/p' "$console" | tail -n1)
if [ -z "$status" ]; then
  why="the guest ended without reporting a status"
  # Seen once on 6.12 under multi-threaded TCG: "Oops: int3" in code the kernel was
  # patching (a static key flipped by attaching a tracepoint), an emulation artifact.
  grep -q 'Kernel panic' "$console" && why="the guest kernel panicked"
  log "$why (qemu exit $rc); last console lines:"
  tail -n 40 "$console" >&2
  exit 125
fi
exit "$status"
