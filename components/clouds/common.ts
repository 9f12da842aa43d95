import * as pulumi from "@pulumi/pulumi";
import ipaddr from "ipaddr.js";
import type { EdgeClusterArgs, EdgeOpenNebulaArgs, EdgeSshArgs } from "../edge/types";
import { EdgeConfigError, isPlain } from "../edge/validation";
import type { FirewallMode, FirewallPort, Hypervisor } from "../edge/host-scripts";

export { EdgeConfigError, isPlain };

/** Arguments every cloud's edge cluster takes, besides its provider and cloud-specific sizing. */
export interface CloudEdgeClusterArgs {
    /** The cloud region (or zone) — from that cloud's list. Must match the provider's region. Required. */
    region: string;
    /** Number of hosts (1–50). Default 1. */
    hostCount?: number;
    /** `kvm`, `qemu` or `lxc`. Default: the cloud's (see each component). */
    hypervisor?: Hypervisor;
    /** DNS server given to VMs on the public network. Default `1.1.1.1`. */
    dns?: string;
    /** SSH access: the key pair the hosts are created with (public key) and reached with (private key). */
    ssh: EdgeSshArgs & {
        /** OpenSSH public key line installed on the machines. Required. */
        publicKey: pulumi.Input<string>;
    };
    /** The OpenNebula front-end. */
    opennebula: EdgeOpenNebulaArgs;
    /** Host firewall. Default strict. */
    firewall?: { mode?: FirewallMode; extraPorts?: FirewallPort[] };
    /** The OpenNebula cluster: a new one (name default: the component name) or an existing one to join. */
    cluster?: EdgeClusterArgs["cluster"];
}

/** Fails unless `value` is one of `allowed`. */
export function requireOneOf(field: string, value: unknown, allowed: readonly string[]): void {
    if (!allowed.includes(value as string)) {
        throw new EdgeConfigError(field, `must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})`);
    }
}

/** Fails unless `value` is an integer from `min` to `max`; returns it. */
export function requireIntegerIn(field: string, value: unknown, min: number, max: number): number {
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
        throw new EdgeConfigError(field, `must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
    }
    return value as number;
}

/** Fails unless `value` is an IPv4 CIDR whose prefix lies in `[minPrefix, maxPrefix]`; returns the normalized network. */
export function requireIpv4Cidr(field: string, value: unknown, minPrefix = 8, maxPrefix = 29): string {
    if (typeof value !== "string" || !ipaddr.IPv4.isValidCIDR(value)) {
        throw new EdgeConfigError(field, `must be an IPv4 CIDR such as 10.0.0.0/16 (got ${JSON.stringify(value)})`);
    }
    const [address, prefix] = ipaddr.IPv4.parseCIDR(value);
    if (prefix < minPrefix || prefix > maxPrefix) {
        throw new EdgeConfigError(field, `must have a prefix length from /${minPrefix} to /${maxPrefix} (got /${prefix})`);
    }
    const network = ipaddr.IPv4.networkAddressFromCIDR(value).toString();
    if (network !== address.toString()) {
        throw new EdgeConfigError(field, `must be a network address: ${value} has host bits set (did you mean ${network}/${prefix}?)`);
    }
    return `${network}/${prefix}`;
}

/** Fails unless `value` is an IPv4 address; returns it. */
export function requireIpv4(field: string, value: unknown): string {
    if (typeof value !== "string" || !ipaddr.IPv4.isValidFourPartDecimal(value)) {
        throw new EdgeConfigError(field, `must be an IPv4 address (got ${JSON.stringify(value)})`);
    }
    return value;
}

/** Checks the arguments all clouds share; returns the host count. */
export function validateCommonArgs(args: CloudEdgeClusterArgs, regions: readonly string[], hypervisors: readonly Hypervisor[]): number {
    if (!args) throw new EdgeConfigError("args", "are required");
    requireOneOf("region", args.region, regions);
    const hostCount = requireIntegerIn("hostCount", args.hostCount ?? 1, 1, 50);
    if (args.hypervisor !== undefined) requireOneOf("hypervisor", args.hypervisor, hypervisors);
    if (args.dns !== undefined) requireIpv4("dns", args.dns);
    if (!args.ssh?.publicKey) throw new EdgeConfigError("ssh.publicKey", "is required (the OpenSSH public key the machines are created with)");
    if (!args.ssh.privateKey) throw new EdgeConfigError("ssh.privateKey", "is required (the matching private key, kept secret)");
    if (!args.opennebula?.frontendSshPublicKey) throw new EdgeConfigError("opennebula.frontendSshPublicKey", "is required (the front-end's oneadmin public key)");
    return hostCount;
}

/** Host keys `host-0`, `host-1` … for `count` hosts. */
export function hostKeys(count: number): string[] {
    return Array.from({ length: count }, (_, i) => `host-${i}`);
}

/** The i-th address after `base` (IPv4). */
export function addToIpv4(base: string, offset: number): string {
    const value = ipaddr.IPv4.parse(base).octets.reduce((n, octet) => n * 256 + octet, 0) + offset;
    return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}
