/**
 * MTU chain of the overlay: underlay NIC → WireGuard `wg0` → VXLAN device/bridge → guest NIC.
 *
 * WireGuard adds outer IP (20 or 40) + UDP 8 + WireGuard header 16 + Poly1305 tag 16 = 60 bytes
 * over IPv4, 80 over IPv6. VXLAN adds outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 = 50
 * bytes; it is always IPv4 here because the VTEP address is the host's IPv4 wg address.
 * A 1500-byte underlay therefore gives 1500 → 1420 → 1370.
 */
import { ConfigError, describe, integerIn } from "../validation";

/** IP version of the packets between hosts on the underlay; `"any"` assumes the IPv6 worst case. */
export type OuterIpVersion = 4 | 6 | "any";

/** Bytes WireGuard adds per packet, by outer IP version. */
export const WIREGUARD_OVERHEAD: Readonly<Record<4 | 6, number>> = { 4: 60, 6: 80 };

/** Bytes VXLAN adds per frame when carried over IPv4 (the wg address is IPv4). */
export const VXLAN_OVERHEAD = 50;

/** Smallest MTU an IPv6 link may have (RFC 8200); guests with IPv6 need at least this. */
export const IPV6_MIN_MTU = 1280;

/** Datagram size every IPv4 host must accept (RFC 791); the floor for IPv4-only guests. */
export const IPV4_MIN_MTU = 576;

/** Largest MTU accepted for the underlay (the IPv4/IPv6 packet length limit). */
export const MAX_UNDERLAY_MTU = 65535;

/** Inputs of {@link overlayMtu}. */
export interface MtuOptions {
    /** MTU of the path between hosts (the public Internet). Default 1500. */
    underlayMtu?: number;
    /** Outer IP version between hosts. Default `"any"` (IPv6 worst case, the WireGuard default 1420). */
    outerIpVersion?: OuterIpVersion;
    /** Whether guests use IPv6 (then the guest MTU must be at least 1280). Default true. */
    guestIpv6?: boolean;
}

/** The MTU of every layer, plus the overheads used. */
export interface OverlayMtu {
    /** MTU of the underlay path. */
    underlayMtu: number;
    /** MTU of `wg0`. */
    wireguardMtu: number;
    /** MTU of the VXLAN device and bridge (OpenNebula `MTU`). */
    vxlanMtu: number;
    /** MTU of the guest NICs (OpenNebula `GUEST_MTU`); equal to `vxlanMtu`. */
    guestMtu: number;
    /** Bytes WireGuard adds. */
    wireguardOverhead: number;
    /** Bytes VXLAN adds. */
    vxlanOverhead: number;
}

/**
 * Computes the MTU chain from the underlay MTU.
 *
 * @example overlayMtu() // { underlayMtu: 1500, wireguardMtu: 1420, vxlanMtu: 1370, guestMtu: 1370, … }
 * @throws ConfigError naming `underlayMtu`, `outerIpVersion` or `guestIpv6` when the chain cannot work.
 */
export function overlayMtu(options: MtuOptions = {}): OverlayMtu {
    const outerIpVersion = checkOuterIpVersion(options.outerIpVersion ?? "any");
    const guestIpv6 = checkGuestIpv6(options.guestIpv6 ?? true);
    const underlayMtu = integerIn("underlayMtu", options.underlayMtu ?? 1500, 1, MAX_UNDERLAY_MTU);
    const wireguardOverhead = WIREGUARD_OVERHEAD[outerIpVersion === 4 ? 4 : 6];
    if (outerIpVersion !== 4 && underlayMtu < IPV6_MIN_MTU) {
        throw new ConfigError(
            "underlayMtu",
            `must be at least ${IPV6_MIN_MTU} (the IPv6 minimum link MTU) with outerIpVersion ${JSON.stringify(outerIpVersion)}, got ${underlayMtu}`,
        );
    }
    const guestMinimum = guestIpv6 ? IPV6_MIN_MTU : IPV4_MIN_MTU;
    const guestMtu = underlayMtu - wireguardOverhead - VXLAN_OVERHEAD;
    if (guestMtu < guestMinimum) {
        const guests = guestIpv6 ? "guests using IPv6 (guestIpv6 true)" : "IPv4-only guests";
        throw new ConfigError(
            "underlayMtu",
            `must be at least ${guestMinimum + wireguardOverhead + VXLAN_OVERHEAD} for ${guests}, got ${underlayMtu}: ` +
                `the guest MTU would be ${guestMtu}, below ${guestMinimum}`,
        );
    }
    const wireguardMtu = underlayMtu - wireguardOverhead;
    const vxlanMtu = wireguardMtu - VXLAN_OVERHEAD;
    return { underlayMtu, wireguardMtu, vxlanMtu, guestMtu: vxlanMtu, wireguardOverhead, vxlanOverhead: VXLAN_OVERHEAD };
}

function checkOuterIpVersion(value: unknown): OuterIpVersion {
    if (value !== 4 && value !== 6 && value !== "any") {
        throw new ConfigError("outerIpVersion", `must be 4, 6 or "any" (got ${describe(value)})`);
    }
    return value;
}

function checkGuestIpv6(value: unknown): boolean {
    if (typeof value !== "boolean") {
        throw new ConfigError("guestIpv6", `must be true or false (got ${describe(value)})`);
    }
    return value;
}
