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
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
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

static int lookup_here(struct netdev_info *d)
{
	if (d->ifindex) {
		if (!if_indextoname(d->ifindex, d->name))
			return -ENODEV;
	} else if (!(d->ifindex = if_nametoindex(d->name))) {
		return -ENODEV;
	}
	if (netdev_driver(d->name, d->driver, sizeof(d->driver)))
		d->driver[0] = '\0';
	if (netdev_real_queue_counts(d->name, &d->tx, &d->rx))
		d->tx = d->rx = 0;
	return 0;
}

/* In the child: enter the network namespace and give it its own sysfs in a private mount
 * namespace (as `ip netns exec` does); without that sysfs, ethtool's counts serve. */
static int enter_netns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (setns(fd, CLONE_NEWNET)) {
		close(fd);
		return -errno;
	}
	close(fd);
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) == 0) {
		umount2("/sys", MNT_DETACH);
		mount("sysfs", "/sys", "sysfs", 0, NULL);
	}
	return 0;
}

struct lookup_reply {
	int rc;
	struct netdev_info info;
};

static _Noreturn void lookup_child(const char *path, const struct netdev_info *info, int out)
{
	struct lookup_reply r = { .info = *info };

	r.rc = enter_netns(path);
	if (!r.rc)
		r.rc = lookup_here(&r.info);
	_exit(write(out, &r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
}

static int lookup_in_child(const char *path, struct netdev_info *info)
{
	struct lookup_reply r;
	ssize_t n;
	pid_t pid;
	int p[2];

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		n = -errno;
		close(p[0]);
		close(p[1]);
		return (int)n;
	}
	if (pid == 0)
		lookup_child(path, info, p[1]);
	close(p[1]);
	do
		n = read(p[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	close(p[0]);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r))
		return -EIO;
	*info = r.info;
	return r.rc;
}

int netdev_lookup(const char *netns_path, struct netdev_info *info)
{
	if (!netns_path || !netns_path[0])
		return lookup_here(info);
	return lookup_in_child(netns_path, info);
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
