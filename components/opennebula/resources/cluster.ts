import * as pulumi from "@pulumi/pulumi";
import { OneClient } from "../client";
import {
    allocateNamed, deleteObject, readObject, renameObject, requireObject, templateOf, updateTemplate,
} from "../objects";
import { Template, pickAttributes } from "../template";
import { XmlElement, childText, idList } from "../xml";
import {
    CommonOutputs, ConnectionArgs, ConnectionInputs, Failures, completeOrRollBack, diffProperties,
    replaceDeclaredAttributes, withClient,
} from "./provider-kit";
import { RESOURCE_MODULE, TemplateArgs, keepConnectionSecret } from "./resource-options";

/** Arguments of {@link Cluster}. */
export interface ClusterArgs {
    /** Cluster name, unique in OpenNebula. Default: the resource name. */
    name?: pulumi.Input<string>;
    /** Template attributes to set (e.g. `{ RESERVED_CPU: "0" }`). Only these attributes are managed. Default: none. */
    template?: pulumi.Input<TemplateArgs>;
    /** How to reach OpenNebula. Default: `ONE_XMLRPC` and `ONE_AUTH`, as OpenNebula's CLI reads them. */
    connection?: pulumi.Input<ConnectionArgs>;
}

interface ClusterInputs {
    name: string;
    template: Template;
    connection?: ConnectionInputs;
}

interface ClusterOutputs extends ClusterInputs, CommonOutputs {
    hostIds: number[];
    datastoreIds: number[];
    vnetIds: number[];
}

function checkCluster(news: Record<string, unknown>): pulumi.dynamic.CheckResult<ClusterInputs> {
    const failures = new Failures();
    failures.name("name", news.name);
    const template = failures.template("template", news.template);
    failures.connection(news.connection);
    return {
        inputs: { name: news.name as string, template, connection: news.connection as ConnectionInputs | undefined },
        failures: failures.list,
    };
}

function clusterOutputs(xml: XmlElement, declared: ClusterInputs): ClusterOutputs {
    return {
        name: childText(xml, "NAME") ?? "",
        template: pickAttributes(templateOf(xml), Object.keys(declared.template)),
        connection: declared.connection,
        oneId: Number(childText(xml, "ID")),
        hostIds: idList(xml, "HOSTS"),
        datastoreIds: idList(xml, "DATASTORES"),
        vnetIds: idList(xml, "VNETS"),
    };
}

async function createCluster(client: OneClient, inputs: ClusterInputs): Promise<ClusterOutputs> {
    const id = await allocateNamed(client, "cluster", inputs.name, [inputs.name]);
    return completeOrRollBack(
        "cluster", id,
        async () => {
            if (Object.keys(inputs.template).length > 0) await updateTemplate(client, "cluster", id, inputs.template, "merge");
            return clusterOutputs(await requireObject(client, "cluster", id), inputs);
        },
        () => deleteObject(client, "cluster", id),
    );
}

async function updateCluster(client: OneClient, id: number, olds: ClusterOutputs, news: ClusterInputs): Promise<ClusterOutputs> {
    const current = await requireObject(client, "cluster", id);
    if (childText(current, "NAME") !== news.name) await renameObject(client, "cluster", id, news.name);
    const template = replaceDeclaredAttributes(templateOf(current), olds.template, news.template);
    if (template) await updateTemplate(client, "cluster", id, template, "replace");
    return { ...clusterOutputs(current, news), name: news.name, template: news.template };
}

/** The dynamic provider behind {@link Cluster}. */
export const clusterProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        return checkCluster(news);
    },
    async diff(_id, olds, news) {
        return diffProperties(olds, news, { replaceOn: [], updateOn: ["name", "template"] });
    },
    async create(inputs: ClusterInputs) {
        const outs = await withClient(inputs.connection, (client) => createCluster(client, inputs));
        return { id: String(outs.oneId), outs };
    },
    async read(id, props: ClusterOutputs) {
        const xml = await withClient(props.connection, (client) => readObject(client, "cluster", Number(id)));
        return xml ? { id, props: clusterOutputs(xml, props) } : { id: "", props: {} };
    },
    async update(id, olds: ClusterOutputs, news: ClusterInputs) {
        return { outs: await withClient(news.connection, (client) => updateCluster(client, Number(id), olds, news)) };
    },
    async delete(id, props: ClusterOutputs) {
        await withClient(props.connection, (client) => deleteObject(client, "cluster", Number(id)));
    },
};

/**
 * An OpenNebula cluster (`one.cluster.*`). Renames and template changes are made in place; a cluster
 * that still holds hosts, datastores or networks cannot be deleted (OpenNebula refuses it).
 */
export class Cluster extends pulumi.dynamic.Resource {
    /** The cluster's OpenNebula ID. */
    declare readonly oneId: pulumi.Output<number>;
    declare readonly name: pulumi.Output<string>;
    declare readonly template: pulumi.Output<Template>;
    /** IDs of the hosts in the cluster, as last read. */
    declare readonly hostIds: pulumi.Output<number[]>;
    /** IDs of the datastores in the cluster, as last read. */
    declare readonly datastoreIds: pulumi.Output<number[]>;
    /** IDs of the virtual networks in the cluster, as last read. */
    declare readonly vnetIds: pulumi.Output<number[]>;

    constructor(name: string, args: ClusterArgs = {}, opts?: pulumi.CustomResourceOptions) {
        const props = {
            name: args.name ?? name, template: args.template ?? {}, connection: args.connection,
            oneId: undefined, hostIds: undefined, datastoreIds: undefined, vnetIds: undefined,
        };
        super(clusterProvider, name, props, keepConnectionSecret(opts), RESOURCE_MODULE, "Cluster");
    }
}
