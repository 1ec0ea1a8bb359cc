#!/usr/bin/env bash
# Replay every committed fuzz corpus (tests/fuzz/corpus/TARGET) through its libFuzzer target
# once: inputs that once crashed (regress-*) stay fixed. Fast: no mutation, each input runs once.
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${OUTPUT:-build}/fuzz
pass=0 fail=0
for dir in "$here"/corpus/*/; do
	name=$(basename "$dir")
	n=$(find "$dir" -type f | wc -l)
	if [ ! -x "$bin/$name" ]; then
		echo "FAIL $name: $bin/$name is not built (make all builds it)"
		fail=$((fail + 1))
		continue
	fi
	if out=$("$bin/$name" -runs=0 "$dir" 2>&1); then
		echo "ok   $name: $n inputs replayed"
		pass=$((pass + 1))
	else
		echo "FAIL $name: an input of $dir crashes the target"
		echo "$out" | grep -a -E 'ERROR|runtime error|SUMMARY|invalid|Test unit written' | head -n 20
		fail=$((fail + 1))
	fi
done
echo "fuzz-replay: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
