/**
 * The main stack program: everything from stack configuration alone. In the seed's order:
 *
 * 1. every edge cluster checked by its cloud's own schema (part of the stack schema), then the
 *    overlay and router planners: nothing is created for a bad key;
 * 2. with several edge clusters (or `sharedCluster: true`), ONE OpenNebula cluster that every
 *    edge cluster joins, with the default datastores 1 and 2 — so hosts, public networks, the
 *    EVPN network and datastores are all in one cluster and VMs live-migrate between edge clusters;
 * 3. the edge clusters, each with its cloud's explicit provider (one per cloud and region): machines,
 *    host configuration, OpenNebula hosts, SSH datastores, public network;
 * 4. the overlay: WireGuard on the ingress and every KVM host, then FRR BGP-EVPN with the ingress
 *    as route reflector;
 * 5. the EVPN private network in the cluster(s);
 * 6. the virtual router with SDNAT.
 */
import * as pulumi from "@pulumi/pulumi";
import { EvpnFabric } from "../../components/overlay/evpn-fabric";
import { networkCidrOf } from "../../components/overlay/evpn-network";
import { EvpnPrivateNetwork } from "../../components/overlay/evpn-private-network";
import { WireGuardMesh } from "../../components/overlay/wireguard-mesh";
import { Cluster } from "../../components/opennebula/resources/cluster";
import { ClusterMembership } from "../../components/opennebula/resources/cluster-membership";
import type { ConnectionArgs } from "../../components/opennebula/resources/provider-kit";
import type { SshArgs } from "../../components/remote/ssh";
import { sshKeyPair } from "../../components/remote/ssh-key";
import { EdgeVirtualRouter } from "../../components/router/edge-virtual-router";
import { readStackSettings, routerAppliance, routerEdgeCluster, usesSharedCluster, wireguardMtu } from "./config";
import type { BuiltEdgeCluster, SharedClusterArgs } from "./edge-clusters";
import { StackClouds, buildEdgeCluster } from "./edge-clusters";
import type { StackSettings } from "./schema";
import type { EdgeTopology } from "./topology";
import { stackTopology } from "./topology";

/** The default datastores (images 1, files 2) that oneprovision shared into every edge cluster. */
export const SHARED_DEFAULT_DATASTORES = [1, 2] as const;

/** The stack outputs. */
export interface EdgeStackOutputs {
    /** OpenNebula cluster id per edge cluster (the same id everywhere when they share one cluster). */
    clusterIds: Record<string, pulumi.Output<number>>;
    /** The one OpenNebula cluster every edge cluster joined, when shared. */
    sharedClusterId?: pulumi.Output<number>;
    /** Per edge cluster: the address each host is registered with, per host key. */
    hostAddresses: Record<string, pulumi.Output<Record<string, string>>>;
    /** Per edge cluster: the public IPs VMs are reached at (on DigitalOcean, which forwards ports, the hosts' own). */
    publicIps: Record<string, pulumi.Output<string[]>>;
    /** Per edge cluster: the OpenNebula public network's id. */
    publicNetworkIds: Record<string, pulumi.Output<number | undefined>>;
    /** WireGuard address per overlay node (`ingress`, `<cluster>-host-<i>`), when there is an overlay. */
    overlayAddresses?: Record<string, string>;
    /** The EVPN private network's OpenNebula id, when there is one. */
    privateNetworkId?: pulumi.Output<number>;
    /** The virtual router's public IP (the address the Internet reaches it at), when there is a router. */
    routerPublicIp?: pulumi.Output<string>;
    /** SDNAT: public IP (as the Internet sees it) → private VM address, when there is a router. */
    routerMappings?: pulumi.Output<Record<string, string>>;
    /** The OpenSSH public key every machine accepts (the configured one, or the generated one). */
    sshPublicKey: pulumi.Output<string>;
    /** What the stack built, in one shape (see `topology.ts`): `pulumi stack output topology --json`. */
    topology?: pulumi.Output<EdgeTopology>;
    /** The generated private key (secret), when `ssh.publicKey` and `sshPrivateKey` are not configured: `pulumi stack output --show-secrets sshPrivateKey`. */
    sshPrivateKey?: pulumi.Output<string>;
}

/** The resources the program built, for tests and for programs that extend it. */
export interface EdgeStack {
    /** What the stack exports. */
    outputs: EdgeStackOutputs;
    /** The (cloud, region) providers and the account-wide SSH keys (provider names `aws-eu-west-2` …). */
    clouds: StackClouds;
    /** The one OpenNebula cluster of the multi-edge layout (`shared-cluster`); absent otherwise. */
    sharedCluster?: Cluster;
    /** The edge clusters, in configuration order. */
    edgeClusters: BuiltEdgeCluster[];
    /** WireGuard (`overlay`), when `overlay` is configured. */
    mesh?: WireGuardMesh;
    /** FRR BGP-EVPN (`fabric`), when `overlay` is configured. */
    fabric?: EvpnFabric;
    /** The EVPN network (`private`), when `privateNetwork` is configured. */
    privateNetwork?: EvpnPrivateNetwork;
    /** The virtual router (`router`), when `router` is configured. */
    router?: EdgeVirtualRouter;
}

/**
 * The program Pulumi runs (and the Automation API's inline program): reads and checks the stack
 * configuration, then builds the edge. Returns the stack outputs.
 */
export async function stackProgram(): Promise<EdgeStackOutputs> {
    return buildEdgeStack(readStackSettings()).outputs;
}

/** Builds everything the (checked) settings describe. */
export function buildEdgeStack(settings: StackSettings): EdgeStack {
    const connection: ConnectionArgs = {
        endpoint: settings.opennebula.endpoint,
        username: settings.opennebula.username,
        password: pulumi.secret(settings.onePassword),
    };
    const keys = sshKeyPair("ssh-private-key", { publicKey: settings.ssh.publicKey, privateKey: settings.sshPrivateKey });
    const ssh = sshArgs(settings, keys.privateKey);
    const clouds = new StackClouds(`opennebula-edge-${pulumi.getStack()}`);
    const sharedCluster = usesSharedCluster(settings) ? createSharedCluster(settings, connection) : undefined;
    const common: SharedClusterArgs = {
        ssh: { ...ssh, publicKey: keys.publicKey },
        opennebula: {
            connection,
            frontendSshPublicKey: settings.opennebula.frontendSshPublicKey,
            version: settings.opennebula.version,
            frontendAddresses: settings.opennebula.frontendAddresses,
        },
        ...(sharedCluster ? { cluster: { existingClusterId: sharedCluster.oneId } } : {}),
        // The hosts' firewalls open the overlay's port and trust its subnet.
        ...(settings.overlay ? { overlay: { listenPort: settings.overlay.listenPort, subnet: settings.overlay.subnet } } : {}),
    };
    const context = clouds.context(common);
    const edgeClusters = settings.edgeClusters.map((cluster, index) => buildEdgeCluster(cluster, index, context));

    const outputs = {
        ...clusterOutputs(edgeClusters, sharedCluster),
        sshPublicKey: keys.publicKey,
        ...(keys.generated ? { sshPrivateKey: keys.privateKey } : {}),
    };
    const stack: EdgeStack = { outputs, clouds, sharedCluster, edgeClusters };
    if (settings.overlay !== undefined) buildOverlay(settings, ssh, edgeClusters, stack);
    if (settings.privateNetwork !== undefined) buildPrivateNetwork(settings, connection, edgeClusters, stack);
    if (settings.router !== undefined) buildRouter(settings, connection, stack);
    stack.outputs.topology = topologyOf(settings, stack);
    return stack;
}

/** The `topology` output: every part the stack built, resolved into one value. */
function topologyOf(settings: StackSettings, stack: EdgeStack): pulumi.Output<EdgeTopology> {
    const clusters = stack.edgeClusters.map((cluster) => ({
        name: cluster.settings.name,
        cloud: cluster.settings.cloud,
        region: String((cluster.settings as { region?: string; zone?: string }).region ?? (cluster.settings as { zone?: string }).zone),
        component: cluster.component,
    }));
    const ingress = settings.overlay?.ingress;
    const overlay = stack.mesh &&
        ingress && {
            subnet: stack.mesh.wireguardPlan.subnet,
            topology: stack.mesh.wireguardPlan.topology,
            ingress: { key: ingress.key, publicIp: ingress.publicIp, address: stack.mesh.addresses[ingress.key] },
            addresses: stack.mesh.addresses,
        };
    const network =
        stack.privateNetwork &&
        pulumi.output(stack.privateNetwork.networks.frontend.oneId).apply((id) => ({
            id,
            network: networkCidrOf(stack.privateNetwork!.templates.frontend),
            vlanId: settings.privateNetwork!.vlanId,
        }));
    const router =
        stack.router &&
        pulumi.all([stack.outputs.routerPublicIp!, stack.outputs.routerMappings!]).apply(([publicIp, mappings]) => ({
            cluster: routerEdgeCluster(settings).name,
            publicIp,
            mappings,
        }));
    return stackTopology(clusters, overlay, network, router);
}

/** SSH access to every machine with `privateKey` (the configured or generated one); private keys are secrets from the start. */
function sshArgs(settings: StackSettings, privateKey: pulumi.Output<string>): SshArgs {
    const bastion = settings.ssh.bastion;
    return {
        privateKey,
        port: settings.ssh.port,
        bastion: bastion && {
            host: bastion.host,
            user: bastion.user,
            port: bastion.port,
            privateKey: settings.bastionPrivateKey === undefined ? undefined : pulumi.secret(settings.bastionPrivateKey),
        },
    };
}

/** The one OpenNebula cluster of the multi-edge layout, with the default datastores shared into it. */
function createSharedCluster(settings: StackSettings, connection: ConnectionArgs): Cluster {
    const cluster = new Cluster("shared-cluster", {
        name: settings.sharedClusterName ?? `edge-${pulumi.getStack()}`,
        template: {
            DESCRIPTION: `Edge clusters ${settings.edgeClusters.map((c) => c.name).join(", ")} (pulumi-opennebula-edge)`,
            RESERVED_CPU: "0",
            RESERVED_MEM: "0",
        },
        connection,
    });
    for (const datastoreId of SHARED_DEFAULT_DATASTORES) {
        new ClusterMembership(`shared-cluster-ds-${datastoreId}`, {
            clusterId: cluster.oneId,
            kind: "datastore",
            memberId: datastoreId,
            connection,
        });
    }
    return cluster;
}

function clusterOutputs(clusters: BuiltEdgeCluster[], shared: Cluster | undefined): Omit<EdgeStackOutputs, "sshPublicKey"> {
    const each = <T>(pick: (cluster: BuiltEdgeCluster) => T): Record<string, T> =>
        Object.fromEntries(clusters.map((cluster) => [cluster.settings.name, pick(cluster)]));
    return {
        clusterIds: each((c) => c.component.clusterId),
        ...(shared ? { sharedClusterId: shared.oneId } : {}),
        hostAddresses: each((c) => c.component.hostAddresses),
        publicIps: each((c) => c.component.vmPublicIps),
        publicNetworkIds: each((c) => c.component.publicNetworkId),
    };
}

/** WireGuard between the ingress and every KVM host, then BGP-EVPN with the ingress as reflector. */
function buildOverlay(settings: StackSettings, ssh: SshArgs, clusters: BuiltEdgeCluster[], stack: EdgeStack): void {
    const overlay = settings.overlay!;
    stack.mesh = new WireGuardMesh("overlay", {
        ingress: { key: overlay.ingress.key, publicIp: overlay.ingress.publicIp, sshUser: overlay.ingress.sshUser },
        hosts: clusters.flatMap((cluster) => cluster.component.overlayNodes()),
        ssh,
        subnet: overlay.subnet,
        topology: overlay.topology,
        listenPort: overlay.listenPort,
        mtu: wireguardMtu(settings),
    });
    stack.fabric = new EvpnFabric("fabric", { mesh: stack.mesh, asn: overlay.asn });
    stack.outputs.overlayAddresses = stack.mesh.addresses;
}

/** The EVPN network on the front-end, in the shared cluster or in every edge cluster's own. */
function buildPrivateNetwork(settings: StackSettings, connection: ConnectionArgs, clusters: BuiltEdgeCluster[], stack: EdgeStack): void {
    const network = settings.privateNetwork!;
    const clusterIds = stack.sharedCluster ? [stack.sharedCluster.oneId] : clusters.map((cluster) => cluster.component.clusterId);
    stack.privateNetwork = new EvpnPrivateNetwork("private", {
        targets: [{ key: "frontend", connection, clusterIds }],
        vlanId: network.vlanId,
        networkName: network.name,
        network: network.network,
        addressRange: network.addressRange,
        gateway: network.gateway,
        dns: network.dns,
        mtu: { underlayMtu: settings.overlay?.underlayMtu },
        mesh: stack.mesh,
    });
    stack.outputs.privateNetworkId = stack.privateNetwork.networks.frontend.oneId;
}

/**
 * The virtual router: NIC 0 on the first address of an edge cluster's public network, NIC 1 on
 * the EVPN network's first lease, SDNAT between them. Its VM runs on the host that carries that
 * address (each public address belongs to one host: `EDGE_HOST` of its address range).
 */
function buildRouter(settings: StackSettings, connection: ConnectionArgs, stack: EdgeStack): void {
    const config = settings.router!;
    const name = routerEdgeCluster(settings).name;
    const edge = stack.edgeClusters.find((cluster) => cluster.settings.name === name)!.component;
    const network = stack.privateNetwork!;
    const leases = edge.publicIpLeases;
    // The router takes the first address; its VM must run on the host that carries it.
    const routerHost = edge.hostAddresses.apply((hosts) => hosts[leases[0].host]);
    stack.router = new EdgeVirtualRouter("router", {
        publicNetwork: { id: edge.publicNetworkId.apply((id) => id!), addresses: leases.map((lease) => lease.address) },
        privateNetwork: {
            id: network.networks.frontend.oneId,
            gateway: network.gateway,
            subnet: networkCidrOf(network.templates.frontend),
        },
        appliance: routerAppliance(
            settings,
            edge.datastoreIds.apply((ids) => ids.image!),
        ),
        publicIps: config.publicIps,
        mappings: config.mappings,
        routerName: config.name,
        outboundNat: config.outboundNat,
        context: config.context,
        vmTemplate: routerHost.apply((host) => ({ SCHED_REQUIREMENTS: `NAME = "${host}"` })),
        connection,
    });
    const internet = pulumi.all(leases.map((lease) => pulumi.all([lease.address, lease.publicIp])));
    stack.outputs.routerPublicIp = internet.apply((pairs) => pairs[0][1]);
    stack.outputs.routerMappings = pulumi.all([internet, stack.router.mapping]).apply(([pairs, mapping]) => {
        const publicIpOf = new Map(pairs);
        return Object.fromEntries(Object.entries(mapping).map(([address, privateIp]) => [publicIpOf.get(address)!, privateIp]));
    });
}
