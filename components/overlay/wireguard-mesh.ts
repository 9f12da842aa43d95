/**
 * `WireGuardMesh`: the overlay's underlay, `wg0` on the ingress and on every KVM host, brought up
 * over SSH by `scripts/host/wireguard-up.sh`.
 *
 * Private keys never leave the hosts. Per node, one command ensures the key exists on the host
 * and prints only its public key (`WG_KEY_ONLY=1`); a second command applies the rendered
 * configuration, which holds the peers' public keys, and brings the interface up. Each node's
 * configuration depends only on the public keys and addresses of its own peers, so adding or
 * removing a node re-runs only the nodes whose peers change (every node in a full mesh, only the
 * ingress in a hub).
 */
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import ipaddr from "ipaddr.js";
import { hostCommand } from "../remote/host-command";
import type { HostScript } from "../remote/host-script";
import { hostScript } from "../remote/host-script";
import type { RemoteNode, SshArgs } from "../remote/ssh";
import { checkSshArgs } from "../remote/ssh";
import type { Transform } from "../transform";
import { ConfigError, booleanOr, cidrContains, describe, ipv4Cidr, isKnown, oneOf, required, unique } from "../validation";
import { overlayMtu } from "./mtu";
import { validateOverlay } from "./validation";
import type { WireGuardNodePlan, WireGuardPlan, WireGuardTopology } from "./wireguard-config";
import { assertEndpointHost, assertPublicKey, formatEndpoint, nodeName, wireguardScriptEnvironment } from "./wireguard-config";

/** Type token of {@link WireGuardMesh}. */
export const WIREGUARD_MESH_TYPE = "opennebula-edge:overlay:WireGuardMesh";

/** Which WireGuard the hosts run: the kernel module when it loads (`auto`), only the kernel, or `wireguard-go`. */
export type WireGuardImplementation = "auto" | "kernel" | "userspace";

/** Arguments of {@link WireGuardMesh}. Values that shape the plan are plain and checked before anything is created. */
export interface WireGuardMeshArgs {
    /** The ingress (route reflector, hub of a hub topology); it gets the first address of the subnet. Required. */
    ingress: RemoteNode;
    /** The KVM hosts of every edge cluster, at least one; they get the following addresses in this order. Required. */
    hosts: RemoteNode[];
    /** SSH access to every node; the private key stays secret. Required. */
    ssh: SshArgs;
    /** Subnet of the wg addresses. Default `192.168.0.0/24`. */
    subnet?: string;
    /** `mesh`: every node peers with every other (the seed). `hub`: hosts peer only with the ingress, which forwards. Default `mesh`. */
    topology?: WireGuardTopology;
    /**
     * Fixed wg addresses by node key, e.g. `{ kvm2: "192.168.0.3" }`; the other nodes take the
     * lowest free addresses in order. Pin the later nodes before removing an earlier one, so that
     * their addresses do not shift. Default: none.
     */
    addresses?: Record<string, string>;
    /**
     * UDP port every node listens on. The edge clusters' host firewalls open it when they are told
     * of the overlay (their `overlay.listenPort`); nodes whose firewall opens another are refused.
     * Default 51820.
     */
    listenPort?: number;
    /** MTU of the WireGuard interface. Default `overlayMtu().wireguardMtu` = 1420 (1500-byte underlay, IPv6 worst case). */
    mtu?: number;
    /** Keepalive interval in seconds sent by the KVM hosts (0 = off). Default 25. */
    persistentKeepalive?: number;
    /** WireGuard interface name, the EVPN network's PHYDEV. Default `wg0`. */
    interfaceName?: string;
    /** Kernel module or wireguard-go. Default `auto` (the kernel module when it loads). */
    implementation?: WireGuardImplementation;
    /** Install wireguard-tools (and wireguard-go for `userspace`) where missing, with apt. Default true. */
    installTools?: boolean;
    /** Escape hatches: change the arguments or options of each kind of child command before it is created. Default none. */
    transform?: {
        /** `${name}-install-<key>`: wireguard-install.sh. */
        installCommand?: Transform<command.remote.CommandArgs>;
        /** `${name}-key-<key>`: ensures the key, prints the public key. */
        keyCommand?: Transform<command.remote.CommandArgs>;
        /** `${name}-config-<key>`: applies the configuration, brings the interface up. */
        configCommand?: Transform<command.remote.CommandArgs>;
    };
}

/** The mesh-wide settings, as planned. */
export interface WireGuardMeshPlan {
    /** Canonical wg subnet. */
    subnet: string;
    /** Peering layout. */
    topology: WireGuardTopology;
    /** MTU of the WireGuard interface. */
    mtu: number;
    /** UDP listen port. */
    listenPort: number;
    /** Interface name (`wg0`). */
    interfaceName: string;
}

/** One node of the mesh. */
export interface WireGuardMeshNode {
    /** The node's key. */
    key: string;
    /** `ingress` or `host`. */
    role: "ingress" | "host";
    /** The node's wg address, e.g. `192.168.0.2`. */
    address: string;
    /** The node's WireGuard public key, as printed by the host. */
    publicKey: pulumi.Output<string>;
    /** The node as given. */
    node: RemoteNode;
    /** The command that brings the interface up: depend on it for whatever needs the tunnel on this node. */
    ready: command.remote.Command;
}

const DEFAULT_IMPLEMENTATION: WireGuardImplementation = "auto";
const IMPLEMENTATIONS: readonly WireGuardImplementation[] = ["auto", "kernel", "userspace"];

/**
 * WireGuard between the ingress and every KVM host: `wg0` with an address from `subnet`, the
 * peers of a full mesh or a hub, keys generated on the hosts.
 *
 * @example
 * const mesh = new WireGuardMesh("overlay", {
 *     ingress: { key: "ingress", publicIp: "13.58.199.98", sshUser: "root" },
 *     hosts: [{ key: "kvm-london", publicIp: "18.134.246.200", sshUser: "root" }, …],
 *     ssh: { privateKey: config.requireSecret("sshPrivateKey") },
 * });
 */
export class WireGuardMesh extends pulumi.ComponentResource {
    /** Subnet, topology, MTU, port and interface name. */
    readonly plan: WireGuardMeshPlan;
    /** The full WireGuard plan by node key, without endpoints (for the EVPN fabric and the lab). */
    readonly wireguardPlan: WireGuardPlan;
    /** Every node by key, the ingress first. */
    readonly nodes: Record<string, WireGuardMeshNode>;
    /** wg address by node key. */
    readonly addresses: Record<string, string>;
    /** Public key by node key. */
    readonly publicKeys: pulumi.Output<Record<string, string>>;
    /** SSH access to the nodes, as given (the EVPN fabric reuses it). */
    readonly ssh: SshArgs;

    constructor(name: string, args: WireGuardMeshArgs, opts?: pulumi.ComponentResourceOptions) {
        const layout = planMesh(args);
        super(WIREGUARD_MESH_TYPE, name, {}, opts);
        this.ssh = args.ssh;
        this.plan = layout.settings;
        this.wireguardPlan = layout.wireguard;
        this.addresses = Object.fromEntries(layout.wireguard.nodes.map((node) => [node.name, node.address]));

        // Every node runs the same install and key scripts: rendered once, shared by all.
        const scripts = {
            install: installScript(args.implementation ?? DEFAULT_IMPLEMENTATION),
            key: keyOnlyScript(this.plan.interfaceName),
        };
        const keyCommands = Object.fromEntries(layout.nodes.map((node) => [node.key, this.keyCommand(name, node, args, scripts)]));
        const publicKeys = Object.fromEntries(layout.nodes.map((node) => [node.key, publicKeyOf(keyCommands[node.key], node.key)]));
        // One resolved view per node, shared by every node that peers with it (n Outputs, not one per peering).
        const peerViews = new Map(layout.nodes.map((node, index) => [node.key, resolvedPeer(node, index, publicKeys[node.key])]));
        this.nodes = {};
        for (const [index, nodePlan] of layout.wireguard.nodes.entries()) {
            const node = layout.nodes[index];
            const ready = this.configCommand(name, node, nodePlan, peerViews, keyCommands[node.key], args);
            this.nodes[node.key] = {
                key: node.key,
                role: nodePlan.role,
                address: nodePlan.address,
                publicKey: publicKeys[node.key],
                node,
                ready,
            };
        }
        this.publicKeys = pulumi.output(publicKeys);
        this.registerOutputs({
            plan: this.plan,
            addresses: this.addresses,
            publicKeys: this.publicKeys,
            nodes: Object.fromEntries(Object.values(this.nodes).map((n) => [n.key, { address: n.address, publicKey: n.publicKey }])),
        });
    }

    /** Installs the tools when asked, then ensures the host's key and reads its public key. */
    private keyCommand(
        name: string,
        node: RemoteNode,
        args: WireGuardMeshArgs,
        scripts: { install: HostScript; key: HostScript },
    ): command.remote.Command {
        const installed =
            (args.installTools ?? true)
                ? [
                      hostCommand(`${name}-install-${node.key}`, scripts.install, {
                          parent: this,
                          ssh: args.ssh,
                          node,
                          transform: args.transform?.installCommand,
                      }),
                  ]
                : [];
        return hostCommand(`${name}-key-${node.key}`, scripts.key, {
            parent: this,
            ssh: args.ssh,
            node,
            dependsOn: installed,
            transform: args.transform?.keyCommand,
            replaceOn: [this.plan.interfaceName],
        });
    }

    /** Applies the node's configuration; it reads only its own peers' public keys and addresses. */
    private configCommand(
        name: string,
        node: RemoteNode,
        nodePlan: WireGuardNodePlan,
        peerViews: ReadonlyMap<string, pulumi.Output<ResolvedPeer>>,
        ownKey: command.remote.Command,
        args: WireGuardMeshArgs,
    ): command.remote.Command {
        const peers = nodePlan.peers.map((peer) => peerViews.get(peer.name)!);
        const implementation = args.implementation ?? DEFAULT_IMPLEMENTATION;
        // BOOT_UNITS: the script also writes the unit that brings the interface back at every boot.
        const script = pulumi.all(peers).apply((resolved): HostScript =>
            hostScript("wireguard-up.sh", {
                ...nodeEnvironment(nodePlan, resolved, this.plan),
                WG_IMPLEMENTATION: implementation,
                BOOT_UNITS: "yes",
            }),
        );
        // The own key command first: both would create the key if it were missing. Another
        // interface name replaces the command: its delete takes the old interface down.
        return hostCommand(`${name}-config-${node.key}`, script, {
            parent: this,
            ssh: args.ssh,
            node,
            dependsOn: [ownKey],
            transform: args.transform?.configCommand,
            replaceOn: [this.plan.interfaceName],
        });
    }
}

/** A peer of a node, resolved: its public address and key. */
interface ResolvedPeer {
    key: string;
    publicIp: string;
    publicKey: string;
    /** The argument naming the peer's address, for errors. */
    field: string;
}

/** A node as its peers see it: its public address and public key, once both are known. */
function resolvedPeer(node: RemoteNode, index: number, publicKey: pulumi.Output<string>): pulumi.Output<ResolvedPeer> {
    return pulumi.all([node.publicIp, publicKey]).apply(([publicIp, key]) => ({
        key: node.key,
        publicIp,
        publicKey: key,
        field: `${fieldOf(index)}.publicIp`,
    }));
}

/** The environment of wireguard-up.sh for a node, from its plan and its peers' addresses and keys. */
function nodeEnvironment(nodePlan: WireGuardNodePlan, peers: readonly ResolvedPeer[], settings: WireGuardMeshPlan): Record<string, string> {
    const subnet = ipv4Cidr("subnet", settings.subnet);
    const byKey = new Map(peers.map((peer) => [peer.key, peer]));
    const withEndpoints: WireGuardNodePlan = {
        ...nodePlan,
        peers: nodePlan.peers.map((peerPlan) => {
            const peer = byKey.get(peerPlan.name)!;
            const host = assertEndpointHost(peer.publicIp, peer.field);
            if (ipaddr.IPv4.isValidFourPartDecimal(host) && cidrContains(subnet, host)) {
                throw new ConfigError(
                    peer.field,
                    `${host} lies inside the wg subnet ${subnet.cidr}; public IPs must be underlay addresses`,
                );
            }
            return { ...peerPlan, endpoint: formatEndpoint(host, settings.listenPort) };
        }),
    };
    return wireguardScriptEnvironment(withEndpoints, Object.fromEntries(peers.map((peer) => [peer.key, peer.publicKey])));
}

/** The host's public key from the key command's output, checked; a public key is not a secret. */
function publicKeyOf(keyCommand: command.remote.Command, key: string): pulumi.Output<string> {
    return pulumi.unsecret(keyCommand.stdout.apply((stdout) => publicKeyFromOutput(stdout, key)));
}

/**
 * The public key in the output of `wireguard-up.sh` (`WG_KEY_ONLY=1`): its last non-empty line
 * (anything a login script printed before it is ignored).
 *
 * @throws ConfigError naming `publicKeys.<node key>` when that line is not a WireGuard public key.
 */
export function publicKeyFromOutput(stdout: string | undefined, nodeKey: string): string {
    const lines = (stdout ?? "")
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line !== "");
    return assertPublicKey(lines[lines.length - 1], `publicKeys.${nodeKey}`);
}

function keyOnlyScript(interfaceName: string): HostScript {
    return hostScript("wireguard-up.sh", { WG_KEY_ONLY: "1", WG_INTERFACE: interfaceName });
}

function installScript(implementation: WireGuardImplementation): HostScript {
    return hostScript("wireguard-install.sh", { WG_INSTALL_USERSPACE: implementation === "userspace" ? "1" : "0" });
}

// ---------------------------------------------------------------------------------------------
// Validation and planning (pure; runs before anything is created)

/** The checked nodes and the plan derived from them. */
export interface WireGuardMeshLayout {
    /** The ingress, then the hosts. */
    nodes: RemoteNode[];
    /** The plan by node key, without endpoints. */
    wireguard: WireGuardPlan;
    /** The mesh-wide settings. */
    settings: WireGuardMeshPlan;
}

function fieldOf(index: number): string {
    return index === 0 ? "ingress" : `hosts[${index - 1}]`;
}

/**
 * Checks the arguments and plans the mesh. Public IPs that are Outputs are checked when they
 * resolve; in the meantime a unique placeholder stands in for them.
 *
 * @throws ConfigError naming the argument, e.g. `hosts[1].key`, `ingress.publicIp`, `subnet`, `topology`, `mtu`.
 */
export function planMesh(args: WireGuardMeshArgs): WireGuardMeshLayout {
    if (args === undefined || args === null || typeof args !== "object") {
        throw new ConfigError("args", "are required: { ingress, hosts, ssh, … }");
    }
    checkSshArgs(args.ssh);
    checkNode(args.ingress, "ingress");
    if (!Array.isArray(args.hosts) || args.hosts.length === 0) {
        throw new ConfigError("hosts", `must list at least one KVM host (got ${describe(args.hosts)})`);
    }
    args.hosts.forEach((host, index) => checkNode(host, `hosts[${index}]`));
    assertIngressIsNoHost(args.ingress, args.hosts);
    const nodes = [args.ingress, ...args.hosts];
    unique(
        nodes.map((node) => node.key),
        (index) => `${fieldOf(index)}.key`,
        "node key",
    );
    oneOf("implementation", args.implementation ?? DEFAULT_IMPLEMENTATION, IMPLEMENTATIONS);
    booleanOr("installTools", args.installTools, true);

    const endpointOf = (node: RemoteNode, index: number) => (isKnown(node.publicIp) ? node.publicIp : `node-${index}.pending.invalid`);
    const [ingress, ...hosts] = nodes.map((node, index) => ({ name: node.key, endpoint: endpointOf(node, index) }));
    const planned = withMeshFields(() =>
        validateOverlay({
            wireguard: {
                ingress,
                hosts,
                subnet: args.subnet,
                topology: args.topology,
                listenPort: args.listenPort,
                mtu: args.mtu ?? overlayMtu().wireguardMtu,
                persistentKeepalive: args.persistentKeepalive,
                interfaceName: args.interfaceName,
                addresses: args.addresses,
            },
        }),
    ).wireguard;
    const wireguard: WireGuardPlan = {
        ...planned,
        nodes: planned.nodes.map((node) => ({ ...node, peers: node.peers.map(({ endpoint: _endpoint, ...peer }) => peer) })),
    };
    const first = wireguard.nodes[0];
    const settings = {
        subnet: wireguard.subnet,
        topology: wireguard.topology,
        mtu: first.mtu,
        listenPort: first.listenPort,
        interfaceName: first.interfaceName,
    };
    nodes.forEach((node, index) => checkNodeFirewall(node, fieldOf(index), settings));
    return { nodes, wireguard, settings };
}

/**
 * Fails when the package's host firewall on a node (an edge cluster's host) would block the mesh:
 * another WireGuard port, another interface for VXLAN and BGP, or another trusted overlay subnet.
 * The fix is on the edge cluster's side: its `overlay` argument.
 */
function checkNodeFirewall(node: RemoteNode, field: string, settings: WireGuardMeshPlan): void {
    const firewall = node.firewall;
    if (firewall === undefined) return;
    const fix = `give its edge cluster overlay: { listenPort: ${settings.listenPort}, interfaceName: "${settings.interfaceName}", subnet: "${settings.subnet}" }`;
    if (firewall.wireguardPort !== settings.listenPort) {
        throw new ConfigError(
            "listenPort",
            `is ${settings.listenPort}, but the host firewall of ${field} (${node.key}) opens WireGuard on ${firewall.wireguardPort}: ${fix}`,
        );
    }
    if (firewall.overlayInterface !== settings.interfaceName) {
        throw new ConfigError(
            "interfaceName",
            `is ${settings.interfaceName}, but the host firewall of ${field} (${node.key}) accepts VXLAN and BGP on ${firewall.overlayInterface}: ${fix}`,
        );
    }
    if (firewall.overlaySubnet !== undefined && firewall.overlaySubnet !== settings.subnet) {
        throw new ConfigError(
            "subnet",
            `is ${settings.subnet}, but the host firewall of ${field} (${node.key}) trusts the overlay subnet ${firewall.overlaySubnet}: ${fix}`,
        );
    }
}

function assertIngressIsNoHost(ingress: RemoteNode, hosts: readonly RemoteNode[]): void {
    hosts.forEach((host, index) => {
        if (host.key === ingress.key) {
            throw new ConfigError(`hosts[${index}].key`, `"${host.key}" is the ingress's key; the ingress cannot also be a KVM host`);
        }
        if (isKnown(host.publicIp) && isKnown(ingress.publicIp) && host.publicIp === ingress.publicIp) {
            throw new ConfigError(
                `hosts[${index}].publicIp`,
                `${host.publicIp} is the ingress's publicIp; the ingress cannot also be a KVM host`,
            );
        }
    });
}

/** Fails unless `node` is `{ key, publicIp, sshUser, dependsOn? }` with a valid key; `field` names it, e.g. `hosts[0]`. */
function checkNode(node: RemoteNode, field: string): RemoteNode {
    if (node === undefined || node === null || typeof node !== "object") {
        throw new ConfigError(field, `must be a node { key, publicIp, sshUser } (got ${describe(node)})`);
    }
    nodeName(`${field}.key`, node.key);
    required(`${field}.publicIp`, node.publicIp);
    required(`${field}.sshUser`, node.sshUser);
    if (node.dependsOn !== undefined && !Array.isArray(node.dependsOn)) {
        throw new ConfigError(`${field}.dependsOn`, `must be a list of resources (got ${describe(node.dependsOn)})`);
    }
    return node;
}

/** Renames the planner's fields to this component's arguments: `wireguard.hosts[0].name` → `hosts[0].key`, `.endpoint` → `.publicIp`. */
function withMeshFields<T>(plan: () => T): T {
    const rename = (text: string) =>
        text
            .replace(/\bwireguard\./g, "")
            .replace(/\b(ingress|hosts\[\d+\])\.name\b/g, "$1.key")
            .replace(/\b(ingress|hosts\[\d+\])\.endpoint\b/g, "$1.publicIp");
    try {
        return plan();
    } catch (error) {
        if (error instanceof ConfigError) throw new ConfigError(rename(error.field), rename(error.problem));
        throw error;
    }
}
