import type * as pulumi from "@pulumi/pulumi";
import type { OneClient } from "../client";
import { VN_MAD_TABLE, requireDriversOnFrontEnd } from "../drivers";
import {
    CREATION_TOKEN,
    allocateOwn,
    creationTokenOf,
    deleteObject,
    readObject,
    readState,
    requireObject,
    syncMemberships,
    templateOf,
    waitFor,
    waitUntilGone,
} from "../objects";
import { VnetState } from "../states";
import type { Template, TemplateVector } from "../template";
import { pickAttributes, renderTemplateXml } from "../template";
import type { XmlElement } from "../xml";
import { child, childInt, childText, children, idList } from "../xml";
import { checkAddressRanges, checkNetworkTemplate, checkRangesInsideNetwork } from "./address-ranges";
import { defineResource } from "./define";
import type { CommonOutputs, Failures, NamedInputs, OneResourceArgs } from "./provider-kit";
import { completeOrRollBack, declaredAttributes, isUnknown, sameValue, updateNameAndTemplate } from "./provider-kit";
import type { TemplateArgs } from "./resource-options";

/** An address range as OpenNebula's `AR = [ … ]` vector, e.g. `{ TYPE: "IP4", IP: "10.0.0.2", SIZE: 10 }`. */
export type AddressRangeInput = { [key: string]: pulumi.Input<string | number | boolean> };

/** Arguments of {@link VirtualNetwork}. */
export interface VirtualNetworkArgs extends OneResourceArgs {
    /** Network name, unique among the user's networks. Default: the resource name. */
    name?: pulumi.Input<string>;
    /** Network driver (`VN_MAD`), e.g. `bridge`, `vxlan`, `802.1Q`. Changing it replaces the network. */
    vnMad: pulumi.Input<string>;
    /** Other template attributes: `PHYDEV`, `VLAN_ID`, `BRIDGE`, `MTU`, `GUEST_MTU`, `NETWORK_ADDRESS`, `DNS` … Only these are managed. Default: none. */
    template?: pulumi.Input<TemplateArgs>;
    /** Address ranges, in order. Changed ranges are removed and added again in place. Default: none. */
    addressRanges?: pulumi.Input<pulumi.Input<AddressRangeInput>[]>;
    /** Clusters the network belongs to (changed in place). Default `[0]`, OpenNebula's default cluster. */
    clusterIds?: pulumi.Input<pulumi.Input<number>[]>;
    /** How long to wait for the network to become READY (and to disappear on delete), in seconds. Default 300. */
    readyTimeoutSeconds?: pulumi.Input<number>;
}

interface VirtualNetworkInputs extends NamedInputs {
    vnMad: string;
    addressRanges: TemplateVector[];
    clusterIds: number[];
    readyTimeoutSeconds: number;
}

interface VirtualNetworkOutputs extends VirtualNetworkInputs, CommonOutputs {
    /** OpenNebula's AR_ID of each address range, in the order of `addressRanges`. */
    addressRangeIds: number[];
    /** The VLAN / VXLAN id in use (explicit or automatic). */
    vlanId: string;
    /** The Linux bridge OpenNebula uses on the hosts. */
    bridge: string;
}

/** What OpenNebula puts in a network's template itself (null: any value); an automatic BRIDGE and VLAN_ID are left out too. */
const AUTOMATIC_ATTRIBUTES: Record<string, string | null> = {
    VN_MAD: null,
    BRIDGE_TYPE: null,
    SECURITY_GROUPS: "0",
    PHYDEV: "",
    OUTER_VLAN_ID: "",
};
/** Address range attributes OpenNebula computes (not given by a user). */
const COMPUTED_RANGE_ATTRIBUTES = [
    "AR_ID",
    "MAC",
    "MAC_END",
    "IP_END",
    "IP6_END",
    "IP6_ULA",
    "IP6_ULA_END",
    "IP6_GLOBAL",
    "IP6_GLOBAL_END",
    "USED_LEASES",
    "LEASES",
    "ALLOCATED",
    "PARENT_NETWORK_AR_ID",
];

function checkVirtualNetwork(news: Record<string, unknown>, failures: Failures): VirtualNetworkInputs {
    const inputs: VirtualNetworkInputs = {
        name: news.name as string,
        vnMad: news.vnMad as string,
        template: failures.template("template", news.template),
        addressRanges: checkAddressRanges(failures, news.addressRanges),
        clusterIds: failures.clusterIds("clusterIds", news.clusterIds),
        readyTimeoutSeconds: (news.readyTimeoutSeconds as number | undefined) ?? 300,
    };
    failures.name("name", inputs.name);
    checkNetworkTemplate(failures, inputs.vnMad, inputs.template);
    checkRangesInsideNetwork(failures, inputs.template, inputs.addressRanges);
    if (!isUnknown(inputs.template)) {
        for (const attribute of ["VN_MAD", "AR", "NAME"].filter((a) => a in inputs.template)) {
            failures.add(
                "template",
                `template must not set ${attribute}; use the ${{ VN_MAD: "vnMad", AR: "addressRanges", NAME: "name" }[attribute]} argument`,
            );
        }
    }
    failures.seconds("readyTimeoutSeconds", inputs.readyTimeoutSeconds);
    return inputs;
}

/**
 * The address ranges OpenNebula holds, each reduced to the attributes the matching declared range
 * sets (or, read as an import, to those a user gives).
 */
function actualRanges(xml: XmlElement, declared: VirtualNetworkInputs | undefined): { ranges: TemplateVector[]; ids: number[] } {
    const pool = child(xml, "AR_POOL");
    const stored = pool ? children(pool, "AR") : [];
    const ranges = stored.map((ar, i) => {
        const keep = declared
            ? (name: string) => Object.keys(declared.addressRanges[i] ?? {}).includes(name)
            : (name: string) => !COMPUTED_RANGE_ATTRIBUTES.includes(name) && !name.startsWith("IP6_");
        return Object.fromEntries(ar.children.filter((c) => keep(c.name)).map((c) => [c.name, c.text]));
    });
    return { ranges, ids: stored.map((ar) => childInt(ar, "AR_ID") ?? -1) };
}

/** The template a user would declare for a network read as an import: without OpenNebula's own attributes. */
function importedTemplate(xml: XmlElement): Template {
    const template = templateOf(xml);
    const automatic = { ...AUTOMATIC_ATTRIBUTES };
    if (/^onebr\.?\d+$/.test(String(template.BRIDGE ?? ""))) automatic.BRIDGE = null;
    if (childText(xml, "VLAN_ID_AUTOMATIC") === "1") automatic.VLAN_ID = null;
    return declaredAttributes(template, automatic);
}

/** The outputs as OpenNebula holds the network; `declared` undefined reads it as an import would. */
function networkOutputs(xml: XmlElement, declared: VirtualNetworkInputs | undefined): VirtualNetworkOutputs {
    const { ranges, ids } = actualRanges(xml, declared);
    return {
        readyTimeoutSeconds: declared?.readyTimeoutSeconds ?? 300,
        connection: declared?.connection,
        name: childText(xml, "NAME") ?? "",
        vnMad: childText(xml, "VN_MAD") ?? "",
        template: declared ? pickAttributes(templateOf(xml), Object.keys(declared.template)) : importedTemplate(xml),
        addressRanges: ranges,
        clusterIds: idList(xml, "CLUSTERS"),
        oneId: Number(childText(xml, "ID")),
        creationToken: creationTokenOf(xml) ?? "",
        addressRangeIds: ids,
        vlanId: childText(xml, "VLAN_ID") ?? "",
        bridge: childText(xml, "BRIDGE") ?? "",
    };
}

/** Waits until a new network leaves LOCK_CREATE; ERROR (e.g. a bad address range) is a failure with OpenNebula's reason. */
function waitUntilReady(client: OneClient, id: number, timeoutSeconds: number): Promise<XmlElement> {
    return waitFor(
        async () => {
            const { xml, state, reason } = await readState(client, "vnet", id);
            if (state === VnetState.ERROR) throw new Error(`it went to ERROR${reason}`);
            return state === VnetState.READY ? xml : undefined;
        },
        { timeoutMs: timeoutSeconds * 1000, intervalMs: 100 },
        () => new Error(`it was still not READY after ${timeoutSeconds} s`),
    );
}

async function createVirtualNetwork(client: OneClient, inputs: VirtualNetworkInputs, token: string): Promise<VirtualNetworkOutputs> {
    await requireDriversOnFrontEnd(client, [[VN_MAD_TABLE, "vnMad", inputs.vnMad]]);
    const [firstCluster, ...otherClusters] = inputs.clusterIds;
    const template = { ...inputs.template, NAME: inputs.name, VN_MAD: inputs.vnMad, AR: inputs.addressRanges, [CREATION_TOKEN]: token };
    const id = await allocateOwn(client, "vnet", inputs.name, [renderTemplateXml(template), firstCluster], token);
    return completeOrRollBack(
        { id, subject: `virtual network ${id}` },
        async () => {
            const ready = await waitUntilReady(client, id, inputs.readyTimeoutSeconds);
            if (otherClusters.length === 0) return networkOutputs(ready, inputs);
            await syncMemberships(client, "vnet", id, [firstCluster], [firstCluster, ...otherClusters]);
            return networkOutputs(await requireObject(client, "vnet", id), inputs);
        },
        () => deleteNetwork(client, id, inputs.readyTimeoutSeconds),
        () => ({ ...inputs, oneId: id, creationToken: token, clusterIds: [firstCluster], addressRanges: [] }),
    );
}

/** Removes and re-adds the address ranges that differ from the declared ones, position by position. */
async function syncAddressRanges(client: OneClient, id: number, current: XmlElement, wanted: VirtualNetworkInputs): Promise<void> {
    const { ranges, ids } = actualRanges(current, wanted);
    for (let i = 0; i < Math.max(ranges.length, wanted.addressRanges.length); i++) {
        if (i < ranges.length && sameValue(ranges[i], wanted.addressRanges[i])) continue;
        if (i < ranges.length) await client.call("one.vn.rm_ar", id, ids[i]);
        if (i < wanted.addressRanges.length) await addAddressRange(client, id, wanted.addressRanges[i]);
    }
}

/** `one.vn.add_ar`, which is not idempotent: after a failure that may have reached the server, look before adding again. */
async function addAddressRange(client: OneClient, id: number, range: TemplateVector): Promise<void> {
    const hasRange = async () => {
        const xml = await requireObject(client, "vnet", id);
        const pool = child(xml, "AR_POOL");
        const present = (pool ? children(pool, "AR") : []).some((ar) =>
            Object.entries(range).every(([key, value]) => childText(ar, key) === value),
        );
        return present ? id : undefined;
    };
    await client.allocate("one.vn.add_ar", [id, renderTemplateXml({ AR: range })], hasRange);
}

async function updateVirtualNetwork(
    client: OneClient,
    id: number,
    olds: VirtualNetworkOutputs,
    news: VirtualNetworkInputs,
): Promise<VirtualNetworkOutputs> {
    const current = await requireObject(client, "vnet", id);
    await updateNameAndTemplate(client, "vnet", id, current, olds, news);
    await syncAddressRanges(client, id, current, news);
    await syncMemberships(client, "vnet", id, idList(current, "CLUSTERS"), news.clusterIds);
    return networkOutputs(await requireObject(client, "vnet", id), news);
}

/** Deletes the network and waits for OpenNebula's asynchronous delete; a network still being created is waited for first. */
async function deleteNetwork(client: OneClient, id: number, timeoutSeconds: number): Promise<void> {
    await waitFor(
        async () => {
            const xml = await readObject(client, "vnet", id);
            return !xml || childInt(xml, "STATE") !== VnetState.LOCK_CREATE ? true : undefined;
        },
        { timeoutMs: timeoutSeconds * 1000, intervalMs: 100 },
        () => new Error(`virtual network ${id} stayed in LOCK_CREATE for ${timeoutSeconds} s and could not be deleted`),
    );
    await deleteObject(client, "vnet", id);
    await waitUntilGone(client, "vnet", id, timeoutSeconds * 1000);
}

const virtualNetwork = defineResource<VirtualNetworkArgs, VirtualNetworkInputs, VirtualNetworkOutputs>({
    type: "VirtualNetwork",
    kind: "vnet",
    outputsOf: networkOutputs,
    inputs: ["name", "vnMad", "template", "addressRanges", "clusterIds", "readyTimeoutSeconds"],
    defaults: { addressRanges: [] },
    replaceOn: ["vnMad"],
    outputs: ["oneId", "creationToken", "addressRangeIds", "vlanId", "bridge"],
    check: checkVirtualNetwork,
    create: createVirtualNetwork,
    update: (client, id, olds, news) => updateVirtualNetwork(client, Number(id), olds, news),
    delete: (client, id, olds) => deleteNetwork(client, Number(id), olds.readyTimeoutSeconds ?? 300),
});

/** The dynamic provider behind {@link VirtualNetwork}. */
export const virtualNetworkProvider = virtualNetwork.provider;

/**
 * An OpenNebula virtual network (`one.vn.*`) with its address ranges. Creation waits until the network
 * leaves LOCK_CREATE (a network that ends in ERROR is deleted again and the error says why); deletion
 * waits until OpenNebula's asynchronous delete is done. Only a change of driver replaces the network.
 */
export class VirtualNetwork extends virtualNetwork.Resource {}
