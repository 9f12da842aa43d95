/**
 * NICs as the VirtualMachine and VirtualRouter resources take them: the argument's shape, its
 * check (failures by field) and the `NIC = [ … ]` vector sent to OpenNebula.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { TemplateVector } from "../template";
import { isIpv4 } from "./address-ranges";
import type { Failures } from "./provider-kit";
import { isUnknown } from "./provider-kit";

/** A NIC of a VirtualMachine (or, with more fields, of a VirtualRouter): a lease in a network. */
export interface VirtualMachineNicArgs {
    /** The network to take a lease from. Required. */
    networkId: pulumi.Input<number>;
    /** A specific address to lease. Default: the network's next free one. */
    ip?: pulumi.Input<string>;
    /** Other NIC attributes, e.g. `{ MODEL: "virtio" }`. Default none. */
    attributes?: pulumi.Input<{ [key: string]: pulumi.Input<string | number | boolean> }>;
}

/** A NIC as given, normalized. */
export interface NicInput {
    networkId: number;
    ip?: string;
    attributes: TemplateVector;
}

/** Normalizes NICs, recording failures per field. Shared with the virtual router, whose NICs have the same core. */
export function checkNics(failures: Failures, property: string, value: unknown): NicInput[] {
    if (value === undefined || value === null) return [];
    if (isUnknown(value)) return value as NicInput[];
    if (!Array.isArray(value)) {
        failures.add(property, `${property} must be a list of NICs such as { networkId: 0, ip?: "10.0.0.5" }`);
        return [];
    }
    return value.map((nic, i) => checkNic(failures, `${property}[${i}]`, nic));
}

function checkNic(failures: Failures, field: string, nic: unknown): NicInput {
    if (!nic || typeof nic !== "object" || Array.isArray(nic)) {
        failures.add(field, `${field} must be { networkId, ip?, attributes? }`);
        return { networkId: -1, attributes: {} };
    }
    const { networkId, ip, attributes } = nic as Record<string, unknown>;
    failures.id(`${field}.networkId`, networkId);
    if (ip !== undefined && !isUnknown(ip) && !isIpv4(ip))
        failures.add(`${field}.ip`, `${field}.ip must be an IPv4 address (got ${JSON.stringify(ip)})`);
    const vector = (failures.template(`${field}.attributes`, attributes === undefined ? {} : { NIC: attributes }).NIC ??
        {}) as TemplateVector;
    const reserved = ["NETWORK_ID", "NETWORK", "IP", "NAME"].filter((key) => !isUnknown(vector) && key in vector);
    if (reserved.length > 0)
        failures.add(`${field}.attributes`, `${field}.attributes must not set ${reserved.join(", ")}; use the NIC's own fields`);
    return ip === undefined
        ? { networkId: networkId as number, attributes: vector }
        : { networkId: networkId as number, ip: ip as string, attributes: vector };
}

/** A NIC as OpenNebula's `NIC = [ … ]` vector. */
export function nicVector(nic: NicInput): TemplateVector {
    return { ...nic.attributes, NETWORK_ID: String(nic.networkId), ...(nic.ip !== undefined ? { IP: nic.ip } : {}) };
}
