#!/bin/sh
# Runs in the FreeBSD VM as root (vm-run's /etc/rc calls it from /tmp): what .ci/vm-stage packed
# into /payload. The groups to run are listed in /payload/groups:
#   kernel    every FreeBSD kernel test binary (*/tests/freebsd*.rs)
#   host      the zfs(8)/libzfs_core, release extraction, template and SimHost-on-ZFS tests
#   examples  every example, for real, against a template made from /usr/freebsd-dist/base.txz
#   main      the main job end to end as an administrator runs it (main-job.sh)
#   bench     the lifecycle bench, once (Runner on FreeBsdHost vs zfs clone + jail -c)
# Any failure fails the run; a kernel test that would skip fails (THINJAIL_REQUIRE_KERNEL=1).
# The last lines are a summary and "vm: N passed, N failed".
P=/payload
. "$P/lib.sh"

export THINJAIL_REQUIRE_KERNEL=1 THINJAIL_TEST_ZPOOL=zdata RUST_BACKTRACE=1 CI=true
# Settings .ci/vm-stage passed on (bench mode and sample counts).
[ -f "$P/env" ] && . "$P/env"
echo "vm: $(uname -rsm), osreldate $(sysctl -n kern.osreldate), $(sysctl -n hw.ncpu) cpus"

# rc(8)'s devfs setup, which vm-run's /etc/rc leaves out: /etc/rc.d/devfs loads the rulesets of
# /etc/defaults/devfs.rules (devfsrules_jail is ruleset 4, devfsrules_jail_vnet ruleset 5).
rc_devfs() {
  if [ -x /etc/rc.d/devfs ]; then
    /etc/rc.d/devfs onestart >/dev/null 2>&1 || /etc/rc.d/devfs start
  else
    . /etc/rc.subr && load_rc_config devfs && devfs_init_rulesets
  fi
  devfs rule -s 5 show | grep -q . || { echo "vm: devfs ruleset 5 did not load"; return 1; }
  echo "vm: devfs rulesets loaded as rc(8) does: $(devfs rule showsets | tr '\n' ' ')"
}

group_kernel() {
  for b in "$P"/bin/test.*.freebsd "$P"/bin/test.*.freebsd_*; do
    [ -x "$b" ] && run_tests "$b"
  done
}

group_host() {
  for t in freebsd-zfs.zfs_fuse thinjail-release.extract thinjail-release.template \
           thinjail-release.zfs thinjail-core.sim_zfs; do
    run_tests "$P/bin/test.$t"
  done
}

group_examples() { sh "$P/examples.sh"; record "examples" $?; }
group_main() { sh "$P/main-job.sh"; record "main job" $?; }
group_bench() { sh "$P/bench.sh"; record "bench" $?; }

rc_devfs; record "devfs rulesets" $?
for g in $(cat "$P/groups"); do
  echo
  echo "=== vm group $g"
  t0=$(date +%s)
  "group_$g"
  echo "=== vm group $g: $(( $(date +%s) - t0 ))s"
done
leftovers; record "nothing left on the host" $?
summary
