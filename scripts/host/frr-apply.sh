#!/usr/bin/env bash
# Writes the FRR files of the EVPN fabric and applies them without restarting FRR: each daemon's new
# file is checked by the daemon itself (`bgpd -C`), compared with what the daemon runs now
# (`frr-reload.py --test`), and only the difference is applied (`frr-reload.py --reload`), so the
# sessions that stay configured stay up. A configuration a daemon cannot apply fails the script with
# FRR's own message; the running configuration is put back as it was and the file on disk keeps the
# last configuration that was applied. Whether anything changed is decided against what is running,
# so a retry after a failure tries again instead of reporting "unchanged".
#
# Environment (every value comes from here; callers never splice values into this text):
#   ACTION           create (default); delete: put back the files and the FRR service state found
#                    before the first create (stopping the daemons this script started)
#   FRR_BGPD_CONF    rendered /etc/frr/bgpd.conf (required)
#   FRR_ZEBRA_CONF   rendered /etc/frr/zebra.conf (required)
#   FRR_DAEMONS      rendered /etc/frr/daemons (required)
#   FRR_CONFIG_DIR   default /etc/frr
#   FRR_SERVICE      how FRR runs. Default systemd.
#                      systemd: the frr unit, enabled (it starts FRR at boot with these files);
#                               (re)started only when it is not running or the daemons file changed.
#                      direct:  no init system (the lab): zebra and bgpd started as daemons from
#                               FRR_SBIN_DIR when they are not running.
#                      none:    only check and write the files.
#   FRR_RUN_DIR      pid files and sockets (direct mode). Default /run/frr.
#   FRR_SBIN_DIR     daemon binaries and frr-reload.py. Default /usr/lib/frr.
# Like one-deploy, removes the integrated /etc/frr/frr.conf so the per-daemon files are used.
# shellcheck source-path=SCRIPTDIR source=prelude.sh disable=SC1091
declare -F die >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
script_name frr-apply.sh

readonly DAEMONS=(zebra bgpd)
config_dir=${FRR_CONFIG_DIR:-/etc/frr}
service=${FRR_SERVICE:-systemd}
run_dir=${FRR_RUN_DIR:-/run/frr}
sbin_dir=${FRR_SBIN_DIR:-/usr/lib/frr}
APPLIED=()
# Without an init system (the lab) what delete puts back is kept with the daemons' own run files.
[[ $service != direct ]] || STATE_DIR=$run_dir/opennebula-edge

check_inputs() {
  [[ $service =~ ^(systemd|direct|none)$ ]] || die "FRR_SERVICE must be systemd, direct or none"
  [[ $ACTION == delete ]] && return 0
  local name
  for name in FRR_BGPD_CONF FRR_ZEBRA_CONF FRR_DAEMONS; do
    [[ -n ${!name:-} ]] || die "$name is required (rendered file content)"
  done
}

# The owner FRR's files get: frr when that user exists.
frr_owner() {
  if ((EUID == 0)) && id frr >/dev/null 2>&1; then echo frr:frr; fi
}

content_of() {
  case $1 in
    zebra) printf '%s\n' "$FRR_ZEBRA_CONF" ;;
    bgpd) printf '%s\n' "$FRR_BGPD_CONF" ;;
  esac
}

# --- what was there before the first create (for delete) --------------------------------------

remember_file() {
  local name=$1
  if [[ -f $config_dir/$name ]]; then
    remember_value "$name" "$(<"$config_dir/$name")"
  else
    remember_value "$name" "(absent)"
  fi
}

restore_file() {
  local name=$1 old
  old=$(recalled_value "$name") || return 0
  if [[ $old == "(absent)" ]]; then
    remove_file "$config_dir/$name"
  else
    printf '%s\n' "$old" | write_if_changed "$config_dir/$name" 0640 "$(frr_owner)"
  fi
  forget_value "$name"
}

remember_service() {
  local state=stopped
  case $service in
    systemd) systemctl is-active --quiet frr && state=running ;;
    direct) running_pid bgpd >/dev/null && state=running ;;
    none) return 0 ;;
  esac
  remember_value service "$state"
}

# --- daemons ----------------------------------------------------------------------------------

# is_running <pid> <daemon>: the pid is that daemon and not a zombie (an exited daemon stays a
# zombie until its adoptive parent reaps it, and `kill -0` still succeeds on it). Files are read
# by the shell itself: this runs several times before bgpd starts, on the convergence path.
is_running() {
  local comm stat
  { read -r comm <"/proc/$1/comm"; } 2>/dev/null || return 1
  [[ $comm == "$2" ]] || return 1
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
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

# Stops the daemon and removes its pid file (FRR leaves it behind).
stop_daemon() {
  local pid attempt
  pid=$(running_pid "$1") || return 0
  run kill -TERM "$pid"
  for attempt in $(seq 1 100); do
    is_running "$pid" "$1" || break
    sleep 0.1
  done
  if is_running "$pid" "$1"; then
    kill -KILL "$pid" 2>/dev/null || true
    warn "$1 ignored SIGTERM for 10 s (attempts: $attempt), killed"
  fi
  rm -f "$run_dir/$1.pid"
}

start_daemon() {
  local extra=()
  [[ $1 == zebra ]] && extra=(-s 90000000)
  run "$sbin_dir/$1" -d -F traditional -A 127.0.0.1 -P 0 "${extra[@]}" -f "$config_dir/$1.conf"
}

# Waits until vtysh reaches every daemon (zebra first: bgpd needs it).
wait_for_daemons() {
  local daemon attempt
  for daemon in "${DAEMONS[@]}"; do
    for attempt in $(seq 1 100); do
      vtysh -d "$daemon" -c "show version" >/dev/null 2>&1 && continue 2
      sleep 0.1
    done
    die "$daemon did not answer vtysh within 10 s (attempts: $attempt)"
  done
}

# Starts what is not running; a changed daemons file restarts FRR (it decides which daemons run).
ensure_running() {
  local daemon
  case $service in
    systemd)
      run systemctl enable frr >/dev/null 2>&1 || true
      if changed "$config_dir/daemons"; then
        run systemctl restart frr
        say "restarted frr (the daemons file changed)"
      elif ! systemctl is-active --quiet frr; then
        run systemctl start frr
        say "started frr"
      fi
      ;;
    direct)
      local owner=()
      [[ -z $FRR_OWNER ]] || owner=(-o "${FRR_OWNER%:*}" -g "${FRR_OWNER#*:}")
      install -d -m 0755 "${owner[@]}" "$run_dir"
      local started=()
      for daemon in "${DAEMONS[@]}"; do
        if ! running_pid "$daemon" >/dev/null; then
          # bgpd keeps its zebra session only with the zebra it started with.
          [[ $daemon == zebra ]] && stop_daemon bgpd
          start_daemon "$daemon"
          started+=("$daemon")
        fi
      done
      say "started ${started[*]}"
      ;;
  esac
  wait_for_daemons
}

# --- checking and applying one daemon's configuration ----------------------------------------

# FRR's own verdict on a file: the daemon parses it (-C, dry run) and names each line it refuses.
check_with_daemon() {
  local daemon=$1 file=$2 scratch messages
  scratch=$(mktemp -d)
  chmod 0777 "$scratch"
  messages=$("$sbin_dir/$daemon" -C -f "$file" -A 127.0.0.1 -P 0 -i "$scratch/$daemon.pid" --log stdout 2>&1) || true
  rm -rf "$scratch"
  messages=$(grep -E 'on config line|% ' <<<"$messages" || true)
  [[ -z $messages ]] || die "$daemon refuses the new configuration (nothing was applied):
$messages"
}

reload_tool() {
  "$sbin_dir/frr-reload.py" --bindir "$(dirname "$(command -v vtysh)")" --confdir "$config_dir" \
    --rundir "$run_dir" --daemon "$1" "${@:2}"
}

# The lines frr-reload.py would add or delete to make the daemon run FILE; empty when it already does.
difference() {
  local daemon=$1 file=$2 output
  output=$(reload_tool "$daemon" --test "$file" 2>&1) || die "frr-reload.py could not compare $daemon's configuration:
$output"
  # A daemon takes its hostname when it starts (vtysh shows its own next to it): not a runtime change.
  sed -n '/^Lines To \(Delete\|Add\)$/,$p' <<<"$output" |
    grep -vE '^(Lines To (Delete|Add)|=+|(no )?hostname .*)?$' || true
}

# Applies FILE to the running daemon; on failure puts back what ran before and fails with FRR's words.
apply_daemon() {
  local daemon=$1 file=$2 before output failed=no left
  before=$(temp_file)
  vtysh -d "$daemon" -c "show running-config no-header" >"$before"
  output=$(reload_tool "$daemon" --reload --stdout --log-level warning "$file" 2>&1) || failed=yes
  left=$(difference "$daemon" "$file")
  if [[ $failed == yes || -n $left ]]; then
    reload_tool "$daemon" --reload --stdout --log-level error "$before" >/dev/null 2>&1 || true
    [[ -n $(difference "$daemon" "$before") ]] && warn "warning: $daemon's previous configuration could not be fully restored"
    die "$daemon did not accept the new configuration; its previous running configuration was put back:
${output}${left:+
not applied:
$left}"
  fi
  APPLIED+=("$daemon")
}

# The daemon's new file, next to the one in use, checked by the daemon itself. A file equal to the
# one in use is not checked again: this script installs only files the daemon accepted, and a check
# starts the daemon once more (the largest part of a re-run with unchanged files, and of the
# lab restarting bgpd with them).
stage_daemon() {
  local daemon=$1 candidate="$config_dir/$1.conf.new"
  TEMP_FILES+=("$candidate")
  (umask 027 && content_of "$daemon" >"$candidate")
  [[ -z $FRR_OWNER ]] || chown "$FRR_OWNER" "$candidate"
  if [[ -f $config_dir/$daemon.conf && $(<"$config_dir/$daemon.conf") == "$(content_of "$daemon")" ]]; then
    return 0
  fi
  check_with_daemon "$daemon" "$candidate"
}

install_daemon_file() {
  content_of "$1" | write_if_changed "$config_dir/$1.conf" 0640 "$FRR_OWNER"
}

# zebra shows the kernel's IP forwarding as configuration, and frr-reload.py would flip it to match
# the file: the compared and applied file keeps what runs (sysctl.sh owns forwarding).
configure_daemon() {
  local daemon=$1 candidate="$config_dir/$1.conf.new" target
  target=$(temp_file)
  {
    cat "$candidate"
    vtysh -d "$daemon" -c "show running-config no-header" | grep -E '^(no )?ipv?6? forwarding$' || true
  } >"$target"
  chmod 0644 "$target"
  if [[ -n $(difference "$daemon" "$target") ]]; then
    apply_daemon "$daemon" "$target"
  fi
  install_daemon_file "$daemon"
}

# True when FRR must (re)start to use the files: it is not running, or (systemd) the daemons file
# changed, which decides what runs. Always true with FRR_SERVICE=none (files only).
needs_start() {
  local daemon
  case $service in
    systemd) changed "$config_dir/daemons" || ! systemctl is-active --quiet frr ;;
    direct)
      for daemon in "${DAEMONS[@]}"; do
        running_pid "$daemon" >/dev/null || return 0
      done
      return 1
      ;;
    none) return 0 ;;
  esac
}

create() {
  install -d -m 0755 "$config_dir"
  FRR_OWNER=$(frr_owner)
  local name daemon
  for name in bgpd.conf zebra.conf daemons frr.conf; do
    remember_file "$name"
  done
  remember_service
  for daemon in "${DAEMONS[@]}"; do
    stage_daemon "$daemon"
  done
  printf '%s\n' "$FRR_DAEMONS" | write_if_changed "$config_dir/daemons" 0640 "$FRR_OWNER"
  remove_file "$config_dir/frr.conf"
  if ! needs_start; then
    wait_for_daemons
    for daemon in "${DAEMONS[@]}"; do
      configure_daemon "$daemon"
    done
  else
    # Not running yet (or other daemons asked for): they read the checked files when they start.
    for daemon in "${DAEMONS[@]}"; do
      install_daemon_file "$daemon"
    done
    [[ $service == none ]] || ensure_running
  fi
  if ((${#APPLIED[@]} > 0)); then
    say "applied ${APPLIED[*]} without restarting it"
  elif ((${#CHANGED_FILES[@]} == 0)); then
    say "unchanged"
  fi
}

delete() {
  local name daemon before
  before=$(recalled_value service || echo unknown)
  case $service in
    direct)
      if [[ $before == stopped ]]; then
        for daemon in bgpd zebra; do stop_daemon "$daemon"; done
      fi
      ;;
    systemd)
      if [[ $before == stopped ]]; then
        run systemctl disable --now frr
      fi
      ;;
  esac
  for name in bgpd.conf zebra.conf daemons frr.conf; do
    restore_file "$name"
  done
  [[ $service != systemd || $before != running ]] || run systemctl restart frr
  forget_value service
  say "removed the fabric's FRR configuration"
}

main() {
  read_action create delete
  check_inputs
  "$ACTION"
}

main "$@"
