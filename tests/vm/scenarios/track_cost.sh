# Sync cost against the memory layout: vfioscope track with the IOMMU method (edu on
# vfio-pci), the device method (edu-vfio-pci, where the kernel's REPORT works) and perpetual
# dirty, for 64 MiB to 1 GiB of mapped RAM. Prints one line per layout and method with the
# sync durations; checks the bitmap sizes against the seed's VFIOBitmap rule
# (ceil(pages / 64) * 8 bytes per section per device) and the dirty counts.
# vm-timeout: 480
# vm-mem: 3072
set -u
. tests/vm/guest-lib.sh
. tests/vm/track-lib.sh
bdf=$(edu_bdf) || exit 1
echo "edu at $bdf, kernel $(uname -r)"
T=$(mktemp -d)
LAYOUTS="64M 256M 1G 512M@0,512M@4G"

# measure LAYOUT METHOD EXPECT_DIRTY(all|none)
measure() {
	vfs track -d "$bdf" --layout "$1" --method "$2" --interval 100ms --count 5 --json \
		>"$T/m.json" 2>"$T/m.err"
	local rc=$?
	[ $rc = 0 ] || cat "$T/m.err"
	check "$2 on $1: exit 0" [ $rc = 0 ]
	python3 - "$T/m.json" "$1" "$2" "$3" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
syncs = [e for e in ev if e["event"] == "sync"]
layout, method, expect = sys.argv[2:5]
def size(s):
    n, u = (s[:-1], s[-1]) if s[-1] in "KMGT" else (s, "")
    return int(n, 0) << {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[u]
secs = [size(p.split("@")[0]) for p in layout.split(",")]
pages = [s // 4096 for s in secs]
bm = sum((p + 63) // 64 * 8 for p in pages)
want_bm = 0 if method == "perpetual" else bm
want_dirty = sum(pages) if expect == "all" else 0
d = sorted(s["duration_ns"] / 1e6 for s in syncs)
ok = (len(syncs) == 5 and all(s["bitmap_bytes"] == want_bm and s["dirty_pages"] == want_dirty
                               and s["tracked_pages"] == sum(pages) for s in syncs))
print("cost: %-14s %-9s %7d pages  %6d bitmap bytes/sync  %d queries/sync  sync ms min %.3f median %.3f max %.3f"
      % (layout, method, sum(pages), want_bm, syncs[0]["queries"] if syncs else -1,
         d[0] if d else -1, d[len(d) // 2] if d else -1, d[-1] if d else -1))
if not ok:
    print("  unexpected:", syncs)
sys.exit(0 if ok else 1)
EOF
	check "$2 on $1: bitmap bytes = sum of ceil(pages/64)*8, dirty pages $3" [ $? = 0 ]
}

bind_vfio_pci "$bdf" || exit 1
for l in $LAYOUTS; do
	measure "$l" iommu all
	measure "$l" perpetual all
done

load_edu_vfio_pci || exit 1
bind_driver "$bdf" edu-vfio-pci || exit 1
if grep -qw iova_bitmap_set /proc/kallsyms; then
	for l in $LAYOUTS; do
		measure "$l" device none
	done
else
	echo "skip: device method cost (this kernel's DMA_LOGGING_REPORT cannot work: no iova_bitmap)"
fi

rm -rf "$T"
checks_done
