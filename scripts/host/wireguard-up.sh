#!/usr/bin/env bash
# Brings up the overlay's WireGuard interface on this host, idempotently: the first run creates
# the key and the interface, later runs apply peer changes with `wg syncconf` without tearing
# the interface down. The private key is generated here and never leaves the host; stdout
# carries only the public key.
#
# Environment (every value comes from here; callers never splice values into this text):
#   WG_KEY_ONLY        1 = only ensure the key exists and print the public key. Default 0.
#   WG_INTERFACE       interface name. Default wg0.
#   WG_CONFIG          rendered `wg setconf` file WITHOUT PrivateKey (required unless WG_KEY_ONLY=1).
#   WG_ADDRESS         interface address with prefix, e.g. 192.168.0.2/24 (required unless WG_KEY_ONLY=1).
#   WG_MTU             interface MTU. Default 1420.
#   WG_IP_FORWARD      1 = enable IPv4 forwarding (the ingress of a hub). Default 0.
#   WG_CONFIG_DIR      directory of <if>.key and <if>.conf. Default /etc/wireguard.
#   WG_IMPLEMENTATION  auto (kernel module if `ip link add … type wireguard` works, else
#                      wireguard-go), kernel or userspace. Default auto.
set -euo pipefail

iface=${WG_INTERFACE:-wg0}
config_dir=${WG_CONFIG_DIR:-/etc/wireguard}
mtu=${WG_MTU:-1420}
implementation=${WG_IMPLEMENTATION:-auto}
key_file="$config_dir/$iface.key"
conf_file="$config_dir/$iface.conf"

fail() {
    echo "wireguard-up: $*" >&2
    exit 1
}

check_inputs() {
    [[ $iface =~ ^[A-Za-z0-9_.-]{1,15}$ ]] || fail "WG_INTERFACE must be 1-15 letters, digits, '.', '_' or '-'"
    [[ ${WG_KEY_ONLY:-0} == 1 ]] && return 0
    [[ -n ${WG_CONFIG:-} ]] || fail "WG_CONFIG is required (the rendered wg setconf file)"
    [[ ${WG_ADDRESS:-} =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$ ]] || fail "WG_ADDRESS must look like 192.168.0.2/24"
    [[ $mtu =~ ^[0-9]{3,5}$ ]] || fail "WG_MTU must be a number such as 1420"
    [[ $implementation =~ ^(auto|kernel|userspace)$ ]] || fail "WG_IMPLEMENTATION must be auto, kernel or userspace"
    if grep -qi '^[[:space:]]*PrivateKey' <<<"$WG_CONFIG"; then
        fail "WG_CONFIG must not contain PrivateKey: the key is generated and kept on this host"
    fi
    [[ $(grep -c '^\[Interface\]$' <<<"$WG_CONFIG") == 1 ]] || fail "WG_CONFIG must contain exactly one [Interface] line"
}

ensure_key() {
    install -d -m 0700 "$config_dir"
    if [[ ! -s $key_file ]]; then
        (umask 077 && wg genkey >"$key_file.tmp" && mv -f "$key_file.tmp" "$key_file")
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

write_config() {
    (umask 077 && config_with_key >"$conf_file.tmp" && mv -f "$conf_file.tmp" "$conf_file")
}

start_userspace() {
    command -v wireguard-go >/dev/null || fail "no WireGuard kernel module and no wireguard-go installed"
    # wireguard-go daemonizes once the TUN device and its control socket exist; its banner goes to stderr.
    WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go "$iface" >&2
    local attempt
    for attempt in $(seq 1 50); do
        wg show "$iface" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    fail "wireguard-go started but $iface did not answer within 5 s (attempts: $attempt)"
}

ensure_interface() {
    ip link show dev "$iface" >/dev/null 2>&1 && return 0
    case $implementation in
        kernel) ip link add dev "$iface" type wireguard ;;
        userspace) start_userspace ;;
        auto) ip link add dev "$iface" type wireguard 2>/dev/null || start_userspace ;;
    esac
}

# Sets WG_ADDRESS as the only IPv4 address of the interface.
apply_address() {
    local existing
    for existing in $(ip -o -4 addr show dev "$iface" | awk '{print $4}'); do
        [[ $existing == "$WG_ADDRESS" ]] || ip addr del "$existing" dev "$iface"
    done
    ip addr replace "$WG_ADDRESS" dev "$iface"
}

main() {
    check_inputs
    ensure_key
    if [[ ${WG_KEY_ONLY:-0} != 1 ]]; then
        write_config
        ensure_interface
        wg syncconf "$iface" "$conf_file"
        apply_address
        ip link set dev "$iface" mtu "$mtu" up
        if [[ ${WG_IP_FORWARD:-0} == 1 ]]; then
            echo 1 >/proc/sys/net/ipv4/ip_forward
        fi
    fi
    wg pubkey <"$key_file"
}

main
