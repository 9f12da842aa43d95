import * as ipaddr from "ipaddr.js";
import { VN_MAD_TABLE, allDrivers } from "../drivers";
import type { Template, TemplateVector, TemplateInputValue } from "../template";
import type { Failures } from "./provider-kit";
import { isUnknown } from "./provider-kit";

/** Address range types OpenNebula accepts. */
export const AR_TYPES = ["IP4", "IP6", "IP4_6", "ETHER", "IP6_STATIC", "IP4_6_STATIC"] as const;

/** Virtual network drivers shipped with OpenNebula 6.10 or 7.0 (`ebtables`, `vcenter`: 6.10 only). */
export const VN_MADS = allDrivers(VN_MAD_TABLE);

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/** Normalizes address ranges to upper-cased template vectors, recording failures per range. */
export function checkAddressRanges(failures: Failures, value: unknown): TemplateVector[] {
    if (value === undefined || value === null) return [];
    if (isUnknown(value)) return value as TemplateVector[];
    if (!Array.isArray(value)) {
        failures.add("addressRanges", 'addressRanges must be a list of address ranges such as { TYPE: "IP4", IP: "10.0.0.2", SIZE: 10 }');
        return [];
    }
    return value.map((range, i) => checkAddressRange(failures, `addressRanges[${i}]`, range));
}

function checkAddressRange(failures: Failures, property: string, range: unknown): TemplateVector {
    if (!range || typeof range !== "object" || Array.isArray(range)) {
        failures.add(property, `${property} must be an object of AR attributes (TYPE, IP, SIZE …)`);
        return {};
    }
    const ar = (failures.template(property, { AR: range as TemplateInputValue }).AR as TemplateVector | undefined) ?? {};
    if (isUnknown(ar)) return ar;
    failures.oneOf(`${property}.TYPE`, ar.TYPE, AR_TYPES);
    const size = Number(ar.SIZE);
    if (!Number.isInteger(size) || size <= 0)
        failures.add(`${property}.SIZE`, `${property}.SIZE must be an integer > 0 (got ${JSON.stringify(ar.SIZE)})`);
    if ((ar.TYPE === "IP4" || ar.TYPE === "IP4_6") && !isIpv4(ar.IP)) {
        failures.add(`${property}.IP`, `${property}.IP must be an IPv4 address for a ${ar.TYPE} range (got ${JSON.stringify(ar.IP)})`);
    }
    if (ar.MAC !== undefined && !MAC.test(ar.MAC))
        failures.add(`${property}.MAC`, `${property}.MAC must look like 02:00:0a:00:00:01 (got ${JSON.stringify(ar.MAC)})`);
    return ar;
}

/** Whether a value is an IPv4 address in dotted-quad form. */
export function isIpv4(value: unknown): value is string {
    return typeof value === "string" && ipaddr.IPv4.isValidFourPartDecimal(value);
}

/** Checks the network-level attributes that a driver requires, as OpenNebula's allocate does. */
export function checkNetworkTemplate(failures: Failures, vnMad: unknown, template: Template): void {
    failures.oneOf("vnMad", vnMad, VN_MADS);
    if (isUnknown(template)) return;
    if (vnMad === "vxlan" || vnMad === "802.1Q") {
        if (template.PHYDEV === undefined)
            failures.add("template.PHYDEV", `template.PHYDEV is required for the ${vnMad} driver (e.g. "wg0")`);
        const automatic = String(template.AUTOMATIC_VLAN_ID ?? "").toUpperCase() === "YES";
        if (template.VLAN_ID === undefined && !automatic) {
            failures.add("template.VLAN_ID", `template.VLAN_ID (or AUTOMATIC_VLAN_ID = "YES") is required for the ${vnMad} driver`);
        }
        const max = vnMad === "vxlan" ? 16777215 : 4094;
        const vlan = Number(template.VLAN_ID);
        if (template.VLAN_ID !== undefined && (!Number.isInteger(vlan) || vlan < 1 || vlan > max)) {
            failures.add(
                "template.VLAN_ID",
                `template.VLAN_ID must be an integer from 1 to ${max} for the ${vnMad} driver (got ${JSON.stringify(template.VLAN_ID)})`,
            );
        }
    }
    if (vnMad === "dummy" && template.BRIDGE === undefined)
        failures.add("template.BRIDGE", "template.BRIDGE is required for the dummy driver");
}

/** Checks that every IPv4 range lies inside NETWORK_ADDRESS/NETWORK_MASK when both are given. */
export function checkRangesInsideNetwork(failures: Failures, template: Template, ranges: TemplateVector[]): void {
    const { NETWORK_ADDRESS: address, NETWORK_MASK: mask } = template;
    if (isUnknown(ranges) || address === undefined || mask === undefined) return;
    if (!isIpv4(address))
        return failures.add(
            "template.NETWORK_ADDRESS",
            `template.NETWORK_ADDRESS must be an IPv4 address (got ${JSON.stringify(address)})`,
        );
    if (!isIpv4(mask) || ipaddr.IPv4.parse(mask).prefixLengthFromSubnetMask() === null) {
        return failures.add(
            "template.NETWORK_MASK",
            `template.NETWORK_MASK must be a netmask such as 255.255.255.0 (got ${JSON.stringify(mask)})`,
        );
    }
    const prefix = ipaddr.IPv4.parse(mask).prefixLengthFromSubnetMask() as number;
    const first = (toNumber(address) & maskBits(prefix)) >>> 0;
    const last = first + 2 ** (32 - prefix) - 1;
    ranges.forEach((ar, i) => {
        if (!isIpv4(ar.IP) || !Number.isInteger(Number(ar.SIZE))) return;
        const start = toNumber(ar.IP);
        const end = start + Number(ar.SIZE) - 1;
        if (start < first || end > last) {
            failures.add(
                `addressRanges[${i}]`,
                `addressRanges[${i}] (${ar.IP}, ${ar.SIZE} addresses) does not fit in the network ${address}/${prefix}`,
            );
        }
    });
}

function toNumber(ip: string): number {
    return ipaddr.IPv4.parse(ip).octets.reduce((n, octet) => n * 256 + octet, 0);
}

function maskBits(prefix: number): number {
    return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}
