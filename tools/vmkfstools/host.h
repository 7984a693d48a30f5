/* Host-side pieces of vmkfstools and the fs tests: a file/block-device blockdev and a
 * vmfs_env backed by libc. */
#ifndef VMKFSTOOLS_HOST_H
#define VMKFSTOOLS_HOST_H

#include <fs/vmfs.h>

struct filedev {
	struct blockdev dev;
	int fd;
	bool direct;		/* opened with O_DIRECT */
	void *bounce;		/* aligned buffer for O_DIRECT */
	char path[256];
	/* write deadline (fencing): see host.c */
	uint64_t deadline;	/* monotonic ns, 0 = none (atomic) */
	int inflight;		/* writes in progress (atomic) */
	int wd_started, wd_stop;
	unsigned long wd_thread;
	/* device requests so far, heartbeat thread included (atomic): bench figures */
	unsigned long nreads, nwrites, nflushes;
};

#define FILEDEV_RDONLY		0x1
#define FILEDEV_BUFFERED	0x2	/* allow buffered I/O where O_DIRECT is refused */

/* Open path (image file or block device); create_size > 0 creates/grows a file. */
int filedev_open(struct filedev *fdv, const char *path, uint64_t create_size, unsigned how,
		 char *err, size_t errlen);
void filedev_close(struct filedev *fdv);
/* libc environment, identity from $VMFS_HOST_ID or machine-id, a random nonce. */
int host_env(struct vmfs_env *env);

/* A thread renewing a mounted volume's heartbeat every vmfs_renew_interval_ms(). */
struct host_renewer {
	struct vmfs_volume *vol;
	unsigned long thread;	/* pthread_t */
	volatile int stop;
	volatile int lost;	/* set once the lease is lost */
	bool running;
};

int host_renewer_start(struct host_renewer *r, struct vmfs_volume *vol);
void host_renewer_stop(struct host_renewer *r);

#endif
