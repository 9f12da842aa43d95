import { ONE_VERSIONS, HYPERVISORS, FIREWALL_MODES } from "./host-scripts";
import type { EdgeClusterArgs } from "./types";

/** An invalid argument of an edge cluster: `field` names it, the message says what is allowed. */
export class EdgeConfigError extends Error {
    constructor(readonly field: string, message: string) {
        super(`${field}: ${message}`);
        this.name = "EdgeConfigError";
    }
}

const HOST_KEY = /^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/;

/** True for a value given directly in the program (not an Output or a Promise), which can be checked now. */
export function isPlain(value: unknown): boolean {
    return value !== undefined && value !== null && typeof (value as { apply?: unknown }).apply !== "function" && !(value instanceof Promise);
}

function oneOf(field: string, value: unknown, allowed: readonly string[]): void {
    if (value !== undefined && !allowed.includes(value as string)) {
        throw new EdgeConfigError(field, `must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})`);
    }
}

function required(field: string, value: unknown): void {
    if (value === undefined || value === null || value === "") throw new EdgeConfigError(field, "is required");
}

/**
 * Checks an edge cluster's arguments before anything is created. Values known now are checked
 * fully; values that are Outputs are checked for presence only (the host scripts check them again
 * when they resolve).
 */
export function validateEdgeClusterArgs(args: EdgeClusterArgs): void {
    if (!args || !Array.isArray(args.hosts) || args.hosts.length === 0) {
        throw new EdgeConfigError("hosts", "must list at least one host");
    }
    const keys = new Set<string>();
    args.hosts.forEach((host, i) => {
        const field = `hosts[${i}]`;
        if (typeof host.key !== "string" || !HOST_KEY.test(host.key)) {
            throw new EdgeConfigError(`${field}.key`, `must be 1-32 lower-case letters, digits or '-' (got ${JSON.stringify(host.key)})`);
        }
        if (keys.has(host.key)) throw new EdgeConfigError(`${field}.key`, `"${host.key}" is used by two hosts; keys must be unique`);
        keys.add(host.key);
        for (const part of ["publicIp", "privateIp", "sshUser", "cloudId"] as const) required(`${field}.${part}`, host[part]);
    });
    required("ssh", args.ssh);
    required("ssh.privateKey", args.ssh.privateKey);
    required("opennebula", args.opennebula);
    required("opennebula.frontendSshPublicKey", args.opennebula.frontendSshPublicKey);
    oneOf("opennebula.version", args.opennebula.version, ONE_VERSIONS);
    oneOf("hypervisor", args.hypervisor, HYPERVISORS);
    oneOf("firewall.mode", args.firewall?.mode, FIREWALL_MODES);
    const existing = args.cluster?.existingClusterId;
    if (isPlain(existing) && (!Number.isInteger(existing) || (existing as number) < 0)) {
        throw new EdgeConfigError("cluster.existingClusterId", `must be an integer ≥ 0 (got ${JSON.stringify(existing)})`);
    }
    if (existing !== undefined && args.cluster?.name !== undefined) {
        throw new EdgeConfigError("cluster", "give either name (a new cluster) or existingClusterId (join one), not both");
    }
    for (const [i, id] of (args.sharedDatastoreIds ?? []).entries()) {
        if (!Number.isInteger(id) || id < 0) throw new EdgeConfigError(`sharedDatastoreIds[${i}]`, `must be a datastore ID ≥ 0 (got ${JSON.stringify(id)})`);
    }
}
