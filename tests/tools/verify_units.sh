#!/usr/bin/env bash
# Checks the systemd files in deploy/systemd/ with systemd's own parsers:
#   - `systemd-analyze verify` on crier.service, crier-once.service and crier.timer;
#   - `systemd-sysusers` and `systemd-tmpfiles` on crier.sysusers and crier.tmpfiles, applied
#     to an empty scratch root (nothing on this machine is touched; tmpfiles as root only,
#     since it gives the folders to crier).
#
# Works without a running systemd (CI containers, as root or not). `verify` insists that
# ExecStart's program exists, and crier need not be installed in /usr/bin here, so the units
# are copied to a scratch folder with that path pointed at a stub.
#
# Fails on: a non-zero exit of a checker, or any message about our files (an unknown key, a
# value that does not parse, a missing program: systemd only warns and "ignores" those, but the
# unit would then not do what it says). Messages about the environment or about other units
# (no systemd running, a host unit's own warnings, informational lines) are shown as notes and
# do not fail.
#
# Usage: tests/tools/verify_units.sh      (exit 0 ok, 1 problems, 77 systemd-analyze missing)
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
units_dir="$repo/deploy/systemd"
units=(crier.service crier-once.service crier.timer)

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "verify_units: systemd-analyze not found (apt-get install systemd)" >&2
    exit 77
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# A stand-in for the crier binary, for `verify`'s "is the program executable" check.
printf '#!/bin/sh\nexit 0\n' >"$scratch/crier"
chmod 0755 "$scratch/crier"
mkdir "$scratch/units"
for unit in "${units[@]}"; do
    sed "s#/usr/bin/crier#$scratch/crier#g" "$units_dir/$unit" >"$scratch/units/$unit"
done
# ExecReload= uses /bin/kill (procps); stub it too on a minimal image without it.
if [[ ! -x /bin/kill ]]; then
    sed -i "s#/bin/kill#$scratch/crier#g" "$scratch/units/"*.service
fi

failed=0

# Our files' names, as checkers print them at the start of a message ("crier.timer: …").
ours_pattern='^(crier\.service|crier-once\.service|crier\.timer)[: ]'

# Prints a checker's messages; those that name one of our files count as problems.
judge() {
    local label="$1" status="$2" output="$3" line ours=0
    while IFS= read -r line; do
        [[ -z "$line" ]] && continue
        if [[ "$line" == *"$scratch"* || "$line" =~ $ours_pattern ]]; then
            line="${line//"$scratch/units/"/deploy/systemd/}"
            echo "verify_units: $label: ${line//"$scratch/"/}"
            ours=1
        else
            echo "verify_units: $label (note): $line"
        fi
    done <<<"$output"
    if [[ "$status" -ne 0 || "$ours" -ne 0 ]]; then
        echo "verify_units: $label: FAILED (exit $status)"
        failed=1
    else
        echo "verify_units: $label: ok"
    fi
}

verify_args=(verify --man=no)
# Only our units and not, recursively, every unit they pull in (systemd 250 and later).
if systemd-analyze --help 2>/dev/null | grep -q -- '--recursive-errors'; then
    verify_args+=(--recursive-errors=no)
fi
status=0
output="$(cd "$scratch/units" && systemd-analyze "${verify_args[@]}" "${units[@]/#/$scratch/units/}" 2>&1)" || status=$?
judge "systemd-analyze verify ${units[*]}" "$status" "$output"

# `verify` accepts a timer whose Unit= names no unit at all; without Unit=, crier.timer would
# start crier.service (the daemon). It must start one of ours, the oneshot.
timer_unit="$(sed -n 's/^Unit=//p' "$units_dir/crier.timer")"
if [[ "$timer_unit" != "crier-once.service" ]]; then
    echo "verify_units: crier.timer: Unit= is ${timer_unit:-missing}, expected crier-once.service"
    failed=1
fi

# sysusers and tmpfiles, applied to a scratch root: syntax errors and unknown users show up.
if command -v systemd-sysusers >/dev/null 2>&1 && command -v systemd-tmpfiles >/dev/null 2>&1; then
    root="$scratch/root"
    mkdir -p "$root/etc" "$root/srv/www" "$root/var/lib"
    # What sysusers expects to find on any system: root and the nologin shell's group file.
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
    printf 'root:x:0:\n' >"$root/etc/group"
    cp "$units_dir/crier.sysusers" "$scratch/crier.sysusers.conf"
    cp "$units_dir/crier.tmpfiles" "$scratch/crier.tmpfiles.conf"
    status=0
    output="$(systemd-sysusers --root="$root" "$scratch/crier.sysusers.conf" 2>&1)" || status=$?
    judge "systemd-sysusers crier.sysusers" "$status" "$output"
    if ! grep -q '^crier:' "$root/etc/passwd"; then
        echo "verify_units: systemd-sysusers did not create the crier user"
        failed=1
    fi
    # Creating the folders means giving them to crier: root only (CI runs as root).
    if [[ "$(id -u)" -eq 0 ]]; then
        status=0
        output="$(systemd-tmpfiles --root="$root" --create "$scratch/crier.tmpfiles.conf" 2>&1)" || status=$?
        judge "systemd-tmpfiles crier.tmpfiles" "$status" "$output"
        if [[ ! -d "$root/srv/www/feeds" || ! -d "$root/etc/crier/credentials" ]]; then
            echo "verify_units: systemd-tmpfiles did not create the folders"
            failed=1
        fi
    else
        echo "verify_units: crier.tmpfiles not checked: systemd-tmpfiles must run as root to chown"
    fi
else
    echo "verify_units: systemd-sysusers or systemd-tmpfiles not found; crier.sysusers and crier.tmpfiles not checked"
fi

exit "$failed"
