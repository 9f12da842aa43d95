#!/usr/bin/env bash
# Lets the OpenNebula front-end in: installs its oneadmin public key in
# /var/lib/one/.ssh/authorized_keys and hardens sshd (what oneprovision's opennebula-ssh role did).
#
# Environment:
#   ACTION           create (default); delete: remove the key line this script added (and the file
#                    and directory it created, when nothing else is in them) and the sshd settings
#                    it wrote
#   ONEADMIN_PUBKEY  required: one OpenSSH public key line ("ssh-ed25519 AAAA... comment")
#   SSHD_HARDEN      yes (default): PasswordAuthentication no, PermitRootLogin prohibit-password
#                    (the current name of oneprovision's "without-password"); no: leave sshd alone
#   HOST_ROOT        prefix for every file read or written (default: none, i.e. /); with a prefix,
#                    sshd is neither checked nor reloaded
#
# Files: /var/lib/one/.ssh (0700) and authorized_keys (0600), owned by oneadmin when that user
# exists, else by uid/gid 9869 (the id the OpenNebula packages give oneadmin). The key counts as
# authorized only when an active line (not commented out) holds exactly that type and key data
# with no options before it (a `from=` or `command=` restriction is not ours); otherwise the key is
# added, before any other line of the same key so that sshd, which uses the first match, uses it.
# sshd settings go to /etc/ssh/sshd_config.d/10-opennebula-edge.conf when sshd_config includes
# that directory (the lowest-numbered file wins over cloud-init's 50-cloud-init.conf), else into a
# marked block at the top of sshd_config (sshd keeps the first value it reads).
# shellcheck source-path=SCRIPTDIR source=prelude.sh disable=SC1091
declare -F die >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
script_name oneadmin-key.sh

readonly SSH_DIR=$ROOT/var/lib/one/.ssh
readonly AUTHORIZED_KEYS=$SSH_DIR/authorized_keys
readonly SSHD_CONFIG=$ROOT/etc/ssh/sshd_config
readonly SSHD_DROP_IN=$ROOT/etc/ssh/sshd_config.d/10-opennebula-edge.conf
readonly BLOCK_BEGIN="# BEGIN opennebula-edge (oneadmin-key.sh)"
readonly BLOCK_END="# END opennebula-edge (oneadmin-key.sh)"
readonly DEFAULT_ID=9869

read_inputs() {
  KEY=${ONEADMIN_PUBKEY:-}
  [[ -n $KEY ]] || die "ONEADMIN_PUBKEY is required: the front-end's oneadmin public key"
  local types='ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com'
  [[ $KEY != *$'\n'* && $KEY =~ ^($types)\ [A-Za-z0-9+/]+={0,3}(\ [^[:cntrl:]]*)?$ ]] ||
    die "ONEADMIN_PUBKEY must be one OpenSSH public key line: TYPE BASE64 [COMMENT], TYPE one of ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521, sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com"
  read -r KEY_TYPE KEY_DATA _ <<<"$KEY"
  # The name under which this script remembers that it added the key.
  KEY_ID=added-$(printf '%s' "$KEY_DATA" | sha256sum | cut -c1-16)
  HARDEN=${SSHD_HARDEN:-yes}
  [[ $HARDEN == yes || $HARDEN == no ]] || die "SSHD_HARDEN must be yes or no (got '$HARDEN')"
}

# "uid:gid" of oneadmin, from the system (or $HOST_ROOT/etc/passwd), else 9869:9869.
oneadmin_ids() {
  if [[ -z $ROOT ]]; then
    if id oneadmin >/dev/null 2>&1; then
      echo "$(id -u oneadmin):$(id -g oneadmin)"
      return 0
    fi
  elif [[ -r $ROOT/etc/passwd ]]; then
    local ids
    ids=$(awk -F: '$1 == "oneadmin" { print $3 ":" $4; exit }' "$ROOT/etc/passwd")
    if [[ -n $ids ]]; then
      echo "$ids"
      return 0
    fi
  fi
  echo "$DEFAULT_ID:$DEFAULT_ID"
}

# The numbers of the lines that authorize the key exactly: active, no options, same type and data.
exact_lines() {
  awk -v type="$KEY_TYPE" -v data="$KEY_DATA" '$1 == type && $2 == data { print NR }' "$AUTHORIZED_KEYS"
}

# The number of the first active line of the same key with options (from=, command= …).
first_line_with_key() {
  awk -v data="$KEY_DATA" '$1 !~ /^#/ { for (i = 2; i <= NF; i++) if ($i == data) { print NR; exit } }' "$AUTHORIZED_KEYS"
}

prepare_files() {
  local owner
  owner=$(oneadmin_ids)
  # What delete removes again when nothing else was put in it.
  [[ -e $AUTHORIZED_KEYS ]] || remember_value created-file yes
  [[ -d $SSH_DIR ]] || remember_value created-dir yes
  mkdir -p "$SSH_DIR"
  chmod 0700 "$SSH_DIR"
  touch "$AUTHORIZED_KEYS"
  chmod 0600 "$AUTHORIZED_KEYS"
  if ((EUID == 0)); then
    chown "$owner" "$SSH_DIR" "$AUTHORIZED_KEYS"
  fi
}

install_key() {
  prepare_files
  if [[ -n $(exact_lines) ]]; then
    say "the oneadmin key is already authorized"
    return 0
  fi
  local before tmp
  before=$(first_line_with_key)
  tmp=$(temp_file)
  if [[ -n $before ]]; then
    awk -v n="$before" -v key="$KEY" 'NR == n { print key } { print }' "$AUTHORIZED_KEYS" >"$tmp"
  else
    cat "$AUTHORIZED_KEYS" >"$tmp"
    # Keep the last existing line intact when the file does not end with a newline.
    if [[ -s $tmp && $(tail -c 1 "$tmp") != "" ]]; then
      echo >>"$tmp"
    fi
    printf '%s\n' "$KEY" >>"$tmp"
  fi
  # In place, so that the file keeps its owner and mode.
  cat "$tmp" >"$AUTHORIZED_KEYS"
  remember_value "$KEY_ID" yes
  say "authorized the oneadmin key in $AUTHORIZED_KEYS${before:+ (before line $before, another line of the same key)}"
}

remove_key() {
  [[ $(recalled_value "$KEY_ID") == yes ]] || return 0
  if [[ -f $AUTHORIZED_KEYS ]]; then
    local tmp
    tmp=$(temp_file)
    awk -v line="$KEY" '$0 != line' "$AUTHORIZED_KEYS" >"$tmp"
    cat "$tmp" >"$AUTHORIZED_KEYS"
    say "removed the oneadmin key from $AUTHORIZED_KEYS"
  fi
  forget_value "$KEY_ID"
}

# Removes the file and directory create made, when they hold nothing more.
remove_created_files() {
  if [[ $(recalled_value created-file) == yes ]]; then
    [[ -s $AUTHORIZED_KEYS ]] || remove_file "$AUTHORIZED_KEYS"
    forget_value created-file
  fi
  if [[ $(recalled_value created-dir) == yes ]]; then
    rmdir --ignore-fail-on-non-empty "$SSH_DIR" 2>/dev/null || true
    forget_value created-dir
  fi
}

sshd_settings() {
  printf '%s\n' "PasswordAuthentication no" "PermitRootLogin prohibit-password"
}

# sshd_config without our block; with it (re)placed at the top when $1 is "with".
config_with_block() {
  if [[ $1 == with ]]; then
    echo "$BLOCK_BEGIN"
    sshd_settings
    echo "$BLOCK_END"
  fi
  awk -v begin="$BLOCK_BEGIN" -v end="$BLOCK_END" \
    '$0 == begin { skip = 1; next } $0 == end { skip = 0; next } !skip' "$SSHD_CONFIG"
}

uses_drop_ins() {
  grep -Eq '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/\*\.conf' "$SSHD_CONFIG"
}

# Checks the new sshd settings and reloads sshd; puts back FILE's old content ($2, or removes it
# when $3 is "absent") when sshd rejects them.
reload_sshd() {
  local file=$1 old=$2 existed=$3
  if [[ -n $ROOT ]] || ! changed "$file"; then
    return 0
  fi
  if ! sshd -t 2>/dev/null; then
    if [[ $existed == yes ]]; then printf '%s\n' "$old" >"$file"; else rm -f "$file"; fi
    die "sshd rejected the new settings; $file was restored"
  fi
  run systemctl try-reload-or-restart ssh.service 2>/dev/null ||
    run systemctl try-reload-or-restart sshd.service 2>/dev/null || true
}

# set_sshd_file FILE CONTENT: writes the file (or removes it when CONTENT is empty) and reloads sshd.
set_sshd_file() {
  local file=$1 content=$2 old='' existed=no
  if [[ -f $file ]]; then
    old=$(cat "$file")
    existed=yes
  fi
  if [[ -n $content ]]; then
    printf '%s\n' "$content" | write_if_changed "$file" 0644
  else
    remove_file "$file"
  fi
  reload_sshd "$file" "$old" "$existed"
}

harden_sshd() {
  if [[ ! -f $SSHD_CONFIG ]]; then
    say "$SSHD_CONFIG not found, sshd left alone"
    return 0
  fi
  if uses_drop_ins; then
    set_sshd_file "$SSHD_DROP_IN" "# Managed by opennebula-edge (oneadmin-key.sh)
$(sshd_settings)"
  else
    set_sshd_file "$SSHD_CONFIG" "$(config_with_block with)"
  fi
}

unharden_sshd() {
  if [[ -f $SSHD_DROP_IN ]]; then
    set_sshd_file "$SSHD_DROP_IN" ""
  fi
  if [[ -f $SSHD_CONFIG ]] && grep -qxF "$BLOCK_BEGIN" "$SSHD_CONFIG"; then
    set_sshd_file "$SSHD_CONFIG" "$(config_with_block without)"
  fi
}

create() {
  install_key
  [[ $HARDEN == no ]] || harden_sshd
}

delete() {
  remove_key
  remove_created_files
  unharden_sshd
}

main() {
  read_action create delete
  read_inputs
  "$ACTION"
}

main "$@"
