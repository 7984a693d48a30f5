# Common setup of the filesystem test scripts (run.sh, soak.sh): sourced.
# Sets $top $build $tool $host $shim $work $srcs, builds the host tool, the
# multi-host test program and the storage-path shim when their sources are
# newer, and defines pass/fail/check, mh_volume and wait_file.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$top/build}
tool=$build/vmkfstools
host=$build/vmfs_host
shim=$build/vmfs_delay_shim.so
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0

pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
# check NAME CMD...: run CMD (output to $work/out), pass if it exits 0
check() {
	name=$1; shift
	if "$@" > "$work/out" 2>&1; then pass "$name"
	else fail "$name" "$(tail -3 "$work/out" | tr '\n' ' ')"; fi
}

stale() {	# stale FILE DIR...: FILE missing or older than a source under DIR
	f=$1; shift
	[ ! -e "$f" ] || [ -n "$(find "$@" -newer "$f" -name '*.[ch]' 2>/dev/null)" ]
}

mkdir -p "$build"
srcs=$(ls "$top"/fs/*.c)
if stale "$tool" "$top/fs" "$top/include" "$top/tools/vmkfstools"; then
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -I"$top/include" "$top"/tools/vmkfstools/*.c $srcs -o "$tool" 2> "$work/cc" ||
		{ fail build "$(head -5 "$work/cc" | tr '\n' ' ')"; echo "fs: $passed passed, $failed failed"; exit 1; }
fi
if stale "$host" "$top/fs" "$top/include" "$top/tools/vmkfstools" "$top/tests/fs"; then
	gcc -std=gnu11 -O2 -Wall -Wextra -Werror -I"$top/include" -I"$top/tools/vmkfstools" \
		"$top/tests/fs/vmfs_host.c" "$top/tools/vmkfstools/host.c" $srcs -o "$host" \
		2> "$work/cc" || fail build-vmfs_host "$(head -5 "$work/cc" | tr '\n' ' ')"
fi
if [ ! -f "$shim" ] || [ "$top/tests/fs/delay_shim.c" -nt "$shim" ]; then
	gcc -shared -fPIC -O2 -Wall -Wextra -Werror "$top/tests/fs/delay_shim.c" -ldl \
		-o "$shim" 2> "$work/cc" || fail build-delay-shim "$(head -3 "$work/cc" | tr '\n' ' ')"
fi

mh_volume() {	# mh_volume IMG [HOSTS]: fresh 256 MiB volume, 8 hosts, 1 s lease, /d0 /d1 /d2
	rm -f "$1"
	"$tool" -C vmfs6 -S multi --image-size 256m --max-hosts "${2:-8}" --lease-timeout 1 "$1" \
		> /dev/null && "$tool" "$1" mkdir /d0 && "$tool" "$1" mkdir /d1 &&
		"$tool" "$1" mkdir /d2
}

wait_file() {	# wait_file PATH: up to 10 s
	for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done
	return 1
}
