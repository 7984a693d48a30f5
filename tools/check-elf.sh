#!/bin/sh
# The symbol table embedded by the second link pass describes the first
# pass's code: the text section must not have moved between the two.
set -eu
final=$1 pass1=$2
nm=${NM:-nm}
a=$($nm -n "$final" | awk '$2 ~ /^[tT]$/' | md5sum)
b=$($nm -n "$pass1" | awk '$2 ~ /^[tT]$/' | md5sum)
if [ "$a" != "$b" ]; then
	echo "check-elf: text symbols moved between link passes; backtraces would be wrong" >&2
	exit 1
fi
# The multiboot2 header must sit in the first 32 KiB, 8-byte aligned.
off=$(od -A d -t x4 -N 32768 -v "$final" | awk '{ for (i = 2; i <= NF; i++) if ($i == "e85250d6") { print $1 + (i - 2) * 4; exit } }')
if [ -z "$off" ] || [ $((off % 8)) -ne 0 ]; then
	echo "check-elf: no 8-byte-aligned multiboot2 header in the first 32 KiB of $final" >&2
	exit 1
fi
