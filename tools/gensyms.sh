#!/bin/sh
# Turn `nm -n` output (file or "-" for stdin; /dev/null for none) into an assembly
# file holding the kernel's text symbols for backtraces: a count, then
# (address, name pointer) pairs sorted by address, then the names.
set -eu
in=${1:--}
[ "$in" = "-" ] && in=/dev/stdin
awk '
$2 ~ /^[tT]$/ && $3 !~ /^\./ { addr[n] = $1; name[n] = $3; n++ }
END {
	print "\t.section .ksyms, \"a\""
	print "\t.balign 8"
	printf "\t.quad %d\n", n
	for (i = 0; i < n; i++)
		printf "\t.quad 0x%s, .Lksym%d\n", addr[i], i
	for (i = 0; i < n; i++)
		printf ".Lksym%d:\t.asciz \"%s\"\n", i, name[i]
}' "$in"
