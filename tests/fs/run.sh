#!/bin/sh
# End-to-end check of the VMFS host tool, the multi-host tests (multihost.sh:
# concurrent hosts, mutual exclusion, split brain, kill -9 crashes) and a short
# fuzz run. Prints "PASS name" / "FAIL name: why" per check, then
# "fs: N passed, M failed".
#   BUILD=dir (default build), FUZZ_RUNS=n (inputs, default 30000, 0 skips
#   fuzzing), FUZZ_SECONDS=n (at most, default 300), CRASH_ITERS=n (default
#   200), MULTIHOST=0 skips the multi-host tests
fuzz_runs=${FUZZ_RUNS:-30000}
fuzz_secs=${FUZZ_SECONDS:-300}
. "$(dirname "$0")/lib.sh"

img=$work/vol.img
check mkfs "$tool" -C vmfs6 -S e2e --image-size 512m --max-hosts 8 "$img"
check queryfs sh -c "'$tool' -P '$img' | grep -q 'label (if any): e2e'"
check mkdir "$tool" "$img" mkdir /vms
check mkdir-nested "$tool" "$img" mkdir /vms/guest1
head -c 5000000 /dev/urandom > "$work/in.bin"
check copy-in "$tool" "$img" cp-in "$work/in.bin" /vms/guest1/in.bin
check copy-out "$tool" "$img" cp-out /vms/guest1/in.bin "$work/out.bin"
check copy-compare cmp "$work/in.bin" "$work/out.bin"
printf 'displayName = "guest1"\nmemsize = "256"\n' > "$work/g.vmx"
check small-file "$tool" "$img" copy-in "$work/g.vmx" /vms/guest1/guest1.vmx
check small-file-cat sh -c "'$tool' '$img' cat /vms/guest1/guest1.vmx | cmp - '$work/g.vmx'"
check ls sh -c "'$tool' '$img' ls /vms/guest1 | grep -q 'in.bin'"
check create-thin-10g "$tool" -c 10G -d thin "$img" /vms/guest1/disk.vmdk
check thin-is-thin sh -c "'$tool' '$img' stat /vms/guest1/disk-flat.vmdk | grep -q 'allocated 0'"
head -c 300000 /dev/urandom > "$work/p1"
head -c 4096 /dev/urandom > "$work/p2"
head -c 70000 /dev/urandom > "$work/p3"
check write-at-0 "$tool" "$img" write-at /vms/guest1/disk-flat.vmdk 0 "$work/p1"
check write-at-3g "$tool" "$img" write-at /vms/guest1/disk-flat.vmdk 3221225472 "$work/p2"
check write-at-end "$tool" "$img" write-at /vms/guest1/disk-flat.vmdk 10737348240 "$work/p3"
# the expected raw disk, built on the host
truncate -s 10G "$work/expect.raw"
dd if="$work/p1" of="$work/expect.raw" conv=notrunc bs=1 seek=0 status=none 2>/dev/null ||
	dd if="$work/p1" of="$work/expect.raw" conv=notrunc bs=1 seek=0 2>/dev/null
dd if="$work/p2" of="$work/expect.raw" conv=notrunc bs=4096 seek=786432 2>/dev/null
dd if="$work/p3" of="$work/expect.raw" conv=notrunc bs=1 seek=10737348240 2>/dev/null
mkdir "$work/export"
check export-descriptor "$tool" "$img" cp-out /vms/guest1/disk.vmdk "$work/export/disk.vmdk"
check export-flat "$tool" "$img" cp-out /vms/guest1/disk-flat.vmdk "$work/export/disk-flat.vmdk"
if command -v qemu-img > /dev/null; then
	check qemu-img-info sh -c "qemu-img info '$work/export/disk.vmdk' | grep -q 'virtual size: 10 GiB'"
	check qemu-img-convert qemu-img convert -f vmdk "$work/export/disk.vmdk" -O raw "$work/conv.raw"
	check qemu-img-identical qemu-img compare -q -f raw -F raw "$work/conv.raw" "$work/expect.raw"
else
	fail qemu-img "qemu-img not installed (Debian qemu-utils)"
fi
check clone "$tool" -i /vms/guest1/disk.vmdk -d thin "$img" /vms/guest1/clone.vmdk
check clone-data sh -c "'$tool' '$img' cp-out /vms/guest1/clone-flat.vmdk '$work/clone.raw' && qemu-img compare -q -f raw -F raw '$work/clone.raw' '$work/expect.raw'"
check extend "$tool" -X 12G "$img" /vms/guest1/clone.vmdk
check extend-size sh -c "'$tool' '$img' cat /vms/guest1/clone.vmdk | grep -q 'RW 25165824 VMFS'"
check rename-disk "$tool" -E /vms/guest1/clone.vmdk "$img" /vms/c2.vmdk
check eager-disk "$tool" -c 8m -d eagerzeroedthick "$img" /vms/e.vmdk
check delete-disk "$tool" -U "$img" /vms/c2.vmdk
check mv "$tool" "$img" mv /vms/guest1/in.bin /vms/in2.bin
check rm "$tool" "$img" rm /vms/in2.bin
check lockinfo sh -c "'$tool' -D '$img' | grep -q 'Heartbeat region: 8 slots'"
check fsck-clean "$tool" "$img" fsck
"$tool" "$img" rmdir /vms > /dev/null 2>&1
check rmdir-nonempty-fails test $? -eq 1
"$tool" "$img" frobnicate > /dev/null 2>&1
check usage-exit-2 test $? -eq 2
"$tool" "$img" cp-out /nope "$work/x" 2> "$work/err"
check error-names-path-once sh -c "grep -q \"^vmkfstools: '/nope' not found\$\" '$work/err'"
"$tool" "$img" mkdir /vms 2> "$work/err"
check error-exists-path-once sh -c "grep -q \"^vmkfstools: '/vms' already exists\$\" '$work/err'"
check cp-out-stdout sh -c "'$tool' '$img' cp-out /vms/guest1/guest1.vmx - | cmp - '$work/g.vmx'"
check cp-out-dev-null "$tool" "$img" cp-out /vms/guest1/guest1.vmx /dev/null
check cp-out-pipe sh -c "'$tool' '$img' cp-out /vms/guest1/disk.vmdk /dev/stdout | grep -q createType"
"$tool" -c 100g -d eagerzeroedthick "$img" /vms/huge.vmdk > /dev/null 2>&1
check "failed-create-fails (exit $?)" test $? -eq 1
check failed-create-leaves-nothing sh -c "! '$tool' '$img' ls /vms | grep -q huge"
"$tool" -C vmfs6 --max-hosts 12abc "$work/opt.img" > /dev/null 2>&1
check bad-max-hosts-refused test $? -eq 2
"$tool" -C vmfs7 "$work/opt.img" > /dev/null 2>&1
check bad-fs-type-refused test $? -eq 2
"$tool" -c 1m -d fat "$img" /x.vmdk > /dev/null 2>&1
check bad-disk-format-refused test $? -eq 2
"$tool" -C vmfs6 -b 3m "$work/opt.img" > /dev/null 2>&1
check bad-block-size-refused test $? -eq 2
check help-documents sh -c "'$tool' --help > '$work/help' && grep -q write-at '$work/help' && grep -q VMFS_HOST_ID '$work/help' && grep -q 'at least [0-9]* MiB' '$work/help'"
"$tool" -C vmfs6 --image-size 4m "$work/small.img" 2> "$work/err"
check too-small-names-minimum sh -c "grep -q 'need at least [0-9]* MiB' '$work/err'"
head -c 1048576 /dev/zero > "$work/notvmfs.img"
"$tool" -P "$work/notvmfs.img" 2> "$work/err"
check foreign-image sh -c "test $? -eq 1 && grep -q 'no VMFS volume header' '$work/err'"

if [ "${MULTIHOST:-1}" != 0 ]; then
	CRASH_ITERS=${CRASH_ITERS:-200}
	. "$top/tests/fs/multihost.sh"
	. "$top/tests/fs/safety.sh"
fi

# The fuzz target (also built by make: tools/vmkfstools/build.mk), with the
# test device and CRC32C built without coverage instrumentation (neither is
# what is fuzzed; their loops would cost most of every run). It runs a fixed
# number of inputs with the plain power schedule (entropic bookkeeping costs
# a quarter); FUZZ_SECONDS only bounds the time on a very slow machine.
fuzz=$build/fuzz_mount
if [ "$fuzz_runs" -gt 0 ]; then
	if ! command -v clang > /dev/null; then
		fail fuzz "clang not installed"
	elif ! stale "$fuzz" "$top/fs" "$top/include" "$top/tests/fs" || {
		clang -std=gnu11 -g -O1 -fsanitize=address,undefined -I"$top/include" -c \
			"$top/fs/crc32c.c" -o "$work/crc32c.o" 2> "$work/cc" &&
		clang -std=gnu11 -g -O1 -fsanitize=address,undefined -I"$top/include" -c \
			"$top/tests/fs/memdev.c" -o "$work/memdev.o" 2> "$work/cc" &&
		clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -I"$top/include" \
			"$top/tests/fs/fuzz_mount.c" $(echo $srcs | tr ' ' '\n' | grep -v '/crc32c\.c$') \
			"$work/crc32c.o" "$work/memdev.o" -o "$fuzz" 2> "$work/cc"; }; then
		mkdir -p "$work/corpus"
		if "$fuzz" -runs="$fuzz_runs" -max_total_time="$fuzz_secs" -timeout=20 \
			-rss_limit_mb=4096 -entropic=0 "$work/corpus" > "$work/fuzz.log" 2>&1; then
			pass "fuzz-mount ($(grep -o 'Done [0-9]* runs in [0-9]* second' "$work/fuzz.log")s)"
		else
			fail fuzz-mount "$(grep -E 'ERROR|SUMMARY|Sanitizer' "$work/fuzz.log" | head -3 | tr '\n' ' ')"
			cp "$work/fuzz.log" "$build/fuzz_mount.log" 2>/dev/null
		fi
	else
		fail fuzz-build "$(head -3 "$work/cc" | tr '\n' ' ') (need Debian clang with libclang-rt-*-dev)"
	fi
fi
echo "fs: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
