import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../opennebula/resources/cluster";
import { ClusterMembership } from "../opennebula/resources/cluster-membership";
import type { DatastoreArgs } from "../opennebula/resources/datastore";
import { Datastore } from "../opennebula/resources/datastore";
import { Host } from "../opennebula/resources/host";
import type { TemplateArgs } from "../opennebula/resources/resource-options";
import { VirtualNetwork } from "../opennebula/resources/virtual-network";
import type { HostScript } from "../remote/host-script";
import { hostCommand } from "../remote/host-command";
import { createChild } from "../transform";
import { isKnown } from "../validation";
import { edgeFirewall, frontendAddressesOf } from "./firewall-plan";
import type { PublicForwardingArgs } from "./host-scripts";
import {
    firewallScript,
    oneadminKeyScript,
    opennebulaNodeScript,
    opennebulaRepoScript,
    publicForwardingScript,
    sysctlScript,
} from "./host-scripts";
import type { EdgeClusterArgs, EdgeHost } from "./types";
import { validateEdgeClusterArgs } from "./validation";

/** Type token of {@link EdgeCluster}. */
export const EDGE_CLUSTER_TYPE = "opennebula-edge:edge:EdgeCluster";

/** The outputs an {@link EdgeCluster} registers, which every cloud's edge cluster forwards. */
export function edgeClusterOutputs(
    edge: Pick<EdgeCluster, "clusterId" | "hostIds" | "hostAddresses" | "datastoreIds" | "publicNetworkId">,
): Record<string, pulumi.Output<unknown>> {
    const { clusterId, hostIds, hostAddresses, datastoreIds, publicNetworkId } = edge;
    return { clusterId, hostIds, hostAddresses, datastoreIds, publicNetworkId };
}

/**
 * The cloud-independent core of an edge cluster. From the machines a cloud component created it
 * configures every host over SSH (OpenNebula repository, KVM/LXC node package, the front-end's
 * oneadmin key, sysctls, firewall, public forwarding) and then registers in OpenNebula the cluster,
 * one host per machine, SSH image and system datastores (the first host as replica), the public
 * network, and the shared default datastores.
 *
 * Hosts are configured and registered in parallel: each host's registration waits only for its own
 * configuration, so adding hosts does not lengthen the chain of resources that wait on one another.
 * Every child of a host is named after its key (`${name}-<key>`, `${name}-<key>-<step>`), so adding
 * or removing a host touches no other host's children.
 */
export class EdgeCluster extends pulumi.ComponentResource {
    /** The OpenNebula cluster ID (new, or the one joined). */
    readonly clusterId: pulumi.Output<number>;
    /** OpenNebula host ID per host key. */
    readonly hostIds: pulumi.Output<Record<string, number>>;
    /** The address each host is registered with, per host key. */
    readonly hostAddresses: pulumi.Output<Record<string, string>>;
    /** IDs of the image and system datastores (absent when disabled). */
    readonly datastoreIds: pulumi.Output<{ image?: number; system?: number }>;
    /** ID of the public network, when there is one. */
    readonly publicNetworkId: pulumi.Output<number | undefined>;
    /** The OpenNebula host resources, per host key (an escape hatch for dependencies). */
    readonly oneHosts: Record<string, Host>;
    /** The last configuration command of each host, per host key: whatever must run on a configured host can depend on it. */
    readonly configured: Record<string, command.remote.Command>;

    constructor(name: string, args: EdgeClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        validateEdgeClusterArgs(args);
        super(EDGE_CLUSTER_TYPE, name, {}, opts);
        const connection = args.opennebula.connection;
        const transform = args.transform ?? {};
        const clusterName = args.cluster?.name ?? name;

        const cluster =
            args.cluster?.existingClusterId === undefined
                ? createChild(
                      Cluster,
                      `${name}-cluster`,
                      {
                          name: clusterName,
                          template: {
                              DESCRIPTION: args.description ?? "OpenNebula edge cluster (pulumi-opennebula-edge)",
                              RESERVED_CPU: "0",
                              RESERVED_MEM: "0",
                          },
                          connection,
                      },
                      { parent: this },
                      transform.cluster,
                  )
                : undefined;
        this.clusterId = cluster ? cluster.oneId : pulumi.output(args.cluster!.existingClusterId!);

        this.configured = {};
        this.oneHosts = {};
        const shared: SharedScripts = { steps: sharedHostSteps(args), forwarding: new Map() };
        for (const host of args.hosts) {
            const last = this.configureHost(name, host, args, shared);
            this.configured[host.key] = last;
            this.oneHosts[host.key] = createChild(
                Host,
                `${name}-${host.key}`,
                {
                    name: host.name ?? host.publicIp,
                    imMad: args.hypervisor ?? "kvm",
                    clusterId: this.clusterId,
                    template: { EDGE: { CLOUD_ID: host.machineId, PRIVATE_IP: host.privateIp, PUBLIC_IP: host.publicIp } },
                    connection,
                },
                { parent: this, dependsOn: [last] },
                transform.host,
            );
        }

        const datastoreIds = this.createDatastores(name, clusterName, args);
        const publicNetwork =
            args.publicNetwork &&
            createChild(
                VirtualNetwork,
                `${name}-public`,
                {
                    name: `${clusterName}-public`,
                    vnMad: args.publicNetwork.vnMad ?? "bridge",
                    template: pulumi.output(args.publicNetwork.template ?? {}).apply((t) => ({ BRIDGE: "br0", NETROLE: "public", ...t })),
                    addressRanges: args.publicNetwork.addressRanges,
                    clusterIds: [this.clusterId],
                    connection,
                },
                { parent: this },
                transform.publicNetwork,
            );
        const sharedIds = args.sharedDatastoreIds ?? (cluster ? [1, 2] : []);
        for (const datastoreId of sharedIds) {
            createChild(
                ClusterMembership,
                `${name}-shared-ds-${datastoreId}`,
                {
                    clusterId: this.clusterId,
                    kind: "datastore",
                    memberId: datastoreId,
                    connection,
                },
                { parent: this },
                transform.sharedDatastore,
            );
        }

        this.hostIds = perKey(this.oneHosts, (host) => host.oneId);
        this.hostAddresses = perKey(this.oneHosts, (host) => host.name);
        this.datastoreIds = datastoreIds;
        this.publicNetworkId = publicNetwork ? publicNetwork.oneId : pulumi.output(undefined);
        this.registerOutputs(edgeClusterOutputs(this));
    }

    /** Runs the host scripts on one host, one command each, in order; returns the last command. */
    private configureHost(name: string, host: EdgeHost, args: EdgeClusterArgs, shared: SharedScripts): command.remote.Command {
        const steps = [...shared.steps];
        const forwarding = host.publicForwarding;
        if (forwarding !== undefined) {
            // Hosts given the same forwarding (port forwarding: all of them) share its script.
            let script = shared.forwarding.get(forwarding);
            if (script === undefined) {
                script = scriptOf(forwarding, (resolved: PublicForwardingArgs) => publicForwardingScript(resolved));
                shared.forwarding.set(forwarding, script);
            }
            steps.push({ role: "forwarding", script });
        }
        let last: command.remote.Command | undefined;
        for (const step of steps) {
            last = hostCommand(`${name}-${host.key}-${step.role}`, step.script, {
                parent: this,
                ssh: args.ssh,
                node: host,
                dependsOn: last ? [last] : [],
                transform: args.transform?.hostCommand,
            });
        }
        return last!;
    }

    private createDatastores(
        name: string,
        clusterName: pulumi.Input<string>,
        args: EdgeClusterArgs,
    ): pulumi.Output<{ image?: number; system?: number }> {
        // Both datastores use the SSH transfer manager and may list /var/tmp and /tmp as safe directories.
        const datastore = (role: "image" | "system", settings: Pick<DatastoreArgs, "type" | "dsMad">, template: TemplateArgs) =>
            createChild(
                Datastore,
                `${name}-${role}`,
                {
                    ...settings,
                    name: pulumi.interpolate`${clusterName}-${role}`,
                    tmMad: "ssh",
                    clusterIds: [this.clusterId],
                    template: { SAFE_DIRS: "/var/tmp /tmp", ...template },
                    connection: args.opennebula.connection,
                },
                { parent: this },
                args.transform?.datastore,
            );
        const firstHost = args.hosts[0];
        const replica = args.datastores?.replica ?? true;
        const image = datastore("image", { type: "IMAGE_DS", dsMad: "fs" }, {});
        const system = datastore("system", { type: "SYSTEM_DS" }, replica ? { REPLICA_HOST: firstHost.name ?? firstHost.publicIp } : {});
        return pulumi.all([image.oneId, system.oneId]).apply(([imageId, systemId]) => ({ image: imageId, system: systemId }));
    }
}

/** One configuration step of a host: the command's role and its script. */
interface HostStep {
    role: string;
    script: pulumi.Input<HostScript>;
}

/** Scripts rendered once per cluster: the steps every host runs alike, the forwarding script per forwarding given. */
interface SharedScripts {
    steps: readonly HostStep[];
    forwarding: Map<pulumi.Input<PublicForwardingArgs>, pulumi.Input<HostScript>>;
}

/**
 * The steps every host of the cluster runs with the same script, rendered once for all of them
 * (one script object and one standard input shared by every host, not one copy per host).
 */
function sharedHostSteps(args: EdgeClusterArgs): HostStep[] {
    return [
        { role: "repo", script: opennebulaRepoScript({ version: args.opennebula.version }) },
        { role: "node", script: opennebulaNodeScript({ hypervisor: args.hypervisor ?? "kvm" }) },
        { role: "oneadmin-key", script: scriptOf(args.opennebula.frontendSshPublicKey, (publicKey) => oneadminKeyScript({ publicKey })) },
        { role: "sysctl", script: sysctlScript() },
        { role: "firewall", script: firewallOf(args) },
    ];
}

/** The hosts' firewall: the allow-list of the cluster's private range, the front-end and the overlay (see firewall-plan.ts). */
function firewallOf(args: EdgeClusterArgs): pulumi.Input<HostScript> {
    const script = (privateRange?: string) =>
        firewallScript(
            edgeFirewall({
                firewall: args.firewall,
                privateRange,
                frontendAddresses: frontendAddressesOf(args.opennebula),
                overlay: args.overlay,
            }),
        );
    const range = args.privateRange;
    return range === undefined || isKnown(range) ? script(range) : pulumi.output(range).apply(script);
}

/**
 * A host script built from a value that may be (or contain) Outputs: a plain value is checked
 * right away, anything else when it resolves.
 */
function scriptOf<T>(value: pulumi.Input<T>, build: (value: T) => HostScript): pulumi.Input<HostScript> {
    if (typeof value === "string") return build(value as T);
    return pulumi.output(value).apply((resolved) => build(resolved as T));
}

/** One Output per key from one Output per resource. */
export function perKey<R, T>(resources: Record<string, R>, pick: (resource: R) => pulumi.Input<T>): pulumi.Output<Record<string, T>> {
    const keys = Object.keys(resources);
    return pulumi
        .all(keys.map((key) => pick(resources[key])))
        .apply((values) => Object.fromEntries(keys.map((key, i) => [key, values[i] as T])));
}
