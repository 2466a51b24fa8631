#!/bin/sh
# Stands in for freebsd-update(8) in the VM (no network): checks the arguments thinjail gives it
# (freebsd-update --not-running-from-cron -b BASEDIR -d WORKDIR --currently-running REL fetch
# install; freebsd-update.sh 13.2 parse_cmdline knows all of these, and cmd_fetch refuses a
# stdin that is not a terminal unless --not-running-from-cron is given), with the
# template's skeleton mounted at BASEDIR/skeleton as freebsd-update needs it) and records a patch.
set -eu
base= work= rel= cmds= nocron=
while [ $# -gt 0 ]; do
  case $1 in
    -b) base=$2; shift 2 ;;
    -d) work=$2; shift 2 ;;
    --currently-running) rel=$2; shift 2 ;;
    --not-running-from-cron) nocron=1; shift ;;
    -*) echo "update-stand-in: unexpected option $1" >&2; exit 2 ;;
    *) cmds="$cmds $1"; shift ;;
  esac
done
[ -n "$base" ] && [ -d "$base" ] || { echo "update-stand-in: no -b BASEDIR" >&2; exit 2; }
[ -n "$work" ] && [ -n "$rel" ] || { echo "update-stand-in: no -d or --currently-running" >&2; exit 2; }
[ -n "$nocron" ] || { echo "update-stand-in: no --not-running-from-cron" >&2; exit 2; }
[ "$cmds" = " fetch install" ] || { echo "update-stand-in: commands:$cmds" >&2; exit 2; }
mount -p | awk -v m="$base/skeleton" '$2 == m && $3 == "nullfs" { f = 1 } END { exit !f }' ||
  { echo "update-stand-in: $base/skeleton is not a nullfs mount" >&2; exit 2; }
# /var lives in the skeleton: through the mount, as freebsd-update writes /etc and /var.
echo "$rel patched by update-stand-in" > "$base/var/db/thinjail-update-stand-in"
echo "update-stand-in: $rel at $base patched (work directory $work)"
