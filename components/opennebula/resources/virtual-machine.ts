import * as pulumi from "@pulumi/pulumi";
import * as ipaddr from "ipaddr.js";
import { OneClient } from "../client";
import { OneErrorCode, isOneError } from "../errors";
import { findByName, readObject, requireObject, templateOf, waitFor } from "../objects";
import { Template, TemplateValue, TemplateVector, renderTemplateXml } from "../template";
import { XmlElement, child, childInt, childText, children } from "../xml";
import { portForward } from "../port-forward";
import {
    CommonOutputs, ConnectionArgs, ConnectionInputs, Failures, diffProperties, isUnknown, withClient,
} from "./provider-kit";
import { RESOURCE_MODULE, TemplateArgs, keepConnectionSecret } from "./resource-options";

/** A NIC of a {@link VirtualMachine}: a lease in a network. */
export interface VirtualMachineNicArgs {
    /** The network to take a lease from. Required. */
    networkId: pulumi.Input<number>;
    /** A specific address to lease. Default: the network's next free one. */
    ip?: pulumi.Input<string>;
    /** Other NIC attributes, e.g. `{ MODEL: "virtio" }`. Default none. */
    attributes?: pulumi.Input<{ [key: string]: pulumi.Input<string | number | boolean> }>;
}

/**
 * A NIC alias of a {@link VirtualMachine}: a second address for one of its NICs. With `external` the
 * address is leased but not configured inside the VM — what the virtual router's SDNAT maps to the
 * parent NIC's address (reference §6.3).
 */
export interface VirtualMachineNicAliasArgs {
    /** The network of the alias address (for SDNAT: the public network). Required. */
    networkId: pulumi.Input<number>;
    /** NAME of the NIC it belongs to: `NIC<i>` for the i-th NIC. Default `NIC0`. */
    parent?: pulumi.Input<string>;
    /** `EXTERNAL = "YES"`: leased only, not configured in the VM. Default true. */
    external?: pulumi.Input<boolean>;
    /** A specific address to lease. Default: the network's next free one. */
    ip?: pulumi.Input<string>;
}

/** Arguments of {@link VirtualMachine}. */
export interface VirtualMachineArgs {
    /** VM name (not unique in OpenNebula). Default: the resource name. */
    name?: pulumi.Input<string>;
    /** The VM template to instantiate. Required. */
    templateId: pulumi.Input<number>;
    /** NICs, in order (`NIC0`, `NIC1` …); they replace the template's NICs, as `onetemplate instantiate --nic` does. Default: the template's. */
    nics?: pulumi.Input<pulumi.Input<VirtualMachineNicArgs>[]>;
    /** NIC aliases (e.g. external public addresses for SDNAT). Default none. */
    nicAliases?: pulumi.Input<pulumi.Input<VirtualMachineNicAliasArgs>[]>;
    /** More template attributes merged into the template, e.g. `CONTEXT`, `SCHED_REQUIREMENTS`, `MEMORY`. An attribute given here replaces the template's of that name. Default none. */
    template?: pulumi.Input<TemplateArgs>;
    /** How long to wait for RUNNING (and for DONE on delete), in seconds. Default 600. */
    runningTimeoutSeconds?: pulumi.Input<number>;
    /** How to reach OpenNebula. Default: `ONE_XMLRPC` and `ONE_AUTH`. */
    connection?: pulumi.Input<ConnectionArgs>;
}

/** A NIC as given, normalized. */
export interface NicInput {
    networkId: number;
    ip?: string;
    attributes: TemplateVector;
}

/** A NIC alias as given, normalized. */
interface NicAliasInput {
    networkId: number;
    parent: string;
    external: boolean;
    ip?: string;
}

interface VirtualMachineInputs {
    name: string;
    templateId: number;
    nics: NicInput[];
    nicAliases: NicAliasInput[];
    template: Template;
    runningTimeoutSeconds: number;
    connection?: ConnectionInputs;
}

/** A NIC of a VM as OpenNebula holds it. */
export interface VmNicOutput {
    /** OpenNebula's NIC_ID. */
    nicId: number;
    /** The NIC's NAME (`NIC0` …), what aliases name as PARENT. */
    name: string;
    networkId: number;
    ip: string;
    mac: string;
    /** On a port-forwarding network: the host ports of this NIC, e.g. `"9001:9100"`. */
    externalPortRange?: string;
    /** On a port-forwarding network: the VM ports and the first host port, e.g. `"1-100/9001"`. */
    internalPortRange?: string;
}

/** A NIC alias of a VM as OpenNebula holds it. */
export interface VmNicAliasOutput {
    name: string;
    parent: string;
    networkId: number;
    ip: string;
    external: boolean;
}

interface VirtualMachineOutputs extends VirtualMachineInputs, CommonOutputs {
    /** STATE name, or the LCM_STATE name while ACTIVE: `RUNNING`, `POWEROFF`, `BOOT_FAILURE` … */
    state: string;
    interfaces: VmNicOutput[];
    aliases: VmNicAliasOutput[];
    /** The NICs' addresses, in NIC order. */
    ips: string[];
    /** The host it runs on (-1 before it is placed). */
    hostId: number;
    /** That host's OpenNebula name (in this package, its public IP). */
    hostName: string;
}

// ---------------------------------------------------------------------------------------------
// VM states (include/VirtualMachine.h)

const VM_STATES = ["INIT", "PENDING", "HOLD", "ACTIVE", "STOPPED", "SUSPENDED", "DONE", "", "POWEROFF", "UNDEPLOYED", "CLONING", "CLONING_FAILURE"];
const STATE_ACTIVE = 3;
const STATE_DONE = 6;
const STATE_CLONING_FAILURE = 11;
const LCM_RUNNING = 3;
/** The LCM states named `*_FAILURE` (36–50 and 61). */
const LCM_FAILURES: Record<number, string> = {
    36: "BOOT_FAILURE", 37: "BOOT_MIGRATE_FAILURE", 38: "PROLOG_MIGRATE_FAILURE", 39: "PROLOG_FAILURE", 40: "EPILOG_FAILURE",
    41: "EPILOG_STOP_FAILURE", 42: "EPILOG_UNDEPLOY_FAILURE", 44: "PROLOG_MIGRATE_POWEROFF_FAILURE",
    46: "PROLOG_MIGRATE_SUSPEND_FAILURE", 47: "BOOT_UNDEPLOY_FAILURE", 48: "BOOT_STOPPED_FAILURE", 49: "PROLOG_RESUME_FAILURE",
    50: "PROLOG_UNDEPLOY_FAILURE", 61: "PROLOG_MIGRATE_UNKNOWN_FAILURE",
};
/** States a `resume` brings back to RUNNING. */
const RESUMABLE = ["POWEROFF", "SUSPENDED", "STOPPED", "UNDEPLOYED"];

/** `RUNNING`, `PENDING`, `POWEROFF`, `BOOT_FAILURE` …: the STATE, or the LCM state for an ACTIVE VM. */
export function vmStateName(vm: XmlElement): string {
    const state = childInt(vm, "STATE") ?? -1;
    if (state !== STATE_ACTIVE) return VM_STATES[state] || `STATE ${state}`;
    const lcm = childInt(vm, "LCM_STATE") ?? -1;
    return lcm === LCM_RUNNING ? "RUNNING" : LCM_FAILURES[lcm] ?? `ACTIVE (LCM_STATE ${lcm})`;
}

function isDone(vm: XmlElement | undefined): boolean {
    return !vm || childInt(vm, "STATE") === STATE_DONE;
}

/** Why the VM will not get to RUNNING by itself, or undefined. */
function vmFailure(vm: XmlElement): string | undefined {
    const state = childInt(vm, "STATE");
    const failed = state === STATE_DONE || state === STATE_CLONING_FAILURE
        || (state === STATE_ACTIVE && LCM_FAILURES[childInt(vm, "LCM_STATE") ?? -1] !== undefined);
    if (!failed) return undefined;
    const error = userTemplateText(vm, "ERROR");
    return `it went to ${vmStateName(vm)}${error ? `: ${error}` : ""}`;
}

function userTemplateText(vm: XmlElement, name: string): string | undefined {
    const userTemplate = child(vm, "USER_TEMPLATE");
    return userTemplate ? childText(userTemplate, name) : undefined;
}

/** Waits until the VM is RUNNING; a failure state, or the time running out, is an error saying where it got stuck. */
export function waitUntilRunning(client: OneClient, id: number, timeoutSeconds: number): Promise<XmlElement> {
    let last: XmlElement | undefined;
    return waitFor(
        async () => {
            last = await requireObject(client, "vm", id);
            const failure = vmFailure(last);
            if (failure) throw new Error(failure);
            return vmStateName(last) === "RUNNING" ? last : undefined;
        },
        { timeoutMs: timeoutSeconds * 1000, intervalMs: 100 },
        () => {
            const why = last && userTemplateText(last, "SCHED_MESSAGE");
            return new Error(`it was still ${last ? vmStateName(last) : "not RUNNING"}, not RUNNING, after ${timeoutSeconds} s${why ? ` (scheduler: ${why})` : ""}`);
        },
    );
}

/** Terminates the VM (`terminate-hard`) and waits until it is DONE; a VM already gone or DONE counts as terminated. */
export async function terminateVm(client: OneClient, id: number, timeoutSeconds: number): Promise<void> {
    try {
        await client.call("one.vm.action", "terminate-hard", id);
    } catch (err) {
        if (isOneError(err, OneErrorCode.NO_EXISTS)) return;
        // Refused in its current state: fine when it is DONE or already on its way there.
        if (!isOneError(err, OneErrorCode.ACTION)) throw err;
        if (isDone(await readObject(client, "vm", id))) return;
    }
    await waitUntilDone(client, id, timeoutSeconds);
}

/** Waits until the VM is DONE or gone. */
export function waitUntilDone(client: OneClient, id: number, timeoutSeconds: number): Promise<void> {
    return waitFor(
        async () => (isDone(await readObject(client, "vm", id)) ? true : undefined),
        { timeoutMs: timeoutSeconds * 1000, intervalMs: 100 },
        () => new Error(`virtual machine ${id} was asked to terminate but is not DONE after ${timeoutSeconds} s`),
    ).then(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// Reading a VM

function asList(value: TemplateValue | TemplateValue[] | undefined): TemplateVector[] {
    if (value === undefined) return [];
    return (Array.isArray(value) ? value : [value]).filter((v): v is TemplateVector => typeof v === "object");
}

/** The VM's NICs, in NIC_ID order. */
export function vmInterfaces(vm: XmlElement): VmNicOutput[] {
    return asList(templateOf(vm).NIC)
        .map((nic) => ({
            nicId: Number(nic.NIC_ID),
            name: nic.NAME ?? `NIC${nic.NIC_ID}`,
            networkId: Number(nic.NETWORK_ID),
            ip: nic.IP ?? "",
            mac: nic.MAC ?? "",
            ...(nic.EXTERNAL_PORT_RANGE !== undefined ? { externalPortRange: nic.EXTERNAL_PORT_RANGE } : {}),
            ...(nic.INTERNAL_PORT_RANGE !== undefined ? { internalPortRange: nic.INTERNAL_PORT_RANGE } : {}),
        }))
        .sort((a, b) => a.nicId - b.nicId);
}

function vmAliases(vm: XmlElement): VmNicAliasOutput[] {
    return asList(templateOf(vm).NIC_ALIAS).map((alias) => ({
        name: alias.NAME ?? "",
        parent: alias.PARENT ?? "",
        networkId: Number(alias.NETWORK_ID),
        ip: alias.IP ?? "",
        external: (alias.EXTERNAL ?? "").toUpperCase() === "YES",
    }));
}

/** The host of the VM's last history record: where it runs. */
function placement(vm: XmlElement): { hostId: number; hostName: string } {
    const history = child(vm, "HISTORY_RECORDS");
    const records = history ? children(history, "HISTORY") : [];
    const last = records[records.length - 1];
    return last ? { hostId: childInt(last, "HID") ?? -1, hostName: childText(last, "HOSTNAME") ?? "" } : { hostId: -1, hostName: "" };
}

function vmOutputs(vm: XmlElement, declared: VirtualMachineInputs): VirtualMachineOutputs {
    const interfaces = vmInterfaces(vm);
    return {
        ...declared,
        name: childText(vm, "NAME") ?? "",
        oneId: Number(childText(vm, "ID")),
        state: vmStateName(vm),
        interfaces,
        aliases: vmAliases(vm),
        ips: interfaces.map((nic) => nic.ip),
        ...placement(vm),
    };
}

// ---------------------------------------------------------------------------------------------
// check

function isIpv4(value: unknown): boolean {
    return typeof value === "string" && ipaddr.IPv4.isValidFourPartDecimal(value);
}

/** Normalizes NICs, recording failures per field. Shared with the virtual router, whose NICs have the same core. */
export function checkNics(failures: Failures, property: string, value: unknown): NicInput[] {
    if (value === undefined || value === null) return [];
    if (isUnknown(value)) return value as NicInput[];
    if (!Array.isArray(value)) {
        failures.add(property, `${property} must be a list of NICs such as { networkId: 0, ip?: "10.0.0.5" }`);
        return [];
    }
    return value.map((nic, i) => checkNic(failures, `${property}[${i}]`, nic));
}

function checkNic(failures: Failures, field: string, nic: unknown): NicInput {
    if (!nic || typeof nic !== "object" || Array.isArray(nic)) {
        failures.add(field, `${field} must be { networkId, ip?, attributes? }`);
        return { networkId: -1, attributes: {} };
    }
    const { networkId, ip, attributes } = nic as Record<string, unknown>;
    failures.id(`${field}.networkId`, networkId);
    if (ip !== undefined && !isUnknown(ip) && !isIpv4(ip)) failures.add(`${field}.ip`, `${field}.ip must be an IPv4 address (got ${JSON.stringify(ip)})`);
    const vector = (failures.template(`${field}.attributes`, attributes === undefined ? {} : { NIC: attributes }).NIC ?? {}) as TemplateVector;
    const reserved = ["NETWORK_ID", "NETWORK", "IP", "NAME"].filter((key) => !isUnknown(vector) && key in vector);
    if (reserved.length > 0) failures.add(`${field}.attributes`, `${field}.attributes must not set ${reserved.join(", ")}; use the NIC's own fields`);
    return ip === undefined ? { networkId: networkId as number, attributes: vector } : { networkId: networkId as number, ip: ip as string, attributes: vector };
}

function checkNicAliases(failures: Failures, value: unknown, nicCount: number | undefined): NicAliasInput[] {
    if (value === undefined || value === null) return [];
    if (isUnknown(value)) return value as NicAliasInput[];
    if (!Array.isArray(value)) {
        failures.add("nicAliases", `nicAliases must be a list such as { networkId: 1, parent: "NIC0", external: true }`);
        return [];
    }
    return value.map((alias, i) => {
        const field = `nicAliases[${i}]`;
        const { networkId, parent = "NIC0", external = true, ip } = (alias ?? {}) as Record<string, unknown>;
        failures.id(`${field}.networkId`, networkId);
        const index = typeof parent === "string" ? /^NIC(\d+)$/.exec(parent)?.[1] : undefined;
        if (!isUnknown(parent) && (index === undefined || (nicCount !== undefined && Number(index) >= nicCount))) {
            const allowed = nicCount === undefined ? "NIC<i>" : `one of ${Array.from({ length: nicCount }, (_, n) => `NIC${n}`).join(", ") || "(no NICs given)"}`;
            failures.add(`${field}.parent`, `${field}.parent must name one of the VM's NICs: ${allowed} (got ${JSON.stringify(parent)})`);
        }
        if (!isUnknown(external) && typeof external !== "boolean") failures.add(`${field}.external`, `${field}.external must be true or false`);
        if (ip !== undefined && !isUnknown(ip) && !isIpv4(ip)) failures.add(`${field}.ip`, `${field}.ip must be an IPv4 address (got ${JSON.stringify(ip)})`);
        const normalized: NicAliasInput = { networkId: networkId as number, parent: parent as string, external: external as boolean };
        if (ip !== undefined) normalized.ip = ip as string;
        return normalized;
    });
}

function checkVirtualMachine(news: Record<string, unknown>): pulumi.dynamic.CheckResult<VirtualMachineInputs> {
    const failures = new Failures();
    const nics = checkNics(failures, "nics", news.nics);
    const inputs: VirtualMachineInputs = {
        name: news.name as string,
        templateId: news.templateId as number,
        nics,
        nicAliases: checkNicAliases(failures, news.nicAliases, isUnknown(nics) || news.nics === undefined ? undefined : nics.length),
        template: failures.template("template", news.template),
        runningTimeoutSeconds: (news.runningTimeoutSeconds as number | undefined) ?? 600,
        connection: news.connection as ConnectionInputs | undefined,
    };
    failures.name("name", inputs.name);
    failures.id("templateId", inputs.templateId);
    if (!isUnknown(inputs.template)) {
        const misplaced = ["NAME", "NIC", "NIC_ALIAS"].filter((attribute) => attribute in inputs.template);
        if (misplaced.length > 0) failures.add("template", `template must not set ${misplaced.join(", ")}; use the name, nics and nicAliases arguments`);
    }
    if (!isUnknown(inputs.runningTimeoutSeconds) && !(inputs.runningTimeoutSeconds > 0)) {
        failures.add("runningTimeoutSeconds", `runningTimeoutSeconds must be a number > 0 (got ${JSON.stringify(inputs.runningTimeoutSeconds)})`);
    }
    failures.connection(news.connection);
    return { inputs, failures: failures.list };
}

// ---------------------------------------------------------------------------------------------
// create, update, delete

/** A NIC as OpenNebula's `NIC = [ … ]` vector. */
export function nicVector(nic: NicInput): TemplateVector {
    return { ...nic.attributes, NETWORK_ID: String(nic.networkId), ...(nic.ip !== undefined ? { IP: nic.ip } : {}) };
}

function aliasVector(alias: NicAliasInput): TemplateVector {
    return {
        NETWORK_ID: String(alias.networkId), PARENT: alias.parent,
        ...(alias.external ? { EXTERNAL: "YES" } : {}), ...(alias.ip !== undefined ? { IP: alias.ip } : {}),
    };
}

/** The extra template of `one.template.instantiate`: the declared attributes, NICs and aliases. */
function instantiateTemplate(inputs: VirtualMachineInputs): string {
    return renderTemplateXml({ ...inputs.template, NIC: inputs.nics.map(nicVector), NIC_ALIAS: inputs.nicAliases.map(aliasVector) });
}

async function createVirtualMachine(client: OneClient, inputs: VirtualMachineInputs): Promise<VirtualMachineOutputs> {
    // VM names are not unique, but after a failure that may have reached the server a VM of this name is ours.
    const id = await client.allocate(
        "one.template.instantiate", [inputs.templateId, inputs.name, false, instantiateTemplate(inputs), false],
        () => findByName(client, "vm", inputs.name),
    );
    try {
        return vmOutputs(await waitUntilRunning(client, id, inputs.runningTimeoutSeconds), inputs);
    } catch (err) {
        let cleanup = "it was terminated (terminate-hard) so nothing is left behind";
        try {
            await terminateVm(client, id, inputs.runningTimeoutSeconds);
        } catch (terminateError) {
            cleanup = `terminating it also failed (${(terminateError as Error).message}); terminate virtual machine ${id} by hand`;
        }
        throw new Error(`virtual machine ${id} (${inputs.name}) was created but ${(err as Error).message}; ${cleanup}`);
    }
}

async function updateVirtualMachine(
    client: OneClient, id: number, olds: VirtualMachineOutputs, news: VirtualMachineInputs,
): Promise<VirtualMachineOutputs> {
    let vm = await requireObject(client, "vm", id);
    if (childText(vm, "NAME") !== news.name) await client.call("one.vm.rename", id, news.name);
    if (RESUMABLE.includes(vmStateName(vm))) {
        await client.call("one.vm.action", "resume", id);
        vm = await waitUntilRunning(client, id, news.runningTimeoutSeconds);
    } else {
        vm = await requireObject(client, "vm", id);
    }
    return vmOutputs(vm, news);
}

function hasFixedAddress(inputs: Partial<VirtualMachineInputs>): boolean {
    return [...(inputs.nics ?? []), ...(inputs.nicAliases ?? [])].some((nic) => nic.ip !== undefined);
}

/**
 * Name and timeout change in place, and so does a VM found powered off, suspended, stopped or undeployed
 * (it is resumed); anything else replaces the VM. The old VM goes first when fixed addresses would clash.
 */
function diffVirtualMachine(olds: VirtualMachineOutputs, news: VirtualMachineInputs): pulumi.dynamic.DiffResult {
    const diff = diffProperties(olds as unknown as Record<string, unknown>, news as unknown as Record<string, unknown>, {
        replaceOn: ["templateId", "nics", "nicAliases", "template"],
        updateOn: ["name", "runningTimeoutSeconds"],
    });
    const replacing = (diff.replaces ?? []).length > 0;
    return {
        ...diff,
        changes: diff.changes || RESUMABLE.includes(olds.state),
        deleteBeforeReplace: replacing && (hasFixedAddress(olds) || hasFixedAddress(news)),
    };
}

/** The dynamic provider behind {@link VirtualMachine}. */
export const virtualMachineProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        return checkVirtualMachine(news);
    },
    async diff(_id, olds: VirtualMachineOutputs, news: VirtualMachineInputs) {
        return diffVirtualMachine(olds, news);
    },
    async create(inputs: VirtualMachineInputs) {
        const outs = await withClient(inputs.connection, (client) => createVirtualMachine(client, inputs));
        return { id: String(outs.oneId), outs };
    },
    async read(id, props: VirtualMachineOutputs) {
        const vm = await withClient(props.connection, (client) => readObject(client, "vm", Number(id)));
        return vm && !isDone(vm) ? { id, props: vmOutputs(vm, props) } : { id: "", props: {} };
    },
    async update(id, olds: VirtualMachineOutputs, news: VirtualMachineInputs) {
        return { outs: await withClient(news.connection, (client) => updateVirtualMachine(client, Number(id), olds, news)) };
    },
    async delete(id, props: VirtualMachineOutputs) {
        await withClient(props.connection, (client) => terminateVm(client, Number(id), props.runningTimeoutSeconds ?? 600));
    },
};

/**
 * A virtual machine instantiated from a VM template (`one.template.instantiate`), with NICs on given
 * networks and optional NIC aliases. Creation waits until it is RUNNING; a VM that fails or never
 * gets there is terminated (hard) again and the error says where it got stuck. Deletion is
 * `terminate-hard`, waiting for DONE. A rename is in place, and a VM found powered off or suspended
 * is resumed; other changes replace the VM.
 *
 * @example new VirtualMachine("alpine", { templateId: app.templateId, nics: [{ networkId: publicNetworkId }] })
 */
export class VirtualMachine extends pulumi.dynamic.Resource {
    /** The VM's OpenNebula ID. */
    declare readonly oneId: pulumi.Output<number>;
    declare readonly name: pulumi.Output<string>;
    /** `RUNNING`, or the state it was last found in (`POWEROFF` …). */
    declare readonly state: pulumi.Output<string>;
    /** Its NICs: network, address, MAC, and on port-forwarding networks the port ranges. */
    declare readonly interfaces: pulumi.Output<VmNicOutput[]>;
    /** Its NIC aliases. */
    declare readonly aliases: pulumi.Output<VmNicAliasOutput[]>;
    /** The NICs' addresses, in NIC order. */
    declare readonly ips: pulumi.Output<string[]>;
    /** The host it runs on. */
    declare readonly hostId: pulumi.Output<number>;
    /** The OpenNebula name of that host (its public IP for the hosts of this package). */
    declare readonly hostName: pulumi.Output<string>;

    constructor(name: string, args: VirtualMachineArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            name: args.name ?? name, templateId: args.templateId, nics: args.nics ?? [], nicAliases: args.nicAliases ?? [],
            template: args.template ?? {}, runningTimeoutSeconds: args.runningTimeoutSeconds, connection: args.connection,
            oneId: undefined, state: undefined, interfaces: undefined, aliases: undefined, ips: undefined, hostId: undefined, hostName: undefined,
        };
        super(virtualMachineProvider, name, props, keepConnectionSecret(opts), RESOURCE_MODULE, "VirtualMachine");
    }
}

// ---------------------------------------------------------------------------------------------
// onevm port-forward

/** Inputs of {@link vmPortForward}. */
export interface VmPortForwardQuery {
    /** Public IP of the host the VM runs on (for this package's hosts, the VM's `hostName`). */
    hostPublicIp: string;
    /** The VM's NIC on the port-forwarding network (an element of `interfaces`). */
    nic: Pick<VmNicOutput, "externalPortRange" | "internalPortRange">;
    /** The port inside the VM, e.g. 22. */
    internalPort: number;
}

/**
 * What `onevm port-forward <vm> <port>` answers: where a VM's internal TCP port is reached from
 * outside on a port-forwarding network, read from the NIC's `EXTERNAL_PORT_RANGE` (`9001:9100`) and
 * `INTERNAL_PORT_RANGE` (`1-100/9001`). With lease 0 of a range with PORT_START 9000, PORT_SIZE 100,
 * internal 22 is `<host>:9022` (`onevm port-forward` prints `<host>@9022 -> 22`).
 *
 * @throws Error naming the field: a NIC without port ranges (not on a port-forwarding network),
 *   ranges that do not agree, or a port outside the NIC's internal range.
 */
export function vmPortForward(query: VmPortForwardQuery): { host: string; port: number } {
    const external = /^(\d+):(\d+)$/.exec(query.nic?.externalPortRange ?? "");
    const internal = /^1-(\d+)\/(\d+)$/.exec(query.nic?.internalPortRange ?? "");
    if (!external || !internal) {
        throw new Error(`nic has no port ranges like EXTERNAL_PORT_RANGE "9001:9100" and INTERNAL_PORT_RANGE "1-100/9001" (got ${JSON.stringify(query.nic?.externalPortRange)}, ${JSON.stringify(query.nic?.internalPortRange)}): it is not on a port-forwarding network`);
    }
    const [first, last, size, start] = [external[1], external[2], internal[1], internal[2]].map(Number);
    if (first !== start || last - first + 1 !== size) {
        throw new Error(`nic.externalPortRange ${query.nic.externalPortRange} and nic.internalPortRange ${query.nic.internalPortRange} do not describe the same ports`);
    }
    // The NIC's range is lease 0 of a range starting one port before it.
    return portForward({ hostPublicIp: query.hostPublicIp, leaseIndex: 0, portStart: first - 1, portSize: size, internalPort: query.internalPort });
}
