#!/bin/sh
# Every example, for real, as root on the VM's kernel, against a template made from the release
# archive the VM carries (/usr/freebsd-dist/base.txz). Each is one recorded check; what they
# leave is removed with the `thinjail` command afterwards (itself checked).
P=/payload
. "$P/lib.sh"
TJ="$P/bin/thinjail"
REL=$(sysctl -n kern.osrelease | sed 's/-p[0-9]*$//')
DIST=/usr/freebsd-dist
TPL="--release $REL --archive $DIST/base.txz --manifest $DIST/MANIFEST"

ex() { # NAME ARGS...
  _n=$1; shift
  echo "+ example $_n $*"
  "$P/bin/example.$_n" "$@"
  record "example $_n" $?
}

ex jail_lifecycle
ex vnet_pair
ex list_jails
# shellcheck disable=SC2086
ex recipe_walkthrough $TPL
# freebsd-update(8) needs the network, which the VM has not: update-stand-in.sh checks what
# freebsd-update would be given (-b <template>, the skeleton mounted inside) and patches a file.
ex update_template --release "$REL" --updater "$P/update-stand-in.sh"
check "the template update reached the template" \
  test -f "/zdata/jails/templates/$REL-skeleton/var/db/thinjail-update-stand-in"
check "jail destroy dev (left by recipe_walkthrough)" "$TJ" jail destroy dev
ex vnet_thin_jail --release "$REL"
ex list_jails
check "jail stop dev (left by vnet_thin_jail)" "$TJ" jail stop dev
check "jail destroy dev" "$TJ" jail destroy dev
check "template destroy $REL" "$TJ" template destroy "$REL"
