import type * as pulumi from "@pulumi/pulumi";
import type * as command from "@pulumi/command";
import type { ConnectionArgs } from "../opennebula/resources/provider-kit";
import type { ClusterMembershipArgs } from "../opennebula/resources/cluster-membership";
import type { ClusterArgs } from "../opennebula/resources/cluster";
import type { DatastoreArgs } from "../opennebula/resources/datastore";
import type { HostArgs } from "../opennebula/resources/host";
import type { AddressRangeInput, VirtualNetworkArgs } from "../opennebula/resources/virtual-network";
import type { TemplateArgs } from "../opennebula/resources/resource-options";
import type { RemoteNode, SshArgs } from "../remote/ssh";
import type { Transform } from "../transform";
import type { FirewallMode, FirewallPort, Hypervisor, OneVersion, PublicForwardingArgs } from "./host-scripts";

/**
 * A machine a cloud component created, handed to {@link EdgeCluster}. The core never imports a
 * cloud SDK: this is everything it needs to know about a host.
 */
export interface EdgeHost extends RemoteNode {
    /** Host name in OpenNebula: how the front-end reaches it. Default: `publicIp`. */
    name?: pulumi.Input<string>;
    /** Address of the host in the cloud's private network (VPC). Required. */
    privateIp: pulumi.Input<string>;
    /** The cloud's id of the machine (droplet id, instance id …), kept in the host template. Required. */
    machineId: pulumi.Input<string>;
    /**
     * How this host forwards public traffic to VMs (see `public-forwarding.sh`), for the public
     * addresses the cloud attached to this host. Default: no forwarding.
     */
    publicForwarding?: pulumi.Input<PublicForwardingArgs>;
}

/** The OpenNebula side of an edge cluster. */
export interface EdgeOpenNebulaArgs {
    /** How to reach the front-end's XML-RPC API. Default: `ONE_XMLRPC` / `ONE_AUTH` of the provider process. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** The front-end's `oneadmin` public SSH key, installed on every host. Required. */
    frontendSshPublicKey: pulumi.Input<string>;
    /** OpenNebula version of the node packages: `6.10` or `7.0`. Default `6.10`. */
    version?: OneVersion;
    /**
     * Where the front-end reaches the hosts from (its VNC proxy, libvirt): IPv4/IPv6 addresses or
     * CIDRs, allowed to libvirt, live migration and VNC in the host firewall and the restricted
     * cloud firewall. Default: the host of `connection.endpoint` when it is an IP address given as
     * a plain value, else none (then only the cluster's private range and the overlay may reach them).
     */
    frontendAddresses?: string[];
}

/** The OpenNebula public network of an edge cluster (its addresses come from the cloud). */
export interface EdgePublicNetworkArgs {
    /** Network driver. Default `bridge` (the host scripts do the forwarding). */
    vnMad?: pulumi.Input<string>;
    /** Template attributes, e.g. `{ GATEWAY: …, DNS: "1.1.1.1" }`; `BRIDGE: "br0"` and `NETROLE: "public"` are added. Default none. */
    template?: pulumi.Input<TemplateArgs>;
    /** Fixed address ranges carrying the cloud's public addresses. Required. */
    addressRanges: pulumi.Input<pulumi.Input<AddressRangeInput>[]>;
}

/**
 * The host firewall (`firewall.sh`) of every host. Open to everyone: SSH, WireGuard (the overlay's
 * port) and `extraPorts`; VXLAN and BGP only on the overlay's interface; libvirt, live migration
 * and VNC only from the allow-list: the cluster's private range, the front-end
 * (`opennebula.frontendAddresses`), the overlay's subnet and `trustedSources`.
 */
export interface EdgeFirewallArgs {
    /** `strict` rejects what is not allowed, `open` only closes the guarded ports. Default `strict`. */
    mode?: FirewallMode;
    /** More ports open to everyone (also in a restricted cloud firewall). Default none. */
    extraPorts?: FirewallPort[];
    /** More IPv4/IPv6 addresses or CIDRs that may reach libvirt, live migration and VNC (e.g. a bastion). Default none. */
    trustedSources?: string[];
}

/**
 * The overlay the cluster's hosts join (a `WireGuardMesh` over the cloud component's
 * `overlayNodes()`), as their firewalls must know it: its port is opened, VXLAN and BGP are
 * accepted on its interface only, and its subnet may reach libvirt, live migration and VNC.
 * `WireGuardMesh` refuses nodes whose firewall does not match its own settings.
 */
export interface EdgeOverlayArgs {
    /** The mesh's `listenPort` (UDP). Default 51820, the mesh's default. */
    listenPort?: number;
    /** The mesh's `interfaceName`. Default `wg0`, the mesh's default. */
    interfaceName?: string;
    /** The mesh's `subnet`. Default `192.168.0.0/24`, the mesh's default. */
    subnet?: string;
}

/** The cluster to register the hosts in: a new one, or an existing one by id. */
export interface EdgeClusterTarget {
    /** Name of a new cluster. Default: the component name. */
    name?: pulumi.Input<string>;
    /** An existing cluster to join instead (the multi-edge layout, where every edge cluster joins one). Default: none, a new cluster. */
    existingClusterId?: pulumi.Input<number>;
}

/** Escape hatches of {@link EdgeCluster}: change each kind of child's arguments before it is created. */
export interface EdgeClusterTransforms {
    /** `${name}-cluster`. */
    cluster?: Transform<ClusterArgs>;
    /** `${name}-<host>-<step>`: the host scripts (repo, node, oneadmin-key, sysctl, firewall, forwarding). */
    hostCommand?: Transform<command.remote.CommandArgs>;
    /** `${name}-<host>`: the OpenNebula hosts. */
    host?: Transform<HostArgs>;
    /** `${name}-image` and `${name}-system`. */
    datastore?: Transform<DatastoreArgs>;
    /** `${name}-public`. */
    publicNetwork?: Transform<VirtualNetworkArgs>;
    /** `${name}-shared-ds-<id>`. */
    sharedDatastore?: Transform<ClusterMembershipArgs>;
}

/** Arguments of {@link EdgeCluster}. */
export interface EdgeClusterArgs {
    /** The machines, at least one, with unique keys. Their number must be known when the program runs. Required. */
    hosts: EdgeHost[];
    /** SSH access to the hosts. Required. */
    ssh: SshArgs;
    /** The OpenNebula front-end. Required. */
    opennebula: EdgeOpenNebulaArgs;
    /** `kvm` (metal), `qemu` (virtual machines without nested KVM) or `lxc`. Default `kvm`. */
    hypervisor?: Hypervisor;
    /** Host firewall. Default `{ mode: "strict" }`. */
    firewall?: EdgeFirewallArgs;
    /**
     * The cloud-private range the hosts share (the VPC): its addresses may reach libvirt, live
     * migration and VNC. Default none: hosts then reach those ports of one another only over the
     * overlay (and from `firewall.trustedSources`).
     */
    privateRange?: pulumi.Input<string>;
    /**
     * The overlay the hosts join, for their firewall. Default: not on an overlay — the firewall
     * still opens WireGuard 51820/udp and accepts VXLAN and BGP on `wg0` (a default mesh works),
     * but trusts no overlay subnet.
     */
    overlay?: EdgeOverlayArgs;
    /** The OpenNebula cluster. Default: a new cluster named after the component. */
    cluster?: EdgeClusterTarget;
    /** The public network for this cloud's model. Default: none. */
    publicNetwork?: EdgePublicNetworkArgs;
    /** Image and system datastores with the SSH transfer manager. Default: both, with the first host as replica. */
    datastores?: { replica?: boolean };
    /** Existing datastores shared into the cluster, as oneprovision did. Default `[1, 2]` (default images, files) for a new cluster, none when joining one. */
    sharedDatastoreIds?: number[];
    /** Text describing the cluster in its template (DESCRIPTION). Default: a generic description. */
    description?: pulumi.Input<string>;
    /** Escape hatches per kind of child. Default none. */
    transform?: EdgeClusterTransforms;
}
