#!/bin/sh
# deps.sh build|test|run: install the Debian packages that group needs, if any
# are missing (as root, or through sudo without a password), or print the
# exact command to run and fail.
set -eu
build="gcc make binutils gzip grub-common grub-pc-bin grub-efi-amd64-bin xorriso mtools console-setup-linux"
emu="qemu-system-x86 qemu-utils ovmf ipxe-qemu seabios bochs bochsbios vgabios"
case "${1:-build}" in
build) want=$build ;;
test) want="$build $emu libcmocka-dev clang libclang-rt-14-dev cpio xz-utils e2fsprogs" ;;
run) want="$build $emu" ;;
*) echo "deps.sh: unknown group '$1' (build, test, run)" >&2; exit 2 ;;
esac
missing=
for p in $want; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -eq 0 ]; then
	sudo=
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	sudo="sudo -n"
else
	echo "Missing Debian packages:$missing" >&2
	echo "Install them with:  sudo apt-get update && sudo $cmd" >&2
	exit 1
fi
echo "Installing missing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
if ! $sudo $cmd >/tmp/vmkernel-apt.log 2>&1; then
	$sudo apt-get update >/tmp/vmkernel-apt.log 2>&1 || true
	$sudo $cmd >>/tmp/vmkernel-apt.log 2>&1 || {
		tail -20 /tmp/vmkernel-apt.log >&2
		echo "deps.sh: '$cmd' failed (log above)" >&2
		exit 1
	}
fi
