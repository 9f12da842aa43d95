/**
 * The nine dynamic resource types as a user's program declares them: with every optional field
 * absent (no `connection`: the host's ONE_XMLRPC / ONE_AUTH point at the double), with every
 * optional field present, a change made in place, the changes that replace them (with and without
 * delete-before-replace where the type has both), an input left unknown during a preview, and how
 * to delete one behind Pulumi's back. The objects a type needs (templates, networks, a cluster) are
 * made with the client first.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { OneClient } from "../../components/opennebula/client";
import { Cluster } from "../../components/opennebula/resources/cluster";
import { ClusterMembership } from "../../components/opennebula/resources/cluster-membership";
import { Datastore } from "../../components/opennebula/resources/datastore";
import { Host } from "../../components/opennebula/resources/host";
import { MarketplaceApp } from "../../components/opennebula/resources/marketplace-app";
import { VirtualMachine } from "../../components/opennebula/resources/virtual-machine";
import { VirtualNetwork } from "../../components/opennebula/resources/virtual-network";
import { VirtualRouter } from "../../components/opennebula/resources/virtual-router";
import { VirtualNetworkTemplate } from "../../components/opennebula/resources/vn-template";
import { childInt, parseXml } from "../../components/opennebula/xml";
import type { Properties } from "./provider-host";

/** What a type's cases need that exists before them. */
export interface Prerequisites {
    clusterId: number;
    imageDatastoreId: number;
    networkIds: number[];
    vmTemplateIds: number[];
    routerTemplateId: number;
}

/** Arguments of a resource, by case; `connection` is a resource's explicit connection (password secret). */
type Args = Record<string, unknown>;
type Connection = { endpoint: string; username: string; password: pulumi.Output<string> };

/** One resource type's cases. */
export interface TypeCase {
    /** The type name (`Cluster` …), last part of the token `pulumi-nodejs:dynamic/opennebula-edge:<Type>`. */
    type: string;
    /** Constructs the resource (under mocks). */
    construct(name: string, args: Args): void;
    /** Every optional field absent. */
    minimal(p: Prerequisites, name: string): Args;
    /** Every optional field present. */
    full(p: Prerequisites, name: string, connection: Connection): Args;
    /** A change made in place (an Update); `connection` is an explicit connection a case may switch to. */
    inPlace(p: Prerequisites, args: Args, connection: Connection): Args;
    /** A change that replaces the resource and needs the old one gone first; undefined when the type has none. */
    replaceDeleteFirst?(p: Prerequisites, args: Args): Args;
    /** A change that replaces the resource, the new one created first; undefined when the type always deletes first or never replaces. */
    replaceCreateFirst?(p: Prerequisites, args: Args): Args;
    /** The minimal arguments with one input unknown during a preview. */
    withUnknown(p: Prerequisites, args: Args, unknown: pulumi.Output<never>): Args;
    /** Deletes the object behind Pulumi's back. */
    deleteOutOfBand(client: OneClient, id: string, outputs: Properties): Promise<void>;
}

/** Waits until `probe` holds, polling every 20 ms for up to 10 s. */
async function until(probe: () => Promise<boolean>): Promise<void> {
    for (const deadline = Date.now() + 10_000; !(await probe());) {
        if (Date.now() > deadline) throw new Error("condition not met within 10 s");
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
}

async function gone(client: OneClient, method: string, id: number): Promise<void> {
    await until(() =>
        client.call(method, id).then(
            () => false,
            () => true,
        ),
    );
}

/** Makes the objects the cases need: a cluster, an image datastore, two READY networks, VM templates. */
export async function makePrerequisites(client: OneClient, prefix: string): Promise<Prerequisites> {
    const clusterId = Number(await client.call("one.cluster.allocate", `${prefix}-cluster`));
    const imageDatastoreId = Number(
        await client.call("one.datastore.allocate", `NAME = "${prefix}-images"\nTYPE = "IMAGE_DS"\nDS_MAD = "fs"\nTM_MAD = "ssh"`, -1),
    );
    const networkIds: number[] = [];
    for (const [i, base] of ["10.60.0", "10.61.0"].entries()) {
        const id = Number(
            await client.call(
                "one.vn.allocate",
                `NAME = "${prefix}-net-${i}"\nVN_MAD = "bridge"\nBRIDGE = "br${i}"\nAR = [ TYPE = "IP4", IP = "${base}.2", SIZE = "50" ]`,
                -1,
            ),
        );
        await until(async () => childInt(parseXml(String(await client.call("one.vn.info", id))), "STATE") === 1);
        networkIds.push(id);
    }
    const vmTemplateIds = [
        Number(await client.call("one.template.allocate", `NAME = "${prefix}-vm-a"\nCPU = "1"\nMEMORY = "64"`)),
        Number(await client.call("one.template.allocate", `NAME = "${prefix}-vm-b"\nCPU = "1"\nMEMORY = "128"`)),
    ];
    const routerTemplateId = Number(
        await client.call("one.template.allocate", `NAME = "${prefix}-vr"\nCPU = "1"\nMEMORY = "64"\nVROUTER = "YES"`),
    );
    return { clusterId, imageDatastoreId, networkIds, vmTemplateIds, routerTemplateId };
}

/** Removes what {@link makePrerequisites} made. */
export async function removePrerequisites(client: OneClient, p: Prerequisites): Promise<void> {
    for (const id of [...p.vmTemplateIds, p.routerTemplateId]) await client.call("one.template.delete", id);
    for (const id of p.networkIds) {
        await client.call("one.vn.delete", id);
        await gone(client, "one.vn.info", id);
    }
    await client.call("one.datastore.delete", p.imageDatastoreId);
    // A failed ClusterMembership test may have left the default datastores in the cluster.
    for (const datastoreId of [1, 2]) await client.call("one.cluster.deldatastore", p.clusterId, datastoreId).catch(() => undefined);
    await client.call("one.cluster.delete", p.clusterId);
}

const renamed = (args: Args, suffix = "b"): Args => ({ ...args, name: `${String(args.name)}-${suffix}` });

export const TYPE_CASES: TypeCase[] = [
    {
        type: "Cluster",
        construct: (name, args) => new Cluster(name, args),
        minimal: () => ({}),
        full: (_p, name, connection) => ({ name, template: { DESCRIPTION: "engine suite", RESERVED_CPU: "0" }, connection }),
        inPlace: (_p, args) => ({ ...args, template: { DESCRIPTION: "changed in place" } }),
        withUnknown: (_p, args, unknown) => ({ ...args, template: { DESCRIPTION: unknown } }),
        deleteOutOfBand: async (client, id) => void (await client.call("one.cluster.delete", Number(id))),
    },
    {
        type: "Host",
        construct: (name, args) => new Host(name, args),
        minimal: () => ({}),
        full: (p, name, connection) => ({
            name,
            imMad: "kvm",
            vmMad: "kvm",
            clusterId: p.clusterId,
            state: "enabled",
            waitForMonitored: true,
            monitorTimeoutSeconds: 60,
            template: { EDGE: { CLOUD_ID: "engine-suite", PUBLIC_IP: "192.0.2.10" } },
            connection,
        }),
        inPlace: (_p, args) => ({ ...args, state: "disabled" }),
        replaceDeleteFirst: (_p, args) => ({ ...args, imMad: "qemu", vmMad: "qemu" }),
        replaceCreateFirst: (_p, args) => renamed({ ...args, imMad: "qemu", vmMad: "qemu" }),
        withUnknown: (_p, args, unknown) => ({ ...args, clusterId: unknown }),
        deleteOutOfBand: async (client, id) => void (await client.call("one.host.delete", Number(id))),
    },
    {
        type: "Datastore",
        construct: (name, args) => new Datastore(name, args),
        minimal: () => ({ dsMad: "fs", tmMad: "ssh" }),
        full: (p, name, connection) => ({
            name,
            type: "IMAGE_DS",
            dsMad: "fs",
            tmMad: "ssh",
            clusterIds: [0, p.clusterId],
            template: { SAFE_DIRS: "/var/tmp /tmp" },
            connection,
        }),
        inPlace: (_p, args) => ({ ...args, template: { SAFE_DIRS: "/var/tmp" } }),
        replaceDeleteFirst: (_p, args) => ({ ...args, tmMad: "shared" }),
        replaceCreateFirst: (_p, args) => renamed({ ...args, tmMad: "shared" }),
        withUnknown: (_p, args, unknown) => ({ ...args, clusterIds: [unknown] }),
        deleteOutOfBand: async (client, id) => void (await client.call("one.datastore.delete", Number(id))),
    },
    {
        type: "VirtualNetwork",
        construct: (name, args) => new VirtualNetwork(name, args as never),
        minimal: () => ({ vnMad: "bridge" }),
        full: (p, name, connection) => ({
            name,
            vnMad: "vxlan",
            template: {
                PHYDEV: "wg0",
                VLAN_ID: "4100",
                MTU: 1370,
                GUEST_MTU: 1370,
                NETWORK_ADDRESS: "10.99.0.0",
                NETWORK_MASK: "255.255.0.0",
                DNS: "1.1.1.1",
            },
            addressRanges: [{ TYPE: "IP4", IP: "10.99.1.10", SIZE: 20 }],
            clusterIds: [0, p.clusterId],
            readyTimeoutSeconds: 60,
            connection,
        }),
        inPlace: (_p, args) => ({
            ...args,
            addressRanges: [...((args.addressRanges as Args[]) ?? []), { TYPE: "IP4", IP: "10.99.2.10", SIZE: 5 }],
        }),
        replaceDeleteFirst: (_p, args) => ({ ...args, vnMad: args.vnMad === "bridge" ? "fw" : "802.1Q" }),
        replaceCreateFirst: (_p, args) => renamed({ ...args, vnMad: args.vnMad === "bridge" ? "fw" : "802.1Q" }),
        withUnknown: (_p, args, unknown) => ({ ...args, addressRanges: [{ TYPE: "IP4", IP: unknown, SIZE: 2 }] }),
        deleteOutOfBand: async (client, id) => {
            await client.call("one.vn.delete", Number(id));
            await gone(client, "one.vn.info", Number(id));
        },
    },
    {
        type: "VirtualNetworkTemplate",
        construct: (name, args) => new VirtualNetworkTemplate(name, args as never),
        minimal: () => ({ vnMad: "bridge" }),
        full: (_p, name, connection) => ({ name, vnMad: "vxlan", template: { PHYDEV: "wg0", VLAN_ID: "4200" }, connection }),
        inPlace: (_p, args) => ({ ...args, template: { ...(args.template as Args), DESCRIPTION: "changed in place" } }),
        replaceDeleteFirst: (_p, args) => ({ ...args, vnMad: args.vnMad === "bridge" ? "fw" : "802.1Q" }),
        replaceCreateFirst: (_p, args) => renamed({ ...args, vnMad: args.vnMad === "bridge" ? "fw" : "802.1Q" }),
        withUnknown: (_p, args, unknown) => ({ ...args, template: { BRIDGE: unknown } }),
        deleteOutOfBand: async (client, id) => void (await client.call("one.vntemplate.delete", Number(id))),
    },
    {
        type: "ClusterMembership",
        construct: (name, args) => new ClusterMembership(name, args as never),
        minimal: (p) => ({ clusterId: p.clusterId, kind: "datastore", memberId: 1 }),
        full: (p, _name, connection) => ({ clusterId: p.clusterId, kind: "datastore", memberId: 1, connection }),
        // Its only field that is not part of its identity is the connection.
        inPlace: (_p, args, connection) => ({ ...args, connection: args.connection === undefined ? connection : undefined }),
        replaceCreateFirst: (_p, args) => ({ ...args, memberId: 2 }),
        withUnknown: (_p, args, unknown) => ({ ...args, clusterId: unknown }),
        deleteOutOfBand: async (client, _id, outputs) =>
            void (await client.call("one.cluster.deldatastore", Number(outputs.clusterId), Number(outputs.memberId))),
    },
    {
        type: "MarketplaceApp",
        construct: (name, args) => new MarketplaceApp(name, args as never),
        minimal: () => ({ appName: "Alpine Linux 3.17", datastoreId: 1 }),
        full: (_p, name, connection) => ({
            appName: "Alpine Linux 3.17",
            marketplaceId: 0,
            datastoreId: 1,
            imageName: `${name}-image`,
            templateName: `${name}-template`,
            readyTimeoutSeconds: 60,
            connection,
        }),
        inPlace: (_p, args) => ({ ...args, templateName: `${String(args.templateName ?? args.imageName ?? "app")}-b` }),
        replaceDeleteFirst: (p, args) => ({ ...args, datastoreId: p.imageDatastoreId }),
        replaceCreateFirst: (p, args) => ({
            ...args,
            datastoreId: p.imageDatastoreId,
            imageName: `${String(args.imageName ?? "app")}-new`,
            templateName: `${String(args.templateName ?? "app")}-new`,
        }),
        withUnknown: (_p, args, unknown) => ({ ...args, datastoreId: unknown }),
        deleteOutOfBand: async (client, id, outputs) => {
            if (Number(outputs.templateId) >= 0) await client.call("one.template.delete", Number(outputs.templateId));
            await client.call("one.image.delete", Number(id));
            await gone(client, "one.image.info", Number(id));
        },
    },
    {
        type: "VirtualMachine",
        construct: (name, args) => new VirtualMachine(name, args as never),
        minimal: (p) => ({ templateId: p.vmTemplateIds[0] }),
        full: (p, name, connection) => ({
            name,
            templateId: p.vmTemplateIds[0],
            nics: [{ networkId: p.networkIds[0], ip: "10.60.0.20", attributes: { MODEL: "virtio" } }],
            nicAliases: [{ networkId: p.networkIds[1], parent: "NIC0", external: true, ip: "10.61.0.20" }],
            template: { CONTEXT: { NETWORK: "YES", SET_HOSTNAME: name } },
            runningTimeoutSeconds: 60,
            connection,
        }),
        inPlace: (_p, args) => renamed(args),
        // Fixed addresses would clash: the old VM goes first.
        replaceDeleteFirst: (p, args) => ({
            ...args,
            templateId: p.vmTemplateIds[1],
            nics: [{ networkId: p.networkIds[0], ip: "10.60.0.21" }],
        }),
        replaceCreateFirst: (p, args) => ({ ...args, templateId: p.vmTemplateIds[1] }),
        withUnknown: (_p, args, unknown) => ({ ...args, templateId: unknown }),
        deleteOutOfBand: async (client, id) => {
            await client.call("one.vm.action", "terminate-hard", Number(id));
            await until(async () => childInt(parseXml(String(await client.call("one.vm.info", Number(id)))), "STATE") === 6);
        },
    },
    {
        type: "VirtualRouter",
        construct: (name, args) => new VirtualRouter(name, args as never),
        minimal: (p) => ({ templateId: p.routerTemplateId, nics: [{ networkId: p.networkIds[0] }] }),
        full: (p, name, connection) => ({
            name,
            templateId: p.routerTemplateId,
            vmCount: 2,
            vmName: `${name}-vm-%i`,
            nics: [
                {
                    networkId: p.networkIds[0],
                    ip: "10.60.0.40",
                    floatingIp: true,
                    floatingOnly: false,
                    management: false,
                    attributes: { MODEL: "virtio" },
                },
                { networkId: p.networkIds[1], floatingIp: false, floatingOnly: false, management: true },
            ],
            context: { ONEAPP_VNF_ROUTER4_ENABLED: "YES" },
            vmTemplate: { MEMORY: 96 },
            template: { DESCRIPTION: "engine suite" },
            runningTimeoutSeconds: 60,
            connection,
        }),
        inPlace: (_p, args) => renamed(args),
        replaceDeleteFirst: (p, args) => ({ ...args, nics: [{ networkId: p.networkIds[1] }] }),
        withUnknown: (_p, args, unknown) => ({ ...args, nics: [{ networkId: unknown }] }),
        deleteOutOfBand: async (client, id) => void (await client.call("one.vrouter.delete", Number(id))),
    },
];
