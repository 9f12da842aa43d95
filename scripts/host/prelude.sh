#!/usr/bin/env bash
# The shared helpers of every host script, in one place. `toStdin` (components/edge/host-scripts.ts)
# puts this file once in front of the script it sends; a script run straight from scripts/host
# (the lab) loads it from beside itself. Scripts start with `script_name <file name>`, then use:
#
#   say / warn / die         a line on stdout / stderr, prefixed with the script's name; die exits 1
#   run CMD ARGS…            echoes the command to stderr ("+ CMD ARGS"), then runs it
#   read_action A B…         ACTION (default create) must be one of A B…, e.g. create delete
#   apt_get ARGS…            apt-get that waits for the dpkg lock and keeps changed config files
#   install_tools            curl, gnupg and ca-certificates, for scripts that download keys
#   write_if_changed F MODE  writes stdin to F (atomically, MODE) only when the content differs
#   remove_file F            removes F when it exists
#   changed F                true when this run wrote or removed F
#   temp_file                a temporary file, removed when the script exits
#   remember_value NAME V    keeps V (e.g. a sysctl before the first change) under NAME until
#                            forget_value NAME; recalled_value NAME prints it
#   install_boot_unit …      the systemd unit that replays this script at boot (see below)
#   remove_boot_unit NAME    removes that unit and its replay file
#
# Common environment: ACTION (see read_action); BOOT_UNITS yes: write the boot units, no (default,
# for runs outside a real host such as the lab): do not; HOST_ROOT (default none) prefixes every
# file these helpers write, and with it systemd is left alone. Remembered values live in STATE_DIR
# (/var/lib/opennebula-edge unless the script keeps them next to its own files).
# On exit a trap removes the temporary files and, when the script fails without saying why,
# names the last command it ran.
set -euo pipefail
# A failed check inside $(...) stops the script too, not only the subshell.
shopt -s inherit_errexit
# `… | write_if_changed FILE` runs in this shell, so that it can record what it changed.
shopt -s lastpipe

ROOT=${HOST_ROOT:-}
CHANGED_FILES=()
TEMP_FILES=()
LAST_COMMAND=
DIED=no
readonly ROOT
# Where boot replays and remembered values live (root-only: 0700 directories, 0600 files).
readonly BOOT_DIR=/etc/opennebula-edge/boot
STATE_DIR=/var/lib/opennebula-edge
readonly UNIT_DIR=/etc/systemd/system

# script_name NAME: the name every message starts with (the script's file name).
script_name() {
  SCRIPT=$1
  readonly SCRIPT
}

say() {
  echo "${SCRIPT:-host-script}: $*"
}

warn() {
  echo "${SCRIPT:-host-script}: $*" >&2
}

die() {
  warn "$@"
  DIED=yes
  exit 1
}

run() {
  LAST_COMMAND="$*"
  echo "+ $*" >&2
  "$@"
}

on_exit() {
  local status=$?
  if ((${#TEMP_FILES[@]} > 0)); then
    rm -f -- "${TEMP_FILES[@]}"
  fi
  if ((status != 0)) && [[ $DIED == no && -n $LAST_COMMAND ]]; then
    warn "failed (exit $status); the last command run was: $LAST_COMMAND"
  fi
}
trap on_exit EXIT

temp_file() {
  local file
  file=$(mktemp)
  TEMP_FILES+=("$file")
  echo "$file"
}

read_action() {
  [[ ${BOOT_UNITS:-no} == yes || ${BOOT_UNITS:-no} == no ]] || die "BOOT_UNITS must be yes or no (got '$BOOT_UNITS')"
  ACTION=${ACTION:-create}
  local allowed
  for allowed in "$@"; do
    [[ $ACTION == "$allowed" ]] && return 0
  done
  die "ACTION must be one of $* (got '$ACTION')"
}

apt_get() {
  # Fresh cloud machines often run unattended-upgrades at boot; wait for the dpkg lock.
  DEBIAN_FRONTEND=noninteractive run apt-get -o DPkg::Lock::Timeout=600 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold -q "$@"
}

install_tools() {
  local missing=()
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v gpg >/dev/null 2>&1 || missing+=(gnupg)
  [[ -f /etc/ssl/certs/ca-certificates.crt ]] || missing+=(ca-certificates)
  if ((${#missing[@]} > 0)); then
    apt_get update
    apt_get install -y --no-install-recommends "${missing[@]}"
  fi
}

# write_if_changed FILE MODE [OWNER:GROUP] < content. The content is compared without trailing
# newlines and written with exactly one.
write_if_changed() {
  local file=$1 mode=$2 owner=${3:-} content
  content=$(cat)
  if [[ -f $file && $(cat "$file") == "$content" ]]; then
    return 0
  fi
  mkdir -p "$(dirname "$file")"
  (umask 077 && printf '%s\n' "$content" >"$file.tmp")
  chmod "$mode" "$file.tmp"
  [[ -z $owner ]] || chown "$owner" "$file.tmp"
  mv -f "$file.tmp" "$file"
  CHANGED_FILES+=("$file")
  say "wrote $file"
}

remove_file() {
  [[ -e $1 || -L $1 ]] || return 0
  rm -f -- "$1"
  CHANGED_FILES+=("$1")
  say "removed $1"
}

changed() {
  local file
  for file in "${CHANGED_FILES[@]}"; do
    [[ $file == "$1" ]] && return 0
  done
  return 1
}

# Removes DIR and its empty parents up to (not including) STOP, when they are empty.
remove_empty_dirs() {
  local dir=$1 stop=$2
  while [[ $dir != "$stop" && $dir == "$stop"/* && -d $dir ]]; do
    rmdir -- "$dir" 2>/dev/null || return 0
    dir=$(dirname "$dir")
  done
}

# --- remembered values (what a delete restores) ----------------------------------------------

remembered_file() {
  [[ $1 =~ ^[A-Za-z0-9_.-]+$ ]] || die "remembered value name '$1' is not a file name"
  echo "$ROOT$STATE_DIR/${SCRIPT%.sh}.$1"
}

# Keeps the first value given for NAME: later runs do not overwrite what the host had before.
remember_value() {
  local file
  file=$(remembered_file "$1")
  [[ -f $file ]] && return 0
  install -d -m 0700 "$(dirname "$file")"
  printf '%s\n' "$2" | write_if_changed "$file" 0600
}

recalled_value() {
  local file
  file=$(remembered_file "$1")
  [[ -f $file ]] || return 1
  cat "$file"
}

forget_value() {
  remove_file "$(remembered_file "$1")"
  remove_empty_dirs "$ROOT$STATE_DIR" "$ROOT/var/lib"
}

# --- boot units ----------------------------------------------------------------------------------
#
# install_boot_unit NAME DESCRIPTION "UNIT LINES" VARIABLE…
# writes $BOOT_DIR/NAME.sh (0700): the values of VARIABLE… of this run, then this very script (the
# prelude and the script as they ran), and the unit opennebula-edge-NAME.service that runs it at
# boot (enabled: linked from multi-user.target.wants, as `systemctl enable` does). "UNIT LINES"
# go into [Unit] (ordering). A replay (BOOT_REPLAY=1) writes nothing.

boot_unit_name() {
  echo "opennebula-edge-$1.service"
}

# The text of the running script: prelude and script as the loader ran them (bash -c), or, when
# run from a file, the prelude file and the script file.
running_script_text() {
  if [[ -n ${BASH_EXECUTION_STRING:-} ]]; then
    printf '%s\n' "$BASH_EXECUTION_STRING"
  else
    cat "${BASH_SOURCE[0]}" "$0"
  fi
}

replay_text() {
  local name=$1 variable
  shift
  echo "#!/usr/bin/env bash"
  echo "# Written by $SCRIPT: re-applies it at boot with the values of its last run."
  echo "export BOOT_REPLAY=1"
  for variable in "$@"; do
    [[ -v $variable ]] && printf 'export %s=%q\n' "$variable" "${!variable}"
  done
  running_script_text
}

unit_text() {
  local name=$1 description=$2 ordering=$3
  cat <<EOF
[Unit]
Description=$description (written by $SCRIPT)
$ordering

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=$(command -v bash) $BOOT_DIR/$name.sh

[Install]
WantedBy=multi-user.target
EOF
}

systemd_running() {
  [[ -z $ROOT && -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1
}

install_boot_unit() {
  local name=$1 description=$2 ordering=$3 unit
  shift 3
  [[ ${BOOT_UNITS:-no} == yes && ${BOOT_REPLAY:-} != 1 ]] || return 0
  unit=$(boot_unit_name "$name")
  install -d -m 0700 "$ROOT$BOOT_DIR"
  replay_text "$name" "$@" | write_if_changed "$ROOT$BOOT_DIR/$name.sh" 0700
  unit_text "$name" "$description" "$ordering" | write_if_changed "$ROOT$UNIT_DIR/$unit" 0644
  mkdir -p "$ROOT$UNIT_DIR/multi-user.target.wants"
  if [[ $(readlink "$ROOT$UNIT_DIR/multi-user.target.wants/$unit" 2>/dev/null) != "$UNIT_DIR/$unit" ]]; then
    ln -sfn "$UNIT_DIR/$unit" "$ROOT$UNIT_DIR/multi-user.target.wants/$unit"
    say "enabled $unit"
  fi
  if changed "$ROOT$UNIT_DIR/$unit" && systemd_running; then
    run systemctl daemon-reload
  fi
}

remove_boot_unit() {
  local name=$1 unit
  unit=$(boot_unit_name "$name")
  remove_file "$ROOT$UNIT_DIR/multi-user.target.wants/$unit"
  remove_file "$ROOT$UNIT_DIR/$unit"
  remove_file "$ROOT$BOOT_DIR/$name.sh"
  remove_empty_dirs "$ROOT$BOOT_DIR" "$ROOT/etc"
  if changed "$ROOT$UNIT_DIR/$unit" && systemd_running; then
    run systemctl daemon-reload
  fi
}
