/**
 * WireGuard underlay of the overlay: address allocation, peers for a full mesh or a hub, and the
 * `wg setconf` file each node receives.
 *
 * Private keys never leave the hosts: the rendered file has no `PrivateKey`; the host script
 * (`scripts/host/wireguard-up.sh`) generates `/etc/wireguard/<if>.key` on the host, adds it to the
 * file there, and prints only the public key, which the caller feeds back in `publicKeys`.
 */
import ipaddr from "ipaddr.js";
import type { Ipv4Cidr } from "../validation";
import {
    ConfigError,
    cidrContains,
    describe,
    integerIn,
    interfaceName,
    ipv4,
    ipv4Cidr,
    ipv4ToNumber,
    numberToIpv4,
    unique,
} from "../validation";
import { assertSubnetFits, firstUsableHost, lastUsableHost } from "./addressing";

/** `mesh`: every node peers with every other. `hub`: hosts peer only with the ingress, which forwards. */
export type WireGuardTopology = "mesh" | "hub";

/** A machine of the overlay as WireGuard sees it. */
export interface WireGuardNodeOptions {
    /** Unique node name (letters, digits, `.`, `_`, `-`). */
    name: string;
    /**
     * Address other nodes reach this node's WireGuard port at: an IPv4/IPv6 literal or a DNS
     * name, without port. Required for the ingress, and for every node in a mesh; a hub's host
     * without one is reached through its own keepalives.
     */
    endpoint?: string;
}

/** Inputs of {@link planWireGuard}. */
export interface WireGuardOptions {
    /** The route reflector, which gets the first address of the subnet. */
    ingress: WireGuardNodeOptions;
    /** The KVM hosts, which get the following addresses in this order. */
    hosts: readonly WireGuardNodeOptions[];
    /** Subnet of the wg addresses. Default `192.168.0.0/24`. */
    subnet?: string;
    /** Peering layout. Default `"mesh"`. */
    topology?: WireGuardTopology;
    /** UDP port every node listens on. Default 51820. */
    listenPort?: number;
    /** MTU of the WireGuard interface (see `overlayMtu`). Default 1420. */
    mtu?: number;
    /**
     * Keepalive interval in seconds sent by the KVM hosts to their peers (0 = off): in a hub toward
     * the ingress, in a mesh toward every peer. Default 25. Besides keeping NAT and firewall state
     * open, it makes a host whose WireGuard restarted handshake with its peers at once; without it
     * a peer keeps sending on the dead session until WireGuard's rekey timeouts (5–15 s) expire.
     */
    persistentKeepalive?: number;
    /** WireGuard interface name; it must be the same on every host (it is the vnet's PHYDEV). Default `wg0`. */
    interfaceName?: string;
    /**
     * Fixed wg addresses by node name. The other nodes get the lowest free addresses of the
     * subnet in order, the ingress first. Pinning keeps a node's address when a node listed
     * before it is removed. Default: none (every address in order).
     */
    addresses?: Readonly<Record<string, string>>;
}

/** One `[Peer]` of a node's configuration. */
export interface WireGuardPeerPlan {
    /** Name of the peer node (its public key is looked up by this name). */
    name: string;
    /** CIDRs routed to, and accepted from, this peer. */
    allowedIps: string[];
    /** `host:port` of the peer, when known. */
    endpoint?: string;
    /** Keepalive interval in seconds, when enabled. */
    persistentKeepalive?: number;
}

/** Everything one node needs to bring its WireGuard interface up. */
export interface WireGuardNodePlan {
    /** Node name. */
    name: string;
    /** `ingress` (route reflector) or `host` (KVM host). */
    role: "ingress" | "host";
    /** Interface name, e.g. `wg0`. */
    interfaceName: string;
    /** The node's wg address, e.g. `192.168.0.2`. */
    address: string;
    /** The address with the subnet's prefix, e.g. `192.168.0.2/24`, as assigned to the interface. */
    addressCidr: string;
    /** UDP listen port. */
    listenPort: number;
    /** Interface MTU. */
    mtu: number;
    /** Whether the node must forward between peers (the ingress of a hub). */
    ipForwarding: boolean;
    /** The node's peers. */
    peers: WireGuardPeerPlan[];
}

/** The WireGuard layout of the whole overlay. */
export interface WireGuardPlan {
    /** Canonical wg subnet. */
    subnet: string;
    /** Peering layout. */
    topology: WireGuardTopology;
    /** The ingress first, then the hosts in input order. */
    nodes: WireGuardNodePlan[];
}

/** A node name and its allocated wg address. */
export interface AllocatedAddress {
    /** Node name. */
    name: string;
    /** Allocated IPv4 address. */
    address: string;
}

export const DEFAULT_SUBNET = "192.168.0.0/24";
const DEFAULT_LISTEN_PORT = 51820;
const DEFAULT_MTU = 1420;
const DEFAULT_KEEPALIVE = 25;

/**
 * Gives each node an address of `subnet` in order (the first name gets the first usable
 * address), e.g. 192.168.0.0/24 and [ingress, kvm1] → 192.168.0.1, 192.168.0.2. Names in
 * `fixed` keep the address given there; the others take the lowest free addresses in order.
 *
 * @throws ConfigError naming `subnet` when it is too small, or `addresses.<name>` for a
 * fixed address that is not a usable address of the subnet, is used twice or names no node.
 */
export function allocateAddresses(
    subnet: string,
    names: readonly string[],
    field = "subnet",
    fixed: Readonly<Record<string, string>> = {},
): AllocatedAddress[] {
    const parsed = ipv4Cidr(field, subnet);
    assertSubnetFits(parsed, names.length, field, "the ingress and hosts");
    const pinned = checkFixedAddresses(parsed, names, fixed);
    const taken = new Set(pinned.values());
    let next = firstUsableHost(parsed);
    const nextFree = (): string => {
        while (taken.has(numberToIpv4(next))) {
            next += 1;
        }
        return numberToIpv4(next++);
    };
    return names.map((name) => ({ name, address: pinned.get(name) ?? nextFree() }));
}

function checkFixedAddresses(subnet: Ipv4Cidr, names: readonly string[], fixed: Readonly<Record<string, string>>): Map<string, string> {
    if (fixed === null || typeof fixed !== "object" || Array.isArray(fixed)) {
        throw new ConfigError("addresses", `must map node names to wg addresses (got ${describe(fixed)})`);
    }
    const pinned = new Map<string, string>();
    const owners = new Map<string, string>();
    for (const [name, value] of Object.entries(fixed)) {
        const field = `addresses.${name}`;
        if (!names.includes(name)) {
            throw new ConfigError(field, `names no node of the overlay (nodes: ${names.join(", ")})`);
        }
        const address = ipv4(field, value);
        const number = ipv4ToNumber(address);
        if (!cidrContains(subnet, address) || number < firstUsableHost(subnet) || number > lastUsableHost(subnet)) {
            throw new ConfigError(field, `${address} is not a usable address of the subnet ${subnet.cidr}`);
        }
        const owner = owners.get(address);
        if (owner !== undefined) {
            throw new ConfigError(field, `duplicate address ${address} (already used by addresses.${owner})`);
        }
        owners.set(address, name);
        pinned.set(name, address);
    }
    return pinned;
}

/**
 * Plans the WireGuard interface and peers of every node.
 *
 * Mesh: every node lists every other with AllowedIPs = its /32. Hub: hosts list only the
 * ingress, with AllowedIPs = the whole subnet; the ingress lists every host /32 and forwards
 * between them. Hosts send PersistentKeepalive (default 25) to their peers; the ingress does not.
 *
 * @throws ConfigError naming the field for bad names, duplicates, endpoints, ports, fixed addresses or a subnet that is too small.
 */
export function planWireGuard(options: WireGuardOptions): WireGuardPlan {
    const topology = checkTopology(options.topology ?? "mesh");
    const nodes = [options.ingress, ...options.hosts];
    checkNodes(options, topology);
    const subnet = ipv4Cidr("subnet", options.subnet ?? DEFAULT_SUBNET);
    const listenPort = integerIn("listenPort", options.listenPort ?? DEFAULT_LISTEN_PORT, 1, 65535);
    const mtu = integerIn("mtu", options.mtu ?? DEFAULT_MTU, 1280, 65455);
    const keepalive = integerIn("persistentKeepalive", options.persistentKeepalive ?? DEFAULT_KEEPALIVE, 0, 65535);
    const wgInterface = interfaceName("interfaceName", options.interfaceName ?? "wg0");
    const addresses = allocateAddresses(
        subnet.cidr,
        nodes.map((node) => node.name),
        "subnet",
        options.addresses ?? {},
    );

    const peerOf = (index: number, allowedIps: string[], withKeepalive: boolean): WireGuardPeerPlan => {
        const endpoint = nodes[index].endpoint;
        return {
            name: nodes[index].name,
            allowedIps,
            ...(endpoint === undefined ? {} : { endpoint: formatEndpoint(endpoint, listenPort) }),
            ...(withKeepalive && keepalive > 0 ? { persistentKeepalive: keepalive } : {}),
        };
    };
    const hostRoute = (index: number) => [`${addresses[index].address}/32`];
    // Listed only for the nodes that peer with everyone, so that a hub stays linear in the number of hosts.
    const othersOf = (index: number) => nodes.map((_, other) => other).filter((other) => other !== index);

    const planned = nodes.map((node, index): WireGuardNodePlan => {
        const isIngress = index === 0;
        let peers: WireGuardPeerPlan[];
        if (topology === "mesh") {
            peers = othersOf(index).map((other) => peerOf(other, hostRoute(other), !isIngress));
        } else if (isIngress) {
            peers = othersOf(index).map((other) => peerOf(other, hostRoute(other), false));
        } else {
            peers = [peerOf(0, [subnet.cidr], true)];
        }
        return {
            name: node.name,
            role: isIngress ? "ingress" : "host",
            interfaceName: wgInterface,
            address: addresses[index].address,
            addressCidr: `${addresses[index].address}/${subnet.prefixLength}`,
            listenPort,
            mtu,
            ipForwarding: topology === "hub" && isIngress,
            peers,
        };
    });
    return { subnet: subnet.cidr, topology, nodes: planned };
}

/**
 * Renders a node's configuration in the `wg setconf` / `wg syncconf` format, without
 * `PrivateKey` (the host script adds the key it keeps on the host). Address and MTU are not
 * part of this format; the host script applies them from the plan.
 *
 * @param publicKeys public key (base64) of every peer, by node name.
 * @throws ConfigError naming `publicKeys.<peer>` when a peer's key is missing or malformed.
 */
export function renderWireGuardConfig(node: WireGuardNodePlan, publicKeys: Readonly<Record<string, string>>): string {
    const lines = [
        `# WireGuard ${node.interfaceName} of ${node.name} (wg setconf format; the host script adds PrivateKey)`,
        "[Interface]",
        `ListenPort = ${node.listenPort}`,
    ];
    for (const peer of node.peers) {
        const publicKey = assertPublicKey(publicKeys[peer.name], `publicKeys.${peer.name}`);
        lines.push("", `# ${peer.name}`, "[Peer]", `PublicKey = ${publicKey}`, `AllowedIPs = ${peer.allowedIps.join(", ")}`);
        if (peer.endpoint !== undefined) {
            lines.push(`Endpoint = ${peer.endpoint}`);
        }
        if (peer.persistentKeepalive !== undefined) {
            lines.push(`PersistentKeepalive = ${peer.persistentKeepalive}`);
        }
    }
    return `${lines.join("\n")}\n`;
}

/**
 * The environment of `scripts/host/wireguard-up.sh` for a node: `WG_INTERFACE`, `WG_ADDRESS`,
 * `WG_MTU`, `WG_IP_FORWARD` and `WG_CONFIG` (the rendered file).
 */
export function wireguardScriptEnvironment(node: WireGuardNodePlan, publicKeys: Readonly<Record<string, string>>): Record<string, string> {
    return {
        WG_INTERFACE: node.interfaceName,
        WG_ADDRESS: node.addressCidr,
        WG_MTU: String(node.mtu),
        WG_IP_FORWARD: node.ipForwarding ? "1" : "0",
        WG_CONFIG: renderWireGuardConfig(node, publicKeys),
    };
}

/** Throws unless `value` is a WireGuard public key: base64 of 32 bytes (44 characters). */
export function assertPublicKey(value: unknown, field: string): string {
    if (typeof value !== "string" || !/^[A-Za-z0-9+/]{43}=$/.test(value) || Buffer.from(value, "base64").length !== 32) {
        throw new ConfigError(
            field,
            `must be a WireGuard public key (44 base64 characters, as printed by wg pubkey) (got ${describe(value)})`,
        );
    }
    return value;
}

/** Formats `host:port`, bracketing IPv6 literals (`[2001:db8::1]:51820`). */
export function formatEndpoint(host: string, port: number): string {
    return ipaddr.IPv6.isValid(host) && !ipaddr.IPv4.isValid(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Throws unless `value` is an IPv4 address, IPv6 address or DNS name, without a port. */
export function assertEndpointHost(value: unknown, field: string): string {
    const ok =
        typeof value === "string" &&
        (ipaddr.IPv4.isValidFourPartDecimal(value) || ipaddr.IPv6.isValid(value) || (HOSTNAME.test(value) && !/^[0-9.]+$/.test(value)));
    if (!ok) {
        throw new ConfigError(field, `must be an IPv4 address, IPv6 address or DNS name without port (got ${describe(value)})`);
    }
    return value;
}

function checkNodes(options: WireGuardOptions, topology: WireGuardTopology): void {
    if (options.ingress === undefined || options.ingress === null || typeof options.ingress !== "object") {
        throw new ConfigError("ingress", "is required: { name, endpoint }");
    }
    if (!Array.isArray(options.hosts) || options.hosts.length === 0) {
        throw new ConfigError("hosts", "must list at least one KVM host");
    }
    const nodes = [options.ingress, ...options.hosts];
    const fieldOf = (index: number) => (index === 0 ? "ingress" : `hosts[${index - 1}]`);
    nodes.forEach((node, index) => {
        nodeName(`${fieldOf(index)}.name`, node.name);
        const endpointRequired = index === 0 || topology === "mesh";
        if (node.endpoint !== undefined || endpointRequired) {
            assertEndpointHost(node.endpoint, `${fieldOf(index)}.endpoint`);
        }
    });
    if (options.hosts.some((host) => host.name === options.ingress.name)) {
        const index = options.hosts.findIndex((host) => host.name === options.ingress.name);
        throw new ConfigError(`hosts[${index}].name`, `"${options.ingress.name}" is the ingress; the ingress cannot also be a KVM host`);
    }
    unique(
        nodes.map((node) => node.name),
        (index) => `${fieldOf(index)}.name`,
        "node name",
    );
    const endpoints = nodes
        .map((node, index) => ({ endpoint: node.endpoint, field: `${fieldOf(index)}.endpoint` }))
        .filter((entry): entry is { endpoint: string; field: string } => entry.endpoint !== undefined);
    unique(
        endpoints.map((entry) => entry.endpoint.toLowerCase()),
        (index) => endpoints[index].field,
        "endpoint",
    );
}

function checkTopology(value: unknown): WireGuardTopology {
    if (value !== "mesh" && value !== "hub") {
        throw new ConfigError("topology", `must be "mesh" or "hub" (got ${describe(value)})`);
    }
    return value;
}

/** Node names become FRR hostnames, config comments and lab namespace suffixes. */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Fails unless `value` is a node name: 1–63 letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export function nodeName(field: string, value: unknown): string {
    if (typeof value !== "string" || !NODE_NAME.test(value)) {
        throw new ConfigError(
            field,
            `must be 1-63 letters, digits, ".", "_" or "-" starting with a letter or digit (got ${describe(value)})`,
        );
    }
    return value;
}
