#!/usr/bin/env bash
# Brings up the overlay's WireGuard interface on this host, idempotently: the first run creates
# the key and the interface, later runs apply peer changes with `wg syncconf` without tearing
# the interface down. The private key is generated here and never leaves the host; stdout
# carries only the public key (its last line). A configuration run also writes the boot unit
# opennebula-edge-wireguard-<if>.service that brings the interface back at every boot.
#
# Environment (every value comes from here; callers never splice values into this text):
#   ACTION             create (default); delete: with WG_KEY_ONLY=1 remove the key, else remove the
#                      interface, its configuration, the boot unit, and put back the IPv4
#                      forwarding setting WG_IP_FORWARD changed
#   WG_KEY_ONLY        1 = only ensure the key exists and print the public key. Default 0.
#   WG_INTERFACE       interface name. Default wg0.
#   WG_CONFIG          rendered `wg setconf` file WITHOUT PrivateKey (required unless WG_KEY_ONLY=1).
#   WG_ADDRESS         interface address with prefix, e.g. 192.168.0.2/24 (required unless WG_KEY_ONLY=1).
#   WG_MTU             interface MTU. Default 1420.
#   WG_IP_FORWARD      1 = enable IPv4 forwarding (the ingress of a hub). Default 0.
#   WG_CONFIG_DIR      directory of <if>.key and <if>.conf (0700, files 0600). Default /etc/wireguard.
#   WG_IMPLEMENTATION  auto (kernel module if `ip link add … type wireguard` works, else
#                      wireguard-go), kernel or userspace. Default auto.
#   WG_USERSPACE_PROGRAM  the wireguard-go program, for userspace WireGuard: a name on PATH or an
#                      absolute path (e.g. a newer build with TUN offloads). Default wireguard-go.
# shellcheck source-path=SCRIPTDIR source=prelude.sh disable=SC1091
declare -F die >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
script_name wireguard-up.sh

readonly INPUTS=(WG_INTERFACE WG_CONFIG WG_ADDRESS WG_MTU WG_IP_FORWARD WG_CONFIG_DIR WG_IMPLEMENTATION WG_USERSPACE_PROGRAM)
iface=${WG_INTERFACE:-wg0}
config_dir=${WG_CONFIG_DIR:-/etc/wireguard}
mtu=${WG_MTU:-1420}
implementation=${WG_IMPLEMENTATION:-auto}
userspace_program=${WG_USERSPACE_PROGRAM:-wireguard-go}
key_only=${WG_KEY_ONLY:-0}
key_file="$config_dir/$iface.key"
conf_file="$config_dir/$iface.conf"
# What delete puts back (the forwarding setting) is kept next to the key.
STATE_DIR=$config_dir

check_inputs() {
  [[ $iface =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || die "WG_INTERFACE must be 1-15 letters, digits, '.', '_' or '-'"
  [[ $key_only == 0 || $key_only == 1 ]] || die "WG_KEY_ONLY must be 0 or 1"
  [[ $key_only == 1 || $ACTION == delete ]] && return 0
  [[ -n ${WG_CONFIG:-} ]] || die "WG_CONFIG is required (the rendered wg setconf file)"
  [[ ${WG_ADDRESS:-} =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$ ]] || die "WG_ADDRESS must look like 192.168.0.2/24"
  [[ $mtu =~ ^[0-9]{3,5}$ ]] || die "WG_MTU must be a number such as 1420"
  [[ $implementation =~ ^(auto|kernel|userspace)$ ]] || die "WG_IMPLEMENTATION must be auto, kernel or userspace"
  [[ $userspace_program =~ ^(/[A-Za-z0-9_.+/-]+|[A-Za-z0-9_.+-]+)$ ]] || die "WG_USERSPACE_PROGRAM must be a program name or an absolute path"
  [[ ${WG_IP_FORWARD:-0} =~ ^[01]$ ]] || die "WG_IP_FORWARD must be 0 or 1"
  if grep -qi '^[[:space:]]*PrivateKey' <<<"$WG_CONFIG"; then
    die "WG_CONFIG must not contain PrivateKey: the key is generated and kept on this host"
  fi
  [[ $(grep -c '^\[Interface\]$' <<<"$WG_CONFIG") == 1 ]] || die "WG_CONFIG must contain exactly one [Interface] line"
}

ensure_key() {
  if [[ ! -d $config_dir ]]; then
    install -d -m 0700 "$config_dir"
    remember_value "$iface.created-dir" yes
  fi
  if [[ ! -s $key_file ]]; then
    (umask 077 && wg genkey >"$key_file.tmp" && mv -f "$key_file.tmp" "$key_file")
    say "generated the private key in $key_file"
  fi
  chmod 0600 "$key_file"
}

# Prints WG_CONFIG with the host's PrivateKey inserted after [Interface] (wg setconf and
# syncconf clear the key when the file has none).
config_with_key() {
  local key line
  key=$(<"$key_file")
  while IFS= read -r line || [[ -n $line ]]; do
    printf '%s\n' "$line"
    if [[ $line == "[Interface]" ]]; then
      printf 'PrivateKey = %s\n' "$key"
    fi
  done <<<"$WG_CONFIG"
}

start_userspace() {
  command -v "$userspace_program" >/dev/null || die "no WireGuard kernel module and no $userspace_program installed (WG_USERSPACE_PROGRAM)"
  # wireguard-go daemonizes once the TUN device and its control socket exist; its banner goes to stderr.
  WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 run "$userspace_program" "$iface" >&2
  local attempt
  for attempt in $(seq 1 50); do
    wg show "$iface" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  die "wireguard-go started but $iface did not answer within 5 s (attempts: $attempt)"
}

ensure_interface() {
  ip link show dev "$iface" >/dev/null 2>&1 && return 0
  case $implementation in
    kernel) run ip link add dev "$iface" type wireguard ;;
    userspace) start_userspace ;;
    auto) run ip link add dev "$iface" type wireguard 2>/dev/null || start_userspace ;;
  esac
}

# Sets WG_ADDRESS as the only IPv4 address of the interface.
apply_address() {
  local existing
  for existing in $(ip -o -4 addr show dev "$iface" | awk '{print $4}'); do
    [[ $existing == "$WG_ADDRESS" ]] || run ip addr del "$existing" dev "$iface"
  done
  [[ $(ip -o -4 addr show dev "$iface") == *" $WG_ADDRESS "* ]] || run ip addr replace "$WG_ADDRESS" dev "$iface"
}

set_ip_forward() {
  local current
  current=$(sysctl -n net.ipv4.ip_forward)
  remember_value "$iface.ip_forward" "$current"
  [[ $current == 1 ]] || run sysctl -q -w net.ipv4.ip_forward=1
}

configure() {
  config_with_key | write_if_changed "$conf_file" 0600
  ensure_interface
  run wg syncconf "$iface" "$conf_file"
  apply_address
  run ip link set dev "$iface" mtu "$mtu" up
  [[ ${WG_IP_FORWARD:-0} == 0 ]] || set_ip_forward
  install_boot_unit "wireguard-$iface" "WireGuard interface $iface of the OpenNebula overlay" \
    "Wants=network-online.target
After=network-online.target opennebula-edge-firewall.service" "${INPUTS[@]}"
}

# Only the public key goes to stdout (the components read it from there); the rest to stderr.
create() {
  ensure_key >&2
  [[ $key_only == 1 ]] || configure >&2
  wg pubkey <"$key_file"
}

delete() {
  if [[ $key_only == 1 ]]; then
    remove_file "$key_file"
    if [[ $(recalled_value "$iface.created-dir") == yes ]]; then
      forget_value "$iface.created-dir"
      rmdir --ignore-fail-on-non-empty "$config_dir"
    fi
  else
    remove_boot_unit "wireguard-$iface"
    if ip link show dev "$iface" >/dev/null 2>&1; then
      # Deleting the link also ends a wireguard-go serving it.
      run ip link del dev "$iface"
      say "removed $iface"
    fi
    remove_file "$conf_file"
    local forward
    if forward=$(recalled_value "$iface.ip_forward"); then
      [[ $(sysctl -n net.ipv4.ip_forward) == "$forward" ]] || run sysctl -q -w "net.ipv4.ip_forward=$forward"
      forget_value "$iface.ip_forward"
    fi
  fi
}

main() {
  read_action create delete
  check_inputs
  "$ACTION"
}

main "$@"
