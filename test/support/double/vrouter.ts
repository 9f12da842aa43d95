/**
 * `one.vrouter.*` and `one.vrouterpool.info`. A virtual router holds NICs; those with
 * FLOATING_IP="YES" take a lease owned by the router at allocate (stored as VROUTER_IP/VROUTER_MAC).
 * `instantiate` creates its VMs from a VROUTER="YES" template, each with a copy of the router's NICs
 * (its own lease unless FLOATING_ONLY) and VROUTER_ID. Deleting the router gives back its floating
 * leases and terminates its VMs. Names need not be unique.
 */
import { ErrorCode, Invalid, OneFailure, action, internal } from "./errors";
import { isYes, leaseVrouterNic, networkOf, releaseLease } from "./leases";
import type { VrouterObject } from "./objects";
import { VmState } from "./objects";
import type { MethodTable } from "./methods";
import { filteredPoolInfo, infoMethod, parseAllocateTemplate, renameMethod, updateMethod } from "./methods";
import { nameError } from "./names";
import type { Params } from "./params";
import type { Vector } from "./template";
import { OneTemplate } from "./template";
import { finishVm, releaseVm, terminateVm } from "./vm";
import { instantiateTemplate } from "./vmtemplate";
import type { World } from "./world";
import { OWNER_USE_MANAGE, element, idCollection, ownerXml, permissionsXml } from "./xml";

/** NIC attributes in oned.conf's VM_RESTRICTED_ATTR, which `prepare_nic_vm` drops from floating NICs. */
const RESTRICTED_NIC_ATTRIBUTES = [
    "MAC",
    "VLAN_ID",
    "BRIDGE",
    "FILTER",
    "FILTER_IP_SPOOFING",
    "FILTER_MAC_SPOOFING",
    "INBOUND_AVG_BW",
    "INBOUND_PEAK_BW",
    "INBOUND_PEAK_KB",
    "OUTBOUND_AVG_BW",
    "OUTBOUND_PEAK_BW",
    "OUTBOUND_PEAK_KB",
    "OPENNEBULA_MANAGED",
    "VCENTER_INSTANCE_ID",
    "VCENTER_NET_REF",
    "VCENTER_PORTGROUP_TYPE",
    "EXTERNAL",
];

/** Registers the virtual router methods. */
export function registerVrouterMethods(world: World, methods: MethodTable): void {
    const pool = world.vrouters;
    methods.define("one.vrouter.allocate", (params) => allocate(world, params.string(1)));
    methods.define("one.vrouter.delete", (params) => remove(world, params.int(1)));
    methods.define("one.vrouter.info", infoMethod(pool, vrouterXml));
    methods.define("one.vrouter.update", updateMethod(pool, keepNics));
    methods.define("one.vrouter.rename", renameMethod(pool, { unique: false }));
    methods.define("one.vrouter.instantiate", (params) => instantiate(world, params));
    methods.define("one.vrouterpool.info", filteredPoolInfo("VROUTER_POOL", pool, vrouterXml));
}

/** `<VROUTER>` in `VirtualRouter::to_xml` order. */
export function vrouterXml(v: VrouterObject): string {
    return element(
        "VROUTER",
        element("ID", v.id) +
            ownerXml() +
            element("NAME", v.name) +
            permissionsXml(OWNER_USE_MANAGE) +
            idCollection("VMS", v.vms) +
            v.template.toXml(),
    );
}

/**
 * `VirtualRouterPool::allocate` + `VirtualRouter::insert`: NAME required and valid, then the NIC
 * leases; any failure is INTERNAL, gives back the leases taken so far and does not consume the ID.
 */
function allocate(world: World, text: string): number {
    const template = parseAllocateTemplate(text);
    const id = world.vrouters.peekNextId();
    const name = template.erase("NAME");
    const invalid = nameError(name);
    if (invalid) throw internal(invalid);
    const nics = template.remove("NIC");
    const leased: Vector[] = [];
    try {
        nics.forEach((nic, index) => {
            if ((nic.NETWORK_MODE ?? "").toUpperCase() === "AUTO") throw new Invalid("Virtual Router is incompatible with auto mode");
            nic.NIC_ID = String(index);
            const vnet = networkOf(world, nic);
            if (vnet) {
                leaseVrouterNic(vnet, nic, id);
                prepareNicForVms(nic);
                leased.push(nic);
            }
        });
    } catch (err) {
        for (const nic of leased) releaseLease(world, nic, { kind: "VROUTER", id }, "VROUTER_MAC");
        if (err instanceof Invalid) throw internal(err.message);
        throw err;
    }
    for (const nic of nics) template.add("NIC", nic);
    world.vrouters.insert({ id, name, builtin: false, vms: new Set(), template });
    return id;
}

/** `prepare_nic_vm`: a floating NIC's lease is renamed VROUTER_<attr> and restricted attributes dropped. */
function prepareNicForVms(nic: Vector): void {
    if (!isYes(nic.FLOATING_IP)) return;
    for (const name of ["MAC", "IP", "IP6_LINK", "IP6_ULA", "IP6_GLOBAL", "VLAN_ID"]) {
        if (nic[name] === undefined) continue;
        nic[`VROUTER_${name}`] = nic[name];
        delete nic[name];
    }
    for (const name of RESTRICTED_NIC_ATTRIBUTES) delete nic[name];
}

/** `VirtualRouter::replace_template` / `append_template`: the router's NICs always stay as they are. */
function keepNics(vrouter: VrouterObject, candidate: OneTemplate): void {
    candidate.remove("NIC");
    for (const nic of vrouter.template.vectors("NIC")) candidate.add("NIC", nic);
    vrouter.template = candidate;
}

/** `VirtualRouterDelete::drop`: the router and its floating leases go, then its VMs are terminated (hard). */
function remove(world: World, id: number): number {
    const vrouter = world.vrouters.get(id);
    world.vrouters.remove(id);
    for (const nic of vrouter.template.vectors("NIC")) releaseLease(world, nic, { kind: "VROUTER", id }, "VROUTER_MAC");
    for (const vmId of vrouter.vms) {
        const vm = world.vms.find(vmId);
        // `shutdown_vms`: a VM that cannot be terminated in its state is deleted instead
        if (vm && terminateVm(world, vm, true) !== undefined) finishVm(world, vm);
    }
    return id;
}

/**
 * `one.vrouter.instantiate(id, n_vms, template_id, name, hold, extra)` → the router's ID. The
 * template (-1: the router's TEMPLATE_ID) must have VROUTER="YES"; VMs are named from `name` with
 * "%i" replaced by the index (default "vr-<router>-%i"), created on hold and released unless `hold`.
 * If one VM cannot be created, those already created are deleted and the call fails with
 * ALLOCATE "Error allocating a new virtual router. <reason>".
 */
function instantiate(world: World, params: Params): number {
    const id = params.int(1);
    const count = params.int(2);
    let templateId = params.int(3);
    const nameArg = params.string(4);
    const hold = params.boolean(5);
    const extra = params.string(6);
    const vrouter = world.vrouters.get(id);
    const attributes = vmAttributes(vrouter);
    if (templateId === -1) templateId = intOr(vrouter.template.getOrEmpty("TEMPLATE_ID"), -1);
    if (templateId === -1) throw action("A template ID was not provided, and the virtual router does not have a default one");
    const vmTemplate = world.vmtemplates.get(templateId);
    if (!vmTemplate.template.getBoolean("VROUTER")) throw action("Only virtual router templates are allowed");
    const pattern = nameArg === "" ? `vr-${vrouter.name}-%i` : nameArg;
    const created: number[] = [];
    for (let i = 0; i < count; i++) {
        try {
            created.push(instantiateTemplate(world, templateId, pattern.split("%i").join(String(i)), true, extra, attributes).id);
        } catch (err) {
            for (const vmId of created) finishVm(world, world.vms.get(vmId));
            if (err instanceof Invalid) throw new OneFailure(ErrorCode.ALLOCATE, `Error allocating a new virtual router. ${err.message}`);
            throw err;
        }
    }
    for (const vmId of created) vrouter.vms.add(vmId);
    vrouter.template.replace("TEMPLATE_ID", String(templateId));
    if (!hold) {
        for (const vmId of created) releaseHeldVm(world, vmId);
    }
    return id;
}

/** `VirtualRouter::get_vm_template`: the router's NICs, VROUTER_ID, VROUTER_KEEPALIVED_ID (KEEPALIVED_ID or id mod 255 + 1) and password. */
function vmAttributes(vrouter: VrouterObject): OneTemplate {
    const attributes = new OneTemplate();
    for (const nic of vrouter.template.vectors("NIC")) {
        prepareNicForVms(nic);
        attributes.add("NIC", nic);
    }
    attributes.add("VROUTER_ID", String(vrouter.id));
    attributes.add("VROUTER_KEEPALIVED_ID", String(intOr(vrouter.template.getOrEmpty("KEEPALIVED_ID"), (vrouter.id % 255) + 1)));
    const password = vrouter.template.getOrEmpty("KEEPALIVED_PASSWORD");
    if (password !== "") attributes.add("VROUTER_KEEPALIVED_PASSWORD", password);
    return attributes;
}

/** `DispatchManager::release`: HOLD → PENDING; a VM in another state (CLONING) is left as it is, as oned ignores that failure here. */
function releaseHeldVm(world: World, vmId: number): void {
    const vm = world.vms.find(vmId);
    if (vm?.state === VmState.HOLD) releaseVm(world, vm);
}

function intOr(text: string, fallback: number): number {
    return /^\s*-?\d+\s*$/.test(text) ? Number(text) : fallback;
}
