import type * as pulumi from "@pulumi/pulumi";
import type { OneClient } from "../client";
import { CREATION_TOKEN, creationTokenOf, findOwn, readObject, requireObject, templateOf } from "../objects";
import { portForward } from "../port-forward";
import type { TemplateVector } from "../template";
import { renderTemplateXml } from "../template";
import {
    RESUMABLE_STATES,
    VmNicOutput,
    isDone,
    isFailedState,
    terminateVm,
    vectorsOf,
    vmInterfaces,
    vmStateName,
    waitUntilRunning,
} from "../vm-lifecycle";
import type { XmlElement } from "../xml";
import { child, childInt, childText, children } from "../xml";
import { defineResource } from "./define";
import { isIpv4 } from "./address-ranges";
import type { NicInput } from "./nics";
import { VirtualMachineNicArgs, checkNics, nicVector } from "./nics";
import type { CommonOutputs, Failures, NamedInputs, OneResourceArgs } from "./provider-kit";
import { completeOrRollBack, isUnknown } from "./provider-kit";
import type { TemplateArgs } from "./resource-options";

export { VirtualMachineNicArgs, VmNicOutput };

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
export interface VirtualMachineArgs extends OneResourceArgs {
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
}

/** A NIC alias as given, normalized. */
interface NicAliasInput {
    networkId: number;
    parent: string;
    external: boolean;
    ip?: string;
}

interface VirtualMachineInputs extends NamedInputs {
    templateId: number;
    nics: NicInput[];
    nicAliases: NicAliasInput[];
    runningTimeoutSeconds: number;
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
// Reading a VM

function vmAliases(vm: XmlElement): VmNicAliasOutput[] {
    return vectorsOf(templateOf(vm).NIC_ALIAS).map((alias) => ({
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

/** The outputs as OpenNebula holds the VM; `declared` undefined reads it as an import would. */
function vmOutputs(vm: XmlElement, declared: VirtualMachineInputs | undefined): VirtualMachineOutputs {
    const interfaces = vmInterfaces(vm);
    return {
        ...(declared ?? importedInputs(vm)),
        name: childText(vm, "NAME") ?? "",
        oneId: Number(childText(vm, "ID")),
        creationToken: creationTokenOf(vm) ?? "",
        state: vmStateName(vm),
        interfaces,
        aliases: vmAliases(vm),
        ips: interfaces.map((nic) => nic.ip),
        ...placement(vm),
    };
}

/**
 * The inputs a program would declare for a VM read with only its ID (an import): its template and
 * networks, without the addresses OpenNebula chose and without attributes merged into the template.
 */
function importedInputs(vm: XmlElement): VirtualMachineInputs {
    return {
        name: childText(vm, "NAME") ?? "",
        templateId: Number(templateOf(vm).TEMPLATE_ID ?? -1),
        nics: vmInterfaces(vm).map((nic) => ({ networkId: nic.networkId, attributes: {} })),
        nicAliases: vmAliases(vm).map((alias) => ({ networkId: alias.networkId, parent: alias.parent, external: alias.external })),
        template: {},
        runningTimeoutSeconds: 600,
    };
}

// ---------------------------------------------------------------------------------------------
// check

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
            const allowed =
                nicCount === undefined
                    ? "NIC<i>"
                    : `one of ${Array.from({ length: nicCount }, (_, n) => `NIC${n}`).join(", ") || "(no NICs given)"}`;
            failures.add(`${field}.parent`, `${field}.parent must name one of the VM's NICs: ${allowed} (got ${JSON.stringify(parent)})`);
        }
        if (!isUnknown(external) && typeof external !== "boolean")
            failures.add(`${field}.external`, `${field}.external must be true or false`);
        if (ip !== undefined && !isUnknown(ip) && !isIpv4(ip))
            failures.add(`${field}.ip`, `${field}.ip must be an IPv4 address (got ${JSON.stringify(ip)})`);
        const normalized: NicAliasInput = { networkId: networkId as number, parent: parent as string, external: external as boolean };
        if (ip !== undefined) normalized.ip = ip as string;
        return normalized;
    });
}

function checkVirtualMachine(news: Record<string, unknown>, failures: Failures): VirtualMachineInputs {
    const nics = checkNics(failures, "nics", news.nics);
    const inputs: VirtualMachineInputs = {
        name: news.name as string,
        templateId: news.templateId as number,
        nics,
        nicAliases: checkNicAliases(failures, news.nicAliases, isUnknown(nics) || news.nics === undefined ? undefined : nics.length),
        template: failures.template("template", news.template),
        runningTimeoutSeconds: (news.runningTimeoutSeconds as number | undefined) ?? 600,
    };
    failures.name("name", inputs.name);
    failures.id("templateId", inputs.templateId);
    if (!isUnknown(inputs.template)) {
        const misplaced = ["NAME", "NIC", "NIC_ALIAS"].filter((attribute) => attribute in inputs.template);
        if (misplaced.length > 0)
            failures.add("template", `template must not set ${misplaced.join(", ")}; use the name, nics and nicAliases arguments`);
    }
    failures.seconds("runningTimeoutSeconds", inputs.runningTimeoutSeconds);
    return inputs;
}

// ---------------------------------------------------------------------------------------------
// create, update, delete

/** The state recorded for a VM whose create could not finish (partial state): the next update waits for it. */
const UNFINISHED = "UNFINISHED";

function aliasVector(alias: NicAliasInput): TemplateVector {
    return {
        NETWORK_ID: String(alias.networkId),
        PARENT: alias.parent,
        ...(alias.external ? { EXTERNAL: "YES" } : {}),
        ...(alias.ip !== undefined ? { IP: alias.ip } : {}),
    };
}

/** The extra template of `one.template.instantiate`: the declared attributes, NICs, aliases and the creation token. */
function instantiateTemplate(inputs: VirtualMachineInputs, token: string): string {
    return renderTemplateXml({
        ...inputs.template,
        NIC: inputs.nics.map(nicVector),
        NIC_ALIAS: inputs.nicAliases.map(aliasVector),
        [CREATION_TOKEN]: token,
    });
}

async function createVirtualMachine(client: OneClient, inputs: VirtualMachineInputs, token: string): Promise<VirtualMachineOutputs> {
    // VM names are not unique: after an answer that was lost, only a VM carrying this creation's token is ours.
    const id = await client.allocate(
        "one.template.instantiate",
        [inputs.templateId, inputs.name, false, instantiateTemplate(inputs, token), false],
        () => findOwn(client, "vm", inputs.name, token),
    );
    return completeOrRollBack(
        { id, subject: `virtual machine ${id} (${inputs.name})`, undone: "terminated (terminate-hard)" },
        async () => vmOutputs(await waitUntilRunning(client, id, inputs.runningTimeoutSeconds), inputs),
        () => terminateVm(client, id, inputs.runningTimeoutSeconds),
        () => ({
            ...inputs,
            oneId: id,
            creationToken: token,
            state: UNFINISHED,
            interfaces: [],
            aliases: [],
            ips: [],
            hostId: -1,
            hostName: "",
        }),
    );
}

/**
 * Renames; resumes a VM found powered off, suspended, stopped or undeployed; and waits for one still
 * on its way to RUNNING (left by a create that could not finish). A failed VM is reported as it is:
 * the next diff replaces it.
 */
async function updateVirtualMachine(client: OneClient, id: number, news: VirtualMachineInputs): Promise<VirtualMachineOutputs> {
    let vm = await requireObject(client, "vm", id);
    if (childText(vm, "NAME") !== news.name) await client.call("one.vm.rename", id, news.name);
    const state = vmStateName(vm);
    if (RESUMABLE_STATES.includes(state)) {
        await client.call("one.vm.action", "resume", id);
        vm = await waitUntilRunning(client, id, news.runningTimeoutSeconds);
    } else if (state !== "RUNNING" && !isFailedState(state)) {
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
 * Name and timeout change in place, and so does a VM found powered off, suspended, stopped or
 * undeployed (it is resumed) or left by a create that could not finish (it is waited for); a VM
 * found failed is replaced, and so is one whose other inputs change. The old VM goes first when
 * fixed addresses would clash.
 */
function diffVirtualMachine(
    olds: VirtualMachineOutputs,
    news: VirtualMachineInputs,
    diff: pulumi.dynamic.DiffResult,
): pulumi.dynamic.DiffResult {
    const failed = isFailedState(olds.state);
    const replaces = [...(diff.replaces ?? []), ...(failed ? ["state"] : [])];
    const unfinished = olds.state === UNFINISHED || RESUMABLE_STATES.includes(olds.state);
    return {
        changes: diff.changes || failed || unfinished,
        replaces,
        deleteBeforeReplace: replaces.length > 0 && (hasFixedAddress(olds) || hasFixedAddress(news)),
    };
}

const virtualMachine = defineResource<VirtualMachineArgs, VirtualMachineInputs, VirtualMachineOutputs>({
    type: "VirtualMachine",
    inputs: ["name", "templateId", "nics", "nicAliases", "template", "runningTimeoutSeconds"],
    defaults: { nics: [], nicAliases: [] },
    replaceOn: ["templateId", "nics", "nicAliases", "template"],
    outputs: ["oneId", "creationToken", "state", "interfaces", "aliases", "ips", "hostId", "hostName"],
    check: checkVirtualMachine,
    create: createVirtualMachine,
    read: async (client, id, olds) => {
        const vm = await readObject(client, "vm", Number(id));
        return vm && !isDone(vm) ? vmOutputs(vm, olds) : undefined;
    },
    update: (client, id, _olds, news) => updateVirtualMachine(client, Number(id), news),
    delete: (client, id, olds) => terminateVm(client, Number(id), olds.runningTimeoutSeconds ?? 600),
    diff: diffVirtualMachine,
});

/** The dynamic provider behind {@link VirtualMachine}. */
export const virtualMachineProvider = virtualMachine.provider;

/**
 * A virtual machine instantiated from a VM template (`one.template.instantiate`), with NICs on given
 * networks and optional NIC aliases. Creation waits until it is RUNNING; a VM that fails or never
 * gets there is terminated (hard) again and the error says where it got stuck. Deletion is
 * `terminate-hard`, waiting for DONE. A rename is in place, and a VM found powered off or suspended
 * is resumed; other changes replace the VM.
 *
 * @example new VirtualMachine("alpine", { templateId: app.templateId, nics: [{ networkId: publicNetworkId }] })
 */
export class VirtualMachine extends virtualMachine.Resource {}

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
        throw new Error(
            `nic has no port ranges like EXTERNAL_PORT_RANGE "9001:9100" and INTERNAL_PORT_RANGE "1-100/9001" (got ${JSON.stringify(query.nic?.externalPortRange)}, ${JSON.stringify(query.nic?.internalPortRange)}): it is not on a port-forwarding network`,
        );
    }
    const [first, last, size, start] = [external[1], external[2], internal[1], internal[2]].map(Number);
    if (first !== start || last - first + 1 !== size) {
        throw new Error(
            `nic.externalPortRange ${query.nic.externalPortRange} and nic.internalPortRange ${query.nic.internalPortRange} do not describe the same ports`,
        );
    }
    // The NIC's range is lease 0 of a range starting one port before it.
    return portForward({
        hostPublicIp: query.hostPublicIp,
        leaseIndex: 0,
        portStart: first - 1,
        portSize: size,
        internalPort: query.internalPort,
    });
}
