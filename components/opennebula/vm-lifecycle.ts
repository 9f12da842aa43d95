/**
 * A virtual machine's life as OpenNebula runs it, shared by the VirtualMachine and VirtualRouter
 * resources: its state name, waiting until it is RUNNING (through PENDING, PROLOG and BOOT, which
 * on a real front-end takes several polls), terminating it, and reading its NICs.
 */
import type { OneClient } from "./client";
import { OneErrorCode, isOneError } from "./errors";
import { readObject, requireObject, templateOf, waitFor } from "./objects";
import { LCM_FAILURE_NAMES, LcmState, VM_STATE_NAMES, VmState } from "./states";
import type { TemplateValue, TemplateVector } from "./template";
import type { XmlElement } from "./xml";
import { child, childInt, childText } from "./xml";

/** States a `resume` brings back to RUNNING. */
export const RESUMABLE_STATES = ["POWEROFF", "SUSPENDED", "STOPPED", "UNDEPLOYED"];

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

/** `RUNNING`, `PENDING`, `POWEROFF`, `BOOT_FAILURE` …: the STATE, or the LCM state for an ACTIVE VM. */
export function vmStateName(vm: XmlElement): string {
    const state = childInt(vm, "STATE") ?? -1;
    if (state !== VmState.ACTIVE) return VM_STATE_NAMES[state] || `STATE ${state}`;
    const lcm = childInt(vm, "LCM_STATE") ?? -1;
    if (lcm === LcmState.RUNNING) return "RUNNING";
    if (lcm === LcmState.PROLOG) return "PROLOG";
    if (lcm === LcmState.BOOT) return "BOOT";
    return LCM_FAILURE_NAMES[lcm] ?? `ACTIVE (LCM_STATE ${lcm})`;
}

/** Whether the VM is gone or DONE. */
export function isDone(vm: XmlElement | undefined): boolean {
    return !vm || childInt(vm, "STATE") === VmState.DONE;
}

/** Whether the VM is in a state it will not leave by itself towards RUNNING (DONE, CLONING_FAILURE, a `*_FAILURE`). */
export function isFailedState(stateName: string): boolean {
    return stateName === "DONE" || stateName === "CLONING_FAILURE" || stateName.endsWith("_FAILURE");
}

/** Why the VM will not get to RUNNING by itself, or undefined. */
function vmFailure(vm: XmlElement): string | undefined {
    if (!isFailedState(vmStateName(vm))) return undefined;
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
            return new Error(
                `it was still ${last ? vmStateName(last) : "not RUNNING"}, not RUNNING, after ${timeoutSeconds} s${why ? ` (scheduler: ${why})` : ""}`,
            );
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
    await waitFor(
        async () => (isDone(await readObject(client, "vm", id)) ? true : undefined),
        { timeoutMs: timeoutSeconds * 1000, intervalMs: 100 },
        () => new Error(`virtual machine ${id} was asked to terminate but is not DONE after ${timeoutSeconds} s`),
    );
}

/** A template attribute's values as vectors (a single vector, a list, or none). */
export function vectorsOf(value: TemplateValue | TemplateValue[] | undefined): TemplateVector[] {
    if (value === undefined) return [];
    return (Array.isArray(value) ? value : [value]).filter((v): v is TemplateVector => typeof v === "object");
}

/** The VM's NICs, in NIC_ID order. */
export function vmInterfaces(vm: XmlElement): VmNicOutput[] {
    return vectorsOf(templateOf(vm).NIC)
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
