/**
 * XML-RPC calls per lifecycle step (create, refresh with no change, update, delete) of every
 * dynamic resource, counted by the OpenNebula test double.
 */
import type * as pulumi from "@pulumi/pulumi";
import { clusterProvider } from "../../components/opennebula/resources/cluster";
import { datastoreProvider } from "../../components/opennebula/resources/datastore";
import { hostProvider } from "../../components/opennebula/resources/host";
import { virtualNetworkProvider } from "../../components/opennebula/resources/virtual-network";
import { vnTemplateProvider } from "../../components/opennebula/resources/vn-template";
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
}

const CASES: Case[] = [
    { resource: "Cluster", provider: clusterProvider, create: { name: "c", template: { RESERVED_CPU: "0" } }, update: { name: "c2", template: { RESERVED_CPU: "10" } } },
    { resource: "Host", provider: hostProvider, create: { name: "h", template: { NOTE: "a" } }, update: { name: "h2", template: { NOTE: "b" } } },
    {
        resource: "Datastore", provider: datastoreProvider,
        create: { name: "d", type: "SYSTEM_DS", tmMad: "ssh", template: { REPLICA_HOST: "h" } },
        update: { name: "d2", type: "SYSTEM_DS", tmMad: "ssh", template: { REPLICA_HOST: "h2" } },
    },
    {
        resource: "VirtualNetwork", provider: virtualNetworkProvider,
        create: { name: "n", vnMad: "bridge", template: { BRIDGE: "br0" }, addressRanges: [{ TYPE: "IP4", IP: "10.0.0.2", SIZE: 4 }] },
        update: { name: "n2", vnMad: "bridge", template: { BRIDGE: "br1" }, addressRanges: [{ TYPE: "IP4", IP: "10.0.0.2", SIZE: 4 }] },
    },
    {
        resource: "VirtualNetworkTemplate", provider: vnTemplateProvider,
        create: { name: "t", vnMad: "bridge", template: { BRIDGE: "br0" } }, update: { name: "t2", vnMad: "bridge", template: { BRIDGE: "br1" } },
    },
];

/** Counts the calls each step makes against a fresh double. */
export async function measureOpenNebulaCalls(): Promise<LifecycleCalls[]> {
    const double = await OneDouble.start({ vnetCreateMs: 0, vnetDeleteMs: 0, hostMonitorMs: 0 });
    const connection = { endpoint: double.endpoint, username: double.username, password: double.password };
    const counted = async <T>(step: () => Promise<T>): Promise<[T, number]> => {
        double.resetCounts();
        const result = await step();
        return [result, double.calls()];
    };
    try {
        const rows: LifecycleCalls[] = [];
        for (const { resource, provider, create, update } of CASES) {
            const inputs = (await provider.check!({}, { ...create, connection })).inputs;
            const [created, createCalls] = await counted(() => provider.create!(inputs));
            const [read, refreshCalls] = await counted(() => provider.read!(created.id, created.outs));
            const news = (await provider.check!(read.props, { ...update, connection })).inputs;
            const [updated, updateCalls] = await counted(() => provider.update!(created.id, read.props, news));
            const [, deleteCalls] = await counted(() => provider.delete!(created.id, updated.outs));
            rows.push({ resource, create: createCalls, refresh: refreshCalls, update: updateCalls, delete: deleteCalls });
        }
        return rows;
    } finally {
        await double.stop();
    }
}
