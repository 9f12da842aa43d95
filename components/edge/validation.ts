import { checkSshArgs } from "../remote/ssh";
import {
    ConfigError,
    addressOrCidr,
    integerIn,
    interfaceName,
    ipv4,
    ipv4Cidr,
    isKnown,
    oneOf,
    required,
    sshPublicKeyLine,
    unique,
} from "../validation";
import { FIREWALL_MODES, HYPERVISORS, ONE_VERSIONS } from "./host-scripts";
import type { EdgeClusterArgs } from "./types";

/** Host keys: 1–32 lower-case letters, digits or `-`, starting and ending with a letter or digit. */
export const HOST_KEY = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

/** Fails unless `key` is a host key. */
export function hostKey(field: string, key: unknown): string {
    if (typeof key !== "string" || !HOST_KEY.test(key)) {
        throw new ConfigError(
            field,
            `must be 1-32 lower-case letters, digits or '-', starting and ending with a letter or digit (got ${JSON.stringify(key)})`,
        );
    }
    return key;
}

/**
 * Checks an edge cluster's arguments before anything is created. Values known now are checked
 * fully; values that are Outputs are checked for presence only (the host scripts check them again
 * when they resolve).
 */
export function validateEdgeClusterArgs(args: EdgeClusterArgs): void {
    if (!args || !Array.isArray(args.hosts) || args.hosts.length === 0) throw new ConfigError("hosts", "must list at least one host");
    args.hosts.forEach((host, i) => {
        hostKey(`hosts[${i}].key`, host.key);
        for (const part of ["publicIp", "privateIp", "sshUser", "machineId"] as const) required(`hosts[${i}].${part}`, host[part]);
        if (isKnown(host.publicIp)) ipv4(`hosts[${i}].publicIp`, host.publicIp);
    });
    unique(
        args.hosts.map((host) => host.key),
        (i) => `hosts[${i}].key`,
        "host key",
    );
    unique(
        args.hosts.map((host) => (isKnown(host.publicIp) ? host.publicIp : undefined)),
        (i) => `hosts[${i}].publicIp`,
        "public IP (every host has its own)",
    );
    checkSshArgs(args.ssh);
    checkEdgeArgs(args);
    if (args.hypervisor !== undefined) oneOf("hypervisor", args.hypervisor, HYPERVISORS);
    if (isKnown(args.privateRange)) addressOrCidr("privateRange", args.privateRange);
    (args.sharedDatastoreIds ?? []).forEach((id, i) => integerIn(`sharedDatastoreIds[${i}]`, id, 0, 2147483647));
}

/**
 * Checks what an edge cluster and every cloud's edge cluster share: the front-end (its oneadmin
 * key, the version, its addresses), the cluster to create or join, the host firewall and the
 * overlay settings.
 */
export function checkEdgeArgs(args: Pick<EdgeClusterArgs, "opennebula" | "cluster" | "firewall" | "overlay">): void {
    required("opennebula", args.opennebula);
    required("opennebula.frontendSshPublicKey", args.opennebula.frontendSshPublicKey, "the front-end's oneadmin public key");
    if (isKnown(args.opennebula.frontendSshPublicKey))
        sshPublicKeyLine("opennebula.frontendSshPublicKey", args.opennebula.frontendSshPublicKey);
    if (args.opennebula.version !== undefined) oneOf("opennebula.version", args.opennebula.version, ONE_VERSIONS);
    checkSources("opennebula.frontendAddresses", args.opennebula.frontendAddresses);
    checkOverlay(args.overlay);
    checkSources("firewall.trustedSources", args.firewall?.trustedSources);
    const existing = args.cluster?.existingClusterId;
    if (isKnown(existing)) integerIn("cluster.existingClusterId", existing, 0, 2147483647);
    if (existing !== undefined && args.cluster?.name !== undefined) {
        throw new ConfigError("cluster", "give either name (a new cluster) or existingClusterId (join one), not both");
    }
    if (args.firewall?.mode !== undefined) oneOf("firewall.mode", args.firewall.mode, FIREWALL_MODES);
    (args.firewall?.extraPorts ?? []).forEach((range, i) => {
        const field = `firewall.extraPorts[${i}]`;
        integerIn(`${field}.port`, range?.port, 1, 65535);
        if (range.toPort !== undefined && integerIn(`${field}.toPort`, range.toPort, 1, 65535) < range.port) {
            throw new ConfigError(`${field}.toPort`, `must not be below port ${range.port} (got ${range.toPort})`);
        }
        if (range.protocol !== undefined) oneOf(`${field}.protocol`, range.protocol, ["tcp", "udp"]);
    });
}

/** Fails unless `list` (when given) is a list of IPv4/IPv6 addresses or CIDRs. */
export function checkSources(field: string, list: unknown): void {
    if (list === undefined) return;
    if (!Array.isArray(list)) throw new ConfigError(field, "must be a list of IPv4/IPv6 addresses or CIDRs");
    list.forEach((source, i) => addressOrCidr(`${field}[${i}]`, source));
}

/** Fails unless the overlay's settings (when given) are a port, an interface name and an IPv4 subnet. */
export function checkOverlay(overlay: EdgeClusterArgs["overlay"], field = "overlay"): void {
    if (overlay === undefined) return;
    if (overlay === null || typeof overlay !== "object") throw new ConfigError(field, "must be { listenPort?, interfaceName?, subnet? }");
    if (overlay.listenPort !== undefined) integerIn(`${field}.listenPort`, overlay.listenPort, 1, 65535);
    if (overlay.interfaceName !== undefined) interfaceName(`${field}.interfaceName`, overlay.interfaceName);
    if (overlay.subnet !== undefined) ipv4Cidr(`${field}.subnet`, overlay.subnet);
}
