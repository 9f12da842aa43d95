#!/usr/bin/env bash
# Writes the FRR files of the EVPN fabric and (re)loads FRR, idempotently: a run that changes
# no file and finds FRR running restarts nothing.
#
# Environment (every value comes from here; callers never splice values into this text):
#   FRR_BGPD_CONF    rendered /etc/frr/bgpd.conf (required)
#   FRR_ZEBRA_CONF   rendered /etc/frr/zebra.conf (required)
#   FRR_DAEMONS      rendered /etc/frr/daemons (required)
#   FRR_CONFIG_DIR   default /etc/frr
#   FRR_SERVICE      how FRR is (re)loaded. Default systemd.
#                      systemd: enable the frr unit, restart it when a file changed or it is not active.
#                      direct:  no init system (the local lab): start zebra and bgpd as daemons from
#                               /usr/lib/frr, restart the one whose file changed or that is not running.
#                      none:    only write the files.
#   FRR_RUN_DIR      pid files and sockets (direct mode). Default /run/frr.
#   FRR_SBIN_DIR     daemon binaries (direct mode). Default /usr/lib/frr.
# Like one-deploy, removes the integrated /etc/frr/frr.conf so the per-daemon files are used.
set -euo pipefail

config_dir=${FRR_CONFIG_DIR:-/etc/frr}
service=${FRR_SERVICE:-systemd}
run_dir=${FRR_RUN_DIR:-/run/frr}
sbin_dir=${FRR_SBIN_DIR:-/usr/lib/frr}
changed=()

fail() {
    echo "frr-apply: $*" >&2
    exit 1
}

check_inputs() {
    local name
    for name in FRR_BGPD_CONF FRR_ZEBRA_CONF FRR_DAEMONS; do
        [[ -n ${!name:-} ]] || fail "$name is required (rendered file content)"
    done
    [[ $service =~ ^(systemd|direct|none)$ ]] || fail "FRR_SERVICE must be systemd, direct or none"
}

# write_file <name> <content>: replaces $config_dir/<name> when the content differs and
# records <name> in `changed`.
write_file() {
    local target="$config_dir/$1" content=$2 owner=()
    if [[ -f $target ]] && [[ $(<"$target") == "${content%$'\n'}" ]]; then
        return 0
    fi
    if [[ $EUID -eq 0 ]] && id frr >/dev/null 2>&1; then
        owner=(-o frr -g frr)
    fi
    printf '%s\n' "${content%$'\n'}" >"$target.tmp"
    install -m 0640 "${owner[@]}" "$target.tmp" "$target"
    rm -f "$target.tmp"
    changed+=("$1")
}

write_files() {
    install -d -m 0755 "$config_dir"
    write_file bgpd.conf "$FRR_BGPD_CONF"
    write_file zebra.conf "$FRR_ZEBRA_CONF"
    write_file daemons "$FRR_DAEMONS"
    if [[ -e $config_dir/frr.conf ]]; then
        rm -f "$config_dir/frr.conf"
        changed+=(frr.conf)
    fi
}

was_changed() {
    local name
    for name in "${changed[@]}"; do
        [[ $name == "$1" ]] && return 0
    done
    return 1
}

reload_systemd() {
    systemctl enable frr >/dev/null 2>&1 || true
    if [[ ${#changed[@]} -gt 0 ]] || ! systemctl is-active --quiet frr; then
        systemctl restart frr
    fi
}

# --- direct mode (no init system, used by the lab) ---------------------------------------

# is_running <pid> <daemon>: the pid is that daemon and not a zombie (an exited daemon stays a
# zombie until its adoptive parent reaps it, and `kill -0` still succeeds on it).
is_running() {
    local stat
    [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]] || return 1
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

running_pid() {
    local pid_file="$run_dir/$1.pid" pid
    [[ -s $pid_file ]] || return 1
    pid=$(<"$pid_file")
    is_running "$pid" "$1" || return 1
    echo "$pid"
}

stop_daemon() {
    local pid attempt
    pid=$(running_pid "$1") || return 0
    kill -TERM "$pid"
    for attempt in $(seq 1 100); do
        is_running "$pid" "$1" || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    echo "frr-apply: $1 ignored SIGTERM for 10 s (attempts: $attempt), killed" >&2
}

start_daemon() {
    local extra=()
    [[ $1 == zebra ]] && extra=(-s 90000000)
    "$sbin_dir/$1" -d -F traditional -A 127.0.0.1 -P 0 "${extra[@]}" -f "$config_dir/$1.conf"
}

wait_for_zebra() {
    local attempt
    for attempt in $(seq 1 100); do
        [[ -S $run_dir/zserv.api ]] && return 0
        sleep 0.05
    done
    fail "zebra did not open $run_dir/zserv.api within 5 s (attempts: $attempt)"
}

# restart_if_needed <daemon> <file>: (re)starts the daemon when its file changed or it is down.
restart_if_needed() {
    if was_changed "$2" || ! running_pid "$1" >/dev/null; then
        stop_daemon "$1"
        start_daemon "$1"
        return 0
    fi
    return 1
}

reload_direct() {
    install -d -o frr -g frr -m 0755 "$run_dir"
    if restart_if_needed zebra zebra.conf; then
        # bgpd keeps its zebra session only with the zebra it started with.
        stop_daemon bgpd
    fi
    wait_for_zebra
    restart_if_needed bgpd bgpd.conf || true
}

main() {
    check_inputs
    write_files
    case $service in
        systemd) reload_systemd ;;
        direct) reload_direct ;;
        none) ;;
    esac
    if [[ ${#changed[@]} -gt 0 ]]; then
        echo "frr-apply: updated ${changed[*]}"
    else
        echo "frr-apply: unchanged"
    fi
}

main
