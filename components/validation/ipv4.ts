/**
 * IPv4 addresses and subnets: checks with field-named errors, and the arithmetic the components
 * need (the n-th address after another, membership, overlap, /31 peers). Parsing is ipaddr.js's;
 * addresses are unsigned 32-bit numbers in between.
 */
import ipaddr from "ipaddr.js";
import { ConfigError, describe } from "./config-error";

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

/** Fails unless `value` is a dotted-quad IPv4 address (no shorthand forms); returns it normalized. */
export function ipv4(field: string, value: unknown): string {
    if (typeof value !== "string" || !ipaddr.IPv4.isValidFourPartDecimal(value)) {
        throw new ConfigError(field, `must be an IPv4 address such as 203.0.113.10 (got ${describe(value)})`);
    }
    return ipaddr.IPv4.parse(value).toString();
}

/**
 * Fails unless `value` is an IPv4 subnet such as `10.0.0.0/16` whose address is the network
 * address (no host bits set) and whose prefix length lies in `[minPrefix, maxPrefix]`.
 */
export function ipv4Cidr(field: string, value: unknown, minPrefix = 0, maxPrefix = 32): Ipv4Cidr {
    if (typeof value !== "string" || !ipaddr.IPv4.isValidCIDRFourPartDecimal(value)) {
        throw new ConfigError(field, `must be an IPv4 CIDR such as 10.0.0.0/16 (got ${describe(value)})`);
    }
    const [address, prefixLength] = ipaddr.IPv4.parseCIDR(value);
    const network = ipaddr.IPv4.networkAddressFromCIDR(value).toString();
    if (network !== address.toString()) {
        throw new ConfigError(field, `must be a network address: ${value} has host bits set (did you mean ${network}/${prefixLength}?)`);
    }
    if (prefixLength < minPrefix || prefixLength > maxPrefix) {
        throw new ConfigError(field, `must have a prefix length from /${minPrefix} to /${maxPrefix} (got /${prefixLength})`);
    }
    return { cidr: `${network}/${prefixLength}`, network: ipv4ToNumber(network), prefixLength, size: 2 ** (32 - prefixLength) };
}

/** A dotted-quad IPv4 address as an unsigned 32-bit number. */
export function ipv4ToNumber(address: string): number {
    return ipaddr.IPv4.parse(address)
        .toByteArray()
        .reduce((sum, byte) => sum * 256 + byte, 0);
}

/** An unsigned 32-bit number as a dotted-quad IPv4 address. */
export function numberToIpv4(value: number): string {
    return ipaddr.fromByteArray([24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256)).toString();
}

/** The address `offset` places after `base`, e.g. `addToIpv4("10.0.0.0", 260)` = `10.0.1.4`. */
export function addToIpv4(base: string, offset: number): string {
    return numberToIpv4(ipv4ToNumber(base) + offset);
}

/** The other address of an address's /31 pair (the address XOR 1): the gateway of a VM using it. */
export function peerOf31(address: string): string {
    return numberToIpv4((ipv4ToNumber(address) ^ 1) >>> 0);
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

/** True when `inner` lies entirely inside `outer`. */
export function cidrInside(inner: Ipv4Cidr, outer: Ipv4Cidr): boolean {
    return inner.network >= outer.network && inner.network + inner.size <= outer.network + outer.size;
}

/** A subnet from text known to be valid (a constant of the package). */
export function cidrOf(text: string): Ipv4Cidr {
    return ipv4Cidr("cidr", text);
}

/**
 * An IPv4 or IPv6 address or CIDR as its network address with a prefix length (`10.0.0.5/16` →
 * `10.0.0.0/16`, `2001:db8::1` → `2001:db8::1/128`); undefined when `text` is neither.
 */
export function parseAddressOrCidr(text: unknown): string | undefined {
    if (typeof text !== "string") return undefined;
    try {
        const [address, prefix] = text.includes("/") ? ipaddr.parseCIDR(text) : [ipaddr.parse(text), undefined];
        if (address.kind() === "ipv4" && !ipaddr.IPv4.isValidFourPartDecimal(text.split("/")[0])) return undefined;
        const bits = prefix ?? (address.kind() === "ipv4" ? 32 : 128);
        const network =
            address.kind() === "ipv4"
                ? ipaddr.IPv4.networkAddressFromCIDR(`${address.toString()}/${bits}`)
                : ipaddr.IPv6.networkAddressFromCIDR(`${address.toString()}/${bits}`);
        return `${network.toString()}/${bits}`;
    } catch {
        return undefined;
    }
}

/** Fails unless `value` is an IPv4 or IPv6 address or CIDR; returns it as network/prefix (see {@link parseAddressOrCidr}). */
export function addressOrCidr(field: string, value: unknown): string {
    const parsed = parseAddressOrCidr(value);
    if (parsed === undefined)
        throw new ConfigError(field, `must be an IPv4 or IPv6 address or CIDR such as 10.0.0.0/16 (got ${describe(value)})`);
    return parsed;
}
