#!/bin/sh
# PID 1 of a scripts/vmtest.sh guest: the root filesystem is the host's, read
# only over 9p. Mounts what the tools and tests need (every writable place is
# a tmpfs of the guest's own), runs the job's command in the job's directory
# with its output on the second serial port, prints the status on the
# console (the first one) and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8 TERM=dumb
# The tools' compiled-program cache in the guest's own tmpfs, used by the
# tests too (test_helper.bash): each program is compiled once per boot, which
# under TCG saves several seconds per tool start.
export BCCNET_CACHE_DIR=/tmp/bccnet-cache BCCNET_TEST_CACHE_DIR=/tmp/bccnet-cache
# Under TCG on a busy machine a tool may take minutes to compile and attach:
# the tests' bound on a tool's start (test_helper.bash) is wider here.
export TOOL_WAIT_S=${TOOL_WAIT_S:-300}

mnt() { # TYPE DIR [OPTIONS]
  mountpoint -q "$2" && return 0
  mount -t "$1" ${3:+-o "$3"} "$1" "$2"
}

mnt proc /proc
mnt sysfs /sys
mnt devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mnt devpts /dev/pts
mnt tmpfs /dev/shm
mnt tracefs /sys/kernel/tracing
mnt debugfs /sys/kernel/debug
mnt bpf /sys/fs/bpf
mnt cgroup2 /sys/fs/cgroup # as systemd mounts it: tcp_bytes --cgroupmap tests need it
# The checkout may live where the guest puts a tmpfs (a CI clone under /tmp or
# /root): hold it aside and bind it back at its own path afterwards.
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p /dev/bccnet-src
mount --bind "$root" /dev/bccnet-src
for d in /tmp /run /root /var/tmp; do mnt tmpfs "$d" mode=1777; done
if [ ! -e "$root/scripts/vmtest-init.sh" ]; then
  mkdir -p "$root"
  mount --bind /dev/bccnet-src "$root"
fi
mkdir -p -m 0700 /tmp/bccnet-cache
chmod 0700 /root
ln -sfn /proc/self/fd /dev/fd
ln -sfn /proc/self/fd/0 /dev/stdin
ln -sfn /proc/self/fd/1 /dev/stdout
ln -sfn /proc/self/fd/2 /dev/stderr
mkdir -p /run/netns /run/lock
hostname vmtest 2>/dev/null
ip link set lo up
for m in tun veth; do modprobe -q "$m"; done
ulimit -l unlimited

job=$(sed -n 's/.*bccnet_job=\([^ ]*\).*/\1/p' /proc/cmdline)
out=/dev/ttyS1
stty -F "$out" raw -echo 2>/dev/null
echo "vmtest: kernel $(uname -r), job $job" >/dev/ttyS0
if cd "$(cat "$job/cwd")"; then
  bash -c "$(cat "$job/cmd")" </dev/null >"$out" 2>&1
  status=$?
else
  status=126
fi
echo "BCCNET_VMTEST_STATUS=$status" >/dev/ttyS0
sync
echo o >/proc/sysrq-trigger
sleep 10
