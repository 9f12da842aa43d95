import type * as pulumi from "@pulumi/pulumi";
import type { OneClient } from "../client";
import { DS_MAD_TABLE, TM_MAD_TABLE, allDrivers, requireDriversOnFrontEnd } from "../drivers";
import { CREATION_TOKEN, allocateOwn, creationTokenOf, deleteObject, requireObject, syncMemberships, templateOf } from "../objects";
import { DATASTORE_TYPES, DatastoreType } from "../states";
import type { TemplateInput } from "../template";
import { pickAttributes, renderTemplateXml } from "../template";
import type { XmlElement } from "../xml";
import { childText, idList } from "../xml";
import { defineResource } from "./define";
import type { CommonOutputs, Failures, NamedInputs, OneResourceArgs } from "./provider-kit";
import { completeOrRollBack, declaredAttributes, isUnknown, updateNameAndTemplate } from "./provider-kit";
import type { TemplateArgs } from "./resource-options";

export { DATASTORE_TYPES, DatastoreType };
/** Datastore drivers shipped with OpenNebula 6.10 or 7.0 (`vcenter`: 6.10 only). */
export const DS_MADS = allDrivers(DS_MAD_TABLE);
/** Transfer manager drivers shipped with OpenNebula 6.10 or 7.0 (`vcenter`: 6.10 only; `local`, `netapp`: 7.0 only). */
export const TM_MADS = allDrivers(TM_MAD_TABLE);

/** Arguments of {@link Datastore}. */
export interface DatastoreArgs extends OneResourceArgs {
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
}

interface DatastoreInputs extends NamedInputs {
    type: DatastoreType;
    dsMad?: string;
    tmMad?: string;
    clusterIds: number[];
}

interface DatastoreOutputs extends DatastoreInputs, CommonOutputs {
    /** Where the datastore lives on the hosts, e.g. `/var/lib/one//datastores/100`. */
    basePath: string;
}

const DRIVER_ATTRIBUTES = ["TYPE", "DS_MAD", "TM_MAD"];
/** What OpenNebula writes into a datastore's template itself (its drivers' defaults); null: any value. */
const AUTOMATIC_ATTRIBUTES: Record<string, string | null> = {
    TYPE: null,
    DS_MAD: null,
    TM_MAD: null,
    DISK_TYPE: null,
    SHARED: null,
    DS_MIGRATE: null,
    LN_TARGET: null,
    CLONE_TARGET: null,
    ALLOW_ORPHANS: null,
    DRIVER: null,
    TM_MAD_SYSTEM: null,
    SAFE_DIRS: "/var/tmp",
    RESTRICTED_DIRS: "/",
    BASE_PATH: null,
    LN_TARGET_SSH: null,
    CLONE_TARGET_SSH: null,
    DISK_TYPE_SSH: null,
    LN_TARGET_SHARED: null,
    CLONE_TARGET_SHARED: null,
    DISK_TYPE_SHARED: null,
};

function checkDatastore(news: Record<string, unknown>, failures: Failures): DatastoreInputs {
    const type = typeof news.type === "string" && !isUnknown(news.type) ? news.type.toUpperCase() : (news.type ?? "IMAGE_DS");
    const inputs: DatastoreInputs = {
        name: news.name as string,
        type: type as DatastoreType,
        dsMad: news.dsMad as string | undefined,
        tmMad: news.tmMad as string | undefined,
        clusterIds: failures.clusterIds("clusterIds", news.clusterIds),
        template: failures.template("template", news.template),
    };
    failures.name("name", inputs.name);
    failures.oneOf("type", inputs.type, DATASTORE_TYPES);
    checkDrivers(failures, inputs);
    for (const attribute of DRIVER_ATTRIBUTES.filter((a) => !isUnknown(inputs.template) && a in inputs.template)) {
        failures.add("template", `template must not set ${attribute}; use the type, dsMad and tmMad arguments`);
    }
    return inputs;
}

/** OpenNebula's own rules for which drivers each datastore type needs. */
function checkDrivers(failures: Failures, { type, dsMad, tmMad }: DatastoreInputs): void {
    if (type === "SYSTEM_DS" && dsMad !== undefined)
        failures.add("dsMad", "dsMad must not be set for a SYSTEM_DS datastore (OpenNebula refuses it)");
    if (type !== "SYSTEM_DS" && dsMad === undefined)
        failures.add("dsMad", `dsMad is required for a ${type} datastore; one of ${DS_MADS.join(", ")}`);
    if (dsMad !== undefined) failures.oneOf("dsMad", dsMad, DS_MADS);
    if (type !== "BACKUP_DS" && tmMad === undefined)
        failures.add("tmMad", `tmMad is required for a ${type} datastore; one of ${TM_MADS.join(", ")}`);
    if (tmMad !== undefined) failures.oneOf("tmMad", tmMad, TM_MADS);
}

function fullTemplate(inputs: DatastoreInputs, token: string): TemplateInput {
    return {
        ...inputs.template,
        NAME: inputs.name,
        TYPE: inputs.type,
        DS_MAD: inputs.dsMad,
        TM_MAD: inputs.tmMad,
        [CREATION_TOKEN]: token,
    };
}

/** The outputs as OpenNebula holds the datastore; `declared` undefined reads it as an import would. */
function datastoreOutputs(xml: XmlElement, declared: DatastoreInputs | undefined): DatastoreOutputs {
    const template = templateOf(xml);
    const type = String(template.TYPE ?? declared?.type ?? "IMAGE_DS").toUpperCase() as DatastoreType;
    const hasDsMad = declared ? declared.dsMad !== undefined : type !== "SYSTEM_DS";
    const hasTmMad = declared ? declared.tmMad !== undefined : type !== "BACKUP_DS";
    return {
        name: childText(xml, "NAME") ?? "",
        type,
        dsMad: hasDsMad ? childText(xml, "DS_MAD") : undefined,
        tmMad: hasTmMad ? childText(xml, "TM_MAD") : undefined,
        clusterIds: idList(xml, "CLUSTERS"),
        template: declared ? pickAttributes(template, Object.keys(declared.template)) : declaredAttributes(template, AUTOMATIC_ATTRIBUTES),
        connection: declared?.connection,
        oneId: Number(childText(xml, "ID")),
        creationToken: creationTokenOf(xml) ?? "",
        basePath: childText(xml, "BASE_PATH") ?? "",
    };
}

async function createDatastore(client: OneClient, inputs: DatastoreInputs, token: string): Promise<DatastoreOutputs> {
    await requireDriversOnFrontEnd(client, [
        [DS_MAD_TABLE, "dsMad", inputs.dsMad],
        [TM_MAD_TABLE, "tmMad", inputs.tmMad],
    ]);
    const [firstCluster] = inputs.clusterIds;
    const id = await allocateOwn(client, "datastore", inputs.name, [renderTemplateXml(fullTemplate(inputs, token)), firstCluster], token);
    return completeOrRollBack(
        { id, subject: `datastore ${id}` },
        async () => {
            await syncMemberships(client, "datastore", id, [firstCluster], inputs.clusterIds);
            return datastoreOutputs(await requireObject(client, "datastore", id), inputs);
        },
        () => deleteObject(client, "datastore", id),
        () => ({ ...inputs, oneId: id, creationToken: token, clusterIds: [firstCluster] }),
    );
}

async function updateDatastore(client: OneClient, id: number, olds: DatastoreOutputs, news: DatastoreInputs): Promise<DatastoreOutputs> {
    const current = await requireObject(client, "datastore", id);
    await updateNameAndTemplate(client, "datastore", id, current, olds, news);
    await syncMemberships(client, "datastore", id, idList(current, "CLUSTERS"), news.clusterIds);
    return { ...datastoreOutputs(current, news), name: news.name, template: news.template, clusterIds: news.clusterIds };
}

const datastore = defineResource<DatastoreArgs, DatastoreInputs, DatastoreOutputs>({
    type: "Datastore",
    kind: "datastore",
    outputsOf: datastoreOutputs,
    inputs: ["name", "type", "dsMad", "tmMad", "clusterIds", "template"],
    replaceOn: ["type", "dsMad", "tmMad"],
    outputs: ["oneId", "creationToken", "basePath"],
    check: checkDatastore,
    create: createDatastore,
    update: (client, id, olds, news) => updateDatastore(client, Number(id), olds, news),
});

/** The dynamic provider behind {@link Datastore}. */
export const datastoreProvider = datastore.provider;

/**
 * An OpenNebula datastore (`one.datastore.*`). Type and drivers are fixed at creation (changing them
 * replaces the datastore); name, template attributes and cluster memberships change in place.
 */
export class Datastore extends datastore.Resource {}
