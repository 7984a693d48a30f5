#!/bin/sh
# check-layers.sh: reject #include lines that cross layers the wrong way.
#
# Layers, lowest first, and what each may include (besides the C library
# headers and its own private headers):
#   boot/, vmkernel/   <vmkernel/...>                 the microkernel's services
#   drivers/           + <drivers/...>                native drivers on those services
#   fs/                <fs/...> and <drivers/blockdev.h> only: the filesystem is
#                      portable (built into host tools too) and reaches storage
#                      only through the block interface
#   fs/kernel/, fs/*_ktest.c  + <vmkernel/...>, <drivers/...>: fs bound to the vmkernel
#   vmm/               + <vmm/...>, <fs/...>          the monitor uses everything below
# A header in include/LAYER/ follows the rules of LAYER. A quoted include may
# not climb out of its own top-level folder ("../../vmm/x.h" from fs/).
# Prints one line per violation and "layers: N files, M violations".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
allowed() {	# allowed FILE -> the include prefixes FILE may use
	case $1 in
	boot/* | vmkernel/* | include/vmkernel/*) echo "vmkernel/" ;;
	drivers/* | include/drivers/*) echo "vmkernel/ drivers/" ;;
	fs/kernel/* | fs/*_ktest.c | include/fs/kernel/*) echo "vmkernel/ drivers/ fs/" ;;
	fs/* | include/fs/*) echo "fs/ drivers/blockdev.h" ;;
	vmm/* | include/vmm/*) echo "vmkernel/ drivers/ fs/ vmm/" ;;
	*) echo "" ;;
	esac
}
files=$(git ls-files 'boot/*' 'vmkernel/*' 'drivers/*' 'fs/*' 'vmm/*' 'include/vmkernel/*' \
	'include/drivers/*' 'include/fs/*' 'include/vmm/*' 2>/dev/null | grep -E '\.(c|h|S)$')
nf=0 bad=0
for f in $files; do
	[ -f "$f" ] || continue
	nf=$((nf + 1))
	ok=$(allowed "$f")
	topdir=${f%%/*}
	# <layer/header.h> includes
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<\([^>]*\/[^>]*\)>.*/\1/p' "$f"); do
		case $inc in
		asm-offsets.h) continue ;;
		esac
		layer=${inc%%/*}
		case $layer in
		vmkernel | drivers | fs | vmm) ;;
		*) continue ;;	# C library (sys/..., linux/...) and generated headers
		esac
		hit=
		for p in $ok; do
			case $inc in
			"$p"*) hit=1 ;;
			esac
		done
		if [ -z "$hit" ]; then
			echo "layers: $f includes <$inc>: $topdir/ may include only: $ok"
			bad=$((bad + 1))
		fi
	done
	# "relative" includes that climb into another top-level folder
	for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
		case $inc in
		*../*) ;;
		*) continue ;;
		esac
		dir=$(dirname "$f")
		target=$(cd "$dir" 2>/dev/null && realpath -m --relative-to="$top" "$inc")
		case $target in
		"$topdir"/*) ;;
		*) echo "layers: $f includes \"$inc\" ($target), outside $topdir/"
		   bad=$((bad + 1)) ;;
		esac
	done
done
echo "layers: $nf files, $bad violations"
[ "$bad" -eq 0 ]
