/* Error numbers used by the vmkernel; values match Linux so host tests agree. */
#ifndef LIBC_ERRNO_H
#define LIBC_ERRNO_H

#define EPERM 1
#define ENOENT 2
#define EIO 5
#define E2BIG 7
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EEXIST 17
#define ENODEV 19
#define EINVAL 22
#define ENOSPC 28
#define EROFS 30
#define ERANGE 34
#define EDEADLK 35
#define EPROTO 71
#define EMSGSIZE 90
#define ETIMEDOUT 110
#define EINPROGRESS 115
#define EDQUOT 122
#define ENOTSUP 95

#endif
