#!/usr/bin/env bash
# Joins an Elastic Metal server to its Scaleway private network: the VLAN interface (PRIVATE_VLAN_DEVICE, default scwpn0) on
# the uplink with the host's reserved private address, configured now (ip) and at every boot
# (a systemd unit). No default route is added: the host keeps its public one.
#
# Environment:
#   ACTION           create (default); delete: remove the VLAN interface and its unit
#   PRIVATE_VLAN     required: VLAN id of the server's attachment (1-4094)
#   PRIVATE_ADDRESS  required: the host's private address with its prefix length, e.g. 172.18.0.10/24
#   UPLINK           physical interface (default: the interface of the IPv4 default route)
#   HOST_ROOT        prefix of the files written (default none, i.e. /); when set, systemd is left alone
#
# The last line of output is UPLINK=<interface>. Re-running with the same inputs changes nothing;
# with another VLAN, uplink or address it replaces them.
# shellcheck source-path=SCRIPTDIR source=prelude.sh disable=SC1091
declare -F die >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
script_name scaleway-private-vlan.sh

readonly DEVICE=${PRIVATE_VLAN_DEVICE:-scwpn0}
readonly UNIT=opennebula-edge-private-vlan.service
readonly UNIT_FILE=$ROOT$UNIT_DIR/$UNIT
readonly WANTS_LINK=$ROOT$UNIT_DIR/multi-user.target.wants/$UNIT

read_inputs() {
  local octet='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
  VLAN=${PRIVATE_VLAN:-}
  if [[ ! $VLAN =~ ^[1-9][0-9]{0,3}$ ]] || ((VLAN > 4094)); then
    die "PRIVATE_VLAN must be a VLAN id from 1 to 4094 (got '$VLAN')"
  fi
  ADDRESS=${PRIVATE_ADDRESS:-}
  [[ $ADDRESS =~ ^$octet\.$octet\.$octet\.$octet/([1-9]|[12][0-9]|3[0-2])$ ]] ||
    die "PRIVATE_ADDRESS must be an IPv4 address with a prefix length, e.g. 172.18.0.10/24 (got '$ADDRESS')"
  LINK=${UPLINK:-}
  if [[ -z $LINK ]]; then
    LINK=$(ip -4 route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
    [[ -n $LINK ]] || die "UPLINK is not set and there is no IPv4 default route to find it from"
  fi
  [[ $LINK =~ ^[A-Za-z0-9_.@-]{1,15}$ ]] || die "UPLINK must be an interface name (got '$LINK')"
  ip link show dev "$LINK" >/dev/null 2>&1 || die "UPLINK interface '$LINK' does not exist"
}

# True when DEVICE exists and is VLAN $VLAN on $LINK.
device_matches() {
  local details
  details=$(ip -d -o link show dev "$DEVICE" 2>/dev/null) || return 1
  [[ $details == *"$DEVICE@$LINK:"* && $details == *"vlan protocol 802.1Q id $VLAN "* ]]
}

configure_device() {
  if ! device_matches; then
    if ip link show dev "$DEVICE" >/dev/null 2>&1; then
      run ip link del dev "$DEVICE"
      say "removed $DEVICE (it was not VLAN $VLAN on $LINK)" >&2
    fi
    run ip link add link "$LINK" name "$DEVICE" type vlan id "$VLAN"
    say "created $DEVICE, VLAN $VLAN on $LINK" >&2
  fi
  [[ $(ip -4 -o addr show dev "$DEVICE") == *" $ADDRESS "* ]] || run ip addr replace "$ADDRESS" dev "$DEVICE"
  local current
  while read -r _ _ _ current _; do
    if [[ $current != "$ADDRESS" ]]; then
      run ip addr del "$current" dev "$DEVICE"
      say "removed stale address $current from $DEVICE" >&2
    fi
  done < <(ip -4 -o addr show dev "$DEVICE" scope global)
  run ip link set dev "$DEVICE" up >&2
}

unit_text() {
  local ip_command
  ip_command=$(command -v ip)
  cat <<EOF
[Unit]
Description=Scaleway private network VLAN of this OpenNebula edge host (written by $SCRIPT)
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=-$ip_command link add link $LINK name $DEVICE type vlan id $VLAN
ExecStart=$ip_command addr replace $ADDRESS dev $DEVICE
ExecStart=$ip_command link set dev $DEVICE up

[Install]
WantedBy=multi-user.target
EOF
}

persist() {
  unit_text | write_if_changed "$UNIT_FILE" 0644 >&2
  if [[ $(readlink "$WANTS_LINK" 2>/dev/null) != "$UNIT_DIR/$UNIT" ]]; then
    mkdir -p "$(dirname "$WANTS_LINK")"
    ln -sfn "$UNIT_DIR/$UNIT" "$WANTS_LINK"
  fi
  if changed "$UNIT_FILE" && systemd_running; then
    run systemctl daemon-reload
  fi
}

create() {
  read_inputs
  configure_device
  persist
  echo "UPLINK=$LINK"
}

delete() {
  remove_file "$WANTS_LINK"
  remove_file "$UNIT_FILE"
  if changed "$UNIT_FILE" && systemd_running; then
    run systemctl daemon-reload
  fi
  if ip link show dev "$DEVICE" >/dev/null 2>&1; then
    run ip link del dev "$DEVICE"
    say "removed $DEVICE"
  fi
}

main() {
  read_action create delete
  "$ACTION"
}

main "$@"
