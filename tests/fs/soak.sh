#!/bin/sh
# Soak test of a shared volume (make soak; not part of make check).
#
# Four hosts (identities soak1..soak4, each a supervisor that restarts its
# worker with a new nonce whenever it ends) create+write+fsync, rename and
# delete files in shared directories of a 1 s lease volume, while random
# events hit them, one every 20-300 ms:
#   kill   kill -9 of the host's worker
#   pause  SIGSTOP for 50-2500 ms, then SIGCONT (past the lease: the others
#          break its locks and recover it; when it wakes up it must write
#          nothing more)
#   stall  its storage path holds every write for 100-1500 ms for a while
#          (the LD_PRELOAD shim of the fencing tests); a write held past the
#          lease must die with the process (the write-deadline watchdog)
# Every SOAK_ROUND events the round ends: stop everything, recover, check
# every acknowledged operation of every worker (tests/fs/vmfs_host.c check),
# fsck; the next round starts on a fresh volume.
#   SOAK_EVENTS=n (default 2000), SOAK_ROUND=n (default 100), SOAK_SEED=n,
#   BUILD=dir
. "$(dirname "$0")/lib.sh"
events=${SOAK_EVENTS:-2000}
per=${SOAK_ROUND:-100}
seed=${SOAK_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
sk=$work/soak
mkdir -p "$sk"
echo "soak: $events events, $per per round, 4 hosts, seed $seed"

# rnd N: a pseudo-random number 0 .. N-1 in $r (no subshell, so $seed advances)
rnd() {
	seed=$(( (seed * 1103515245 + 12345) % 2147483648 ))
	r=$(( (seed / 65536) % $1 ))
}

slot() {	# slot K ROUND: keep a worker of identity soakK running until $stop
	seed=$(( seed + $1 * 7919 + $2 ))
	n=0
	while [ ! -e "$stop" ]; do
		n=$((n + 1))
		rnd 1400
		LD_PRELOAD=$shim VMFS_SHIM_TRIGGER=$sk/stall$1 VMFS_SHIM_DELAY_MS=$((r + 100)) \
			"$host" worker "$img" soak$1 "r$2h$1n$n" "$sk/log_$2_$1_$n" 1000000 \
			$((seed % 100000 + n)) "$stop" 2>> "$sk/err_$2_$1" &
		echo $! > "$sk/pid$1"
		wait $!
		echo $? >> "$sk/exits_$2"
	done
}

kills=0 pauses=0 stalls=0 acked=0 i=0 round=0 t0=$(date +%s)
while [ $i -lt "$events" ]; do
	round=$((round + 1))
	img=$sk/img$round stop=$sk/stop$round
	rm -f "$sk"/img* "$sk"/log_* "$sk"/pid* "$sk"/stall* "$sk/done" "$sk/hung"
	if ! mh_volume "$img" 32; then
		fail "round-$round-setup" "cannot create the volume"
		break
	fi
	slots=
	for k in 1 2 3 4; do
		slot $k $round 2> /dev/null &
		slots="$slots $!"
	done
	sleep 0.5
	bg=
	j=0
	while [ $j -lt "$per" ] && [ $i -lt "$events" ]; do
		j=$((j + 1)) i=$((i + 1))
		rnd 280; sleep "0.$(printf '%03d' $((r + 20)))"
		rnd 4; k=$((r + 1))
		p=$(cat "$sk/pid$k" 2> /dev/null) || continue
		rnd 3
		case $r in
		0)	kill -9 "$p" 2> /dev/null; kills=$((kills + 1)) ;;
		1)	rnd 2450; d=$((r + 50))
			( kill -STOP "$p" 2> /dev/null; sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
			  kill -CONT "$p" 2> /dev/null ) &
			bg="$bg $!"; pauses=$((pauses + 1)) ;;
		2)	rnd 1400; d=$((r + 100))
			( touch "$sk/stall$k"; sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
			  rm -f "$sk/stall$k" ) &
			bg="$bg $!"; stalls=$((stalls + 1)) ;;
		esac
	done
	touch "$stop"
	# a host that does not stop within 60 s is a hang: kill it and fail the round
	( n=0; while [ $n -lt 60 ] && [ ! -e "$sk/done" ]; do sleep 1; n=$((n + 1)); done
	  [ -e "$sk/done" ] || { touch "$sk/hung"; for k in 1 2 3 4; do
		kill -CONT "$(cat "$sk/pid$k")"; kill -9 "$(cat "$sk/pid$k")"; done; } 2> /dev/null ) &
	wd=$!
	for p in $bg $slots; do wait "$p"; done
	touch "$sk/done"
	wait "$wd"
	[ -e "$sk/hung" ] && fail "round-$round-hosts-stop" "a host did not stop within 60 s"
	"$tool" "$img" recover > "$sk/recover" 2>&1 ||
		fail "round-$round-recover" "$(tail -2 "$sk/recover" | tr '\n' ' ')"
	if "$host" check "$img" "$sk"/log_* > "$sk/check" 2>&1; then
		pass "round-$round-acknowledged-ops ($(tail -1 "$sk/check" | sed 's/^check: //'))"
		acked=$((acked + $(tail -1 "$sk/check" | awk '{ print $2 + $5 }')))
	else
		fail "round-$round-acknowledged-ops" "$(grep -v '^check:' "$sk/check" | head -3 | tr '\n' ' ')"
		cp "$img" "$build/soak-failed.img" 2> /dev/null
		cp "$sk"/log_* "$build/" 2> /dev/null
	fi
	check "round-$round-fsck" "$tool" "$img" fsck
	ends=$(sort "$sk/exits_$round" | uniq -c | awk '{ printf "%s%s x%s", s, $2, $1; s = ", " }')
	echo "  round $round: workers ended with exit status $ends;" \
		"$(cat "$sk"/err_"$round"_* 2> /dev/null | grep -c 'lost its lease; stopping') lease losses," \
		"$(cat "$sk"/err_"$round"_* 2> /dev/null | grep -c 'stopping the process') watchdog stops," \
		"$(cat "$sk"/log_* | grep -c '^F ') failed ops"
done
echo "soak: $i events ($kills kills, $pauses pauses, $stalls stalls) in $round rounds," \
	"$(( $(date +%s) - t0 )) s; $acked files checked present or absent"
echo "fs soak: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
