#!/usr/bin/env bash
# Bash completion (completion/vfioscope) completes what the binary's --help lists: commands,
# each command's options, option values. Device addresses are checked where a VFIO driver holds
# a device: in the guest of tests/vm/scenarios/systemd_service.host.sh.
cd "$(dirname "$0")/../.." || exit 1
. tests/package/lib.bash
mkdir -p "$T/bin"
ln -s "$PWD/$VFIOSCOPE" "$T/bin/vfioscope"
export PATH=$T/bin:$PATH
comp() { tests/package/complete completion/vfioscope -- "$1" | sort | tr '\n' ' ' | sed 's/ $//'; }
cmds=$(vfioscope --help | awk '/^commands:/ {c = 1; next} c && /^  [a-z]/ {print $1}' | sort | tr '\n' ' ' | sed 's/ $//')
check "commands: '$(comp 'vfioscope ')' = --help's '$cmds'" [ "$(comp 'vfioscope ')" = "$cmds" ]
check "a command by its prefix: 'vfioscope tr' -> '$(comp 'vfioscope tr')'" [ "$(comp 'vfioscope tr')" = "trace track" ]
check "global options: '$(comp 'vfioscope --')'" [ "$(comp 'vfioscope --')" = "--help --verbose --version" ]
for c in $cmds; do
	want=$(vfioscope "$c" --help | grep -oE -- '(^|[ [(,])--[a-z][a-z0-9-]*' | sed 's/^[ [(,]//' | sort -u | tr '\n' ' ' | sed 's/ $//')
	got=$(comp "vfioscope $c --")
	check "$c: every long option of its --help (${want//--/})" [ -n "$got" ] && [ "$got" = "$want" ]
done
check "serve --li -> '$(comp 'vfioscope serve --li')'" [ "$(comp 'vfioscope serve --li')" = "--list-metrics --listen" ]
check "track --method values: '$(comp 'vfioscope track --method ')'" \
	[ "$(comp 'vfioscope track --method ')" = "auto device iommu perpetual" ]
check "track -b values: '$(comp 'vfioscope track -b ')'" [ "$(comp 'vfioscope track -b ')" = "iommufd type1" ]
check "trace --mode values: '$(comp 'vfioscope trace --mode ')'" \
	[ "$(comp 'vfioscope trace --mode ')" = "fentry kprobe raw_tp tp_btf" ]
check "trace --ringbuf-size values: '$(comp 'vfioscope trace --ringbuf-size ')'" \
	[ "$(comp 'vfioscope trace --ringbuf-size ')" = "16M 1M 256M 4K 64K" ]
n=0
for d in /sys/bus/pci/devices/*; do
	[ "$(basename "$(readlink "$d/driver" 2>/dev/null)")" = vfio-pci ] && n=$((n + 1))
done
got=$(comp 'vfioscope track -d ')
check "track -d: as many addresses as devices on vfio-pci here ($n): '$got'" \
	[ "$(echo "$got" | wc -w)" = "$n" ]
checks_done
