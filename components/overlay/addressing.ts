/**
 * IPv4 arithmetic for the overlay: parsing with field-named errors, subnet membership and
 * overlap, the n-th usable address of a subnet, and OpenNebula's IP-derived MAC addresses.
 * Parsing is done by ipaddr.js; addresses are handled as unsigned 32-bit numbers in between.
 */
import ipaddr from "ipaddr.js";
import { OverlayConfigError, describe } from "./errors";

/** A parsed IPv4 subnet. */
export interface Ipv4Cidr {
    /** Canonical text, e.g. `192.168.0.0/24`. */
    readonly cidr: string;
    /** The network address as an unsigned 32-bit number. */
    readonly network: number;
    /** Prefix length, 0–32. */
    readonly prefixLength: number;
    /** Number of addresses in the subnet, including network and broadcast. */
    readonly size: number;
}

/** Parses a dotted-quad IPv4 address (e.g. `10.0.0.1`, no shorthand forms) and returns it normalized. */
export function parseIpv4(value: unknown, field: string): string {
    if (typeof value !== "string" || !ipaddr.IPv4.isValidFourPartDecimal(value)) {
        throw new OverlayConfigError(field, `must be an IPv4 address such as 10.0.0.1, got ${describe(value)}`);
    }
    return ipaddr.IPv4.parse(value).toString();
}

/** Converts a dotted-quad IPv4 address to an unsigned 32-bit number. */
export function ipv4ToNumber(address: string): number {
    return ipaddr.IPv4.parse(address)
        .toByteArray()
        .reduce((sum, byte) => sum * 256 + byte, 0);
}

/** Converts an unsigned 32-bit number to a dotted-quad IPv4 address. */
export function numberToIpv4(value: number): string {
    const bytes = [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256);
    return bytes.join(".");
}

/**
 * Parses an IPv4 subnet such as `192.168.0.0/24`. The address must be the network address
 * (no host bits set), so `192.168.0.1/24` is rejected with the corrected value in the message.
 */
export function parseIpv4Cidr(value: unknown, field: string): Ipv4Cidr {
    if (typeof value !== "string" || !ipaddr.IPv4.isValidCIDRFourPartDecimal(value)) {
        throw new OverlayConfigError(field, `must be an IPv4 subnet such as 192.168.0.0/24, got ${describe(value)}`);
    }
    const [address, prefixLength] = ipaddr.IPv4.parseCIDR(value);
    const network = ipaddr.IPv4.networkAddressFromCIDR(value).toString();
    if (network !== address.toString()) {
        throw new OverlayConfigError(field, `has host bits set; did you mean ${network}/${prefixLength}?`);
    }
    return {
        cidr: `${network}/${prefixLength}`,
        network: ipv4ToNumber(network),
        prefixLength,
        size: 2 ** (32 - prefixLength),
    };
}

/** True when `address` (dotted quad) lies inside `subnet`. */
export function cidrContains(subnet: Ipv4Cidr, address: string): boolean {
    const value = ipv4ToNumber(address);
    return value >= subnet.network && value < subnet.network + subnet.size;
}

/** True when the two subnets share at least one address. */
export function cidrsOverlap(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
    return a.network < b.network + b.size && b.network < a.network + a.size;
}

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
        throw new OverlayConfigError(
            field,
            `subnet ${subnet.cidr} has ${room} usable addresses but ${what} need ${count}; use a larger subnet`,
        );
    }
}
