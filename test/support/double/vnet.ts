/**
 * `one.vn.*` and `one.vnpool.info`. Creation is asynchronous: a new VNET is LOCK_CREATE for
 * `vnetCreateMs`, then its AR vectors are parsed into the AR pool and it becomes READY — or ERROR
 * with `TEMPLATE/ERROR` when an AR is bad. Deletion is LOCK_DELETE for `vnetDeleteMs`, then the
 * object is gone.
 */
import { ErrorCode, Invalid, OneFailure, internal } from "./errors";
import { addressRangeXml, parseAddressRange, storedAddressRangeXml, updateAddressRange } from "./address-range";
import type { VnetObject } from "./objects";
import { VnetState } from "./objects";
import type { Handler, MethodTable } from "./methods";
import { asInternal, clusterArgument, filteredPoolInfo, infoMethod, parseAllocateTemplate, renameMethod, updateMethod } from "./methods";
import { nameError, versionAtLeast } from "./names";
import { OneTemplate, TemplateParseError } from "./template";
import { usedLeases } from "./leases";
import type { World } from "./world";
import { logTime } from "./world";
import { OWNER_USE_MANAGE, element, idCollection, optionalTextElement, ownerXml, permissionsXml, textElement, wrapAll } from "./xml";

/** VN_MAD_CONF of the stock oned.conf (6.10): driver → BRIDGE_TYPE. 7.0 ships neither `ebtables` nor `vcenter`. */
export const VN_MADS: Record<string, string> = {
    dummy: "linux",
    "802.1Q": "linux",
    ebtables: "linux",
    fw: "linux",
    ovswitch: "openvswitch",
    vxlan: "linux",
    vcenter: "vcenter_port_groups",
    ovswitch_vxlan: "openvswitch",
    bridge: "linux",
    elastic: "linux",
    nodeport: "linux",
};

const STATE_NAMES = ["INIT", "READY", "LOCK_CREATE", "LOCK_DELETE", "DONE", "ERROR", "UPDATE_FAILURE"];
/** VXLAN_IDS START and VLAN_IDS START/RESERVED of the stock oned.conf. */
const VXLAN_START = 2;
const VLAN_START = 2;
const VLAN_RESERVED = new Set([0, 1, 4095]);

/** Registers the VNET methods. */
export function registerVnetMethods(world: World, methods: MethodTable): void {
    const pool = world.vnets;
    methods.define("one.vn.allocate", (params) => {
        const template = parseAllocateTemplate(params.string(1), "Virtual Network");
        const clusterId = clusterArgument(world, params, 2);
        return asInternal(() => createVnet(world, template, [clusterId])).id;
    });
    methods.define("one.vn.delete", (params) => remove(world, params.int(1)));
    methods.define(
        "one.vn.info",
        infoMethod(pool, (v) => vnetXml(v, true)),
    );
    methods.define(
        "one.vn.update",
        updateMethod(pool, (vnet, candidate) => applyTemplate(world, vnet, candidate)),
    );
    methods.define("one.vn.rename", renameMethod(pool));
    methods.define("one.vn.add_ar", arMethod(world, "one.vn.add_ar", addAr));
    methods.define("one.vn.update_ar", arMethod(world, "one.vn.update_ar", updateAr));
    methods.define("one.vn.rm_ar", (params) =>
        removeAr(world, params.int(1), params.int(2), params.size > 3 ? () => params.boolean(3) : undefined),
    );
    methods.define(
        "one.vnpool.info",
        filteredPoolInfo("VNET_POOL", pool, (v) => vnetXml(v, false)),
    );
}

/**
 * `<VNET>` in §6 order. `extended` (one.vn.info) shows ARs with computed ends and LEASES; the pool
 * shows the stored AR attributes only.
 */
export function vnetXml(v: VnetObject, extended: boolean): string {
    const ars = v.addressRanges.map(extended ? addressRangeXml : storedAddressRangeXml);
    return element(
        "VNET",
        element("ID", v.id) +
            ownerXml() +
            element("NAME", v.name) +
            permissionsXml(OWNER_USE_MANAGE) +
            idCollection("CLUSTERS", v.clusters) +
            textElement("BRIDGE", v.bridge) +
            textElement("BRIDGE_TYPE", v.bridgeType) +
            // Measured: a network's STATE can arrive wrapped in CDATA.
            textElement("STATE", String(v.state)) +
            element("PREV_STATE", v.state) +
            "<PARENT_NETWORK_ID/>" +
            optionalTextElement("VN_MAD", v.vnMad) +
            optionalTextElement("PHYDEV", v.phydev) +
            optionalTextElement("VLAN_ID", v.vlanId) +
            optionalTextElement("OUTER_VLAN_ID", v.outerVlanId) +
            element("VLAN_ID_AUTOMATIC", v.vlanIdAutomatic ? 1 : 0) +
            element("OUTER_VLAN_ID_AUTOMATIC", v.outerVlanIdAutomatic ? 1 : 0) +
            element("USED_LEASES", usedLeases(v)) +
            idCollection("VROUTERS", v.vrouters) +
            idCollection("UPDATED_VMS", []) +
            idCollection("OUTDATED_VMS", []) +
            idCollection("UPDATING_VMS", []) +
            idCollection("ERROR_VMS", []) +
            v.template.toXml() +
            wrapAll("AR_POOL", ars),
    );
}

/**
 * `VirtualNetworkPool::allocate` + `VirtualNetwork::insert` + `set_vlan_id`, shared by `one.vn.allocate`
 * and `one.vntemplate.instantiate`. Puts the new VNET in `clusterIds` and schedules its creation.
 * @throws OneFailure for a taken name, Invalid for template problems.
 */
export function createVnet(world: World, template: OneTemplate, clusterIds: number[]): VnetObject {
    const requestedName = template.getOrEmpty("NAME");
    if (requestedName !== "") world.vnets.assertNameFree(requestedName);
    const id = world.vnets.peekNextId();
    const vnet = insertVnet(id, template, world.options.version);
    assignAutomaticVlan(world, vnet);
    world.vnets.insert(vnet);
    for (const clusterId of clusterIds) world.join("vnet", id, clusterId);
    world.later(world.options.vnetCreateMs, () => finishCreate(world, id));
    return vnet;
}

/** `VirtualNetwork::insert`: name, VN_MAD, PHYDEV, VLAN IDs, driver checks, BRIDGE_TYPE, BRIDGE, SECURITY_GROUPS. */
function insertVnet(id: number, template: OneTemplate, version: string): VnetObject {
    const templateId = template.erase("TEMPLATE_ID");
    if (templateId !== "") template.add("TEMPLATE_ID", templateId);
    let name = template.erase("NAME");
    const prefix = template.erase("TEMPLATE_NAME");
    if (prefix === "" && name === "") throw new Invalid("No NAME in template for Virtual Network.");
    if (name === "") name = `${prefix}-${id}`;
    const invalid = nameError(name);
    if (invalid) throw new Invalid(invalid);
    const vnMad = template.erase("VN_MAD");
    if (vnMad === "") throw new Invalid("No VN_MAD in template for Virtual Network.");
    template.add("VN_MAD", vnMad);
    const phydev = template.erase("PHYDEV");
    template.add("PHYDEV", phydev);
    let bridge = template.erase("BRIDGE");
    const vlan = readVlanId(template, "VLAN_ID", "AUTOMATIC_VLAN_ID");
    const outer = readVlanId(template, "OUTER_VLAN_ID", "AUTOMATIC_OUTER_VLAN_ID");
    checkDriverAttributes(vnMad, phydev, bridge, vlan, outer);
    template.remove("BRIDGE_TYPE");
    const bridgeType = bridgeTypeOf(vnMad, version);
    template.add("BRIDGE_TYPE", bridgeType);
    if (bridge === "" && bridgeType !== "none") bridge = vlan.id !== "" ? `onebr.${vlan.id}` : `onebr${id}`;
    template.add("BRIDGE", bridge);
    template.add("SECURITY_GROUPS", securityGroups(template.erase("SECURITY_GROUPS")));
    return {
        id,
        name,
        builtin: false,
        clusters: new Set(),
        state: VnetState.LOCK_CREATE,
        bridge,
        bridgeType,
        vnMad,
        phydev,
        vlanId: vlan.id,
        vlanIdAutomatic: vlan.automatic,
        outerVlanId: outer.id,
        outerVlanIdAutomatic: outer.automatic,
        template,
        addressRanges: [],
        nextArId: 0,
        vrouters: new Set(),
    };
}

interface VlanSetting {
    id: string;
    automatic: boolean;
}

/** `parse_vlan_id`: an explicit ID wins (and drops the AUTOMATIC_ flag); otherwise the AUTOMATIC_ flag is consumed. */
function readVlanId(template: OneTemplate, idName: string, autoName: string): VlanSetting {
    const id = template.getOrEmpty(idName);
    if (id !== "") {
        template.remove(autoName);
        return { id, automatic: false };
    }
    const automatic = template.getBoolean(autoName);
    template.remove(autoName);
    return { id: "", automatic };
}

/** `VirtualNetwork::parse_phydev_vlans`: what each driver requires. */
function checkDriverAttributes(vnMad: string, phydev: string, bridge: string, vlan: VlanSetting, outer: VlanSetting): void {
    if ((vnMad === "vxlan" || vnMad === "802.1Q") && phydev === "") throw new Invalid(`PHYDEV is mandatory for driver ${vnMad}`);
    if (vnMad === "dummy" && bridge === "") throw new Invalid(`BRIDGE is mandatory for driver ${vnMad}`);
    if ((vnMad === "vxlan" || vnMad === "802.1Q") && !vlan.automatic && vlan.id === "") {
        throw new Invalid(`VLAN_ID (or AUTOMATIC_VLAN_ID) is mandatory for driver ${vnMad}`);
    }
    if (vnMad === "ovswitch_vxlan" && !outer.automatic && outer.id === "") {
        throw new Invalid(`OUTER_VLAN_ID (or AUTOMATIC) is mandatory for driver ${vnMad}`);
    }
}

/** Exported for vntemplate.ts, which runs the same driver checks on its template. */
export function checkVnTemplateDriver(template: OneTemplate, vnMad: string): void {
    const vlan = { id: template.getOrEmpty("VLAN_ID"), automatic: template.getBoolean("AUTOMATIC_VLAN_ID") };
    const outer = { id: template.getOrEmpty("OUTER_VLAN_ID"), automatic: template.getBoolean("AUTOMATIC_OUTER_VLAN_ID") };
    checkDriverAttributes(vnMad, template.getOrEmpty("PHYDEV"), template.getOrEmpty("BRIDGE"), vlan, outer);
}

/** The VN_MAD_CONF of a version: 7.0 dropped `ebtables` and `vcenter` (measured on 7.0.2). */
function vnMadsOf(version: string): Record<string, string> {
    if (!versionAtLeast(version, 7, 0, 0)) return VN_MADS;
    const { ebtables: _ebtables, vcenter: _vcenter, ...rest } = VN_MADS;
    return rest;
}

/** `parse_bridge_type`: the driver must be in VN_MAD_CONF. */
function bridgeTypeOf(vnMad: string, version: string): string {
    const bridgeType = vnMadsOf(version)[vnMad];
    if (bridgeType === undefined) throw new Invalid(`VN_MAD named "${vnMad}" is not defined in oned.conf`);
    return bridgeType;
}

/** The default security group 0 is always added; IDs sorted and unique. */
function securityGroups(given: string): string {
    if (given === "") return "0";
    const ids = new Set([
        0,
        ...given
            .split(",")
            .map((s) => parseInt(s.trim(), 10))
            .filter((n) => !Number.isNaN(n)),
    ]);
    return [...ids].sort((a, b) => a - b).join(",");
}

/** `set_vlan_id`: VXLAN VNI = START + VNET ID; 802.1Q from a bitmap starting at START + (id mod (4095 - START)). */
function assignAutomaticVlan(world: World, vnet: VnetObject): void {
    const uses8021Q = ["802.1Q", "ovswitch", "vcenter", "ovswitch_vxlan"].includes(vnet.vnMad);
    if (uses8021Q && vnet.vlanIdAutomatic && vnet.vlanId === "") vnet.vlanId = String(take8021QId(world, vnet.id));
    if (vnet.vnMad === "vxlan" && vnet.vlanIdAutomatic && vnet.vlanId === "") vnet.vlanId = String(VXLAN_START + vnet.id);
    if (vnet.vnMad === "ovswitch_vxlan" && vnet.outerVlanIdAutomatic && vnet.outerVlanId === "") {
        vnet.outerVlanId = String(VXLAN_START + vnet.id);
    }
}

function take8021QId(world: World, vnetId: number): number {
    const free = (n: number) => !VLAN_RESERVED.has(n) && !world.automaticVlanIds.has(n);
    const hint = VLAN_START + (vnetId % (4095 - VLAN_START));
    let id = hint;
    if (!free(id)) {
        id = VLAN_START;
        while (id < 4096 && !free(id)) id++;
    }
    if (id >= 4096) throw new Invalid("Cannot automatically assign VLAN_ID to network.");
    world.automaticVlanIds.add(id);
    return id;
}

/** The driver's `vnet_create` succeeded: register the ARs of the template (IPAM_MAD inherited), READY or ERROR. */
function finishCreate(world: World, id: number): void {
    const vnet = world.vnets.find(id);
    if (!vnet || vnet.state !== VnetState.LOCK_CREATE) return;
    vnet.state = VnetState.READY;
    vnet.template.remove("ERROR");
    const vnetIpam = vnet.template.getOrEmpty("IPAM_MAD");
    for (const vector of vnet.template.remove("AR")) {
        if (vnetIpam !== "" && !vector.IPAM_MAD) vector.IPAM_MAD = vnetIpam;
        try {
            vnet.addressRanges.push(parseAddressRange(vector, vnet.nextArId));
            vnet.nextArId++;
        } catch (err) {
            if (!(err instanceof Invalid)) throw err;
            vnet.state = VnetState.ERROR;
            vnet.template.replace("ERROR", `${logTime()} : ${err.message}`);
            return;
        }
    }
}

/**
 * `VirtualNetworkDelete::drop`: refused while leases are in use, then in LOCK_CREATE, LOCK_DELETE and
 * DONE; ARs released now, the object gone after `vnetDeleteMs`.
 */
function remove(world: World, id: number): number {
    const vnet = world.vnets.get(id);
    if (usedLeases(vnet) > 0) {
        throw new OneFailure(ErrorCode.ACTION, "Cannot delete virtual network. Can not remove a virtual network with leases in use");
    }
    if (vnet.state === VnetState.LOCK_CREATE || vnet.state === VnetState.LOCK_DELETE || vnet.state === VnetState.DONE) {
        throw new OneFailure(
            ErrorCode.ACTION,
            `Cannot delete virtual network. Can not remove a Virtual Network, wrong state ${STATE_NAMES[vnet.state]}`,
        );
    }
    vnet.addressRanges = [];
    vnet.state = VnetState.LOCK_DELETE;
    world.later(world.options.vnetDeleteMs, () => {
        world.leaveAll("vnet", id);
        world.vnets.remove(id);
        if (vnet.vlanIdAutomatic && ["802.1Q", "ovswitch", "vcenter", "ovswitch_vxlan"].includes(vnet.vnMad)) {
            world.automaticVlanIds.delete(Number(vnet.vlanId));
        }
    });
    return id;
}

/**
 * `VirtualNetwork::post_update_template`: VN_MAD, PHYDEV and (non-automatic) VLAN IDs are re-read
 * from the new template (absent means empty), BRIDGE is kept when absent, BRIDGE_TYPE re-derived —
 * so a replace without VN_MAD fails with `VN_MAD named "" is not defined in oned.conf`.
 */
function applyTemplate(world: World, vnet: VnetObject, candidate: OneTemplate): void {
    const vnMad = candidate.erase("VN_MAD");
    candidate.add("VN_MAD", vnMad);
    const phydev = candidate.erase("PHYDEV");
    candidate.add("PHYDEV", phydev);
    candidate.remove("AUTOMATIC_VLAN_ID");
    candidate.remove("AUTOMATIC_OUTER_VLAN_ID");
    const vlanId = keepVlan(candidate, "VLAN_ID", vnet.vlanIdAutomatic, vnet.vlanId);
    const outerVlanId = keepVlan(candidate, "OUTER_VLAN_ID", vnet.outerVlanIdAutomatic, vnet.outerVlanId);
    const bridge = candidate.erase("BRIDGE") || vnet.bridge;
    candidate.add("BRIDGE", bridge);
    candidate.remove("BRIDGE_TYPE");
    const bridgeType = bridgeTypeOf(vnMad, world.options.version);
    candidate.add("BRIDGE_TYPE", bridgeType);
    Object.assign(vnet, { vnMad, phydev, vlanId, outerVlanId, bridge, bridgeType, template: candidate });
}

function keepVlan(candidate: OneTemplate, name: string, automatic: boolean, current: string): string {
    if (automatic) {
        candidate.remove(name);
        return current;
    }
    const value = candidate.erase(name);
    candidate.add(name, value);
    return value;
}

/** Shape shared by add_ar/update_ar (`RequestManagerVirtualNetwork::request_execute`): NO_EXISTS, parse, state, action. */
function arMethod(world: World, method: string, act: (vnet: VnetObject, template: OneTemplate) => void): Handler {
    return (params) => {
        const id = params.int(1);
        const text = params.string(2);
        const vnet = world.vnets.get(id);
        let template: OneTemplate;
        try {
            template = OneTemplate.parse(text);
        } catch (err) {
            if (err instanceof TemplateParseError) throw internal(err.message);
            throw err;
        }
        if (vnet.state !== VnetState.READY && vnet.state !== VnetState.UPDATE_FAILURE) {
            throw new OneFailure(
                ErrorCode.ACTION,
                `Could not execute ${method}Virtual Network is in wrong state: ${STATE_NAMES[vnet.state]}`,
            );
        }
        asInternal(() => act(vnet, template));
        return id;
    };
}

/** `VirtualNetwork::add_ar`: only the first AR vector is used; VNET-level IPAM_MAD inherited. */
function addAr(vnet: VnetObject, template: OneTemplate): void {
    const [vector] = template.vectors("AR");
    if (!vector) throw new Invalid("Wrong AR definition. AR vector attribute is missing.");
    const vnetIpam = vnet.template.getOrEmpty("IPAM_MAD");
    if (!vector.IPAM_MAD && vnetIpam !== "") vector.IPAM_MAD = vnetIpam;
    vnet.addressRanges.push(parseAddressRange(vector, vnet.nextArId));
    vnet.nextArId++;
}

/** `AddressRangePool::update_ar`: the first AR vector names its AR_ID. */
function updateAr(vnet: VnetObject, template: OneTemplate): void {
    const [vector] = template.vectors("AR");
    if (!vector) throw new Invalid("Wrong AR definition. AR vector attribute is missing.");
    if (vector.AR_ID === undefined || !/^\d+$/.test(vector.AR_ID.trim())) throw new Invalid("AR/AR_ID attribute is missing.");
    const arId = Number(vector.AR_ID);
    const ar = vnet.addressRanges.find((a) => a.id === arId);
    if (!ar) throw new Invalid(`Address Range with ID ${arId} was not found.`);
    updateAddressRange(ar, vector);
}

/** `one.vn.rm_ar(id, ar_id, [force])`: an AR with leases in use is only removed with `force`. */
function removeAr(world: World, id: number, arId: number, readForce?: () => boolean): number {
    const vnet = world.vnets.get(id);
    const force = readForce?.() ?? false;
    if (vnet.state !== VnetState.READY && vnet.state !== VnetState.UPDATE_FAILURE) {
        throw new OneFailure(
            ErrorCode.ACTION,
            `Could not remove Adress Range, Virtual Network is in wrong state: ${STATE_NAMES[vnet.state]}`,
        );
    }
    const index = vnet.addressRanges.findIndex((a) => a.id === arId);
    if (index < 0) throw internal("Address Range does not exist");
    if (!force && vnet.addressRanges[index].leases.size > 0) throw internal("Address Range has leases in use");
    vnet.addressRanges.splice(index, 1);
    return id;
}
