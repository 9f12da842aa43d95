/**
 * Virtual machines: creation (`VirtualMachine::insert`, shared by `one.template.instantiate` and
 * `one.vrouter.instantiate`), `one.vm.info`, `one.vmpool.info[extended]`, `one.vm.action`,
 * `one.vm.attachnic`, `one.vm.detachnic`, `one.vm.rename` (names need not be unique) and
 * `one.vm.update` (the USER_TEMPLATE).
 *
 * Life cycle in the double: a new VM is PENDING (HOLD when asked, CLONING while an image it uses is
 * still LOCKED) and becomes ACTIVE/RUNNING `vmDeployMs` later — the double deploys without a host.
 * Driver operations (shutdown, power off, NIC hot-plug, restart) take `vmActionMs`, during which the
 * VM shows oned's transitional LCM_STATE. A terminated VM is DONE: it keeps answering `one.vm.info`
 * but leaves the pool's default listing, and its leases and images are given back.
 */
import { ErrorCode, Invalid, OneFailure, action, internal } from "./errors";
import { acquireImage, imageIsLocked, releaseImage } from "./image";
import { isYes, leaseVmNic, networkOf, releaseLease } from "./leases";
import type { VmObject } from "./objects";
import { LcmState, VmState } from "./objects";
import type { Handler, MethodTable } from "./methods";
import { renameMethod, selectPage, updateMethod } from "./methods";
import { nameError } from "./names";
import type { AttributeValue, Vector } from "./template";
import { OneTemplate, TemplateParseError, vectorXml } from "./template";
import type { World } from "./world";
import { OWNER_USE_MANAGE, element, ownerXml, permissionsXml, textElement, wrapAll } from "./xml";

const VM_STATE_NAMES: Record<number, string> = {
    0: "INIT",
    1: "PENDING",
    2: "HOLD",
    3: "ACTIVE",
    4: "STOPPED",
    5: "SUSPENDED",
    6: "DONE",
    8: "POWEROFF",
    9: "UNDEPLOYED",
    10: "CLONING",
    11: "CLONING_FAILURE",
};

/** LCM states the double passes through, by number (names as `lcm_state_to_str` prints them). */
const LCM = {
    ...LcmState,
    SAVE_STOP: 5,
    SAVE_SUSPEND: 6,
    BOOT_SUSPENDED: 21,
    SHUTDOWN_UNDEPLOY: 29,
} as const;
const LCM_STATE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(LCM).map(([name, n]) => [n, name]));

/** Template attributes oned keeps in the VM's TEMPLATE rather than USER_TEMPLATE (besides NIC, DISK, CPU, MEMORY, …). */
const CORE_ATTRIBUTES = [
    "INPUT",
    "FEATURES",
    "RAW",
    "CLONING_TEMPLATE_ID",
    "TOPOLOGY",
    "NUMA_NODE",
    "HYPERV_OPTIONS",
    "SPICE_OPTIONS",
    "EMULATOR",
    "OS",
    "GRAPHICS",
    "VIDEO",
    "CPU_MODEL",
    "PCI",
];
/** `VROUTER_ATTRIBUTES`: moved to TEMPLATE by `parse_vrouter`. */
const VROUTER_ATTRIBUTES = ["VROUTER_ID", "VROUTER_KEEPALIVED_ID", "VROUTER_KEEPALIVED_PASSWORD"];

/** Pending state changes per VM, so a new action replaces the previous one's timer. */
const timers = new WeakMap<World, Map<number, NodeJS.Timeout>>();

/** Registers the VM methods. */
export function registerVmMethods(world: World, methods: MethodTable): void {
    methods.define("one.vm.info", (params) => {
        const id = params.int(1);
        params.optionalBoolean(2, false);
        const vm = world.vms.get(id);
        const answer = vmXml(vm, false);
        advanceBoot(world, vm);
        return answer;
    });
    methods.define("one.vmpool.info", vmPoolInfo(world, true));
    methods.define("one.vmpool.infoextended", vmPoolInfo(world, false));
    methods.define("one.vm.action", (params) => vmAction(world, params.string(1), params.int(2)));
    methods.define("one.vm.rename", renameMethod(world.vms, { unique: false }));
    methods.define(
        "one.vm.update",
        updateMethod(
            world.vms,
            (vm, candidate) => {
                vm.userTemplate = candidate;
            },
            (vm) => vm.userTemplate,
        ),
    );
    methods.define("one.vm.attachnic", (params) => attachNic(world, params.int(1), params.string(2)));
    methods.define("one.vm.detachnic", (params) => detachNic(world, params.int(1), params.int(2)));
    world.imageReadyListeners.push(() => releaseClonedVms(world));
}

// ---------------------------------------------------------------------------------------------
// Creation

/**
 * `VirtualMachinePool::allocate` + `VirtualMachine::insert` on an instantiated template (NAME,
 * TEMPLATE_NAME, TEMPLATE_ID already set by the caller): name, CPU/MEMORY, virtual router
 * attributes, network leases, disk images, CONTEXT (kept as given), automatic requirements. Nothing
 * is kept when a step fails, and the VM ID is not consumed.
 * @throws Invalid with oned's message.
 */
export function createVm(world: World, template: OneTemplate, hold: boolean): VmObject {
    const id = world.vms.peekNextId();
    const user = template.clone();
    if (hold) user.replace("SUBMIT_ON_HOLD", "YES");
    const core = new OneTemplate();
    user.remove("VMID");
    core.add("VMID", String(id));
    moveSingle(user, core, "TEMPLATE_ID");
    const name = vmName(user, id);
    for (const attribute of CORE_ATTRIBUTES) moveAll(user, core, attribute);
    checkCapacity(user, core);
    for (const attribute of VROUTER_ATTRIBUTES) moveSingle(user, core, attribute);
    const state = hold ? VmState.HOLD : VmState.PENDING;
    const vm: VmObject = {
        id,
        name,
        builtin: false,
        state,
        lcmState: LcmState.LCM_INIT,
        prevState: state,
        prevLcmState: LcmState.LCM_INIT,
        stime: Math.floor(Date.now() / 1000),
        etime: 0,
        deployId: "",
        template: core,
        userTemplate: user,
    };
    try {
        takeNetworkLeases(world, vm);
        takeDiskImages(world, vm);
        moveAll(user, core, "CONTEXT");
        if (user.has("SUBMIT_ON_HOLD")) core.replace("SUBMIT_ON_HOLD", isYes(user.erase("SUBMIT_ON_HOLD")) ? "YES" : "NO");
        setAutomaticRequirements(vm);
    } catch (err) {
        releaseResources(world, vm);
        throw err;
    }
    if (core.vectors("DISK").some((d) => d.CLONING === "YES")) vm.state = VmState.CLONING;
    world.vms.insert(vm);
    if (vm.state === VmState.PENDING) scheduleDeploy(world, vm);
    return vm;
}

/** NAME, or "<TEMPLATE_NAME>-<id>" ("one-<id>" without a template), checked as every object name. */
function vmName(user: OneTemplate, id: number): string {
    let name = user.erase("NAME");
    const prefix = user.erase("TEMPLATE_NAME") || "one";
    if (name === "") name = `${prefix}-${id}`;
    const invalid = nameError(name);
    if (invalid) throw new Invalid(invalid);
    return name;
}

/** MEMORY (positive integer), CPU (positive number) and optional VCPU move to TEMPLATE. */
function checkCapacity(user: OneTemplate, core: OneTemplate): void {
    const memory = user.getOrEmpty("MEMORY").trim();
    if (!/^\d+$/.test(memory) || Number(memory) <= 0) throw new Invalid("MEMORY attribute must be a positive integer value.");
    core.add("MEMORY", String(Number(memory)));
    user.remove("MEMORY");
    const cpu = Number(user.getOrEmpty("CPU").trim());
    if (user.getOrEmpty("CPU").trim() === "" || !Number.isFinite(cpu) || cpu <= 0) {
        throw new Invalid("CPU attribute must be a positive float or integer value.");
    }
    core.add("CPU", String(cpu));
    user.remove("CPU");
    const vcpu = user.getOrEmpty("VCPU").trim();
    if (vcpu !== "") {
        if (!/^\d+$/.test(vcpu) || Number(vcpu) <= 0) throw new Invalid("VCPU attribute must be a positive integer value.");
        core.add("VCPU", vcpu);
        user.remove("VCPU");
    }
}

/**
 * `VirtualMachineNics::get_network_leases`: NICs first (NIC_ID 0, 1, …; named NIC<id>), then
 * NIC_ALIAS vectors (next NIC_IDs), each attached to the NIC its PARENT names (PARENT_ID, ALIAS_ID,
 * the parent's ALIAS_IDS). Each one with NETWORK_ID or NETWORK takes a lease.
 */
function takeNetworkLeases(world: World, vm: VmObject): void {
    const user = vm.userTemplate;
    const nics = vectorsOnly(user.take("NIC"));
    const aliases = vectorsOnly(user.take("NIC_ALIAS"));
    if (aliases.some((a) => (a.NETWORK_MODE ?? "").toUpperCase() === "AUTO")) throw new Invalid("Alias is incompatible with auto mode");
    const parents = new Map<string, { nic: Vector; aliasCount: number }>();
    nics.forEach((nic, nicId) => {
        nic.NIC_ID = String(nicId);
        if ((nic.NETWORK_MODE ?? "").toUpperCase() === "AUTO") {
            nicName(nic, `NIC${nicId}`);
        } else {
            leaseIfNetwork(world, nic, vm.id);
            parents.set(nicName(nic, `NIC${nicId}`), { nic, aliasCount: 0 });
        }
        vm.template.add("NIC", nic);
    });
    aliases.forEach((alias, index) => {
        const nicId = nics.length + index;
        const parent = parents.get(alias.PARENT ?? "");
        if (!parent) throw new Invalid(`NIC named ${alias.PARENT ?? ""} not found for alias`);
        alias.PARENT_ID = parent.nic.NIC_ID;
        alias.ALIAS_ID = String(parent.aliasCount++);
        parent.nic.ALIAS_IDS = parent.nic.ALIAS_IDS ? `${parent.nic.ALIAS_IDS},${nicId}` : String(nicId);
        alias.NIC_ID = String(nicId);
        leaseIfNetwork(world, alias, vm.id);
        nicName(alias, `NIC${parent.nic.NIC_ID}_ALIAS${nicId}`);
        vm.template.add("NIC_ALIAS", alias);
    });
    // The template holds copies: store the NICs again now that their ALIAS_IDS are known.
    vm.template.remove("NIC");
    for (const nic of nics) vm.template.add("NIC", nic);
}

function leaseIfNetwork(world: World, nic: Vector, vmId: number): void {
    const vnet = networkOf(world, nic);
    if (vnet) leaseVmNic(vnet, nic, vmId);
}

/** `set_nic_name`: NAME as given (prefixed "_" when it looks like an internal name), else the default. */
function nicName(nic: Vector, fallback: string): string {
    const given = nic.NAME ?? "";
    if (given === "") {
        nic.NAME = fallback;
        return fallback;
    }
    if (/^NIC\d+(_ALIAS\d+)?$/.test(given)) nic.NAME = `_${given}`;
    return nic.NAME;
}

/** `VirtualMachineDisks::get_images`: DISK_ID 0, 1, …; images acquired; TARGETs assigned per DEV_PREFIX. */
function takeDiskImages(world: World, vm: VmObject): void {
    const disks = vectorsOnly(vm.userTemplate.take("DISK"));
    const used = new Map<string, number>();
    disks.forEach((disk, diskId) => {
        acquireImage(world, vm.id, disk, diskId);
        if (!disk.TARGET) {
            const prefix = disk.DEV_PREFIX ?? "sd";
            const n = used.get(prefix) ?? 0;
            used.set(prefix, n + 1);
            disk.TARGET = `${prefix}${String.fromCharCode(97 + n)}`;
        }
        vm.template.add("DISK", disk);
    });
}

/**
 * `VirtualMachine::automatic_requirements`: the clusters every DISK and NIC can use must intersect;
 * AUTOMATIC_REQUIREMENTS, AUTOMATIC_NIC_REQUIREMENTS and AUTOMATIC_DS_REQUIREMENTS name them.
 */
function setAutomaticRequirements(vm: VmObject): void {
    let clusters: Set<number> | undefined;
    const intersect = (what: "DISK" | "NIC", index: number, list: string | undefined) => {
        if (list === undefined) return;
        const ids = new Set(
            list
                .split(",")
                .map((s) => parseInt(s.trim(), 10))
                .filter((n) => !Number.isNaN(n)),
        );
        const label = what === "DISK" ? "Datastore for DISK" : "Network for NIC";
        if (ids.size === 0) throw new Invalid(`Missing clusters. ${label} ${index} is not in any cluster`);
        if (clusters === undefined) {
            clusters = ids;
            return;
        }
        const common = new Set([...clusters].filter((c) => ids.has(c)));
        if (common.size === 0) {
            const current = [...clusters].sort((a, b) => a - b).join(",");
            throw new Invalid(
                `Incompatible clusters in ${what}. ${label} ${index} is not in the same cluster as the one used by other VM elements (cluster ${current})`,
            );
        }
        clusters = common;
    };
    vm.template.vectors("DISK").forEach((disk, i) => intersect("DISK", i, disk.CLUSTER_ID));
    vm.template.vectors("NIC").forEach((nic, i) => intersect("NIC", i, nic.CLUSTER_ID));
    const ids = [...(clusters ?? [])].sort((a, b) => a - b);
    const hosts = ids.length > 0 ? `(${ids.map((c) => `CLUSTER_ID = ${c}`).join(" | ")}) & !(PUBLIC_CLOUD = YES)` : "!(PUBLIC_CLOUD = YES)";
    vm.template.replace("AUTOMATIC_REQUIREMENTS", `${hosts} & !(PIN_POLICY = PINNED)`);
    if (ids.length > 0) {
        const datastores = `(${ids.map((c) => `"CLUSTERS/ID" @> ${c}`).join(" | ")})`;
        vm.template.replace("AUTOMATIC_NIC_REQUIREMENTS", datastores);
        vm.template.replace("AUTOMATIC_DS_REQUIREMENTS", datastores);
    }
}

// ---------------------------------------------------------------------------------------------
// XML

/** `<VM>`: the full body (`to_xml_extended`) or the pool's short one (`to_xml_short`). */
export function vmXml(vm: VmObject, short: boolean): string {
    const head = element("ID", vm.id) + ownerXml() + element("NAME", vm.name);
    const times = element("RESCHED", 0) + element("STIME", vm.stime) + element("ETIME", vm.etime) + textElement("DEPLOY_ID", vm.deployId);
    if (short) {
        return element(
            "VM",
            head +
                element("LAST_POLL", 0) +
                element("STATE", vm.state) +
                element("LCM_STATE", vm.lcmState) +
                times +
                shortTemplateXml(vm) +
                "<MONITORING/>" +
                shortUserTemplateXml(vm) +
                "<HISTORY_RECORDS/>",
        );
    }
    return element(
        "VM",
        head +
            permissionsXml(OWNER_USE_MANAGE) +
            element("LAST_POLL", 0) +
            element("STATE", vm.state) +
            element("LCM_STATE", vm.lcmState) +
            element("PREV_STATE", vm.prevState) +
            element("PREV_LCM_STATE", vm.prevLcmState) +
            times +
            "<MONITORING/>" +
            vm.template.toXml() +
            vm.userTemplate.toXml("USER_TEMPLATE") +
            "<HISTORY_RECORDS/>" +
            element("BACKUPS", "<BACKUP_CONFIG/><BACKUP_IDS/>"),
    );
}

/** `to_xml_short`'s TEMPLATE: CPU, MEMORY, VCPU, short DISKs, short NICs (aliases too, as NIC), GRAPHICS. */
function shortTemplateXml(vm: VmObject): string {
    const t = vm.template;
    const pick = (v: Vector, keys: string[]) => keys.map((k) => textElement(k, v[k] ?? "")).join("");
    const disks = t
        .vectors("DISK")
        .map((d) =>
            element(
                "DISK",
                pick(d, [
                    "DISK_ID",
                    "DATASTORE",
                    "DATASTORE_ID",
                    "IMAGE",
                    "IMAGE_ID",
                    "SIZE",
                    "TYPE",
                    "CLONE",
                    "CLONE_TARGET",
                    "LN_TARGET",
                    "DISK_SNAPSHOT_TOTAL_SIZE",
                ]),
            ),
        );
    const nics = [...t.vectors("NIC"), ...t.vectors("NIC_ALIAS")].map((n) => {
        const optional = [
            "IP",
            "EXTERNAL_IP",
            "IP6",
            "IP6_ULA",
            "IP6_LINK",
            "IP6_GLOBAL",
            "NETWORK_MODE",
            "SCHED_REQUIREMENTS",
            "SCHED_RANK",
        ];
        const present = optional
            .filter((k) => (n[k] ?? "") !== "")
            .map((k) => textElement(k, n[k]))
            .join("");
        return element("NIC", present + pick(n, ["MAC", "NETWORK", "NETWORK_ID", "NIC_ID", "SECURITY_GROUPS"]));
    });
    const [graphics] = t.vectors("GRAPHICS");
    return element(
        "TEMPLATE",
        textElement("CPU", t.getOrEmpty("CPU")) +
            textElement("MEMORY", t.getOrEmpty("MEMORY")) +
            textElement("VCPU", t.getOrEmpty("VCPU")) +
            disks.join("") +
            nics.join("") +
            (graphics ? element("GRAPHICS", vectorXml(graphics)) : ""),
    );
}

/** `VirtualMachineTemplate::to_xml_short`: only LABELS, ERROR and SCHED_MESSAGE. */
function shortUserTemplateXml(vm: VmObject): string {
    const kept = ["LABELS", "ERROR", "SCHED_MESSAGE"].filter((k) => vm.userTemplate.getOrEmpty(k) !== "");
    if (vm.userTemplate.isEmpty) return "<USER_TEMPLATE/>";
    return element("USER_TEMPLATE", kept.map((k) => textElement(k, vm.userTemplate.getOrEmpty(k))).join(""));
}

/**
 * `one.vmpool.info(filter, start, end, state)` (short bodies) and `one.vmpool.infoextended` (full):
 * state -2 any, -1 any but DONE (the usual listing), 0–11 that state; anything else is XML_RPC_API
 * "Incorrect filter_flag, state".
 */
function vmPoolInfo(world: World, short: boolean): Handler {
    return (params) => {
        const filter = params.int(1);
        const start = params.int(2);
        const end = params.int(3);
        const state = params.int(4);
        if (state < -2 || state > VmState.CLONING_FAILURE) throw new OneFailure(ErrorCode.XML_RPC_API, "Incorrect filter_flag, state");
        const matching = world.vms
            .list()
            .filter((vm) => (state === -2 ? true : state === -1 ? vm.state !== VmState.DONE : vm.state === state));
        return wrapAll(
            "VM_POOL",
            selectPage(matching, filter, start, end).map((vm) => vmXml(vm, short)),
        );
    };
}

// ---------------------------------------------------------------------------------------------
// Life cycle

/** `VirtualMachine::state_str`: the LCM state's name when ACTIVE, else the VM state's. */
function stateName(vm: VmObject): string {
    return vm.state === VmState.ACTIVE
        ? (LCM_STATE_NAMES[vm.lcmState] ?? String(vm.lcmState))
        : (VM_STATE_NAMES[vm.state] ?? String(vm.state));
}

function setState(vm: VmObject, state: number, lcmState: number): void {
    vm.prevState = vm.state;
    vm.prevLcmState = vm.lcmState;
    vm.state = state;
    vm.lcmState = lcmState;
}

/** Replaces the VM's pending state change with `change`, run after `ms`. */
function schedule(world: World, vm: VmObject, ms: number, change: () => void): void {
    let pending = timers.get(world);
    if (!pending) timers.set(world, (pending = new Map()));
    world.cancel(pending.get(vm.id));
    pending.set(
        vm.id,
        world.later(ms, () => {
            pending.delete(vm.id);
            change();
        }),
    );
}

/** Reads of `one.vm.info` a booting VM still has to be seen in its current LCM state (PROLOG or BOOT). */
const bootReadsLeft = new WeakMap<VmObject, number>();

/**
 * PENDING → ACTIVE after `vmDeployMs` (the scheduler's delay), then PROLOG for `vmPrologReads` reads
 * of `one.vm.info` and BOOT for `vmBootReads` more before RUNNING: a create needs as many polls as
 * on real oned (9 calls for a VM, 12 for a virtual router), however fast the test machine is.
 */
function scheduleDeploy(world: World, vm: VmObject): void {
    schedule(world, vm, world.options.vmDeployMs, () => {
        if (vm.state !== VmState.PENDING) return;
        vm.deployId = `one-${vm.id}`;
        enterBootStep(world, vm, LcmState.PROLOG);
    });
}

/** Enters PROLOG or BOOT for its number of reads, or the next step when that number is 0. */
function enterBootStep(world: World, vm: VmObject, step: number): void {
    const reads = step === LcmState.PROLOG ? world.options.vmPrologReads : step === LcmState.BOOT ? world.options.vmBootReads : 0;
    if (step === LcmState.PROLOG && reads === 0) return enterBootStep(world, vm, LcmState.BOOT);
    if (step === LcmState.BOOT && reads === 0) return enterBootStep(world, vm, LcmState.RUNNING);
    setState(vm, VmState.ACTIVE, step);
    bootReadsLeft.set(vm, reads);
}

/** After a read of a VM in PROLOG or BOOT: one read fewer to go; the last one moves it on. */
function advanceBoot(world: World, vm: VmObject): void {
    const booting = vm.state === VmState.ACTIVE && (vm.lcmState === LcmState.PROLOG || vm.lcmState === LcmState.BOOT);
    if (!booting) return;
    const left = (bootReadsLeft.get(vm) ?? 1) - 1;
    bootReadsLeft.set(vm, left);
    if (left <= 0) enterBootStep(world, vm, vm.lcmState === LcmState.PROLOG ? LcmState.BOOT : LcmState.RUNNING);
}

/** Enter `transitional` now; reach `final` after `vmActionMs` (a driver operation). */
function driverOperation(world: World, vm: VmObject, transitional: [number, number], final: () => void): void {
    setState(vm, transitional[0], transitional[1]);
    schedule(world, vm, world.options.vmActionMs, final);
}

/** VMs waiting in CLONING whose images are all copied go PENDING (or HOLD when submitted on hold). */
function releaseClonedVms(world: World): void {
    for (const vm of world.vms.list()) {
        if (vm.state !== VmState.CLONING) continue;
        const waiting = vm.template.vectors("DISK").some((d) => {
            const image = d.IMAGE_ID !== undefined ? world.images.find(Number(d.IMAGE_ID)) : undefined;
            return image !== undefined && imageIsLocked(image);
        });
        if (waiting) continue;
        const disks = vm.template.remove("DISK");
        for (const disk of disks) {
            const image = disk.IMAGE_ID !== undefined ? world.images.find(Number(disk.IMAGE_ID)) : undefined;
            if (disk.CLONING === "YES" && image) {
                // `clear_cloning_image_id`: the copy's SOURCE and FORMAT reach the disk
                disk.SOURCE = image.source;
                disk.FORMAT = disk.DRIVER = image.format.toLowerCase();
                disk.IMAGE_STATE = String(image.state);
            }
            delete disk.CLONING;
            vm.template.add("DISK", disk);
        }
        const hold = isYes(vm.template.getOrEmpty("SUBMIT_ON_HOLD"));
        setState(vm, hold ? VmState.HOLD : VmState.PENDING, LcmState.LCM_INIT);
        if (!hold) scheduleDeploy(world, vm);
    }
}

/**
 * `DispatchManager::free_vm_resources`: leases and images given back, DONE with an end time, and the
 * VM dropped from its virtual router's VMS.
 */
export function finishVm(world: World, vm: VmObject): void {
    world.cancel(timers.get(world)?.get(vm.id));
    releaseResources(world, vm);
    setState(vm, VmState.DONE, LcmState.LCM_INIT);
    vm.etime = Math.floor(Date.now() / 1000);
    const vrouterId = vm.template.getOrEmpty("VROUTER_ID");
    if (vrouterId !== "") world.vrouters.find(Number(vrouterId))?.vms.delete(vm.id);
}

function releaseResources(world: World, vm: VmObject): void {
    for (const nic of [...vm.template.vectors("NIC"), ...vm.template.vectors("NIC_ALIAS")])
        releaseLease(world, nic, { kind: "VM", id: vm.id });
    for (const disk of vm.template.vectors("DISK")) {
        if (disk.IMAGE_ID !== undefined) releaseImage(world, vm.id, Number(disk.IMAGE_ID));
    }
}

/**
 * `DispatchManager::terminate`: at once for VMs that never ran; through SHUTDOWN (RUNNING) or EPILOG
 * (powered off, suspended, stopped, undeployed) otherwise. `hard` also overrides a SHUTDOWN in
 * progress. DONE is a silent success.
 * @returns the error text when the VM's state does not allow it.
 */
export function terminateVm(world: World, vm: VmObject, hard: boolean): string | undefined {
    const done = () => finishVm(world, vm);
    switch (vm.state) {
        case VmState.INIT:
        case VmState.PENDING:
        case VmState.HOLD:
        case VmState.CLONING:
        case VmState.CLONING_FAILURE:
            done();
            return undefined;
        case VmState.DONE:
            return undefined;
        case VmState.SUSPENDED:
        case VmState.POWEROFF:
        case VmState.STOPPED:
        case VmState.UNDEPLOYED:
            driverOperation(world, vm, [VmState.ACTIVE, LcmState.EPILOG], done);
            return undefined;
    }
    if (vm.lcmState === LcmState.RUNNING || (hard && vm.lcmState === LcmState.SHUTDOWN)) {
        driverOperation(world, vm, [VmState.ACTIVE, LcmState.SHUTDOWN], done);
        return undefined;
    }
    return `Could not terminate VM ${vm.id}, wrong state ${stateName(vm)}.`;
}

/** `VirtualMachineAction::request_execute`: `one.vm.action(action, id)`. */
function vmAction(world: World, name: string, id: number): number {
    const vm = world.vms.get(id);
    const refuse = (reason: string) => action(`Error performing action "${name}": ${reason}`);
    const notAvailable = () => refuse(`This action is not available for state ${stateName(vm)}`);
    const running = vm.state === VmState.ACTIVE && vm.lcmState === LcmState.RUNNING;
    switch (name) {
        case "terminate":
        case "terminate-hard": {
            const error = terminateVm(world, vm, name === "terminate-hard");
            if (error) throw refuse(error);
            break;
        }
        case "poweroff":
        case "poweroff-hard":
            if (!running && !(name === "poweroff-hard" && vm.lcmState === LcmState.SHUTDOWN_POWEROFF && vm.state === VmState.ACTIVE))
                throw notAvailable();
            driverOperation(world, vm, [VmState.ACTIVE, LcmState.SHUTDOWN_POWEROFF], () =>
                setState(vm, VmState.POWEROFF, LcmState.LCM_INIT),
            );
            break;
        case "undeploy":
        case "undeploy-hard":
            if (!running && vm.state !== VmState.POWEROFF) throw notAvailable();
            driverOperation(world, vm, [VmState.ACTIVE, LCM.SHUTDOWN_UNDEPLOY], () => setState(vm, VmState.UNDEPLOYED, LcmState.LCM_INIT));
            break;
        case "stop":
            if (!running) throw notAvailable();
            driverOperation(world, vm, [VmState.ACTIVE, LCM.SAVE_STOP], () => setState(vm, VmState.STOPPED, LcmState.LCM_INIT));
            break;
        case "suspend":
            if (!running) throw notAvailable();
            driverOperation(world, vm, [VmState.ACTIVE, LCM.SAVE_SUSPEND], () => setState(vm, VmState.SUSPENDED, LcmState.LCM_INIT));
            break;
        case "resume":
            resume(world, vm, notAvailable);
            break;
        case "reboot":
        case "reboot-hard":
            if (!running) throw notAvailable();
            break;
        case "hold":
            if (vm.state !== VmState.PENDING) throw notAvailable();
            world.cancel(timers.get(world)?.get(vm.id));
            setState(vm, VmState.HOLD, LcmState.LCM_INIT);
            break;
        case "release":
            if (vm.state !== VmState.HOLD) throw notAvailable();
            releaseVm(world, vm);
            break;
        default:
            throw action(`Action "${name}" is not supported`);
    }
    return id;
}

/** `DispatchManager::release` of a VM in HOLD: PENDING, deployed `vmDeployMs` later. */
export function releaseVm(world: World, vm: VmObject): void {
    setState(vm, VmState.PENDING, LcmState.LCM_INIT);
    scheduleDeploy(world, vm);
}

/** `DispatchManager::resume`: STOPPED/UNDEPLOYED → PENDING; SUSPENDED and POWEROFF boot back to RUNNING. */
function resume(world: World, vm: VmObject, notAvailable: () => OneFailure): void {
    const backToRunning = () => setState(vm, VmState.ACTIVE, LcmState.RUNNING);
    if (vm.state === VmState.STOPPED || vm.state === VmState.UNDEPLOYED) {
        setState(vm, VmState.PENDING, LcmState.LCM_INIT);
        scheduleDeploy(world, vm);
    } else if (vm.state === VmState.SUSPENDED) {
        driverOperation(world, vm, [VmState.ACTIVE, LCM.BOOT_SUSPENDED], backToRunning);
    } else if (vm.state === VmState.POWEROFF) {
        driverOperation(world, vm, [VmState.ACTIVE, LcmState.BOOT_POWEROFF], backToRunning);
    } else {
        throw notAvailable();
    }
}

// ---------------------------------------------------------------------------------------------
// NIC hot-plug

/** `one.vm.attachnic(id, template)`: one NIC or NIC_ALIAS, to a RUNNING (hot-plug) or POWEROFF VM. */
function attachNic(world: World, id: number, text: string): number {
    const vm = world.vms.get(id);
    if (vm.template.getOrEmpty("VROUTER_ID") !== "") throw action("Action is not supported for virtual router VMs");
    let template: OneTemplate;
    try {
        template = OneTemplate.parse(text);
    } catch (err) {
        if (err instanceof TemplateParseError) throw internal(err.message);
        throw err;
    }
    const running = vm.state === VmState.ACTIVE && vm.lcmState === LcmState.RUNNING;
    const poweroff = vm.state === VmState.POWEROFF && vm.lcmState === LcmState.LCM_INIT;
    if (!running && !poweroff) throw action(`Could not add a new NIC to VM ${id}, wrong state ${stateName(vm)}.`);
    const [nic] = template.vectors("NIC");
    const [alias] = template.vectors("NIC_ALIAS");
    const attached = nic ?? alias;
    if (!attached) throw action("Wrong format or missing NIC/NIC_ALIAS/PCI attribute");
    const all = [...vm.template.vectors("NIC"), ...vm.template.vectors("NIC_ALIAS")];
    const nicId = Math.max(-1, ...all.map((n) => Number(n.NIC_ID))) + 1;
    attached.NIC_ID = String(nicId);
    if (nic) {
        nicName(nic, `NIC${nicId}`);
    } else {
        addAliasToParent(vm, alias, nicId);
    }
    try {
        leaseIfNetwork(world, attached, vm.id);
    } catch (err) {
        if (err instanceof Invalid) throw action(err.message);
        throw err;
    }
    if (alias) updateParentAliasIds(vm, alias.PARENT_ID, (ids) => [...ids, String(nicId)]);
    vm.template.add(nic ? "NIC" : "NIC_ALIAS", attached);
    if (running) driverOperation(world, vm, [VmState.ACTIVE, LcmState.HOTPLUG_NIC], () => setState(vm, VmState.ACTIVE, LcmState.RUNNING));
    return id;
}

/** `set_up_attach_nic` for an alias: the parent is the NIC whose NAME is PARENT ("Alias not found." otherwise). */
function addAliasToParent(vm: VmObject, alias: Vector, nicId: number): void {
    const parent = vm.template.vectors("NIC").find((n) => n.NAME === alias.PARENT);
    if (!parent) throw action("Alias not found.");
    const aliases = vm.template.vectors("NIC_ALIAS").filter((a) => a.PARENT_ID === parent.NIC_ID);
    alias.PARENT_ID = parent.NIC_ID;
    alias.ALIAS_ID = String(Math.max(-1, ...aliases.map((a) => Number(a.ALIAS_ID))) + 1);
    nicName(alias, `NIC${parent.NIC_ID}_ALIAS${nicId}`);
}

function updateParentAliasIds(vm: VmObject, parentId: string | undefined, change: (ids: string[]) => string[]): void {
    const nics = vm.template.remove("NIC");
    for (const nic of nics) {
        if (nic.NIC_ID === parentId) {
            const ids = change((nic.ALIAS_IDS ?? "").split(",").filter((s) => s !== ""));
            if (ids.length > 0) nic.ALIAS_IDS = ids.join(",");
            else delete nic.ALIAS_IDS;
        }
        vm.template.add("NIC", nic);
    }
}

/** `one.vm.detachnic(id, nic_id)`: a NIC (with its aliases) or an alias; its leases are given back. */
function detachNic(world: World, id: number, nicId: number): number {
    const vm = world.vms.get(id);
    if (vm.template.getOrEmpty("VROUTER_ID") !== "") throw action("Action is not supported for virtual router VMs");
    const running = vm.state === VmState.ACTIVE && vm.lcmState === LcmState.RUNNING;
    const poweroff = vm.state === VmState.POWEROFF && vm.lcmState === LcmState.LCM_INIT;
    if (!running && !poweroff) throw action(`Could not detach NIC from VM ${id}, wrong state ${stateName(vm)}.`);
    const nics = vm.template.vectors("NIC");
    const aliases = vm.template.vectors("NIC_ALIAS");
    const target = [...nics, ...aliases].find((n) => n.NIC_ID === String(nicId));
    if (!target) throw action(`Could not detach NIC with NIC_ID ${nicId}, it does not exist.`);
    const isAlias = aliases.includes(target);
    const gone = isAlias ? [target] : [target, ...aliases.filter((a) => a.PARENT_ID === target.NIC_ID)];
    for (const nic of gone) releaseLease(world, nic, { kind: "VM", id: vm.id });
    const goneIds = new Set(gone.map((n) => n.NIC_ID));
    vm.template.remove("NIC");
    vm.template.remove("NIC_ALIAS");
    for (const nic of nics.filter((n) => !goneIds.has(n.NIC_ID))) vm.template.add("NIC", nic);
    for (const alias of aliases.filter((a) => !goneIds.has(a.NIC_ID))) vm.template.add("NIC_ALIAS", alias);
    if (isAlias) updateParentAliasIds(vm, target.PARENT_ID, (ids) => ids.filter((i) => i !== String(nicId)));
    if (running) driverOperation(world, vm, [VmState.ACTIVE, LcmState.HOTPLUG_NIC], () => setState(vm, VmState.ACTIVE, LcmState.RUNNING));
    return id;
}

// ---------------------------------------------------------------------------------------------
// Template helpers

function vectorsOnly(values: AttributeValue[]): Vector[] {
    return values.filter((v): v is Vector => typeof v !== "string");
}

function moveSingle(from: OneTemplate, to: OneTemplate, name: string): void {
    const value = from.erase(name);
    if (value !== "") to.replace(name, value);
}

function moveAll(from: OneTemplate, to: OneTemplate, name: string): void {
    for (const value of from.take(name)) to.add(name, value);
}
