import * as pulumi from "@pulumi/pulumi";
import { OneClient } from "../client";
import {
    allocateNamed, deleteObject, readObject, renameObject, requireObject, syncMemberships, templateOf, updateTemplate,
} from "../objects";
import { Template, TemplateInput, pickAttributes, renderTemplateXml } from "../template";
import { XmlElement, childText, idList } from "../xml";
import {
    CommonOutputs, ConnectionArgs, ConnectionInputs, Failures, completeOrRollBack, diffProperties, isUnknown,
    replaceDeclaredAttributes, withClient,
} from "./provider-kit";
import { RESOURCE_MODULE, TemplateArgs, keepConnectionSecret } from "./resource-options";

/** Datastore types. */
export const DATASTORE_TYPES = ["IMAGE_DS", "SYSTEM_DS", "FILE_DS", "BACKUP_DS"] as const;
export type DatastoreType = (typeof DATASTORE_TYPES)[number];
/** Datastore drivers shipped with OpenNebula 6.10 / 7.0. */
export const DS_MADS = ["fs", "ceph", "dev", "iscsi_libvirt", "rsync", "restic", "vcenter"] as const;
/** Transfer manager drivers shipped with OpenNebula 6.10 / 7.0. */
export const TM_MADS = ["ssh", "shared", "qcow2", "ceph", "fs_lvm", "fs_lvm_ssh", "local", "dev", "iscsi_libvirt", "vcenter"] as const;

/** Arguments of {@link Datastore}. */
export interface DatastoreArgs {
    /** Datastore name, unique in OpenNebula. Default: the resource name. */
    name?: pulumi.Input<string>;
    /** `IMAGE_DS`, `SYSTEM_DS`, `FILE_DS` or `BACKUP_DS` (any case). Changing it replaces the datastore. Default `IMAGE_DS`. */
    type?: pulumi.Input<string>;
    /** Datastore driver (`DS_MAD`); required except for system datastores, which must not have one. */
    dsMad?: pulumi.Input<string>;
    /** Transfer manager driver (`TM_MAD`), e.g. `ssh`; required except for backup datastores. */
    tmMad?: pulumi.Input<string>;
    /** Clusters the datastore belongs to (changed in place). Default `[0]`, OpenNebula's default cluster. */
    clusterIds?: pulumi.Input<pulumi.Input<number>[]>;
    /** Other template attributes (e.g. `SAFE_DIRS`, `REPLICA_HOST`). Only these are managed. Default: none. */
    template?: pulumi.Input<TemplateArgs>;
    /** How to reach OpenNebula. Default: `ONE_XMLRPC` and `ONE_AUTH`. */
    connection?: pulumi.Input<ConnectionArgs>;
}

interface DatastoreInputs {
    name: string;
    type: DatastoreType;
    dsMad?: string;
    tmMad?: string;
    clusterIds: number[];
    template: Template;
    connection?: ConnectionInputs;
}

interface DatastoreOutputs extends DatastoreInputs, CommonOutputs {
    /** Where the datastore lives on the hosts, e.g. `/var/lib/one//datastores/100`. */
    basePath: string;
}

const DRIVER_ATTRIBUTES = ["TYPE", "DS_MAD", "TM_MAD"];

function checkDatastore(news: Record<string, unknown>): pulumi.dynamic.CheckResult<DatastoreInputs> {
    const failures = new Failures();
    const type = typeof news.type === "string" && !isUnknown(news.type) ? news.type.toUpperCase() : news.type ?? "IMAGE_DS";
    const inputs: DatastoreInputs = {
        name: news.name as string,
        type: type as DatastoreType,
        dsMad: news.dsMad as string | undefined,
        tmMad: news.tmMad as string | undefined,
        clusterIds: failures.clusterIds("clusterIds", news.clusterIds),
        template: failures.template("template", news.template),
        connection: news.connection as ConnectionInputs | undefined,
    };
    failures.name("name", inputs.name);
    failures.oneOf("type", inputs.type, DATASTORE_TYPES);
    checkDrivers(failures, inputs);
    for (const attribute of DRIVER_ATTRIBUTES.filter((a) => a in inputs.template)) {
        failures.add("template", `template must not set ${attribute}; use the type, dsMad and tmMad arguments`);
    }
    failures.connection(news.connection);
    return { inputs, failures: failures.list };
}

/** OpenNebula's own rules for which drivers each datastore type needs. */
function checkDrivers(failures: Failures, { type, dsMad, tmMad }: DatastoreInputs): void {
    if (type === "SYSTEM_DS" && dsMad !== undefined) failures.add("dsMad", "dsMad must not be set for a SYSTEM_DS datastore (OpenNebula refuses it)");
    if (type !== "SYSTEM_DS" && dsMad === undefined) failures.add("dsMad", `dsMad is required for a ${type} datastore; one of ${DS_MADS.join(", ")}`);
    if (dsMad !== undefined) failures.oneOf("dsMad", dsMad, DS_MADS);
    if (type !== "BACKUP_DS" && tmMad === undefined) failures.add("tmMad", `tmMad is required for a ${type} datastore; one of ${TM_MADS.join(", ")}`);
    if (tmMad !== undefined) failures.oneOf("tmMad", tmMad, TM_MADS);
}

function fullTemplate(inputs: DatastoreInputs): TemplateInput {
    return { ...inputs.template, NAME: inputs.name, TYPE: inputs.type, DS_MAD: inputs.dsMad, TM_MAD: inputs.tmMad };
}

function datastoreOutputs(xml: XmlElement, declared: DatastoreInputs): DatastoreOutputs {
    const template = templateOf(xml);
    return {
        ...declared,
        name: childText(xml, "NAME") ?? "",
        type: String(template.TYPE ?? declared.type).toUpperCase() as DatastoreType,
        dsMad: declared.dsMad === undefined ? undefined : childText(xml, "DS_MAD"),
        tmMad: declared.tmMad === undefined ? undefined : childText(xml, "TM_MAD"),
        clusterIds: idList(xml, "CLUSTERS"),
        template: pickAttributes(template, Object.keys(declared.template)),
        oneId: Number(childText(xml, "ID")),
        basePath: childText(xml, "BASE_PATH") ?? "",
    };
}

async function createDatastore(client: OneClient, inputs: DatastoreInputs): Promise<DatastoreOutputs> {
    const [firstCluster, ...otherClusters] = inputs.clusterIds;
    const id = await allocateNamed(client, "datastore", inputs.name, [renderTemplateXml(fullTemplate(inputs)), firstCluster]);
    return completeOrRollBack(
        "datastore", id,
        async () => {
            await syncMemberships(client, "datastore", id, [firstCluster], [firstCluster, ...otherClusters]);
            return datastoreOutputs(await requireObject(client, "datastore", id), inputs);
        },
        () => deleteObject(client, "datastore", id),
    );
}

async function updateDatastore(client: OneClient, id: number, olds: DatastoreOutputs, news: DatastoreInputs): Promise<DatastoreOutputs> {
    const current = await requireObject(client, "datastore", id);
    if (childText(current, "NAME") !== news.name) await renameObject(client, "datastore", id, news.name);
    const template = replaceDeclaredAttributes(templateOf(current), olds.template, news.template);
    if (template) await updateTemplate(client, "datastore", id, template, "replace");
    await syncMemberships(client, "datastore", id, idList(current, "CLUSTERS"), news.clusterIds);
    return { ...datastoreOutputs(current, news), name: news.name, template: news.template, clusterIds: news.clusterIds };
}

/** The dynamic provider behind {@link Datastore}. */
export const datastoreProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        return checkDatastore(news);
    },
    async diff(_id, olds, news) {
        return diffProperties(olds, news, { replaceOn: ["type", "dsMad", "tmMad"], updateOn: ["name", "template", "clusterIds"] });
    },
    async create(inputs: DatastoreInputs) {
        const outs = await withClient(inputs.connection, (client) => createDatastore(client, inputs));
        return { id: String(outs.oneId), outs };
    },
    async read(id, props: DatastoreOutputs) {
        const xml = await withClient(props.connection, (client) => readObject(client, "datastore", Number(id)));
        return xml ? { id, props: datastoreOutputs(xml, props) } : { id: "", props: {} };
    },
    async update(id, olds: DatastoreOutputs, news: DatastoreInputs) {
        return { outs: await withClient(news.connection, (client) => updateDatastore(client, Number(id), olds, news)) };
    },
    async delete(id, props: DatastoreOutputs) {
        await withClient(props.connection, (client) => deleteObject(client, "datastore", Number(id)));
    },
};

/**
 * An OpenNebula datastore (`one.datastore.*`). Type and drivers are fixed at creation (changing them
 * replaces the datastore); name, template attributes and cluster memberships change in place.
 */
export class Datastore extends pulumi.dynamic.Resource {
    /** The datastore's OpenNebula ID. */
    declare readonly oneId: pulumi.Output<number>;
    declare readonly name: pulumi.Output<string>;
    declare readonly type: pulumi.Output<DatastoreType>;
    declare readonly clusterIds: pulumi.Output<number[]>;
    declare readonly template: pulumi.Output<Template>;
    /** Path of the datastore on the hosts. */
    declare readonly basePath: pulumi.Output<string>;

    constructor(name: string, args: DatastoreArgs = {}, opts?: pulumi.CustomResourceOptions) {
        const props = {
            name: args.name ?? name, type: args.type, dsMad: args.dsMad, tmMad: args.tmMad, clusterIds: args.clusterIds,
            template: args.template ?? {}, connection: args.connection, oneId: undefined, basePath: undefined,
        };
        super(datastoreProvider, name, props, keepConnectionSecret(opts), RESOURCE_MODULE, "Datastore");
    }
}
