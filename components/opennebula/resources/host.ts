import * as pulumi from "@pulumi/pulumi";
import { OneClient } from "../client";
import {
    allocateNamed, deleteObject, readObject, renameObject, requireObject, templateOf, updateTemplate, waitFor,
} from "../objects";
import { Template, pickAttributes } from "../template";
import { XmlElement, childInt, childText } from "../xml";
import {
    CommonOutputs, ConnectionArgs, ConnectionInputs, Failures, completeOrRollBack, diffProperties, isUnknown,
    replaceDeclaredAttributes, withClient,
} from "./provider-kit";
import { RESOURCE_MODULE, TemplateArgs, keepConnectionSecret } from "./resource-options";

/** Hypervisor drivers a host can use (`IM_MAD` / `VM_MAD`). */
export const HOST_DRIVERS = ["kvm", "qemu", "lxc", "firecracker", "vcenter", "dummy"] as const;

/** The administrative state a host is kept in. */
export const HOST_STATES = ["enabled", "disabled", "offline"] as const;
export type HostState = (typeof HOST_STATES)[number];

/** Arguments of {@link Host}. */
export interface HostArgs {
    /** Host name: the address the front-end reaches it by (e.g. its public IP). Default: the resource name. */
    name?: pulumi.Input<string>;
    /** Monitoring driver. Default `kvm`. */
    imMad?: pulumi.Input<string>;
    /** Virtualization driver. Default: the same as `imMad`. */
    vmMad?: pulumi.Input<string>;
    /** Cluster the host belongs to; moving it is done in place. Default 0 (OpenNebula's default cluster). */
    clusterId?: pulumi.Input<number>;
    /** `enabled` (monitored, schedulable), `disabled` or `offline`. Default `enabled`. */
    state?: pulumi.Input<HostState>;
    /** Wait until an enabled host is MONITORED, failing if it goes to ERROR. Default true. */
    waitForMonitored?: pulumi.Input<boolean>;
    /** How long to wait for MONITORED, in seconds. Default 300. */
    monitorTimeoutSeconds?: pulumi.Input<number>;
    /** Template attributes to set. Only these attributes are managed. Default: none. */
    template?: pulumi.Input<TemplateArgs>;
    /** How to reach OpenNebula. Default: `ONE_XMLRPC` and `ONE_AUTH`. */
    connection?: pulumi.Input<ConnectionArgs>;
}

interface HostInputs {
    name: string;
    imMad: string;
    vmMad: string;
    clusterId: number;
    state: HostState;
    waitForMonitored: boolean;
    monitorTimeoutSeconds: number;
    template: Template;
    connection?: ConnectionInputs;
}

interface HostOutputs extends HostInputs, CommonOutputs {
    /** OpenNebula's host STATE number as last read (2 MONITORED, 3 ERROR, 4 DISABLED, 8 OFFLINE …). */
    stateCode: number;
}

const STATE_MONITORED = 2;
const STATE_ERROR = 3;
const STATE_DISABLED = 4;
const STATE_OFFLINE = 8;
const STATUS_CALL: Record<HostState, number> = { enabled: 0, disabled: 1, offline: 2 };
const HOSTNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$/;

function checkHost(news: Record<string, unknown>): pulumi.dynamic.CheckResult<HostInputs> {
    const failures = new Failures();
    const inputs: HostInputs = {
        name: news.name as string,
        imMad: (news.imMad as string | undefined) ?? "kvm",
        vmMad: (news.vmMad as string | undefined) ?? (news.imMad as string | undefined) ?? "kvm",
        clusterId: news.clusterId === undefined || news.clusterId === -1 ? 0 : (news.clusterId as number),
        state: (news.state as HostState | undefined) ?? "enabled",
        waitForMonitored: (news.waitForMonitored as boolean | undefined) ?? true,
        monitorTimeoutSeconds: (news.monitorTimeoutSeconds as number | undefined) ?? 300,
        template: failures.template("template", news.template),
        connection: news.connection as ConnectionInputs | undefined,
    };
    failures.name("name", inputs.name);
    if (typeof inputs.name === "string" && !isUnknown(inputs.name) && !HOSTNAME.test(inputs.name)) {
        failures.add("name", `name must be a host name or IPv4 address of 2-63 characters [A-Za-z0-9._-], not starting with '-', '.' or '_' (got ${JSON.stringify(inputs.name)})`);
    }
    failures.oneOf("imMad", inputs.imMad, HOST_DRIVERS);
    failures.oneOf("vmMad", inputs.vmMad, HOST_DRIVERS);
    failures.id("clusterId", inputs.clusterId);
    failures.oneOf("state", inputs.state, HOST_STATES);
    if (!isUnknown(inputs.monitorTimeoutSeconds) && !(inputs.monitorTimeoutSeconds > 0)) {
        failures.add("monitorTimeoutSeconds", `monitorTimeoutSeconds must be a number > 0 (got ${JSON.stringify(inputs.monitorTimeoutSeconds)})`);
    }
    failures.connection(news.connection);
    return { inputs, failures: failures.list };
}

function stateName(stateCode: number): HostState {
    if (stateCode === STATE_OFFLINE) return "offline";
    if (stateCode === STATE_DISABLED) return "disabled";
    return "enabled";
}

function hostOutputs(xml: XmlElement, declared: HostInputs): HostOutputs {
    const stateCode = childInt(xml, "STATE") ?? -1;
    return {
        ...declared,
        name: childText(xml, "NAME") ?? "",
        imMad: childText(xml, "IM_MAD") ?? "",
        vmMad: childText(xml, "VM_MAD") ?? "",
        clusterId: childInt(xml, "CLUSTER_ID") ?? -1,
        state: stateName(stateCode),
        template: pickAttributes(templateOf(xml), Object.keys(declared.template)),
        oneId: Number(childText(xml, "ID")),
        stateCode,
    };
}

/** Waits until the host is MONITORED; ERROR or a timeout is a failure that names the host and OpenNebula's reason. */
async function waitForMonitored(client: OneClient, id: number, inputs: HostInputs): Promise<XmlElement> {
    return waitFor(
        async () => {
            const xml = await requireObject(client, "host", id);
            const state = childInt(xml, "STATE");
            if (state === STATE_ERROR) {
                const reason = templateOf(xml).ERROR;
                throw new Error(`host ${id} (${inputs.name}) went to ERROR while being monitored${typeof reason === "string" ? `: ${reason}` : ""}`);
            }
            return state === STATE_MONITORED ? xml : undefined;
        },
        { timeoutMs: inputs.monitorTimeoutSeconds * 1000 },
        () => new Error(`host ${id} (${inputs.name}) was not MONITORED after ${inputs.monitorTimeoutSeconds} s`),
    );
}

/** Applies the wanted administrative state, waiting for monitoring when asked to; returns the host as then read. */
async function applyState(client: OneClient, id: number, inputs: HostInputs): Promise<XmlElement> {
    await client.call("one.host.status", id, STATUS_CALL[inputs.state]);
    return inputs.state === "enabled" && inputs.waitForMonitored
        ? waitForMonitored(client, id, inputs)
        : requireObject(client, "host", id);
}

async function createHost(client: OneClient, inputs: HostInputs): Promise<HostOutputs> {
    const id = await allocateNamed(client, "host", inputs.name, [inputs.name, inputs.imMad, inputs.vmMad, inputs.clusterId]);
    return completeOrRollBack(
        "host", id,
        async () => {
            // Offline first, as oneprovision did, so monitoring starts only once the host is fully described.
            await client.call("one.host.status", id, STATUS_CALL.offline);
            if (Object.keys(inputs.template).length > 0) await updateTemplate(client, "host", id, inputs.template, "merge");
            const xml = inputs.state === "offline" ? await requireObject(client, "host", id) : await applyState(client, id, inputs);
            return hostOutputs(xml, inputs);
        },
        () => deleteObject(client, "host", id),
    );
}

async function updateHost(client: OneClient, id: number, olds: HostOutputs, news: HostInputs): Promise<HostOutputs> {
    const current = await requireObject(client, "host", id);
    if (childText(current, "NAME") !== news.name) await renameObject(client, "host", id, news.name);
    if (childInt(current, "CLUSTER_ID") !== news.clusterId) await client.call("one.cluster.addhost", news.clusterId, id);
    const template = replaceDeclaredAttributes(templateOf(current), olds.template, news.template);
    if (template) await updateTemplate(client, "host", id, template, "replace");
    const stateChanged = stateName(childInt(current, "STATE") ?? -1) !== news.state;
    return hostOutputs(stateChanged ? await applyState(client, id, news) : await requireObject(client, "host", id), news);
}

/** The dynamic provider behind {@link Host}. */
export const hostProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        return checkHost(news);
    },
    async diff(_id, olds, news) {
        return diffProperties(olds, news, {
            replaceOn: ["imMad", "vmMad"],
            updateOn: ["name", "clusterId", "state", "template", "waitForMonitored", "monitorTimeoutSeconds"],
        });
    },
    async create(inputs: HostInputs) {
        const outs = await withClient(inputs.connection, (client) => createHost(client, inputs));
        return { id: String(outs.oneId), outs };
    },
    async read(id, props: HostOutputs) {
        const xml = await withClient(props.connection, (client) => readObject(client, "host", Number(id)));
        return xml ? { id, props: hostOutputs(xml, props) } : { id: "", props: {} };
    },
    async update(id, olds: HostOutputs, news: HostInputs) {
        return { outs: await withClient(news.connection, (client) => updateHost(client, Number(id), olds, news)) };
    },
    async delete(id, props: HostOutputs) {
        await withClient(props.connection, (client) => deleteObject(client, "host", Number(id)));
    },
};

/**
 * An OpenNebula host (`one.host.*`). It is created offline, described, then enabled, and by default
 * the resource waits until OpenNebula monitors it. A host that never gets there is deleted again and
 * the error names it. Moving it to another cluster, renaming it and changing its state are in place.
 */
export class Host extends pulumi.dynamic.Resource {
    /** The host's OpenNebula ID. */
    declare readonly oneId: pulumi.Output<number>;
    declare readonly name: pulumi.Output<string>;
    declare readonly clusterId: pulumi.Output<number>;
    declare readonly state: pulumi.Output<HostState>;
    /** OpenNebula's STATE number as last read. */
    declare readonly stateCode: pulumi.Output<number>;
    declare readonly template: pulumi.Output<Template>;

    constructor(name: string, args: HostArgs = {}, opts?: pulumi.CustomResourceOptions) {
        const props = {
            name: args.name ?? name, imMad: args.imMad, vmMad: args.vmMad, clusterId: args.clusterId, state: args.state,
            waitForMonitored: args.waitForMonitored, monitorTimeoutSeconds: args.monitorTimeoutSeconds,
            template: args.template ?? {}, connection: args.connection, oneId: undefined, stateCode: undefined,
        };
        super(hostProvider, name, props, keepConnectionSecret(opts), RESOURCE_MODULE, "Host");
    }
}
