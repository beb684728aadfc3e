#!/usr/bin/env bash
# Install everything bccnet needs to build, run and test on Debian/Ubuntu.
# Idempotent: safe to run again; only changes what is missing.
set -euo pipefail

[ "$(id -u)" -eq 0 ] || { echo "install-deps.sh: must run as root (try: sudo $0)" >&2; exit 1; }

packages=(build-essential cmake pkg-config libbpfcc-dev libbpf-dev libelf-dev zlib1g-dev
          bpftool bats jq iproute2 iperf3 python3 python3-scapy libcmocka-dev
          bpfcc-tools procps kmod strace ethtool
          libmicrohttpd-dev prometheus nftables curl # netwatch: exporter, its tests
          libbpf-tools) # libbpf-tools: the CO-RE tcpstates the cache benchmark compares with

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done

kver=$(uname -r)
headers_pkg="linux-headers-$kver"
if [ ! -e "/lib/modules/$kver/build" ]; then
  if apt-cache show "$headers_pkg" >/dev/null 2>&1; then
    missing+=("$headers_pkg")
  else
    missing+=(linux-headers-amd64)
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The archive may not carry headers for this kernel (custom or newer kernels):
# point BCC at the distribution's default headers. Struct layouts never come
# from these headers (bccnet reads them from BTF), only macros and types.
if [ ! -e "/lib/modules/$kver/build" ]; then
  arch_dir=$(ls -d /usr/src/linux-headers-*-amd64 /usr/src/linux-headers-*-arm64 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$arch_dir" ] || { echo "install-deps.sh: no kernel headers found under /usr/src" >&2; exit 1; }
  common_dir=${arch_dir%-*}-common
  [ -d "$common_dir" ] || common_dir=$arch_dir
  mkdir -p "/lib/modules/$kver"
  ln -sfn "$arch_dir" "/lib/modules/$kver/build"
  [ -e "/lib/modules/$kver/source" ] || ln -sfn "$common_dir" "/lib/modules/$kver/source"
  echo "install-deps.sh: using $arch_dir for kernel $kver headers"
fi

if ! mountpoint -q /sys/kernel/tracing 2>/dev/null; then
  mount -t tracefs nodev /sys/kernel/tracing
fi
# Drivers the tests and the demo use; built in on some kernels, modules on others.
for m in tun veth; do modprobe -q "$m" 2>/dev/null || true; done
[ -e /sys/kernel/btf/vmlinux ] || echo "install-deps.sh: warning: /sys/kernel/btf/vmlinux missing; bccnet needs a kernel with BTF" >&2
exit 0
