# Shared by the VM scripts (FreeBSD sh): counting tests and checks, and the leftover check.
# Counters live in files so that scripts run with `sh` and functions in pipelines add up.
VM_STATE=${VM_STATE:-/tmp/vm-state}
mkdir -p "$VM_STATE"
[ -f "$VM_STATE/passed" ] || { echo 0 > "$VM_STATE/passed"; echo 0 > "$VM_STATE/failed"; : > "$VM_STATE/lines"; }

add() { # FILE N
  echo $(( $(cat "$VM_STATE/$1") + $2 )) > "$VM_STATE/$1"
}

# record NAME RC: one check, passed when RC is 0.
record() {
  if [ "$2" = 0 ]; then
    add passed 1
    printf 'ok      %s\n' "$1" >> "$VM_STATE/lines"
  else
    add failed 1
    printf 'FAILED  %s (exit %s)\n' "$1" "$2" >> "$VM_STATE/lines"
    echo "vm: FAILED: $1 (exit $2)"
  fi
}

# check NAME COMMAND...: runs COMMAND, records it.
check() {
  _n=$1; shift
  "$@"
  record "$_n" $?
}

# run_tests BINARY [ARGS]: a Rust test binary; its passed/failed counts are added, a skip is a
# failure, and so is a binary that fails without a test result line.
run_tests() {
  _b=$1; shift
  _name=$(basename "$_b")
  _log="$VM_STATE/$_name.log"
  echo "--- $_name"
  if [ ! -x "$_b" ]; then
    record "$_name: missing" 1
    return
  fi
  _t0=$(date +%s)
  "$_b" --test-threads=2 "$@" > "$_log" 2>&1
  _rc=$?
  cat "$_log"
  _p=$(awk '/^test result:/ { p += $4 } END { print p + 0 }' "$_log")
  _f=$(awk '/^test result:/ { f += $6 } END { print f + 0 }' "$_log")
  add passed "$_p"
  add failed "$_f"
  _skips=$(grep -ci 'skipp' "$_log")
  if [ "$_skips" != 0 ]; then
    add failed "$_skips"
    echo "vm: $_name: $_skips test(s) skipped, which is a failure in the VM"
  fi
  if [ "$_rc" != 0 ] && [ "$_f" = 0 ]; then
    add failed 1
  fi
  printf '%-7s %s: %s passed, %s failed, %s skipped (%ss)\n' \
    "$([ "$_rc" = 0 ] && [ "$_skips" = 0 ] && echo ok || echo FAILED)" "$_name" "$_p" "$_f" \
    "$_skips" "$(( $(date +%s) - _t0 ))" >> "$VM_STATE/lines"
}

# What must be left after everything: the pool with, at most, the layout datasets the main job's
# `host init` made (no template, clone or snapshot), no jail, no epair, no mount below /zdata but
# the layout's own.
leftovers() {
  _bad=0
  _j=$(jls -d -q jid name 2>/dev/null)
  [ -z "$_j" ] || { echo "vm: jails left: $_j"; _bad=1; }
  _e=$(ifconfig -l | tr ' ' '\n' | grep -E '^(epair|tj|nt|fj)' || true)
  [ -z "$_e" ] || { echo "vm: interfaces left: $_e"; _bad=1; }
  _z=$(zfs list -H -t all -o name | grep -vxE 'zdata|zdata/jails|zdata/jails/(media|templates|containers)' || true)
  [ -z "$_z" ] || { echo "vm: datasets left: $_z"; _bad=1; }
  _m=$(mount -p | awk '$2 ~ /^\/zdata\// && $3 != "zfs" { print $2 }')
  [ -z "$_m" ] || { echo "vm: mounts left: $_m"; _bad=1; }
  return $_bad
}

summary() {
  echo
  echo "=== vm summary"
  cat "$VM_STATE/lines"
  _p=$(cat "$VM_STATE/passed"); _f=$(cat "$VM_STATE/failed")
  echo "vm: $_p passed, $_f failed"
  [ "$_f" = 0 ]
}
