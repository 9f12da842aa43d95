import type * as pulumi from "@pulumi/pulumi";
import type { OneClient } from "../client";
import {
    CREATION_TOKEN,
    allocateOwn,
    creationTokenOf,
    deleteObject,
    requireNameFree,
    requireObject,
    templateOf,
    updateTemplate,
} from "../objects";
import { pickAttributes } from "../template";
import type { XmlElement } from "../xml";
import { childText, idList } from "../xml";
import { defineResource } from "./define";
import type { CommonOutputs, Failures, NamedInputs, OneResourceArgs } from "./provider-kit";
import { completeOrRollBack, declaredAttributes, updateNameAndTemplate } from "./provider-kit";
import type { TemplateArgs } from "./resource-options";

/** Arguments of {@link Cluster}. */
export interface ClusterArgs extends OneResourceArgs {
    /** Cluster name, unique in OpenNebula. Default: the resource name. */
    name?: pulumi.Input<string>;
    /** Template attributes to set (e.g. `{ RESERVED_CPU: "0" }`). Only these attributes are managed. Default: none. */
    template?: pulumi.Input<TemplateArgs>;
}

type ClusterInputs = NamedInputs;

interface ClusterOutputs extends ClusterInputs, CommonOutputs {
    /** IDs of the hosts in the cluster, as last read. */
    hostIds: number[];
    /** IDs of the datastores in the cluster, as last read. */
    datastoreIds: number[];
    /** IDs of the virtual networks in the cluster, as last read. */
    vnetIds: number[];
}

/** What OpenNebula puts in a new cluster's template itself. */
const AUTOMATIC_ATTRIBUTES = { RESERVED_CPU: "", RESERVED_MEM: "" };

function checkCluster(news: Record<string, unknown>, failures: Failures): ClusterInputs {
    failures.name("name", news.name);
    const template = failures.template("template", news.template);
    return { name: news.name as string, template };
}

/** The outputs as OpenNebula holds the cluster; `declared` undefined reads it as an import would. */
function clusterOutputs(xml: XmlElement, declared: ClusterInputs | undefined): ClusterOutputs {
    const template = templateOf(xml);
    return {
        name: childText(xml, "NAME") ?? "",
        template: declared ? pickAttributes(template, Object.keys(declared.template)) : declaredAttributes(template, AUTOMATIC_ATTRIBUTES),
        connection: declared?.connection,
        oneId: Number(childText(xml, "ID")),
        creationToken: creationTokenOf(xml) ?? "",
        hostIds: idList(xml, "HOSTS"),
        datastoreIds: idList(xml, "DATASTORES"),
        vnetIds: idList(xml, "VNETS"),
    };
}

/** A new cluster is empty and holds exactly the declared attributes (and the token). */
async function createCluster(client: OneClient, inputs: ClusterInputs, token: string): Promise<ClusterOutputs> {
    // `one.cluster.allocate` takes only a name, so the token is stamped right after; the name is checked free first.
    await requireNameFree(client, "cluster", inputs.name);
    const id = await allocateOwn(client, "cluster", inputs.name, [inputs.name], token, true);
    const outputs: ClusterOutputs = { ...inputs, oneId: id, creationToken: token, hostIds: [], datastoreIds: [], vnetIds: [] };
    return completeOrRollBack(
        { id, subject: `cluster ${id}` },
        async () => {
            await updateTemplate(client, "cluster", id, { ...inputs.template, [CREATION_TOKEN]: token }, "merge");
            return outputs;
        },
        () => deleteObject(client, "cluster", id),
        () => outputs,
    );
}

async function updateCluster(client: OneClient, id: number, olds: ClusterOutputs, news: ClusterInputs): Promise<ClusterOutputs> {
    const current = await requireObject(client, "cluster", id);
    await updateNameAndTemplate(client, "cluster", id, current, olds, news);
    return { ...clusterOutputs(current, news), name: news.name, template: news.template };
}

const cluster = defineResource<ClusterArgs, ClusterInputs, ClusterOutputs>({
    type: "Cluster",
    kind: "cluster",
    outputsOf: clusterOutputs,
    inputs: ["name", "template"],
    replaceOn: [],
    outputs: ["oneId", "creationToken", "hostIds", "datastoreIds", "vnetIds"],
    check: checkCluster,
    create: createCluster,
    update: (client, id, olds, news) => updateCluster(client, Number(id), olds, news),
});

/** The dynamic provider behind {@link Cluster}. */
export const clusterProvider = cluster.provider;

/**
 * An OpenNebula cluster (`one.cluster.*`). Renames and template changes are made in place; a cluster
 * that still holds hosts, datastores or networks cannot be deleted (OpenNebula refuses it).
 */
export class Cluster extends cluster.Resource {}
