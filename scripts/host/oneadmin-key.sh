#!/usr/bin/env bash
# Lets the OpenNebula front-end in: installs its oneadmin public key in
# /var/lib/one/.ssh/authorized_keys and hardens sshd (what oneprovision's opennebula-ssh role did).
#
# Environment:
#   ONEADMIN_PUBKEY  required: one OpenSSH public key line ("ssh-ed25519 AAAA... comment")
#   SSHD_HARDEN      yes (default): PasswordAuthentication no, PermitRootLogin prohibit-password
#                    (the current name of oneprovision's "without-password"); no: leave sshd alone
#   HOST_ROOT        prefix for every file read or written (default: none, i.e. /); with a prefix,
#                    sshd is neither checked nor reloaded
#
# Files: /var/lib/one/.ssh (0700) and authorized_keys (0600), owned by oneadmin when that user
# exists, else by uid/gid 9869 (the id the OpenNebula packages give oneadmin). A key already
# present (same type and key data, whatever its comment) is not added again. sshd settings go to
# /etc/ssh/sshd_config.d/10-opennebula-edge.conf when sshd_config includes that directory (the
# lowest-numbered file wins over cloud-init's 50-cloud-init.conf), else into a marked block at
# the top of sshd_config (sshd keeps the first value it reads).
set -euo pipefail

readonly SCRIPT=oneadmin-key.sh
readonly ROOT=${HOST_ROOT:-}
readonly SSH_DIR=$ROOT/var/lib/one/.ssh
readonly AUTHORIZED_KEYS=$SSH_DIR/authorized_keys
readonly SSHD_CONFIG=$ROOT/etc/ssh/sshd_config
readonly SSHD_DROP_IN=$ROOT/etc/ssh/sshd_config.d/10-opennebula-edge.conf
readonly BLOCK_BEGIN="# BEGIN opennebula-edge (oneadmin-key.sh)"
readonly BLOCK_END="# END opennebula-edge (oneadmin-key.sh)"
readonly DEFAULT_ID=9869

die() {
  echo "$SCRIPT: $*" >&2
  exit 1
}

read_inputs() {
  KEY=${ONEADMIN_PUBKEY:-}
  [[ -n $KEY ]] || die "ONEADMIN_PUBKEY is required: the front-end's oneadmin public key"
  local types='ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com'
  [[ $KEY != *$'\n'* && $KEY =~ ^($types)\ [A-Za-z0-9+/]+={0,3}(\ [^[:cntrl:]]*)?$ ]] ||
    die "ONEADMIN_PUBKEY must be one OpenSSH public key line: TYPE BASE64 [COMMENT], TYPE one of ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521, sk-ssh-ed25519@openssh.com, sk-ecdsa-sha2-nistp256@openssh.com"
  KEY_DATA=$(cut -d' ' -f2 <<<"$KEY")
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

install_key() {
  local owner
  owner=$(oneadmin_ids)
  mkdir -p "$SSH_DIR"
  chmod 0700 "$SSH_DIR"
  touch "$AUTHORIZED_KEYS"
  chmod 0600 "$AUTHORIZED_KEYS"
  if ((EUID == 0)); then
    chown "$owner" "$SSH_DIR" "$AUTHORIZED_KEYS"
  fi
  # The key data field identifies a key; options before it or a comment after it do not.
  if awk -v data="$KEY_DATA" '{ for (i = 1; i <= NF; i++) if ($i == data) found = 1 } END { exit !found }' \
    "$AUTHORIZED_KEYS"; then
    echo "$SCRIPT: the oneadmin key is already authorized"
    return 0
  fi
  # Keep the last existing line intact when the file does not end with a newline.
  if [[ -s $AUTHORIZED_KEYS && $(tail -c 1 "$AUTHORIZED_KEYS") != "" ]]; then
    echo >>"$AUTHORIZED_KEYS"
  fi
  printf '%s\n' "$KEY" >>"$AUTHORIZED_KEYS"
  echo "$SCRIPT: authorized the oneadmin key in $AUTHORIZED_KEYS"
}

sshd_settings() {
  printf '%s\n' "PasswordAuthentication no" "PermitRootLogin prohibit-password"
}

# sshd_config with our block (re)placed at the top.
config_with_block() {
  echo "$BLOCK_BEGIN"
  sshd_settings
  echo "$BLOCK_END"
  awk -v begin="$BLOCK_BEGIN" -v end="$BLOCK_END" \
    '$0 == begin { skip = 1; next } $0 == end { skip = 0; next } !skip' "$SSHD_CONFIG"
}

SSHD_CHANGED=no

# Writes CONTENT to FILE when it differs; remembers the old content for a rollback.
replace_file() {
  local file=$1 content=$2
  [[ -f $file && $(cat "$file") == "$content" ]] && return 0
  SSHD_CHANGED=yes
  ROLLBACK_FILE=$file
  ROLLBACK_CONTENT=$(cat "$file" 2>/dev/null || true)
  ROLLBACK_EXISTED=no
  [[ -f $file ]] && ROLLBACK_EXISTED=yes
  mkdir -p "$(dirname "$file")"
  printf '%s\n' "$content" >"$file.tmp"
  chmod 0644 "$file.tmp"
  mv -f "$file.tmp" "$file"
  echo "$SCRIPT: wrote $file"
}

rollback() {
  if [[ $ROLLBACK_EXISTED == yes ]]; then
    printf '%s\n' "$ROLLBACK_CONTENT" >"$ROLLBACK_FILE"
  else
    rm -f "$ROLLBACK_FILE"
  fi
}

harden_sshd() {
  [[ $HARDEN == yes ]] || return 0
  if [[ ! -f $SSHD_CONFIG ]]; then
    echo "$SCRIPT: $SSHD_CONFIG not found, sshd left alone"
    return 0
  fi
  if grep -Eq '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/\*\.conf' "$SSHD_CONFIG"; then
    replace_file "$SSHD_DROP_IN" "# Managed by opennebula-edge (oneadmin-key.sh)
$(sshd_settings)"
  else
    replace_file "$SSHD_CONFIG" "$(config_with_block)"
  fi
  [[ $SSHD_CHANGED == yes && -z $ROOT ]] || return 0
  if ! sshd -t 2>/dev/null; then
    rollback
    die "sshd rejected the new settings; $ROLLBACK_FILE was restored"
  fi
  systemctl try-reload-or-restart ssh.service 2>/dev/null ||
    systemctl try-reload-or-restart sshd.service 2>/dev/null || true
}

main() {
  read_inputs
  install_key
  harden_sshd
}

main "$@"
