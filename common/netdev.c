#include "netdev.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

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
