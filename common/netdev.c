#include "netdev.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parse.h"

int netdev_exists(const char *name) { return if_nametoindex(name) != 0; }

static int ethtool_ioctl(const char *name, void *cmd)
{
	struct ifreq ifr;
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_data = cmd;
	if (ioctl(fd, SIOCETHTOOL, &ifr) < 0)
		err = -errno;
	close(fd);
	return err;
}

int netdev_driver(const char *name, char *driver, size_t len)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	int err = ethtool_ioctl(name, &info);

	if (err)
		return err;
	snprintf(driver, len, "%s", info.driver);
	return 0;
}

int netdev_queue_counts(const char *name, unsigned *tx, unsigned *rx)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	int err = ethtool_ioctl(name, &ch);

	if (err)
		return err;
	*tx = ch.tx_count + ch.combined_count;
	*rx = ch.rx_count + ch.combined_count;
	return 0;
}

uint32_t netns_inode_self(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (uint32_t)st.st_ino : 0;
}

/* sysfs shows the namespace that mounted it: trust it only if the device there is ours. */
static int sysfs_queue_counts(const char *name, unsigned *tx, unsigned *rx)
{
	char path[128], line[32];
	struct dirent *de;
	unsigned ntx = 0, nrx = 0;
	FILE *f;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f) || strtoul(line, NULL, 10) != if_nametoindex(name)) {
		fclose(f);
		return -ENODEV;
	}
	fclose(f);
	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", name);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		ntx += strncmp(de->d_name, "tx-", 3) == 0;
		nrx += strncmp(de->d_name, "rx-", 3) == 0;
	}
	closedir(d);
	*tx = ntx;
	*rx = nrx;
	return 0;
}

int netdev_real_queue_counts(const char *name, unsigned *tx, unsigned *rx)
{
	if (sysfs_queue_counts(name, tx, rx) == 0)
		return 0;
	return netdev_queue_counts(name, tx, rx);
}

/* The namespace file an argument names: pid:PID, a path, or a name in /run/netns. */
static int netns_file(const char *arg, char *path, size_t pathlen)
{
	uint32_t pid;

	if (strncmp(arg, "pid:", 4) == 0) {
		if (parse_pid(arg + 4, &pid))
			return -EINVAL;
		snprintf(path, pathlen, "/proc/%u/ns/net", pid);
		if (access(path, F_OK) == 0)
			return 0;
		return errno == ENOENT ? -ESRCH : -errno;
	}
	if (arg[0] == '\0' || strcmp(arg, ".") == 0 || strcmp(arg, "..") == 0)
		return -EINVAL;
	if (strchr(arg, '/'))
		snprintf(path, pathlen, "%s", arg);
	else
		snprintf(path, pathlen, "/run/netns/%s", arg);
	return access(path, F_OK) == 0 ? 0 : -ENOENT;
}

int netns_resolve(const char *arg, char *path, size_t pathlen, uint32_t *ino)
{
	struct stat st;
	int fd, rc = netns_file(arg, path, pathlen);

	if (rc)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Only a namespace file answers NS_GET_NSTYPE; it must be a network one. */
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET || fstat(fd, &st))
		rc = -EINVAL;
	close(fd);
	if (!rc)
		*ino = (uint32_t)st.st_ino;
	return rc;
}

const char *netns_resolve_error(int rc)
{
	switch (rc) {
	case -ENOENT: return "no such namespace";
	case -ESRCH: return "no such process";
	case -EINVAL: return "not a network namespace";
	default: return strerror(-rc);
	}
}
