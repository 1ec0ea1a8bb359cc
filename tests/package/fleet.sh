#!/usr/bin/env bash
# A fleet: one real Prometheus scrapes several vfioscope exporters through file-based service
# discovery, with dashboards/vfioscope.rules.yml loaded. Three `vfioscope serve` on this host,
# each with its BPF tracer and the SIMULATOR's synthetic containers (this host has no VFIO
# device: container and dirty-tracking series are made up, named synthetic-N), plus one target
# where nothing listens. Checks: recording rules evaluate per instance and fleet-wide, alerts
# per instance (VfioscopeDown for the dead target only), and every query of the Grafana
# dashboard returns data for each instance with the instance variable set to it.
# The VM scenario systemd_service runs the same checks (tests/package/fleet-lib.bash) with the
# packaged service of a real guest, its QEMU and a device migration, among the exporters.
cd "$(dirname "$0")/../.." || exit 1
. tests/package/lib.bash
. tests/package/fleet-lib.bash
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
fleet_sim_exporters 3
fleet_prometheus
fleet_checks
checks_done
