import type * as pulumi from "@pulumi/pulumi";
import type { OneClient } from "../client";
import { readObject } from "../objects";
import { idList } from "../xml";
import { defineResource } from "./define";
import type { BaseInputs, Failures, OneResourceArgs } from "./provider-kit";

/** What a {@link ClusterMembership} puts into a cluster. */
export const MEMBER_KINDS = ["host", "datastore", "vnet"] as const;
export type MemberKind = (typeof MEMBER_KINDS)[number];

/** Arguments of {@link ClusterMembership}. */
export interface ClusterMembershipArgs extends OneResourceArgs {
    /** The cluster. */
    clusterId: pulumi.Input<number>;
    /** `host`, `datastore` or `vnet`. */
    kind: pulumi.Input<MemberKind>;
    /** The host, datastore or network ID. */
    memberId: pulumi.Input<number>;
}

interface MembershipInputs extends BaseInputs {
    clusterId: number;
    kind: MemberKind;
    memberId: number;
}

const CALLS = {
    host: { add: "one.cluster.addhost", remove: "one.cluster.delhost", list: "HOSTS" },
    datastore: { add: "one.cluster.adddatastore", remove: "one.cluster.deldatastore", list: "DATASTORES" },
    vnet: { add: "one.cluster.addvnet", remove: "one.cluster.delvnet", list: "VNETS" },
} as const;

function checkMembership(news: Record<string, unknown>, failures: Failures): MembershipInputs {
    failures.id("clusterId", news.clusterId);
    failures.oneOf("kind", news.kind, MEMBER_KINDS);
    failures.id("memberId", news.memberId);
    return { clusterId: news.clusterId as number, kind: news.kind as MemberKind, memberId: news.memberId as number };
}

async function isMember(client: OneClient, { clusterId, kind, memberId }: MembershipInputs): Promise<boolean> {
    const cluster = await readObject(client, "cluster", clusterId);
    return cluster !== undefined && idList(cluster, CALLS[kind].list).includes(memberId);
}

/** The Pulumi ID of a membership: `<clusterId>/<kind>/<memberId>`. */
function membershipId({ clusterId, kind, memberId }: MembershipInputs): string {
    return `${clusterId}/${kind}/${memberId}`;
}

/** A membership from its ID alone (an import), or undefined when the ID is not `<clusterId>/<kind>/<memberId>`. */
function parseMembershipId(id: string): MembershipInputs | undefined {
    const match = /^(\d+)\/(host|datastore|vnet)\/(\d+)$/.exec(id);
    return match ? { clusterId: Number(match[1]), kind: match[2] as MemberKind, memberId: Number(match[3]) } : undefined;
}

const membership = defineResource<ClusterMembershipArgs, MembershipInputs, MembershipInputs>({
    type: "ClusterMembership",
    inputs: ["clusterId", "kind", "memberId"],
    // Nothing is unique about a membership: a replacement adds the new one before removing the old.
    replaceOn: ["clusterId", "kind", "memberId"],
    outputs: [],
    check: checkMembership,
    create: async (client, inputs) => {
        await client.call(CALLS[inputs.kind].add, inputs.clusterId, inputs.memberId);
        return inputs;
    },
    read: async (client, id, olds) => {
        const wanted = olds ?? parseMembershipId(id);
        return wanted && (await isMember(client, wanted)) ? { ...wanted, connection: olds?.connection } : undefined;
    },
    update: async (_client, _id, _olds, news) => news,
    delete: async (client, _id, olds) => {
        if (await isMember(client, olds)) await client.call(CALLS[olds.kind].remove, olds.clusterId, olds.memberId);
    },
    idOf: membershipId,
});

/** The dynamic provider behind {@link ClusterMembership}. */
export const clusterMembershipProvider = membership.provider;

/**
 * Puts an existing host, datastore or network into a cluster, and takes it out on delete — for objects
 * this stack does not create itself, such as OpenNebula's default datastores 1 and 2 that every edge
 * cluster shares. (Removing a host moves it to cluster 0, as OpenNebula does.) Do not combine it with
 * the `clusterIds` of a resource that manages the same object.
 */
export class ClusterMembership extends membership.Resource {}
