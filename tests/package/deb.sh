#!/usr/bin/env bash
# `make deb`: the package builds with debhelper, lintian reports no error and no warning without
# a justified override, it holds what an operator needs, and its version is the one the binary
# inside it prints (scripts/version, from git describe).
cd "$(dirname "$0")/../.." || exit 1
. tests/package/lib.bash
out=${OUTPUT:-build}
ver=$(scripts/version)
deb=$out/vfioscope_${ver}_amd64.deb
packaging/mkdeb >"$T/mkdeb.out" 2>"$T/mkdeb.err"
rc=$?
sed 's/^/    mkdeb| /' "$T/mkdeb.err"
check "make deb builds $(basename "$deb") and lintian passes it (exit $rc)" [ $rc -eq 0 ]
check "the package is where make deb says" [ "$(tail -n1 "$T/mkdeb.out")" = "$(cd "$out" && pwd)/$(basename "$deb")" ]
[ -f "$deb" ] || { checks_done; exit 1; }
echo "== dpkg -c"
dpkg -c "$deb" | tee "$T/contents" | sed 's/^/    /'
has() { grep -q " \./$1\$" "$T/contents"; }
for f in usr/sbin/vfioscope lib/systemd/system/vfioscope.service etc/default/vfioscope \
	usr/share/bash-completion/completions/vfioscope usr/share/vfioscope/dashboards/vfioscope.json \
	usr/share/vfioscope/prometheus/vfioscope.rules.yml usr/share/doc/vfioscope/copyright \
	usr/share/doc/vfioscope/README.md.gz usr/share/doc/vfioscope/metrics.md.gz \
	usr/share/doc/vfioscope/capabilities.md.gz usr/share/man/man8/vfioscope.8.gz; do
	check "the package has /$f" has "$f"
done
dpkg-deb -x "$deb" "$T/root"
dpkg-deb -e "$deb" "$T/control"
for c in $("$T/root/usr/sbin/vfioscope" --help | awk '/^commands:/ {c = 1; next} c && /^  [a-z]/ {print $1}'); do
	check "the package has the man page of $c" has "usr/share/man/man8/vfioscope-$c.8.gz"
done
check "/etc/default/vfioscope is a conffile" grep -qx /etc/default/vfioscope "$T/control/conffiles"
pv=$(dpkg-deb -f "$deb" Version)
bv=$("$T/root/usr/sbin/vfioscope" --version)
check "package version ($pv) = scripts/version ($ver)" [ "$pv" = "$ver" ]
check "the packaged binary prints it: '$bv'" [ "$bv" = "vfioscope $ver" ]
exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$T/root/lib/systemd/system/vfioscope.service")
check "the unit starts the packaged binary ($exe)" test -x "$T/root$exe"
check "the unit reads /etc/default/vfioscope" \
	grep -qx 'EnvironmentFile=-/etc/default/vfioscope' "$T/root/lib/systemd/system/vfioscope.service"
check "removing the package stops the service (prerm)" \
	grep -q "deb-systemd-invoke stop 'vfioscope.service'" "$T/control/prerm"
lint=$(grep -v 'root privileges' "$out/deb/lintian.txt")
echo "== lintian (--info --show-overrides): ${lint:-no tags}"
checks_done
