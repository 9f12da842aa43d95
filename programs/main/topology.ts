/**
 * The stack output `topology`: what a stack built, in one documented shape — the edge clusters
 * with their hosts and public IPs, the overlay, the EVPN network and the router. `pulumi stack
 * output topology --json` prints it; the Automation CLI's `list` and `status` read it, and
 * `list --diagram` draws it.
 */
import * as pulumi from "@pulumi/pulumi";
import type { CloudEdgeCluster } from "../../components/clouds/base";

/** A host as `topology` shows it. */
export interface TopologyHost {
    /** Address SSH, the front-end and the overlay reach it at. */
    publicIp: string;
    /** Address in its cloud's private network. */
    privateIp: string;
    /** OpenNebula host id, when registered. */
    hostId?: number;
    /** Its node in the overlay (`<cluster>-<host>`), when there is an overlay. */
    overlayNode?: string;
    /** Its WireGuard address, when there is an overlay. */
    overlayAddress?: string;
}

/** An edge cluster as `topology` shows it. */
export interface TopologyCluster {
    /** `aws`, `digitalocean`, `vultr`, `scaleway` (or `lab`). */
    cloud: string;
    /** Region (Scaleway: zone). */
    region: string;
    /** OpenNebula cluster id. */
    clusterId?: number;
    /** The hosts by key. */
    hosts: Record<string, TopologyHost>;
    /** Public IP → key of the host that carries it (VMs using it must run there). */
    publicIps: Record<string, string>;
}

/** What a stack built (the stack output `topology`). */
export interface EdgeTopology {
    /** Edge clusters by name. */
    clusters: Record<string, TopologyCluster>;
    /** The WireGuard + BGP-EVPN overlay, when there is one. */
    overlay?: {
        /** WireGuard subnet. */
        subnet: string;
        /** `mesh` or `hub`. */
        topology: string;
        /** The ingress (route reflector): its node key, public IP and WireGuard address. */
        ingress: { key: string; publicIp: string; address: string };
    };
    /** The EVPN network, when there is one. */
    privateNetwork?: {
        /** OpenNebula network id. */
        id?: number;
        /** Its CIDR. */
        network: string;
        /** Its VNI. */
        vlanId: number;
        /** VMs on it, by name, with the host they run on (`<cluster>/<host>`), when known (the lab). */
        vms?: Record<string, { ip: string; host: string }>;
    };
    /** The virtual router, when there is one. */
    router?: {
        /** The edge cluster whose public network holds it. */
        cluster: string;
        /** Its public address. */
        publicIp: string;
        /** SDNAT: public IP → private VM address. */
        mappings: Record<string, string>;
    };
}

/** An edge cluster of the stack: its configuration name, cloud, region and component. */
export interface TopologySource {
    name: string;
    cloud: string;
    region: string;
    component: CloudEdgeCluster;
}

/** The `topology` output of the stack's parts (each Output resolved into one value). */
export function stackTopology(
    clusters: TopologySource[],
    overlay: pulumi.Input<EdgeTopology["overlay"] & { addresses: Record<string, string> }> | undefined,
    privateNetwork: pulumi.Input<EdgeTopology["privateNetwork"]> | undefined,
    router: pulumi.Input<EdgeTopology["router"]> | undefined,
): pulumi.Output<EdgeTopology> {
    const each = clusters.map((cluster) =>
        pulumi.all([cluster.component.clusterId, cluster.component.hosts, cluster.component.hostIds, cluster.component.publicIpHosts]),
    );
    return pulumi
        .all([pulumi.all(each), pulumi.output(overlay), pulumi.output(privateNetwork), pulumi.output(router)])
        .apply(([built, mesh, network, vrouter]) => ({
            clusters: Object.fromEntries(
                clusters.map((cluster, i) => {
                    const [clusterId, hosts, hostIds, publicIps] = built[i];
                    return [
                        cluster.name,
                        {
                            cloud: cluster.cloud,
                            region: cluster.region,
                            clusterId,
                            hosts: Object.fromEntries(
                                Object.entries(hosts).map(([key, host]) => {
                                    const node = `${cluster.name}-${key}`;
                                    const address = mesh?.addresses[node];
                                    return [
                                        key,
                                        {
                                            publicIp: host.publicIp,
                                            privateIp: host.privateIp,
                                            hostId: hostIds[key],
                                            ...(address ? { overlayNode: node, overlayAddress: address } : {}),
                                        },
                                    ];
                                }),
                            ),
                            publicIps,
                        },
                    ];
                }),
            ),
            ...(mesh ? { overlay: { subnet: mesh.subnet, topology: mesh.topology, ingress: mesh.ingress } } : {}),
            ...(network ? { privateNetwork: network } : {}),
            ...(vrouter ? { router: vrouter } : {}),
        }));
}
