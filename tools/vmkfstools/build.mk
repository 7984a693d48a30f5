# vmkfstools: host tool built from the same fs/ sources as the vmkernel.
# The top Makefile includes this file; it defines build/vmkfstools and VMFS_SRCS.
VMFS_SRCS := $(wildcard fs/*.c)
VMKFSTOOLS_SRCS := $(wildcard tools/vmkfstools/*.c) $(VMFS_SRCS)
VMKFSTOOLS_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -Iinclude

build/vmkfstools: $(VMKFSTOOLS_SRCS) $(wildcard include/fs/*.h include/drivers/blockdev.h fs/*.h tools/vmkfstools/*.h)
	@mkdir -p build
	$(HOSTCC) $(VMKFSTOOLS_CFLAGS) $(VMKFSTOOLS_SRCS) -o $@

# libFuzzer target (clang); tests/fs/run.sh builds and runs it.
build/fuzz_mount: tests/fs/fuzz_mount.c tests/fs/memdev.c $(VMFS_SRCS)
	@mkdir -p build
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude $^ -o $@

vmkfstools: build/vmkfstools
fs-check: build/vmkfstools build/fuzz_mount
	sh tests/fs/run.sh

.PHONY: vmkfstools fs-check
