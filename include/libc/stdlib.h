/* The vmkernel has no <stdlib.h>: use include/mem.h (heap) and include/cmdline.h. */
#ifndef LIBC_STDLIB_H
#define LIBC_STDLIB_H
#error "<stdlib.h> is not available in the vmkernel"
#endif
