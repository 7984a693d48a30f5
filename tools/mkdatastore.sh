#!/bin/sh
# mkdatastore.sh DISK SIZE LABEL [BLOCK_SIZE] [EXTRA_MB]
# A disk image holding a datastore as a server's disk would: a GPT whose
# partition 1 is a VMFS volume labelled LABEL (made by vmkfstools) and,
# when EXTRA_MB is given, a Linux partition of that size after it (VMFS
# next to other partitions). BLOCK_SIZE 512 (default) or 4096 (4Kn).
# Environment: LEASE_S sets the volume's heartbeat lease (VMFS's default
# otherwise); MAX_HOSTS its heartbeat slots (default 8); MKDIRS directories
# to make on the volume (space-separated paths, e.g. "/swap").
set -eu
disk=$1 size=$2 label=$3 bs=${4:-512} extra=${5:-}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mb=$(($(echo "$size" | sed 's/[mM]$//')))
# GPT and 1 MiB alignment take 2 MiB; the rest is VMFS (and the extra partition).
vmfs_mb=$((mb - 2 - ${extra:-0}))
"$top/build/vmkfstools" -C vmfs6 -S "$label" --image-size "${vmfs_mb}m" \
	--max-hosts "${MAX_HOSTS:-8}" ${LEASE_S:+--lease-timeout "$LEASE_S"} "$tmp/vol.img" >/dev/null
for d in ${MKDIRS:-}; do
	"$top/build/vmkfstools" "$tmp/vol.img" mkdir "$d"
done
if [ -n "$extra" ]; then
	"$top/build/mkdisk" create "$disk" "${mb}m" -b "$bs" \
		"$label:vmfs:${vmfs_mb}m:$tmp/vol.img" "scratch:linux:${extra}m"
else
	"$top/build/mkdisk" create "$disk" "${mb}m" -b "$bs" "$label:vmfs:${vmfs_mb}m:$tmp/vol.img"
fi
