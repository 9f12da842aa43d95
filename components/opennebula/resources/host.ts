import type * as pulumi from "@pulumi/pulumi";
import type { OneClient } from "../client";
import {
    CREATION_TOKEN,
    allocateOwn,
    creationTokenOf,
    deleteObject,
    readState,
    requireNameFree,
    requireObject,
    templateOf,
    updateTemplate,
    waitFor,
} from "../objects";
import { HostState as HostStateCode, HostStatusCall } from "../states";
import { pickAttributes } from "../template";
import type { XmlElement } from "../xml";
import { childInt, childText } from "../xml";
import { defineResource } from "./define";
import type { CommonOutputs, Failures, NamedInputs, OneResourceArgs } from "./provider-kit";
import { completeOrRollBack, declaredAttributes, isUnknown, updateNameAndTemplate } from "./provider-kit";
import type { TemplateArgs } from "./resource-options";

/** Hypervisor drivers a host can use (`IM_MAD` / `VM_MAD`). */
export const HOST_DRIVERS = ["kvm", "qemu", "lxc", "firecracker", "vcenter", "dummy"] as const;

/** The administrative state a host is kept in. */
export const HOST_STATES = ["enabled", "disabled", "offline"] as const;
export type HostState = (typeof HOST_STATES)[number];

/** Arguments of {@link Host}. */
export interface HostArgs extends OneResourceArgs {
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
    /** Wait until an enabled host is MONITORED, failing if it stays in ERROR. Default true. */
    waitForMonitored?: pulumi.Input<boolean>;
    /** How long to wait for MONITORED, in seconds. Default 300. */
    monitorTimeoutSeconds?: pulumi.Input<number>;
    /** Template attributes to set. Only these attributes are managed. Default: none. */
    template?: pulumi.Input<TemplateArgs>;
}

interface HostInputs extends NamedInputs {
    imMad: string;
    vmMad: string;
    clusterId: number;
    state: HostState;
    waitForMonitored: boolean;
    monitorTimeoutSeconds: number;
}

interface HostOutputs extends HostInputs, CommonOutputs {
    /** OpenNebula's host STATE number as last read (2 MONITORED, 3 ERROR, 4 DISABLED, 8 OFFLINE …). */
    stateCode: number;
}

const HOSTNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{1,62}$/;
const STATUS_CALL: Record<HostState, number> = {
    enabled: HostStatusCall.ENABLE,
    disabled: HostStatusCall.DISABLE,
    offline: HostStatusCall.OFFLINE,
};
/**
 * How often a host that goes to ERROR right after being enabled is enabled again before the create
 * fails: on 7.0 a freshly enabled host sometimes fails its first monitoring and recovers on the next.
 */
const ENABLE_ATTEMPTS = 3;
/** What OpenNebula and its monitoring probes put in a host's template (null: any value). */
const AUTOMATIC_ATTRIBUTES: Record<string, string | null> = {
    RESERVED_CPU: "",
    RESERVED_MEM: "",
    IM_MAD: null,
    VM_MAD: null,
    ARCH: null,
    CPUSPEED: null,
    HOSTNAME: null,
    HYPERVISOR: null,
    MODELNAME: null,
    VERSION: null,
    ERROR: null,
    KVM_CPU_MODEL: null,
    KVM_CPU_MODELS: null,
    KVM_MACHINES: null,
    KVM_SUPPORT_TSC: null,
    CGROUPS_VERSION: null,
    HOST_SHARE: null,
    VM_POLL: null,
    NETRX: null,
    NETTX: null,
};

function checkHost(news: Record<string, unknown>, failures: Failures): HostInputs {
    const inputs: HostInputs = {
        name: news.name as string,
        imMad: (news.imMad as string | undefined) ?? "kvm",
        vmMad: (news.vmMad as string | undefined) ?? (news.imMad as string | undefined) ?? "kvm",
        clusterId: news.clusterId === undefined || news.clusterId === -1 ? 0 : (news.clusterId as number),
        state: (news.state as HostState | undefined) ?? "enabled",
        waitForMonitored: (news.waitForMonitored as boolean | undefined) ?? true,
        monitorTimeoutSeconds: (news.monitorTimeoutSeconds as number | undefined) ?? 300,
        template: failures.template("template", news.template),
    };
    failures.name("name", inputs.name);
    if (typeof inputs.name === "string" && !isUnknown(inputs.name) && !HOSTNAME.test(inputs.name)) {
        failures.add(
            "name",
            `name must be a host name or IPv4 address of 2-63 characters [A-Za-z0-9._-], not starting with '-', '.' or '_' (got ${JSON.stringify(inputs.name)})`,
        );
    }
    failures.oneOf("imMad", inputs.imMad, HOST_DRIVERS);
    failures.oneOf("vmMad", inputs.vmMad, HOST_DRIVERS);
    failures.id("clusterId", inputs.clusterId);
    failures.oneOf("state", inputs.state, HOST_STATES);
    failures.seconds("monitorTimeoutSeconds", inputs.monitorTimeoutSeconds);
    return inputs;
}

function stateName(stateCode: number): HostState {
    if (stateCode === HostStateCode.OFFLINE) return "offline";
    if (stateCode === HostStateCode.DISABLED) return "disabled";
    return "enabled";
}

/** The outputs as OpenNebula holds the host; `declared` undefined reads it as an import would. */
function hostOutputs(xml: XmlElement, declared: HostInputs | undefined): HostOutputs {
    const stateCode = childInt(xml, "STATE") ?? -1;
    const template = templateOf(xml);
    return {
        waitForMonitored: declared?.waitForMonitored ?? true,
        monitorTimeoutSeconds: declared?.monitorTimeoutSeconds ?? 300,
        connection: declared?.connection,
        name: childText(xml, "NAME") ?? "",
        imMad: childText(xml, "IM_MAD") ?? "",
        vmMad: childText(xml, "VM_MAD") ?? "",
        clusterId: childInt(xml, "CLUSTER_ID") ?? -1,
        state: stateName(stateCode),
        template: declared ? pickAttributes(template, Object.keys(declared.template)) : declaredAttributes(template, AUTOMATIC_ATTRIBUTES),
        oneId: Number(childText(xml, "ID")),
        creationToken: creationTokenOf(xml) ?? "",
        stateCode,
    };
}

/**
 * Waits until the host is MONITORED. A host in ERROR is enabled again, up to {@link ENABLE_ATTEMPTS}
 * times in all; ERROR after that, or a timeout, is a failure that names the host and OpenNebula's reason.
 */
async function waitForMonitored(client: OneClient, id: number, inputs: HostInputs): Promise<XmlElement> {
    let enabled = 1;
    return waitFor(
        async () => {
            const { xml, state, reason } = await readState(client, "host", id);
            if (state === HostStateCode.ERROR) {
                if (enabled >= ENABLE_ATTEMPTS) {
                    throw new Error(`host ${id} (${inputs.name}) went to ERROR while being monitored${reason} (enabled ${enabled} times)`);
                }
                enabled++;
                await client.call("one.host.status", id, HostStatusCall.ENABLE);
                return undefined;
            }
            return state === HostStateCode.MONITORED ? xml : undefined;
        },
        { timeoutMs: inputs.monitorTimeoutSeconds * 1000 },
        () => new Error(`host ${id} (${inputs.name}) was not MONITORED after ${inputs.monitorTimeoutSeconds} s`),
    );
}

/** Applies the wanted administrative state, waiting for monitoring when asked to; returns the host as then read. */
async function applyState(client: OneClient, id: number, inputs: HostInputs): Promise<XmlElement> {
    await client.call("one.host.status", id, STATUS_CALL[inputs.state]);
    return inputs.state === "enabled" && inputs.waitForMonitored ? waitForMonitored(client, id, inputs) : requireObject(client, "host", id);
}

async function createHost(client: OneClient, inputs: HostInputs, token: string): Promise<HostOutputs> {
    // `one.host.allocate` takes no template, so the token is stamped right after; the name is checked free first.
    await requireNameFree(client, "host", inputs.name);
    const id = await allocateOwn(client, "host", inputs.name, [inputs.name, inputs.imMad, inputs.vmMad, inputs.clusterId], token, true);
    return completeOrRollBack(
        { id, subject: `host ${id}` },
        async () => {
            // Offline first, as oneprovision did, so monitoring starts only once the host is fully described.
            await client.call("one.host.status", id, HostStatusCall.OFFLINE);
            await updateTemplate(client, "host", id, { ...inputs.template, [CREATION_TOKEN]: token }, "merge");
            const xml = inputs.state === "offline" ? await requireObject(client, "host", id) : await applyState(client, id, inputs);
            return hostOutputs(xml, inputs);
        },
        () => deleteObject(client, "host", id),
        () => ({ ...inputs, oneId: id, creationToken: token, state: "offline", stateCode: HostStateCode.OFFLINE }),
    );
}

async function updateHost(client: OneClient, id: number, olds: HostOutputs, news: HostInputs): Promise<HostOutputs> {
    const current = await requireObject(client, "host", id);
    if (childInt(current, "CLUSTER_ID") !== news.clusterId) await client.call("one.cluster.addhost", news.clusterId, id);
    await updateNameAndTemplate(client, "host", id, current, olds, news);
    const stateCode = childInt(current, "STATE") ?? -1;
    const needsState = stateName(stateCode) !== news.state || (news.state === "enabled" && stateCode === HostStateCode.ERROR);
    return hostOutputs(needsState ? await applyState(client, id, news) : await requireObject(client, "host", id), news);
}

const host = defineResource<HostArgs, HostInputs, HostOutputs>({
    type: "Host",
    kind: "host",
    outputsOf: hostOutputs,
    inputs: ["name", "imMad", "vmMad", "clusterId", "state", "waitForMonitored", "monitorTimeoutSeconds", "template"],
    replaceOn: ["imMad", "vmMad"],
    outputs: ["oneId", "creationToken", "stateCode"],
    check: checkHost,
    create: createHost,
    update: (client, id, olds, news) => updateHost(client, Number(id), olds, news),
    // A host found in ERROR, or left offline by a create that could not finish, is enabled again by an update.
    diff: (olds, news, diff) => ({
        ...diff,
        changes: diff.changes || (news.state === "enabled" && olds.stateCode === HostStateCode.ERROR),
    }),
});

/** The dynamic provider behind {@link Host}. */
export const hostProvider = host.provider;

/**
 * An OpenNebula host (`one.host.*`). It is created offline, described, then enabled, and by default
 * the resource waits until OpenNebula monitors it. A host that never gets there is deleted again and
 * the error names it. Moving it to another cluster, renaming it and changing its state are in place.
 */
export class Host extends host.Resource {}
