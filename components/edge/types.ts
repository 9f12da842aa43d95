import type * as pulumi from "@pulumi/pulumi";
import type { ConnectionArgs } from "../opennebula/resources/provider-kit";
import type { AddressRangeInput } from "../opennebula/resources/virtual-network";
import type { TemplateArgs } from "../opennebula/resources/resource-options";
import type { FirewallMode, FirewallPort, Hypervisor, OneVersion, PublicForwardingArgs } from "./host-scripts";

/**
 * A machine a cloud component created, handed to {@link EdgeCluster}. The core never imports a
 * cloud SDK: this is everything it needs to know about a host.
 */
export interface EdgeHost {
    /** Short, unique key within the cluster, used in child resource names (e.g. `"host-0"`). Plain string. */
    key: string;
    /** Host name in OpenNebula: how the front-end reaches it. Default: `publicIp`. */
    name?: pulumi.Input<string>;
    /** Address SSH and the front-end reach the host at. */
    publicIp: pulumi.Input<string>;
    /** Address of the host in the cloud's private network (VPC). */
    privateIp: pulumi.Input<string>;
    /** SSH user with passwordless sudo (e.g. `ubuntu`, `root`). */
    sshUser: pulumi.Input<string>;
    /** The cloud's id of the machine (droplet id, instance id …), kept in the host template. */
    cloudId: pulumi.Input<string>;
    /** Cloud resources the host's configuration must wait for (the machine, attached IPs …). */
    dependsOn?: pulumi.Resource[];
    /**
     * How this host forwards public traffic to VMs (see `public-forwarding.sh`), for the public
     * addresses the cloud attached to this host. Default: no forwarding.
     */
    publicForwarding?: pulumi.Input<PublicForwardingArgs>;
}

/** How the core reaches hosts over SSH. */
export interface EdgeSshArgs {
    /** Private key (OpenSSH PEM) accepted by every host; kept secret. */
    privateKey: pulumi.Input<string>;
    /** SSH port. Default 22. */
    port?: pulumi.Input<number>;
    /** A jump host to go through (as in the seed's `ProxyJump`). Default: connect directly. */
    bastion?: {
        host: pulumi.Input<string>;
        /** Default `root`. */
        user?: pulumi.Input<string>;
        /** Default: the hosts' `privateKey`. */
        privateKey?: pulumi.Input<string>;
        /** Default 22. */
        port?: pulumi.Input<number>;
    };
}

/** The OpenNebula side of an edge cluster. */
export interface EdgeOpenNebulaArgs {
    /** How to reach the front-end's XML-RPC API. Default: `ONE_XMLRPC` / `ONE_AUTH` of the provider process. */
    connection?: pulumi.Input<ConnectionArgs>;
    /** The front-end's `oneadmin` public SSH key, installed on every host. Required. */
    frontendSshPublicKey: pulumi.Input<string>;
    /** OpenNebula version of the node packages: `6.10` or `7.0`. Default `6.10`. */
    version?: OneVersion;
}

/** The OpenNebula public network of an edge cluster (its addresses come from the cloud). */
export interface EdgePublicNetworkArgs {
    /** Network driver. Default `bridge` (the host scripts do the forwarding). */
    vnMad?: pulumi.Input<string>;
    /** Template attributes, e.g. `{ BRIDGE: "br0", GATEWAY: …, DNS: "1.1.1.1", NETROLE: "public" }`. */
    template?: pulumi.Input<TemplateArgs>;
    /** Fixed address ranges carrying the cloud's public addresses. */
    addressRanges: pulumi.Input<pulumi.Input<AddressRangeInput>[]>;
}

/** Arguments of {@link EdgeCluster}. */
export interface EdgeClusterArgs {
    /** The machines, at least one. Their number must be known when the program runs. */
    hosts: EdgeHost[];
    /** SSH access to the hosts. */
    ssh: EdgeSshArgs;
    /** The OpenNebula front-end. */
    opennebula: EdgeOpenNebulaArgs;
    /** `kvm` (metal), `qemu` (virtual machines without nested KVM) or `lxc`. Default `kvm`. */
    hypervisor?: Hypervisor;
    /** Host firewall: `strict` rejects what is not allowed, `open` only adds the allow rules. Default `strict`. */
    firewall?: { mode?: FirewallMode; extraPorts?: FirewallPort[] };
    /**
     * The OpenNebula cluster: a new one named `name` (default: the component name), or an existing one
     * by `existingClusterId` (the multi-edge layout, where every edge cluster joins one cluster).
     */
    cluster?: { name?: pulumi.Input<string>; existingClusterId?: pulumi.Input<number> };
    /** The public network for this cloud's model. Default: none. */
    publicNetwork?: EdgePublicNetworkArgs;
    /** Image and system datastores with the SSH transfer manager. Default: both, with the first host as replica. */
    datastores?: { replica?: boolean };
    /** Existing datastores shared into the cluster, as oneprovision did. Default `[1, 2]` (default images, files). */
    sharedDatastoreIds?: number[];
    /** Text describing the cluster in its template (DESCRIPTION). */
    description?: pulumi.Input<string>;
}
