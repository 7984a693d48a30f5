#!/bin/sh
# run-unit.sh BIN...: run cmocka unit tests; print per-binary results and
# "unit: N passed, M failed" (counting individual test cases).
set -u
passed=0 failed=0
for t in "$@"; do
	out=$(CMOCKA_MESSAGE_OUTPUT=stdout "$t" 2>&1)
	rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	p=${p:-0} f=${f:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# crashed (sanitizer report) or no summary
	fi
	passed=$((passed + p)) failed=$((failed + f))
	if [ "$f" -ne 0 ]; then
		echo "FAIL $(basename "$t"): $f failed"
		printf '%s\n' "$out" | grep -E 'FAIL|ERROR|error|Sanitizer|runtime error' | head -20 | sed 's/^/    | /'
	else
		echo "PASS $(basename "$t"): $p tests"
	fi
done
echo "unit: $passed passed, $failed failed"
