import * as pulumi from "@pulumi/pulumi";
import { OneClient } from "../client";
import { readObject } from "../objects";
import { idList } from "../xml";
import { ConnectionArgs, ConnectionInputs, Failures, diffProperties, withClient } from "./provider-kit";
import { RESOURCE_MODULE, keepConnectionSecret } from "./resource-options";

/** What a {@link ClusterMembership} puts into a cluster. */
export const MEMBER_KINDS = ["host", "datastore", "vnet"] as const;
export type MemberKind = (typeof MEMBER_KINDS)[number];

/** Arguments of {@link ClusterMembership}. */
export interface ClusterMembershipArgs {
    /** The cluster. */
    clusterId: pulumi.Input<number>;
    /** `host`, `datastore` or `vnet`. */
    kind: pulumi.Input<MemberKind>;
    /** The host, datastore or network ID. */
    memberId: pulumi.Input<number>;
    /** How to reach OpenNebula. Default: `ONE_XMLRPC` and `ONE_AUTH`. */
    connection?: pulumi.Input<ConnectionArgs>;
}

interface MembershipInputs {
    clusterId: number;
    kind: MemberKind;
    memberId: number;
    connection?: ConnectionInputs;
}

const CALLS = {
    host: { add: "one.cluster.addhost", remove: "one.cluster.delhost", list: "HOSTS" },
    datastore: { add: "one.cluster.adddatastore", remove: "one.cluster.deldatastore", list: "DATASTORES" },
    vnet: { add: "one.cluster.addvnet", remove: "one.cluster.delvnet", list: "VNETS" },
} as const;

function checkMembership(news: Record<string, unknown>): pulumi.dynamic.CheckResult<MembershipInputs> {
    const failures = new Failures();
    failures.id("clusterId", news.clusterId);
    failures.oneOf("kind", news.kind, MEMBER_KINDS);
    failures.id("memberId", news.memberId);
    failures.connection(news.connection);
    return { inputs: news as unknown as MembershipInputs, failures: failures.list };
}

async function isMember(client: OneClient, { clusterId, kind, memberId }: MembershipInputs): Promise<boolean> {
    const cluster = await readObject(client, "cluster", clusterId);
    return cluster !== undefined && idList(cluster, CALLS[kind].list).includes(memberId);
}

/** The dynamic provider behind {@link ClusterMembership}. */
export const clusterMembershipProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        return checkMembership(news);
    },
    async diff(_id, olds, news) {
        return diffProperties(olds, news, { replaceOn: ["clusterId", "kind", "memberId"], updateOn: [] });
    },
    async create(inputs: MembershipInputs) {
        await withClient(inputs.connection, (client) => client.call(CALLS[inputs.kind].add, inputs.clusterId, inputs.memberId));
        return { id: `${inputs.clusterId}/${inputs.kind}/${inputs.memberId}`, outs: inputs };
    },
    async read(id, props: MembershipInputs) {
        const member = await withClient(props.connection, (client) => isMember(client, props));
        return member ? { id, props } : { id: "", props: {} };
    },
    async update(_id, _olds, news: MembershipInputs) {
        return { outs: news };
    },
    async delete(_id, props: MembershipInputs) {
        await withClient(props.connection, async (client) => {
            if (await isMember(client, props)) await client.call(CALLS[props.kind].remove, props.clusterId, props.memberId);
        });
    },
};

/**
 * Puts an existing host, datastore or network into a cluster, and takes it out on delete — for objects
 * this stack does not create itself, such as OpenNebula's default datastores 1 and 2 that every edge
 * cluster shares. (Removing a host moves it to cluster 0, as OpenNebula does.) Do not combine it with
 * the `clusterIds` of a resource that manages the same object.
 */
export class ClusterMembership extends pulumi.dynamic.Resource {
    declare readonly clusterId: pulumi.Output<number>;
    declare readonly kind: pulumi.Output<MemberKind>;
    declare readonly memberId: pulumi.Output<number>;

    constructor(name: string, args: ClusterMembershipArgs, opts?: pulumi.CustomResourceOptions) {
        const props = { clusterId: args.clusterId, kind: args.kind, memberId: args.memberId, connection: args.connection };
        super(clusterMembershipProvider, name, props, keepConnectionSecret(opts), RESOURCE_MODULE, "ClusterMembership");
    }
}
