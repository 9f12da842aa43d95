import ipaddr from "ipaddr.js";

// OpenNebula's port ranges for port-forwarded leases (AddressRange::set_port_ranges): lease i of an
// address range with PORT_START/PORT_SIZE gets external ports PORT_START + i*PORT_SIZE + 1 … + PORT_SIZE,
// mapped to the VM's ports 1 … PORT_SIZE.

function integerIn(field: string, value: unknown, min: number, max: number): number {
    if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return value;
    throw new Error(`${field} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
}

function ipv4(field: string, value: unknown): string {
    if (typeof value === "string" && ipaddr.IPv4.isValidFourPartDecimal(value)) return value;
    throw new Error(`${field} must be an IPv4 address like 203.0.113.10 (got ${JSON.stringify(value)})`);
}

/** Inputs of {@link portForward}. */
export interface PortForwardQuery {
    /** Public IP of the host the VM runs on. */
    hostPublicIp: string;
    /** Index of the VM's lease in the address range (0 for the first address). */
    leaseIndex: number;
    /** The VM's port, 1..portSize. */
    internalPort: number;
    /** Default `9000`. */
    portStart?: number;
    /** Default `100`. */
    portSize?: number;
}

/**
 * What `onevm port-forward` answers: where, from outside, a VM's internal TCP port is reached on
 * a port-forwarding (DigitalOcean) host: `portStart + leaseIndex * portSize + internalPort`.
 * Lease 0: internal 22 → 9022, internal 80 → 9080.
 */
export function portForward(query: PortForwardQuery): { host: string; port: number } {
    const host = ipv4("hostPublicIp", query.hostPublicIp);
    const portStart = integerIn("portStart", query.portStart ?? 9000, 0, 65534);
    const portSize = integerIn("portSize", query.portSize ?? 100, 1, 65535 - portStart);
    const leaseIndex = integerIn("leaseIndex", query.leaseIndex, 0, Math.floor((65535 - portStart) / portSize) - 1);
    const internalPort = integerIn("internalPort", query.internalPort, 1, portSize);
    return { host, port: portStart + leaseIndex * portSize + internalPort };
}
