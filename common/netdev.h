/* Network devices of the caller's network namespace (ioctl, not sysfs:
 * /sys/class/net shows the namespace that mounted sysfs, not ours). */
#ifndef BCCNET_NETDEV_H
#define BCCNET_NETDEV_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

/* 1 if the device exists, 0 if not. */
int netdev_exists(const char *name);
/* The driver name ethtool reports ("tun", "veth", ...); 0 or -errno. */
int netdev_driver(const char *name, char *driver, size_t len);
/* Number of TX and RX queues (real_num_*); 0 or -errno. */
int netdev_queue_counts(const char *name, unsigned *tx, unsigned *rx);
/* The queues the kernel has in use (real_num_tx/rx_queues): the tx-N / rx-N entries of
 * /sys/class/net/<name>/queues when that sysfs is our namespace's (its ifindex matches), else
 * the ethtool channel counts; 0 or -errno. */
int netdev_real_queue_counts(const char *name, unsigned *tx, unsigned *rx);
/* What the tools need to know about one device, in one network namespace. */
struct netdev_info {
	char name[IF_NAMESIZE]; /* in: the name, unless ifindex is given; out */
	unsigned ifindex;       /* in: 0 to look the name up; out */
	unsigned tx, rx;        /* queues in use (real_num_*); 0 when nothing says */
	char driver[32];        /* ethtool's driver name ("tun", "veth"); "" if none */
};
/* Looks the device up in the network namespace file netns_path (NULL or "": ours). Another
 * namespace is entered by a child process that also mounts that namespace's own sysfs, so
 * the queue counts come from its /sys/class/net; the child hands the answer back.
 * 0, -ENODEV (no such device there) or -errno. */
int netdev_lookup(const char *netns_path, struct netdev_info *info);

/* Inode number of the caller's network namespace (what BTF's net->ns.inum holds). */
uint32_t netns_inode_self(void);

/* A --netns argument (a name under /run/netns, a path, or pid:PID) to its namespace file
 * and inode; 0 or -errno (-ENOENT missing, -ESRCH dead PID, -EINVAL not a network
 * namespace or a malformed value). */
int netns_resolve(const char *arg, char *path, size_t pathlen, uint32_t *ino);
const char *netns_resolve_error(int rc);

#endif
