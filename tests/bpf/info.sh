# `vfioscope info` on the host kernel: it must say plainly that VFIO is absent and fentry is
# refused, and that the syscall-level tracepoints attach (the fallback the tracer uses here).
set -u
. tests/vm/guest-lib.sh
j=$("$BUILD/vfioscope" info --json) || { echo "FAIL: vfioscope info --json failed"; exit 1; }
echo "$j"
q() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)" <<<"$j"; }
check "info --json is valid JSON" q 'd["kernel"]'
check "VFIO absent on the host" test "$(q 'd["vfio"]["present"]')" = False
check "no VFIO cdev on the host" test "$(q 'd["vfio"]["cdev"]')" = False
check "no iommufd, so no IOMMUFD_TEST, on the host" test "$(q 'd["iommufd"]["present"] or d["iommufd"]["test"]')" = False
check "no VFIO devices listed on the host" test "$(q 'len(d["devices"])')" = 0
check "fentry refused on the host" test "$(q 'd["programs"]["fentry"]["attaches"]')" = False
check "tp_btf attaches and fires" test "$(q 'd["programs"]["tp_btf"]["attaches"] and d["programs"]["tp_btf"]["fires"]')" = True
check "raw_tp attaches and fires" test "$(q 'd["programs"]["raw_tp"]["attaches"] and d["programs"]["raw_tp"]["fires"]')" = True
check "tracer falls back to tp_btf" test "$(q 'd["tracer"]["mode"]')" = tp_btf
check "the reason is the tracer's own (tracer__way_in)" grep -q "using syscall-level tracing" <<<"$(q 'd["tracer"]["reason"]')"
p=$("$BUILD/vfioscope" info)
check "plain output says VFIO absent" grep -q '^vfio: absent' <<<"$p"
check "plain output says why fentry is refused" grep -q 'fentry .*refused' <<<"$p"
check "unknown option is a usage error" bash -c "! \"$BUILD/vfioscope\" info --bogus 2>/dev/null"
checks_done
