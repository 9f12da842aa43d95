/**
 * Address arithmetic of the overlay on top of the shared IPv4 helpers: the usable addresses of a
 * subnet, the n-th of them, netmasks, and OpenNebula's IP-derived MAC addresses.
 */
import ipaddr from "ipaddr.js";
import type { Ipv4Cidr } from "../validation";
import { ConfigError, numberToIpv4 } from "../validation";

/** Usable host addresses: all but network and broadcast, except /31 (2) and /32 (1). */
export function usableHostCount(subnet: Ipv4Cidr): number {
    return subnet.prefixLength >= 31 ? subnet.size : subnet.size - 2;
}

/** The first usable host address of a subnet as a number (network + 1, or the network itself for /31 and /32). */
export function firstUsableHost(subnet: Ipv4Cidr): number {
    return subnet.prefixLength >= 31 ? subnet.network : subnet.network + 1;
}

/** The last usable host address of a subnet as a number (broadcast − 1, or the last address for /31 and /32). */
export function lastUsableHost(subnet: Ipv4Cidr): number {
    const last = subnet.network + subnet.size - 1;
    return subnet.prefixLength >= 31 ? last : last - 1;
}

/** The `index`-th usable host address (0 = first) of a subnet, e.g. index 1 of 192.168.0.0/24 = 192.168.0.2. */
export function hostAddress(subnet: Ipv4Cidr, index: number): string {
    if (!Number.isInteger(index) || index < 0 || index >= usableHostCount(subnet)) {
        throw new RangeError(`host index ${index} is outside ${subnet.cidr}`);
    }
    return numberToIpv4(firstUsableHost(subnet) + index);
}

/** The dotted-quad netmask of a prefix length, e.g. 24 → 255.255.255.0. */
export function netmaskOf(prefixLength: number): string {
    return ipaddr.IPv4.subnetMaskFromPrefixLength(prefixLength).toString();
}

/**
 * The MAC OpenNebula derives for an IPv4 lease of an AR without explicit MAC:
 * `02:00:` followed by the four address bytes, e.g. 172.17.2.10 → 02:00:ac:11:02:0a.
 */
export function macForIpv4(address: string): string {
    const bytes = ipaddr.IPv4.parse(address).toByteArray();
    return ["02", "00", ...bytes.map((byte) => byte.toString(16).padStart(2, "0"))].join(":");
}

/** Throws unless `subnet` has room for `count` host addresses. */
export function assertSubnetFits(subnet: Ipv4Cidr, count: number, field: string, what: string): void {
    const room = usableHostCount(subnet);
    if (count > room) {
        throw new ConfigError(field, `subnet ${subnet.cidr} has ${room} usable addresses but ${what} need ${count}; use a larger subnet`);
    }
}
