/**
 * XML-RPC calls per lifecycle step (create, refresh with no change, update, delete) of every
 * dynamic resource, counted by the OpenNebula test double.
 */
import type * as pulumi from "@pulumi/pulumi";
import { OneClient } from "../../components/opennebula/client";
import { VnetState } from "../../components/opennebula/states";
import { childInt, parseXml } from "../../components/opennebula/xml";
import { clusterProvider } from "../../components/opennebula/resources/cluster";
import { datastoreProvider } from "../../components/opennebula/resources/datastore";
import { hostProvider } from "../../components/opennebula/resources/host";
import { virtualNetworkProvider } from "../../components/opennebula/resources/virtual-network";
import { vnTemplateProvider } from "../../components/opennebula/resources/vn-template";
import { marketplaceAppProvider } from "../../components/opennebula/resources/marketplace-app";
import { virtualMachineProvider } from "../../components/opennebula/resources/virtual-machine";
import { virtualRouterProvider } from "../../components/opennebula/resources/virtual-router";
import { OneDouble } from "../../test/support/one-double";

/** Calls per lifecycle step of one resource type. */
export interface LifecycleCalls {
    resource: string;
    create: number;
    refresh: number;
    update: number;
    delete: number;
}

interface Case {
    resource: string;
    provider: pulumi.dynamic.ResourceProvider;
    /** Inputs to create with, and inputs for an in-place update (rename + template change). */
    create: Record<string, unknown>;
    update: Record<string, unknown>;
    /** Creates what the resource needs (not counted) and returns inputs added to both. */
    prepare?: (client: OneClient) => Promise<Record<string, unknown>>;
}

/** A VM template by hand; `VROUTER = "YES"` for a virtual router's. */
async function vmTemplate(client: OneClient, name: string, vrouter = false): Promise<number> {
    return Number(
        await client.call("one.template.allocate", `NAME = "${name}"\nCPU = "1"\nMEMORY = "64"${vrouter ? '\nVROUTER = "YES"' : ""}`),
    );
}

/** A bridged network, once READY. */
async function network(client: OneClient, name: string): Promise<number> {
    const id = Number(
        await client.call(
            "one.vn.allocate",
            `NAME = "${name}"\nVN_MAD = "bridge"\nBRIDGE = "br0"\nAR = [ TYPE = "IP4", IP = "10.1.0.2", SIZE = "8" ]`,
            -1,
        ),
    );
    while (childInt(parseXml(String(await client.call("one.vn.info", id))), "STATE") !== VnetState.READY)
        await new Promise((resolve) => setTimeout(resolve, 5));
    return id;
}

const CASES: Case[] = [
    {
        resource: "Cluster",
        provider: clusterProvider,
        create: { name: "c", template: { RESERVED_CPU: "0" } },
        update: { name: "c2", template: { RESERVED_CPU: "10" } },
    },
    {
        resource: "Host",
        provider: hostProvider,
        create: { name: "h", template: { NOTE: "a" } },
        update: { name: "h2", template: { NOTE: "b" } },
    },
    {
        resource: "Datastore",
        provider: datastoreProvider,
        create: { name: "d", type: "SYSTEM_DS", tmMad: "ssh", template: { REPLICA_HOST: "h" } },
        update: { name: "d2", type: "SYSTEM_DS", tmMad: "ssh", template: { REPLICA_HOST: "h2" } },
    },
    {
        resource: "VirtualNetwork",
        provider: virtualNetworkProvider,
        create: { name: "n", vnMad: "bridge", template: { BRIDGE: "br0" }, addressRanges: [{ TYPE: "IP4", IP: "10.0.0.2", SIZE: 4 }] },
        update: { name: "n2", vnMad: "bridge", template: { BRIDGE: "br1" }, addressRanges: [{ TYPE: "IP4", IP: "10.0.0.2", SIZE: 4 }] },
    },
    {
        resource: "VirtualNetworkTemplate",
        provider: vnTemplateProvider,
        create: { name: "t", vnMad: "bridge", template: { BRIDGE: "br0" } },
        update: { name: "t2", vnMad: "bridge", template: { BRIDGE: "br1" } },
    },
    {
        resource: "MarketplaceApp",
        provider: marketplaceAppProvider,
        create: { appName: "Alpine Linux 3.17", imageName: "a", datastoreId: 1 },
        update: { appName: "Alpine Linux 3.17", imageName: "a2", templateName: "a3", datastoreId: 1 },
    },
    {
        resource: "VirtualMachine",
        provider: virtualMachineProvider,
        create: { name: "vm" },
        update: { name: "vm2" },
        prepare: async (client) => ({
            templateId: await vmTemplate(client, "vm-template"),
            nics: [{ networkId: await network(client, "vm-net") }],
        }),
    },
    {
        resource: "VirtualRouter",
        provider: virtualRouterProvider,
        create: { name: "vr" },
        update: { name: "vr2" },
        prepare: async (client) => ({
            templateId: await vmTemplate(client, "vr-template", true),
            nics: [{ networkId: await network(client, "vr-net") }],
        }),
    },
];

/** Counts the calls each step makes against a fresh double. */
export async function measureOpenNebulaCalls(): Promise<LifecycleCalls[]> {
    // Every asynchronous step is immediate (VMs skip PROLOG and BOOT): the counts are the providers' own
    // calls. The engine suite counts creates with as many polls as real oned needs.
    const double = await OneDouble.start({
        vnetCreateMs: 0,
        vnetDeleteMs: 0,
        hostMonitorMs: 0,
        imageReadyMs: 0,
        imageDeleteMs: 0,
        vmDeployMs: 0,
        vmPrologReads: 0,
        vmBootReads: 0,
        vmActionMs: 0,
    });
    const connection = { endpoint: double.endpoint, username: double.username, password: double.password };
    const client = new OneClient(connection);
    const counted = async <T>(step: () => Promise<T>): Promise<[T, number]> => {
        double.resetCounts();
        const result = await step();
        return [result, double.calls()];
    };
    try {
        const rows: LifecycleCalls[] = [];
        for (const { resource, provider, create, update, prepare } of CASES) {
            const prepared = prepare ? await prepare(client) : {};
            const inputs = (await provider.check!({}, { ...prepared, ...create, connection })).inputs;
            const [created, createCalls] = await counted(() => provider.create!(inputs));
            const [read, refreshCalls] = await counted(() => provider.read!(created.id, created.outs));
            const news = (await provider.check!(read.props, { ...prepared, ...update, connection })).inputs;
            const [updated, updateCalls] = await counted(() => provider.update!(created.id, read.props, news));
            const [, deleteCalls] = await counted(() => provider.delete!(created.id, updated.outs));
            rows.push({ resource, create: createCalls, refresh: refreshCalls, update: updateCalls, delete: deleteCalls });
        }
        return rows;
    } finally {
        client.close();
        await double.stop();
    }
}
