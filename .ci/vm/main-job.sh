#!/bin/sh
# The main job as an administrator runs it on a FreeBSD host, with the recipe's defaults (jail
# `dev`, 192.168.7.253/24 via 192.168.7.101 on bridge igc0bridge, devfs ruleset 5), from the
# release archive the VM carries. Every step and every check inside the jail is recorded.
P=/payload
. "$P/lib.sh"
TJ="$P/bin/thinjail"
REL=$(sysctl -n kern.osrelease | sed 's/-p[0-9]*$//')   # 13.2-RELEASE
DIST=/usr/freebsd-dist

step() { # NAME COMMAND...: run, show, record
  _n=$1; shift
  echo "+ $*"
  "$@"
  _rc=$?
  record "main job: $_n" $_rc
  return $_rc
}

# expect NAME PATTERN COMMAND...: COMMAND's output (shown) matches the extended regex PATTERN.
expect() {
  _n=$1; _pat=$2; shift 2
  echo "+ $*"
  _out=$("$@" 2>&1)
  _rc=$?
  printf '%s\n' "$_out"
  if [ $_rc = 0 ] && printf '%s\n' "$_out" | grep -Eq -- "$_pat"; then
    record "main job: $_n" 0
  else
    echo "vm: expected /$_pat/ (exit $_rc)"
    record "main job: $_n" 1
  fi
}

# refute NAME PATTERN COMMAND...: COMMAND succeeds and its output does not match PATTERN.
refute() {
  _n=$1; _pat=$2; shift 2
  echo "+ $*"
  _out=$("$@" 2>&1)
  _rc=$?
  printf '%s\n' "$_out"
  if [ $_rc = 0 ] && ! printf '%s\n' "$_out" | grep -Eq -- "$_pat"; then
    record "main job: $_n" 0
  else
    echo "vm: did not expect /$_pat/ (exit $_rc)"
    record "main job: $_n" 1
  fi
}

step "host init" "$TJ" host init || exit 1
step "template create $REL" "$TJ" template create "$REL" --archive "$DIST/base.txz" \
  --manifest "$DIST/MANIFEST" || exit 1
step "jail create dev" "$TJ" jail create dev --release "$REL" || exit 1
expect "jail list shows dev created, not running, at its real path" \
  '^dev +- .*/zdata/jails/dev-nullfs-base$' "$TJ" jail list
step "jail start dev" "$TJ" jail start dev || exit 1
expect "jail list shows dev running at its real path" \
  '^dev +[0-9]+ .*/zdata/jails/dev-nullfs-base$' "$TJ" jail list
expect "jls: dev is a VNET jail" '^name=dev vnet=new$' jls -j dev -n name vnet
expect "hostname inside the jail" '^dev$' jexec dev hostname
expect "the jail's address" 'inet 192\.168\.7\.253 netmask 0xffffff00' jexec dev ifconfig -a inet
expect "the jail's default route" 'gateway: 192\.168\.7\.101' jexec dev route -n get default
expect "the jail's lo0" 'inet 127\.0\.0\.1 ' jexec dev ifconfig lo0 inet
expect "/dev inside the jail has the basics" '^null$' jexec dev ls /dev
refute "/dev inside the jail hides mem, kmem, io (ruleset 5)" '^(mem|kmem|io)$' jexec dev ls /dev
expect "the jail's root is the read-only base" "^/zdata/jails/templates/$REL-base[[:space:]]+/[[:space:]]+nullfs[[:space:]]+ro" jexec dev mount -p
# The host reaches the jail over the bridge (the bridge gets the gateway's address for this).
step "gateway address on the bridge" ifconfig igc0bridge inet 192.168.7.101/24 alias
expect "ping the jail from the host" '1 packets received' ping -c 1 -t 10 192.168.7.253
expect "ping the gateway from the jail" '1 packets received' jexec dev ping -c 1 -t 10 192.168.7.101
ifconfig igc0bridge inet 192.168.7.101 -alias
step "jail stop dev" "$TJ" jail stop dev
refute "no jail dev after stop" '^dev' jls -d -n name
refute "no epair after stop" 'epair' ifconfig -l
refute "no mount under the jail's root after stop" 'dev-nullfs-base' mount -p
# The bridge survives a reboot: rc.d/netif makes it again from what host init wrote to rc.conf
# (cloned_interfaces, ifconfig_bridgeN_name, ifconfig_igc0bridge, its _descr).
expect "rc.conf clones a bridge for igc0bridge" '^bridge[0-9]+$' sysrc -n cloned_interfaces
step "bridge destroyed, as a reboot would" ifconfig igc0bridge destroy
step "rc.d/netif start makes it from rc.conf" /etc/rc.d/netif start
expect "the bridge is back and up" '^igc0bridge: flags=[0-9a-f]+<UP' ifconfig igc0bridge
expect "with thinjail's description" 'description: thinjail: igc0bridge' ifconfig igc0bridge
step "jail start dev on the bridge rc.d made" "$TJ" jail start dev
step "jail stop dev again" "$TJ" jail stop dev
# rc.d/jail (boot, service jail start NAME) runs jail -f /etc/jail.conf.d/dev.conf alone
# (rc.d/jail parse_options): the jail must come up from that file as thinjail starts it.
rm -f /var/log/jail_console_dev.log
step "service jail start dev (rc.d/jail, jail.conf.d/dev.conf alone)" service jail start dev
expect "rc.d/jail's dev is a VNET jail" '^name=dev vnet=new$' jls -j dev -n name vnet
expect "rc.d/jail's dev has its address" 'inet 192\.168\.7\.253 netmask 0xffffff00' jexec dev ifconfig -a inet
expect "rc.d/jail's dev has its default route" 'gateway: 192\.168\.7\.101' jexec dev route -n get default
expect "rc.d/jail's dev has devfs" '^null$' jexec dev ls /dev
refute "rc.d/jail's dev hides mem, kmem, io" '^(mem|kmem|io)$' jexec dev ls /dev
expect "rc.d/jail's dev has exec.consolelog (a common default)" 'jail_console_dev\.log' ls /var/log
step "service jail stop dev" service jail stop dev
refute "no jail dev after service jail stop" '^dev$' jls -n name
refute "no epair after service jail stop" 'epair|dev_a' ifconfig -l
refute "no mount under the jail's root after service jail stop" 'dev-nullfs-base' mount -p
step "jail destroy dev" "$TJ" jail destroy dev
step "template destroy $REL" "$TJ" template destroy "$REL"
expect "zfs list: only the layout is left" '^zdata/jails/containers$' zfs list -H -o name
refute "zfs list: no template, clone or snapshot left" '(RELEASE|containers/|@)' zfs list -H -t all -o name
exit 0
