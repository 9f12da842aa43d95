/**
 * The allow-list of an edge cluster's hosts, from the cluster's settings: the arguments of their
 * host firewall (`firewall.sh`), from which `cloudFirewallRules` also derives the restricted cloud
 * firewall in front of them — one list, so the two never disagree. Pure.
 *
 * - open to everyone: SSH, WireGuard on the overlay's port, the firewall's `extraPorts`;
 * - VXLAN and BGP: only on the overlay's interface (they travel inside WireGuard);
 * - libvirt, live migration, VNC: only from the cluster's private range, the front-end, the
 *   overlay's subnet (when the cluster is on an overlay) and `firewall.trustedSources`.
 */
import type * as pulumi from "@pulumi/pulumi";
import ipaddr from "ipaddr.js";
import type { ConnectionArgs } from "../opennebula/resources/provider-kit";
import type { NodeFirewall } from "../remote/ssh";
import { isKnown, parseAddressOrCidr } from "../validation";
import type { FirewallScriptArgs } from "./host-scripts";
import type { EdgeFirewallArgs, EdgeOpenNebulaArgs, EdgeOverlayArgs } from "./types";

/** The settings of an overlay nobody changed: a `WireGuardMesh`'s defaults. */
export const OVERLAY_DEFAULTS = { listenPort: 51820, interfaceName: "wg0", subnet: "192.168.0.0/24" } as const;

/** What {@link edgeFirewall} derives the allow-list from. */
export interface EdgeFirewallPlanArgs {
    /** The cluster's host firewall settings. Default `{ mode: "strict" }`. */
    firewall?: EdgeFirewallArgs;
    /** The cloud-private range the hosts share. Default none. */
    privateRange?: string;
    /** Where the front-end reaches the hosts from (see {@link frontendAddressesOf}). Default none. */
    frontendAddresses?: string[];
    /** The overlay the hosts join. Default: none (see {@link overlayFirewall}). */
    overlay?: EdgeOverlayArgs;
}

/**
 * What the hosts' firewall lets the overlay use: its port and interface (the mesh's defaults when
 * the cluster is not told of an overlay, so a default mesh still comes up) and, only when the
 * cluster is on an overlay, its subnet.
 */
export function overlayFirewall(overlay: EdgeOverlayArgs | undefined): NodeFirewall {
    return {
        wireguardPort: overlay?.listenPort ?? OVERLAY_DEFAULTS.listenPort,
        overlayInterface: overlay?.interfaceName ?? OVERLAY_DEFAULTS.interfaceName,
        overlaySubnet: overlay === undefined ? undefined : (overlay.subnet ?? OVERLAY_DEFAULTS.subnet),
    };
}

/** The host firewall of an edge cluster's hosts (and, through `cloudFirewallRules`, its restricted cloud firewall). */
export function edgeFirewall(args: EdgeFirewallPlanArgs): FirewallScriptArgs {
    const overlay = overlayFirewall(args.overlay);
    const trusted = [args.privateRange, ...(args.frontendAddresses ?? []), overlay.overlaySubnet, ...(args.firewall?.trustedSources ?? [])];
    return {
        mode: args.firewall?.mode,
        extraPorts: args.firewall?.extraPorts,
        wireguardPort: overlay.wireguardPort,
        overlayInterface: overlay.overlayInterface,
        trustedSources: trusted.filter((source): source is string => source !== undefined),
    };
}

/**
 * The front-end's addresses: `frontendAddresses` when given, else the host of the XML-RPC
 * endpoint when it is an IP address (not a loopback one) given as a plain value, else none.
 */
export function frontendAddressesOf(opennebula: Pick<EdgeOpenNebulaArgs, "connection" | "frontendAddresses">): string[] {
    if (opennebula.frontendAddresses !== undefined) return opennebula.frontendAddresses;
    const connection: pulumi.Input<ConnectionArgs> | undefined = opennebula.connection;
    if (!isKnown(connection) || !isKnown(connection.endpoint)) return [];
    let host: string;
    try {
        host = new URL(connection.endpoint).hostname.replace(/^\[(.*)\]$/, "$1");
    } catch {
        return [];
    }
    // A loopback endpoint is a tunnel (ssh -L): it says nothing of where the front-end is.
    return parseAddressOrCidr(host) === undefined || ipaddr.parse(host).range() === "loopback" ? [] : [host];
}
