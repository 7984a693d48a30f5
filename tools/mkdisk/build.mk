# mkdisk: GPT disk images for storage tests and servers (tools/mkdisk/mkdisk.c).
build/mkdisk: tools/mkdisk/mkdisk.c drivers/block/gpt.c include/drivers/gpt.h
	@mkdir -p build
	$(HOSTCC) -std=gnu11 -O2 -Wall -Wextra -Werror -Iinclude tools/mkdisk/mkdisk.c \
		drivers/block/gpt.c -o $@

mkdisk: build/mkdisk
.PHONY: mkdisk
