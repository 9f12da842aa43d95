/**
 * `one.host.*` and `one.hostpool.info`. A new or re-enabled host is INIT until "monitoring" runs
 * `hostMonitorMs` later: then MONITORED with capacity, or ERROR with `TEMPLATE/ERROR` when its name
 * starts with "unreachable".
 */
import { internal } from "./errors";
import type { HostObject } from "./objects";
import { HostState } from "./objects";
import type { MethodTable } from "./methods";
import { clusterArgument, infoMethod, renameMethod, unfilteredPoolInfo, updateMethod } from "./methods";
import { hostnameError, nameError, versionAtLeast } from "./names";
import type { Params } from "./params";
import { OneTemplate } from "./template";
import type { World } from "./world";
import { logTime } from "./world";
import { element, idCollection, textElement } from "./xml";

/** Capacity a monitored double host reports: 2 CPUs, 8 GiB (in KiB, as oned counts memory). */
const CAPACITY = { cpu: 200, memKb: 8 * 1024 * 1024 };

/** Host names starting with this never pass monitoring. */
export const UNREACHABLE_PREFIX = "unreachable";

/** Registers the host methods. */
export function registerHostMethods(world: World, methods: MethodTable): void {
    const pool = world.hosts;
    const render = (h: HostObject) => hostXml(world, h);
    methods.define("one.host.allocate", (params) => allocate(world, params));
    methods.define("one.host.delete", (params) => remove(world, params.int(1)));
    methods.define("one.host.status", (params) => setStatus(world, params.int(1), params.int(2)));
    methods.define("one.host.info", infoMethod(pool, render));
    methods.define("one.host.update", updateMethod(pool, applyTemplate, undefined, { dropsCdataEnd: true }));
    methods.define("one.host.rename", renameMethod(pool));
    methods.define("one.hostpool.info", unfilteredPoolInfo("HOST_POOL", pool, render));
}

/** `<HOST>` in §6 order. */
export function hostXml(world: World, h: HostObject): string {
    const clusterName = world.clusters.find(h.clusterId)?.name ?? "";
    return element(
        "HOST",
        element("ID", h.id) +
            element("NAME", h.name) +
            element("STATE", h.state) +
            element("PREV_STATE", h.state) +
            textElement("IM_MAD", h.imMad) +
            textElement("VM_MAD", h.vmMad) +
            element("CLUSTER_ID", h.clusterId) +
            element("CLUSTER", clusterName) +
            hostShareXml(h) +
            idCollection("VMS", []) +
            h.template.toXml() +
            "<MONITORING/>",
    );
}

function hostShareXml(h: HostObject): string {
    const cpu = h.hasCapacity ? CAPACITY.cpu : 0;
    const mem = h.hasCapacity ? CAPACITY.memKb : 0;
    const datastores = element("DISK_USAGE", 0) + element("FREE_DISK", 0) + element("MAX_DISK", 0) + element("USED_DISK", 0);
    return element(
        "HOST_SHARE",
        element("MEM_USAGE", 0) +
            element("CPU_USAGE", 0) +
            element("TOTAL_MEM", mem) +
            element("TOTAL_CPU", cpu) +
            element("MAX_MEM", mem) +
            element("MAX_CPU", cpu) +
            element("RUNNING_VMS", 0) +
            element("VMS_THREAD", 0) +
            element("DATASTORES", datastores) +
            "<PCI_DEVICES/><NUMA_NODES/>",
    );
}

/**
 * `one.host.allocate(name, im_mad, vm_mad, cluster)`: the cluster is read and checked first, then the
 * name (hostname rules from 6.10.1), the MADs, and uniqueness.
 */
function allocate(world: World, params: Params): number {
    const clusterId = clusterArgument(world, params, 4);
    const name = params.string(1);
    const imMad = params.string(2);
    const vmMad = params.string(3);
    const invalid = (validatesHostnames(world) ? hostnameError(name) : undefined) ?? nameError(name);
    if (invalid) throw internal(invalid);
    if (imMad === "") throw internal("IM_MAD_NAME cannot be empty.");
    if (vmMad === "") throw internal("VMM_MAD_NAME cannot be empty.");
    world.hosts.assertNameFree(name);
    const template = OneTemplate.of({ RESERVED_CPU: "", RESERVED_MEM: "", IM_MAD: imMad, VM_MAD: vmMad });
    const host: HostObject = {
        id: world.hosts.peekNextId(),
        name,
        builtin: false,
        state: HostState.INIT,
        imMad,
        vmMad,
        clusterId,
        hasCapacity: false,
        template,
    };
    world.hosts.insert(host);
    world.join("host", host.id, clusterId);
    scheduleMonitoring(world, host.id);
    return host.id;
}

function validatesHostnames(world: World): boolean {
    return versionAtLeast(world.options.version, 6, 10, 1);
}

function remove(world: World, id: number): number {
    world.hosts.get(id);
    world.leaveAll("host", id);
    world.hosts.remove(id);
    return id;
}

/** `one.host.status(id, 0|1|2)` → `Host::enable/disable/offline`. */
function setStatus(world: World, id: number, status: number): number {
    const host = world.hosts.get(id);
    switch (status) {
        case 0:
            if (host.state === HostState.DISABLED && host.hasCapacity) {
                host.state = HostState.MONITORED;
            } else {
                host.state = HostState.INIT;
                scheduleMonitoring(world, id);
            }
            break;
        case 1:
            host.state = HostState.DISABLED;
            break;
        case 2:
            host.state = HostState.OFFLINE;
            host.hasCapacity = false;
            break;
        default:
            throw internal("Wrong status code");
    }
    return id;
}

/** `Host::post_update_template`: IM_MAD/VM_MAD may change but never disappear from the template. */
function applyTemplate(host: HostObject, candidate: OneTemplate): void {
    host.imMad = candidate.get("IM_MAD") || host.imMad;
    host.vmMad = candidate.get("VM_MAD") || host.vmMad;
    candidate.replace("IM_MAD", host.imMad);
    candidate.replace("VM_MAD", host.vmMad);
    host.template = candidate;
}

/**
 * After `hostMonitorMs`, a host still in INIT becomes MONITORED, or ERROR if it is "unreachable" or
 * a monitoring failure was injected (that ERROR has oned's empty reason and lasts until the next enable).
 */
function scheduleMonitoring(world: World, id: number): void {
    world.later(world.options.hostMonitorMs, () => {
        const host = world.hosts.find(id);
        if (!host || host.state !== HostState.INIT) return;
        if (world.hostMonitorFailures > 0) {
            world.hostMonitorFailures--;
            host.state = HostState.ERROR;
            host.template.replace("ERROR", `${logTime()} : Error monitoring Host ${host.name} (${host.id}): `);
        } else if (host.name.startsWith(UNREACHABLE_PREFIX)) {
            host.state = HostState.ERROR;
            const reason = `Error monitoring Host ${host.name} (${host.id}): ssh: connect to host ${host.name} port 22: No route to host`;
            host.template.replace("ERROR", `${logTime()} : ${reason}`);
        } else {
            host.state = HostState.MONITORED;
            host.hasCapacity = true;
            host.template.remove("ERROR");
            addMonitoredAttributes(host);
        }
    });
}

/** What the monitoring probes write into a host's template on a KVM node. */
function addMonitoredAttributes(host: HostObject): void {
    const reported: Record<string, string> = {
        ARCH: "x86_64",
        CPUSPEED: "2400",
        HOSTNAME: host.name,
        HYPERVISOR: host.vmMad,
        MODELNAME: "OpenNebula double virtual CPU",
    };
    for (const [name, value] of Object.entries(reported)) host.template.replace(name, value);
}
