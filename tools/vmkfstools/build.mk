# vmkfstools: host tool built from the same fs/ sources as the vmkernel.
# The top Makefile includes this file; it defines build/vmkfstools and VMFS_SRCS.
VMFS_SRCS := $(wildcard fs/*.c)
VMKFSTOOLS_SRCS := $(wildcard tools/vmkfstools/*.c) $(VMFS_SRCS)
VMKFSTOOLS_CFLAGS := -std=gnu11 -O2 -Wall -Wextra -Werror -Iinclude

build/vmkfstools: $(VMKFSTOOLS_SRCS) $(wildcard include/fs/*.h include/drivers/blockdev.h fs/*.h tools/vmkfstools/*.h)
	@mkdir -p build
	$(HOSTCC) $(VMKFSTOOLS_CFLAGS) $(VMKFSTOOLS_SRCS) -o $@

# libFuzzer target (clang); tests/fs/run.sh builds and runs it. The test
# device and CRC32C are built without coverage instrumentation: neither is
# what is fuzzed, and their loops would cost most of every run.
build/fuzz-nocov/%.o: %.c
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -fsanitize=address,undefined -Iinclude -c $< -o $@
build/fuzz_mount: tests/fs/fuzz_mount.c $(filter-out fs/crc32c.c,$(VMFS_SRCS)) \
		build/fuzz-nocov/fs/crc32c.o build/fuzz-nocov/tests/fs/memdev.o
	clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude $^ -o $@
build/fuzz-nocov/fs/crc32c.o: fs/crc32c_tables.h
build/fuzz-nocov/tests/fs/memdev.o: tests/fs/memdev.h include/fs/vmfs.h

vmkfstools: build/vmkfstools
fs-check: build/vmkfstools build/fuzz_mount
	sh tests/fs/run.sh

.PHONY: vmkfstools fs-check
