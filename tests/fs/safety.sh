# The corruption cases of shared volumes, each as a multi-process test that
# must end with every acknowledged operation present and a clean fsck.
# Sourced by tests/fs/run.sh (uses the helpers of lib.sh: check, mh_volume,
# wait_file, $tool $host $shim $work).
#   1. several hosts with one identity (cloned machines, two commands at once)
#   2. a write held up in the storage path landing after the lock was broken
#   3. fsck --repair attempted while hosts have the volume mounted
#   4. two hosts growing one multi-writer thin disk
#   5. a torn 4 KiB sector over the Disk Paxos blocks; -C over a live volume;
#      a filesystem without direct I/O

sf=$work/safety
mkdir -p "$sf"

# --- 1. one identity, many hosts: six "cloned machines" at once, and two
#        vmkfstools commands of one machine (a copy must survive a mkdir)
if mh_volume "$sf/id"; then
	pids=
	for i in 1 2 3 4 5 6; do
		"$host" worker "$sf/id" clone w$i "$sf/idlog$i" 25 $((i + 70)) "$sf/idstop" \
			2> "$sf/iderr$i" &
		pids="$pids $!"
	done
	st=0
	for p in $pids; do wait "$p" || st=1; done
	check same-identity-hosts-exit test "$st" -eq 0
	check same-identity-acknowledged-ops "$host" check "$sf/id" "$sf"/idlog1 "$sf"/idlog2 \
		"$sf"/idlog3 "$sf"/idlog4 "$sf"/idlog5 "$sf"/idlog6
	check same-identity-fsck "$tool" "$sf/id" fsck
	head -c 48000000 /dev/urandom > "$sf/big.bin"
	VMFS_HOST_ID=samebox "$tool" "$sf/id" cp-in "$sf/big.bin" /big.bin > "$sf/cpin.out" 2>&1 &
	cpp=$!
	sleep 0.2
	for i in 1 2 3; do VMFS_HOST_ID=samebox "$tool" "$sf/id" mkdir /m$i > /dev/null 2>&1; done
	wait "$cpp"
	check "same-identity-copy-survives-second-command ($(tail -1 "$sf/cpin.out"))" \
		test $? -eq 0
	check same-identity-copy-intact sh -c "'$tool' '$sf/id' cat /big.bin | cmp - '$sf/big.bin'"
	rm -f "$sf/big.bin"
else
	fail same-identity-setup "cannot create the volume"
fi

# --- 2. a delayed write: the holder's storage path stalls (every pwrite held
#        4 s); another host breaks the lock after the lease and writes; the held
#        write must never land over it. Data block, then a small inline file
#        (journaled), whose late journal write must not be replayed by recover.
delayed_write() {	# delayed_write NAME SIZE
	img=$sf/dw$1
	mh_volume "$img" || { fail "delayed-write-$1-setup" "cannot create the volume"; return; }
	head -c "$2" /dev/zero > "$sf/zero"
	"$tool" "$img" cp-in "$sf/zero" /f > /dev/null
	rm -f "$sf/ready$1" "$sf/trig$1"
	LD_PRELOAD=$shim VMFS_SHIM_TRIGGER=$sf/trig$1 VMFS_SHIM_DELAY_MS=4000 \
		"$host" hold "$img" holderA /f "$sf/ready$1" "$2" > "$sf/hold$1.out" 2> "$sf/hold$1.err" &
	hp=$!
	wait_file "$sf/ready$1"
	sleep 0.2
	touch "$sf/trig$1"
	"$host" put "$img" hostB /f "B-DATA-FROM-SECOND-HOST" > "$sf/put$1.out" 2>&1
	check "delayed-write-$1-second-host-writes ($(cat "$sf/put$1.out"))" test $? -eq 0
	wait "$hp"
	st=$?
	check "delayed-write-$1-holder-fenced (exit $st)" grep -q "stopping the process" \
		"$sf/hold$1.err"
	sleep 4.5	# anything the stalled path still held would have landed by now
	"$tool" "$img" recover > /dev/null 2>&1
	check "delayed-write-$1-second-data-survives" sh -c \
		"'$tool' '$img' cat /f | head -c 23 | grep -q '^B-DATA-FROM-SECOND-HOST'"
	check "delayed-write-$1-fsck" "$tool" "$img" fsck
}
delayed_write data 131072
delayed_write inline 6

# --- 3. fsck --repair while hosts work: refused, nothing changed
if mh_volume "$sf/rp"; then
	rm -f "$sf/rpstop"
	pids=
	for i in 1 2 3; do
		"$host" worker "$sf/rp" rp$i r$i "$sf/rplog$i" 100000 $((i + 90)) "$sf/rpstop" \
			2> "$sf/rperr$i" &
		pids="$pids $!"
	done
	sleep 0.5
	"$tool" "$sf/rp" fsck --repair > "$sf/repair.out" 2>&1
	st=$?
	touch "$sf/rpstop"
	check "online-repair-refused (exit $st)" sh -c "test $st -eq 1 && grep -q 'in use by another host' '$sf/repair.out'"
	st=0
	for p in $pids; do wait "$p" || st=1; done
	check online-repair-hosts-ok test "$st" -eq 0
	check online-repair-acknowledged-ops "$host" check "$sf/rp" "$sf"/rplog1 "$sf"/rplog2 \
		"$sf"/rplog3
	check online-repair-fsck "$tool" "$sf/rp" fsck
	check offline-repair-runs "$tool" "$sf/rp" fsck --repair
fi

# --- 4. two hosts fill holes of one thin multi-writer disk at once
if mh_volume "$sf/mw"; then
	"$tool" -c 512m -d thin "$sf/mw" /mw.vmdk > /dev/null
	"$host" mwrite "$sf/mw" mwA /mw-flat.vmdk 48 0 > "$sf/mw0.out" 2>&1 &
	p0=$!
	"$host" mwrite "$sf/mw" mwB /mw-flat.vmdk 48 1 > "$sf/mw1.out" 2>&1 &
	p1=$!
	st=0
	wait "$p0" || st=1
	wait "$p1" || st=1
	check multiwriter-hosts-exit test "$st" -eq 0
	check multiwriter-acknowledged-writes "$host" mverify "$sf/mw" /mw-flat.vmdk 48 2
	check multiwriter-fsck "$tool" "$sf/mw" fsck
fi

# --- 5a. a torn 4 KiB physical sector over the Disk Paxos blocks (8 hosts'
#         blocks on a 512e disk) while four hosts take turns on one lock
if mh_volume "$sf/tp"; then
	head -c 8 /dev/zero > "$sf/zero8"
	"$tool" "$sf/tp" cp-in "$sf/zero8" /counter
	pids=
	# each host gives every lock back after its turn (remount), so every turn
	# is a take from free through a Disk Paxos round
	for i in 1 2 3 4; do
		"$host" mutex "$sf/tp" tp$i 30 remount > "$sf/tp$i.out" 2>&1 &
		pids="$pids $!"
	done
	(	# arbitration blocks: 64 KiB + 8 slots * 512 = byte 69632 = 4 KiB sector 17
		while [ ! -e "$sf/tpdone" ]; do
			sleep 0.03
			dd if=/dev/urandom of="$sf/tp" bs=4096 seek=17 count=1 conv=notrunc \
				oflag=direct 2> /dev/null
		done
	) &
	tearer=$!
	st=0
	for p in $pids; do wait "$p" || st=1; done
	touch "$sf/tpdone"
	wait "$tearer"
	check torn-paxos-hosts-exit test "$st" -eq 0
	"$tool" "$sf/tp" cp-out /counter "$sf/counter" > /dev/null 2>&1
	n=$(od -An -tu8 "$sf/counter" 2> /dev/null | tr -d ' ')
	check "torn-paxos-no-lost-update (counter $n of 120)" test "$n" = 120
	"$tool" "$sf/tp" mkdir /healed > /dev/null 2>&1	# any host heals what it can read
	check torn-paxos-fsck "$tool" "$sf/tp" fsck
fi

# --- 5b. -C over a volume a host has mounted: refused; after the host died a
#         lease passes and it goes ahead
if mh_volume "$sf/mk"; then
	rm -f "$sf/mkready"
	"$host" hold "$sf/mk" holderC /h "$sf/mkready" > /dev/null 2>&1 &
	hp=$!
	wait_file "$sf/mkready"
	"$tool" -C vmfs6 -S again "$sf/mk" > "$sf/mk.out" 2>&1
	st=$?
	check "format-live-volume-refused (exit $st)" sh -c "test $st -eq 1 && grep -q 'in use' '$sf/mk.out'"
	check format-live-volume-intact "$tool" "$sf/mk" stat /h
	check lockinfo-names-identity sh -c "'$tool' -D '$sf/mk' | grep -q \"live, host 'holderC'\""
	kill -9 "$hp"
	wait "$hp" 2> /dev/null
	check format-after-host-died "$tool" -C vmfs6 -S again "$sf/mk"
	check format-forced "$tool" -C vmfs6 -S again --force "$sf/mk"
fi

# --- 5c. no silent buffered I/O on a filesystem without direct I/O (the shim
#         makes O_DIRECT fail as such a filesystem does)
nd=$sf/nodirect.img
LD_PRELOAD=$shim VMFS_SHIM_NO_DIRECT=1 "$tool" -C vmfs6 --image-size 64m --max-hosts 4 "$nd" \
	> "$sf/nd.out" 2>&1
st=$?
check "no-direct-io-refused (exit $st)" sh -c "test $st -eq 1 && grep -q 'direct I/O' '$sf/nd.out'"
check buffered-io-on-request env LD_PRELOAD="$shim" VMFS_SHIM_NO_DIRECT=1 "$tool" -C vmfs6 \
	--image-size 64m --max-hosts 4 --buffered-io "$nd"
