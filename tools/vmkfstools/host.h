/* Host-side pieces of vmkfstools and the fs tests: a file/block-device blockdev and a
 * vmfs_env backed by libc. */
#ifndef VMKFSTOOLS_HOST_H
#define VMKFSTOOLS_HOST_H

#include <vmfs.h>

struct filedev {
	struct blockdev dev;
	int fd;
	bool direct;		/* opened with O_DIRECT */
	void *bounce;		/* aligned buffer for O_DIRECT */
};

/* Open path (image file or block device); create_size > 0 creates/grows a file. */
int filedev_open(struct filedev *fdv, const char *path, uint64_t create_size, bool rdonly,
		 char *err, size_t errlen);
void filedev_close(struct filedev *fdv);
void host_env(struct vmfs_env *env);

#endif
