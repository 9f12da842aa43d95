import type * as pulumi from "@pulumi/pulumi";
import type { OneClient } from "../client";
import {
    CREATION_TOKEN,
    allocateOwn,
    creationTokenOf,
    deleteObject,
    readObject,
    renameObject,
    requireObject,
    templateOf,
} from "../objects";
import type { Template, TemplateVector } from "../template";
import { renderTemplateXml } from "../template";
import type { VmNicOutput } from "../vm-lifecycle";
import { terminateVm, vectorsOf, vmInterfaces, vmStateName, waitUntilRunning } from "../vm-lifecycle";
import type { XmlElement } from "../xml";
import { childText, idList } from "../xml";
import { defineResource } from "./define";
import type { CommonOutputs, Failures, NamedInputs, OneResourceArgs } from "./provider-kit";
import { completeOrRollBack, isUnknown } from "./provider-kit";
import type { TemplateArgs } from "./resource-options";
import type { NicInput, VirtualMachineNicArgs } from "./nics";
import { checkNics, nicVector } from "./nics";

/** A NIC of a {@link VirtualRouter}: every VM of the router gets it. */
export interface VirtualRouterNicArgs extends VirtualMachineNicArgs {
    /** `FLOATING_IP = "YES"`: the router itself leases an address (`ip` when given) that keepalived moves between its VMs. Default false. */
    floatingIp?: pulumi.Input<boolean>;
    /** `FLOATING_ONLY = "YES"` (with `floatingIp`): the VMs get no address of their own on this NIC. Default false. */
    floatingOnly?: pulumi.Input<boolean>;
    /** `VROUTER_MANAGEMENT = "YES"`: a management NIC, on which the appliance runs no network function. Default false. */
    management?: pulumi.Input<boolean>;
}

/** A router NIC as given, normalized: every flag set. */
type RouterNicInput = NicInput & Required<pulumi.Unwrap<Pick<VirtualRouterNicArgs, "floatingIp" | "floatingOnly" | "management">>>;

/** Arguments of {@link VirtualRouter}. */
export interface VirtualRouterArgs extends OneResourceArgs {
    /** Router name (not unique in OpenNebula). Default: the resource name. */
    name?: pulumi.Input<string>;
    /** The NICs, in order: NIC 0 is `eth0` inside the appliance, NIC 1 `eth1` … At least one. Required. */
    nics: pulumi.Input<pulumi.Input<VirtualRouterNicArgs>[]>;
    /** The virtual router VM template (one with `VROUTER = "YES"`, e.g. from the "Service Virtual Router" app). Required. */
    templateId: pulumi.Input<number>;
    /** How many VMs run the router (2 or more for keepalived HA, which needs floating IPs). Changed in place. Default 1. */
    vmCount?: pulumi.Input<number>;
    /** Name of the VMs; `%i` is replaced by the VM's index. Default: OpenNebula's `vr-<router name>-%i`. */
    vmName?: pulumi.Input<string>;
    /**
     * Context variables merged into the VM template's CONTEXT (the appliance's switches, e.g.
     * `ONEAPP_VNF_SDNAT4_ENABLED`), keeping the template's other context. Default none.
     */
    context?: pulumi.Input<{ [key: string]: pulumi.Input<string> }>;
    /** Other attributes for the router's VMs (not CONTEXT, NIC or NAME), e.g. `MEMORY`, `SCHED_REQUIREMENTS`. Default none. */
    vmTemplate?: pulumi.Input<TemplateArgs>;
    /** Attributes of the router object itself, e.g. `KEEPALIVED_ID`, `DESCRIPTION`. Default none. */
    template?: pulumi.Input<TemplateArgs>;
    /** How long to wait for the VMs to be RUNNING (and DONE on delete), in seconds. Default 600. */
    runningTimeoutSeconds?: pulumi.Input<number>;
}

interface VirtualRouterInputs extends NamedInputs {
    nics: RouterNicInput[];
    templateId: number;
    vmCount: number;
    vmName: string;
    context: Record<string, string>;
    vmTemplate: Template;
    runningTimeoutSeconds: number;
}

/** One VM of the router as last read. */
export interface RouterVmOutput {
    vmId: number;
    name: string;
    state: string;
    interfaces: VmNicOutput[];
}

interface VirtualRouterOutputs extends VirtualRouterInputs, CommonOutputs {
    /** The router's VMs. */
    vms: RouterVmOutput[];
    /** The first VM's NIC addresses, in NIC order (NIC 0 → `eth0` …). */
    ips: string[];
    /** The floating addresses the router holds, by NIC index ("" for NICs without one). */
    floatingIps: string[];
}

const MAX_VMS = 10;

// ---------------------------------------------------------------------------------------------
// check

function checkRouterNics(failures: Failures, value: unknown): RouterNicInput[] {
    const nics = checkNics(failures, "nics", value);
    if (isUnknown(nics)) return nics as RouterNicInput[];
    if (nics.length === 0 && (value === undefined || Array.isArray(value)))
        failures.add("nics", "nics must list at least one NIC { networkId, ip? }");
    return nics.map((nic, i) => {
        const raw = (value as Record<string, unknown>[])[i] ?? {};
        const flag = (key: "floatingIp" | "floatingOnly" | "management"): boolean => {
            const v = raw[key];
            if (v !== undefined && !isUnknown(v) && typeof v !== "boolean")
                failures.add(`nics[${i}].${key}`, `nics[${i}].${key} must be true or false`);
            return v === true;
        };
        const routerNic = { ...nic, floatingIp: flag("floatingIp"), floatingOnly: flag("floatingOnly"), management: flag("management") };
        if (routerNic.floatingOnly && !routerNic.floatingIp)
            failures.add(`nics[${i}].floatingOnly`, `nics[${i}].floatingOnly needs floatingIp: true`);
        return routerNic;
    });
}

function checkContext(failures: Failures, value: unknown): Record<string, string> {
    if (value === undefined || value === null) return {};
    if (isUnknown(value)) return value as Record<string, string>;
    const normalized = failures.template("context", { CONTEXT: value as Record<string, string> }).CONTEXT;
    return (normalized ?? {}) as TemplateVector;
}

function checkVirtualRouter(news: Record<string, unknown>, failures: Failures): VirtualRouterInputs {
    const inputs: VirtualRouterInputs = {
        name: news.name as string,
        nics: checkRouterNics(failures, news.nics),
        templateId: news.templateId as number,
        vmCount: (news.vmCount as number | undefined) ?? 1,
        vmName: (news.vmName as string | undefined) ?? "",
        context: checkContext(failures, news.context),
        vmTemplate: failures.template("vmTemplate", news.vmTemplate),
        template: failures.template("template", news.template),
        runningTimeoutSeconds: (news.runningTimeoutSeconds as number | undefined) ?? 600,
    };
    failures.name("name", inputs.name);
    failures.id("templateId", inputs.templateId);
    if (!isUnknown(inputs.vmCount) && !(Number.isInteger(inputs.vmCount) && inputs.vmCount >= 1 && inputs.vmCount <= MAX_VMS)) {
        failures.add("vmCount", `vmCount must be an integer from 1 to ${MAX_VMS} (got ${JSON.stringify(inputs.vmCount)})`);
    }
    if (inputs.vmName !== "") failures.name("vmName", inputs.vmName);
    rejectAttributes(failures, "vmTemplate", inputs.vmTemplate, { CONTEXT: "context", NIC: "nics", NAME: "vmName" });
    rejectAttributes(failures, "template", inputs.template, { NIC: "nics", NAME: "name", TEMPLATE_ID: "templateId" });
    failures.seconds("runningTimeoutSeconds", inputs.runningTimeoutSeconds);
    return inputs;
}

function rejectAttributes(failures: Failures, property: string, template: Template, owners: Record<string, string>): void {
    if (isUnknown(template)) return;
    for (const [attribute, argument] of Object.entries(owners)) {
        if (attribute in template) failures.add(property, `${property} must not set ${attribute}; use the ${argument} argument`);
    }
}

// ---------------------------------------------------------------------------------------------
// create, read, update, delete

function routerNicVector(nic: RouterNicInput): TemplateVector {
    return {
        ...nicVector(nic),
        ...(nic.floatingIp ? { FLOATING_IP: "YES" } : {}),
        ...(nic.floatingOnly ? { FLOATING_ONLY: "YES" } : {}),
        ...(nic.management ? { VROUTER_MANAGEMENT: "YES" } : {}),
    };
}

/** The extra template of `one.vrouter.instantiate`: the VM attributes and the template's CONTEXT with `context` merged in. */
async function instantiateTemplate(client: OneClient, inputs: VirtualRouterInputs): Promise<string> {
    let extra: Template = inputs.vmTemplate;
    if (Object.keys(inputs.context).length > 0) {
        const current = templateOf(await requireObject(client, "vmtemplate", inputs.templateId)).CONTEXT;
        const base = current !== undefined && !Array.isArray(current) && typeof current === "object" ? current : {};
        extra = { ...extra, CONTEXT: { ...base, ...inputs.context } };
    }
    return renderTemplateXml(extra);
}

/** Starts `count` more VMs of the router. Not repeated blindly: after a failure that may have reached the server, VMs already there count. */
async function instantiate(client: OneClient, id: number, inputs: VirtualRouterInputs, count: number, before: number[]): Promise<void> {
    const extra = await instantiateTemplate(client, inputs);
    await client.allocate("one.vrouter.instantiate", [id, count, inputs.templateId, inputs.vmName, false, extra], async () =>
        idList(await requireObject(client, "vrouter", id), "VMS").length > before.length ? id : undefined,
    );
}

/** Waits for every VM of the router to be RUNNING; returns the router and its VMs as then read. */
async function runningVms(client: OneClient, id: number, timeoutSeconds: number): Promise<{ router: XmlElement; vms: XmlElement[] }> {
    const router = await requireObject(client, "vrouter", id);
    const vms = await Promise.all(
        idList(router, "VMS").map((vmId) =>
            waitUntilRunning(client, vmId, timeoutSeconds).catch((err: Error) => {
                throw new Error(`its virtual machine ${vmId} ${err.message.replace(/^it /, "")}`);
            }),
        ),
    );
    return { router, vms };
}

/** The outputs as OpenNebula holds the router and its VMs; `declared` undefined reads them as an import would. */
function routerOutputs(router: XmlElement, vms: XmlElement[], declared: VirtualRouterInputs | undefined): VirtualRouterOutputs {
    const vmOutputs = vms.map((vm) => ({
        vmId: Number(childText(vm, "ID")),
        name: childText(vm, "NAME") ?? "",
        state: vmStateName(vm),
        interfaces: vmInterfaces(vm),
    }));
    const nics = vectorsOf(templateOf(router).NIC);
    return {
        ...(declared ?? importedInputs(router, vms.length)),
        name: childText(router, "NAME") ?? "",
        oneId: Number(childText(router, "ID")),
        creationToken: creationTokenOf(router) ?? "",
        vms: vmOutputs,
        ips: vmOutputs[0]?.interfaces.map((nic) => nic.ip) ?? [],
        floatingIps: nics.map((nic) => nic.VROUTER_IP ?? ""),
    };
}

/**
 * The inputs a program would declare for a router read with only its ID (an import): its VM template,
 * NICs (without addresses OpenNebula chose) and number of VMs; context and templates as not declared.
 */
function importedInputs(router: XmlElement, vmCount: number): VirtualRouterInputs {
    const yes = (value: string | undefined) => (value ?? "").toUpperCase() === "YES";
    return {
        name: childText(router, "NAME") ?? "",
        nics: vectorsOf(templateOf(router).NIC).map((nic) => ({
            networkId: Number(nic.NETWORK_ID),
            attributes: {},
            floatingIp: yes(nic.FLOATING_IP),
            floatingOnly: yes(nic.FLOATING_ONLY),
            management: yes(nic.VROUTER_MANAGEMENT),
        })),
        templateId: Number(templateOf(router).TEMPLATE_ID ?? -1),
        vmCount: Math.max(vmCount, 1),
        vmName: "",
        context: {},
        vmTemplate: {},
        template: {},
        runningTimeoutSeconds: 600,
    };
}

/** The router and its VMs that are not DONE. */
async function readRouter(client: OneClient, id: number): Promise<{ router: XmlElement; vms: XmlElement[] } | undefined> {
    const router = await readObject(client, "vrouter", id);
    if (!router) return undefined;
    const vms = await Promise.all(idList(router, "VMS").map((vmId) => readObject(client, "vm", vmId)));
    return { router, vms: vms.filter((vm): vm is XmlElement => !!vm && vmStateName(vm) !== "DONE") };
}

async function createVirtualRouter(client: OneClient, inputs: VirtualRouterInputs, token: string): Promise<VirtualRouterOutputs> {
    const template = renderTemplateXml({
        ...inputs.template,
        NAME: inputs.name,
        NIC: inputs.nics.map(routerNicVector),
        [CREATION_TOKEN]: token,
    });
    // Router names are not unique: after an answer that was lost, only a router carrying this creation's token is ours.
    const id = await allocateOwn(client, "vrouter", inputs.name, [template], token);
    return completeOrRollBack(
        { id, subject: `virtual router ${id}`, undone: "deleted again with its VMs" },
        async () => {
            await instantiate(client, id, inputs, inputs.vmCount, []);
            const { router, vms } = await runningVms(client, id, inputs.runningTimeoutSeconds);
            return routerOutputs(router, vms, inputs);
        },
        () => deleteRouter(client, id, inputs.runningTimeoutSeconds),
        () => ({ ...inputs, oneId: id, creationToken: token, vms: [], ips: [], floatingIps: [] }),
    );
}

/** Renames, and brings the number of running VMs to `vmCount`: starts missing ones, terminates the last extra ones. */
async function updateVirtualRouter(client: OneClient, id: number, news: VirtualRouterInputs): Promise<VirtualRouterOutputs> {
    const current = await readRouter(client, id);
    if (!current) throw new Error(`virtual router ${id} no longer exists in OpenNebula`);
    if (childText(current.router, "NAME") !== news.name) await renameObject(client, "vrouter", id, news.name);
    const vmIds = current.vms.map((vm) => Number(childText(vm, "ID")));
    if (vmIds.length < news.vmCount) await instantiate(client, id, news, news.vmCount - vmIds.length, vmIds);
    for (const extra of vmIds.slice(news.vmCount)) await terminateVm(client, extra, news.runningTimeoutSeconds);
    const { router, vms } = await runningVms(client, id, news.runningTimeoutSeconds);
    return routerOutputs(router, vms, news);
}

/**
 * Deletes the router, which frees its leases and has OpenNebula terminate its VMs, and waits until
 * those VMs are DONE (terminating any that OpenNebula left running).
 */
async function deleteRouter(client: OneClient, id: number, timeoutSeconds: number): Promise<void> {
    const router = await readObject(client, "vrouter", id);
    if (!router) return;
    await deleteObject(client, "vrouter", id);
    for (const vmId of idList(router, "VMS")) await terminateVm(client, vmId, timeoutSeconds);
}

/**
 * NICs, templates and the VM name replace the router (NICs can only change by hot-plug otherwise);
 * the name and the number of VMs change in place, and so does a VM that disappeared (it is started
 * again). The old router goes first: its fixed addresses would clash with the new one's.
 */
function diffVirtualRouter(
    olds: VirtualRouterOutputs,
    _news: VirtualRouterInputs,
    diff: pulumi.dynamic.DiffResult,
): pulumi.dynamic.DiffResult {
    const vmsMissing = Array.isArray(olds.vms) && olds.vms.length !== olds.vmCount;
    return { ...diff, changes: diff.changes || vmsMissing, deleteBeforeReplace: (diff.replaces ?? []).length > 0 };
}

const virtualRouter = defineResource<VirtualRouterArgs, VirtualRouterInputs, VirtualRouterOutputs>({
    type: "VirtualRouter",
    inputs: ["name", "nics", "templateId", "vmCount", "vmName", "context", "vmTemplate", "template", "runningTimeoutSeconds"],
    defaults: { context: {}, vmTemplate: {} },
    replaceOn: ["nics", "templateId", "vmName", "context", "vmTemplate", "template"],
    outputs: ["oneId", "creationToken", "vms", "ips", "floatingIps"],
    check: checkVirtualRouter,
    create: createVirtualRouter,
    read: async (client, id, olds) => {
        const current = await readRouter(client, Number(id));
        return current && routerOutputs(current.router, current.vms, olds);
    },
    update: (client, id, _olds, news) => updateVirtualRouter(client, Number(id), news),
    delete: (client, id, olds) => deleteRouter(client, Number(id), olds.runningTimeoutSeconds ?? 600),
    diff: diffVirtualRouter,
});

/** The dynamic provider behind {@link VirtualRouter}. */
export const virtualRouterProvider = virtualRouter.provider;

/**
 * An OpenNebula virtual router (`one.vrouter.*`): the router object with its NICs, and `vmCount` VMs
 * instantiated from a virtual router VM template, each with a copy of the NICs. Creation waits until
 * every VM is RUNNING; a router whose VMs fail is deleted again (with its VMs) and the error says
 * which VM got stuck where. Deleting it terminates its VMs and frees its leases.
 *
 * @example new VirtualRouter("vr", { templateId, nics: [{ networkId: publicId }, { networkId: privateId, ip: "172.17.2.1" }] })
 */
export class VirtualRouter extends virtualRouter.Resource {}
