#!/bin/sh
# The lifecycle bench once, on the VM's kernel: Runner on FreeBsdHost against zfs clone +
# jail -c (and service jail start when rc.conf's jail_enable is on), side by side. The bench
# makes its template from the VM's release archive and removes everything it made.
P=/payload
. "$P/lib.sh"
REL=$(sysctl -n kern.osrelease | sed 's/-p[0-9]*$//')
THINJAIL_BENCH_POOL=zdata THINJAIL_BENCH_RELEASE=$REL \
  THINJAIL_BENCH_ARCHIVE=/usr/freebsd-dist/base.txz THINJAIL_BENCH_MANIFEST=/usr/freebsd-dist/MANIFEST \
  "$P/bin/bench.jail_lifecycle" ${THINJAIL_VM_BENCH_ARGS:---test} > "$VM_STATE/bench.txt" 2>&1
rc=$?
cat "$VM_STATE/bench.txt"
exit $rc
