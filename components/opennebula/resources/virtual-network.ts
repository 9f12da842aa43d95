import * as pulumi from "@pulumi/pulumi";
import { OneClient } from "../client";
import {
    allocateNamed, deleteObject, readObject, renameObject, requireObject, syncMemberships, templateOf, updateTemplate,
    waitFor, waitUntilGone,
} from "../objects";
import { Template, TemplateVector, pickAttributes, renderTemplateXml } from "../template";
import { XmlElement, child, childInt, childText, children, idList } from "../xml";
import { checkAddressRanges, checkNetworkTemplate, checkRangesInsideNetwork } from "./address-ranges";
import {
    CommonOutputs, ConnectionArgs, ConnectionInputs, Failures, completeOrRollBack, diffProperties, isUnknown,
    replaceDeclaredAttributes, sameValue, withClient,
} from "./provider-kit";
import { RESOURCE_MODULE, TemplateArgs, keepConnectionSecret } from "./resource-options";

/** An address range as OpenNebula's `AR = [ … ]` vector, e.g. `{ TYPE: "IP4", IP: "10.0.0.2", SIZE: 10 }`. */
export type AddressRangeInput = { [key: string]: pulumi.Input<string | number | boolean> };

/** Arguments of {@link VirtualNetwork}. */
export interface VirtualNetworkArgs {
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
    /** How to reach OpenNebula. Default: `ONE_XMLRPC` and `ONE_AUTH`. */
    connection?: pulumi.Input<ConnectionArgs>;
}

interface VirtualNetworkInputs {
    name: string;
    vnMad: string;
    template: Template;
    addressRanges: TemplateVector[];
    clusterIds: number[];
    readyTimeoutSeconds: number;
    connection?: ConnectionInputs;
}

interface VirtualNetworkOutputs extends VirtualNetworkInputs, CommonOutputs {
    /** OpenNebula's AR_ID of each address range, in the order of `addressRanges`. */
    addressRangeIds: number[];
    /** The VLAN / VXLAN id in use (explicit or automatic). */
    vlanId: string;
    /** The Linux bridge OpenNebula uses on the hosts. */
    bridge: string;
}

const STATE_READY = 1;
const STATE_LOCK_CREATE = 2;
const STATE_ERROR = 5;

function checkVirtualNetwork(news: Record<string, unknown>): pulumi.dynamic.CheckResult<VirtualNetworkInputs> {
    const failures = new Failures();
    const inputs: VirtualNetworkInputs = {
        name: news.name as string,
        vnMad: news.vnMad as string,
        template: failures.template("template", news.template),
        addressRanges: checkAddressRanges(failures, news.addressRanges),
        clusterIds: failures.clusterIds("clusterIds", news.clusterIds),
        readyTimeoutSeconds: (news.readyTimeoutSeconds as number | undefined) ?? 300,
        connection: news.connection as ConnectionInputs | undefined,
    };
    failures.name("name", inputs.name);
    checkNetworkTemplate(failures, inputs.vnMad, inputs.template);
    checkRangesInsideNetwork(failures, inputs.template, inputs.addressRanges);
    if (!isUnknown(inputs.template)) {
        for (const attribute of ["VN_MAD", "AR", "NAME"].filter((a) => a in inputs.template)) {
            failures.add("template", `template must not set ${attribute}; use the ${{ VN_MAD: "vnMad", AR: "addressRanges", NAME: "name" }[attribute]} argument`);
        }
    }
    if (!isUnknown(inputs.readyTimeoutSeconds) && !(inputs.readyTimeoutSeconds > 0)) {
        failures.add("readyTimeoutSeconds", `readyTimeoutSeconds must be a number > 0 (got ${JSON.stringify(inputs.readyTimeoutSeconds)})`);
    }
    failures.connection(news.connection);
    return { inputs, failures: failures.list };
}

/** The address ranges OpenNebula holds, each reduced to the attributes the matching declared range sets. */
function actualRanges(xml: XmlElement, declared: VirtualNetworkInputs): { ranges: TemplateVector[]; ids: number[] } {
    const pool = child(xml, "AR_POOL");
    const stored = pool ? children(pool, "AR") : [];
    const ranges = stored.map((ar, i) => {
        const keys = Object.keys(declared.addressRanges[i] ?? {});
        return Object.fromEntries(ar.children.filter((c) => keys.includes(c.name)).map((c) => [c.name, c.text]));
    });
    return { ranges, ids: stored.map((ar) => childInt(ar, "AR_ID") ?? -1) };
}

function networkOutputs(xml: XmlElement, declared: VirtualNetworkInputs): VirtualNetworkOutputs {
    const { ranges, ids } = actualRanges(xml, declared);
    return {
        ...declared,
        name: childText(xml, "NAME") ?? "",
        vnMad: childText(xml, "VN_MAD") ?? "",
        template: pickAttributes(templateOf(xml), Object.keys(declared.template)),
        addressRanges: ranges,
        clusterIds: idList(xml, "CLUSTERS"),
        oneId: Number(childText(xml, "ID")),
        addressRangeIds: ids,
        vlanId: childText(xml, "VLAN_ID") ?? "",
        bridge: childText(xml, "BRIDGE") ?? "",
    };
}

/** Waits until a new network leaves LOCK_CREATE; ERROR (e.g. a bad address range) is a failure with OpenNebula's reason. */
function waitUntilReady(client: OneClient, id: number, timeoutSeconds: number): Promise<XmlElement> {
    return waitFor(
        async () => {
            const xml = await requireObject(client, "vnet", id);
            const state = childInt(xml, "STATE");
            if (state === STATE_ERROR) {
                const reason = templateOf(xml).ERROR;
                throw new Error(`it went to ERROR${typeof reason === "string" ? `: ${reason}` : ""}`);
            }
            return state === STATE_READY ? xml : undefined;
        },
        { timeoutMs: timeoutSeconds * 1000, intervalMs: 100 },
        () => new Error(`it was still not READY after ${timeoutSeconds} s`),
    );
}

async function createVirtualNetwork(client: OneClient, inputs: VirtualNetworkInputs): Promise<VirtualNetworkOutputs> {
    const [firstCluster, ...otherClusters] = inputs.clusterIds;
    const template = { ...inputs.template, NAME: inputs.name, VN_MAD: inputs.vnMad, AR: inputs.addressRanges };
    const id = await allocateNamed(client, "vnet", inputs.name, [renderTemplateXml(template), firstCluster]);
    return completeOrRollBack(
        "virtual network", id,
        async () => {
            const ready = await waitUntilReady(client, id, inputs.readyTimeoutSeconds);
            if (otherClusters.length === 0) return networkOutputs(ready, inputs);
            await syncMemberships(client, "vnet", id, [firstCluster], [firstCluster, ...otherClusters]);
            return networkOutputs(await requireObject(client, "vnet", id), inputs);
        },
        () => deleteNetwork(client, id, inputs.readyTimeoutSeconds),
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
            Object.entries(range).every(([key, value]) => childText(ar, key) === value));
        return present ? id : undefined;
    };
    await client.allocate("one.vn.add_ar", [id, renderTemplateXml({ AR: range })], hasRange);
}

async function updateVirtualNetwork(
    client: OneClient, id: number, olds: VirtualNetworkOutputs, news: VirtualNetworkInputs,
): Promise<VirtualNetworkOutputs> {
    const current = await requireObject(client, "vnet", id);
    if (childText(current, "NAME") !== news.name) await renameObject(client, "vnet", id, news.name);
    const template = replaceDeclaredAttributes(templateOf(current), olds.template, news.template);
    if (template) await updateTemplate(client, "vnet", id, template, "replace");
    await syncAddressRanges(client, id, current, news);
    await syncMemberships(client, "vnet", id, idList(current, "CLUSTERS"), news.clusterIds);
    return networkOutputs(await requireObject(client, "vnet", id), news);
}

/** Deletes the network and waits for OpenNebula's asynchronous delete; a network still being created is waited for first. */
async function deleteNetwork(client: OneClient, id: number, timeoutSeconds: number): Promise<void> {
    await waitFor(
        async () => {
            const xml = await readObject(client, "vnet", id);
            return !xml || childInt(xml, "STATE") !== STATE_LOCK_CREATE ? true : undefined;
        },
        { timeoutMs: timeoutSeconds * 1000, intervalMs: 100 },
        () => new Error(`virtual network ${id} stayed in LOCK_CREATE for ${timeoutSeconds} s and could not be deleted`),
    );
    await deleteObject(client, "vnet", id);
    await waitUntilGone(client, "vnet", id, timeoutSeconds * 1000);
}

/** The dynamic provider behind {@link VirtualNetwork}. */
export const virtualNetworkProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds, news) {
        return checkVirtualNetwork(news);
    },
    async diff(_id, olds, news) {
        return diffProperties(olds, news, {
            replaceOn: ["vnMad"],
            updateOn: ["name", "template", "addressRanges", "clusterIds", "readyTimeoutSeconds"],
        });
    },
    async create(inputs: VirtualNetworkInputs) {
        const outs = await withClient(inputs.connection, (client) => createVirtualNetwork(client, inputs));
        return { id: String(outs.oneId), outs };
    },
    async read(id, props: VirtualNetworkOutputs) {
        const xml = await withClient(props.connection, (client) => readObject(client, "vnet", Number(id)));
        return xml ? { id, props: networkOutputs(xml, props) } : { id: "", props: {} };
    },
    async update(id, olds: VirtualNetworkOutputs, news: VirtualNetworkInputs) {
        return { outs: await withClient(news.connection, (client) => updateVirtualNetwork(client, Number(id), olds, news)) };
    },
    async delete(id, props: VirtualNetworkOutputs) {
        await withClient(props.connection, (client) => deleteNetwork(client, Number(id), props.readyTimeoutSeconds ?? 300));
    },
};

/**
 * An OpenNebula virtual network (`one.vn.*`) with its address ranges. Creation waits until the network
 * leaves LOCK_CREATE (a network that ends in ERROR is deleted again and the error says why); deletion
 * waits until OpenNebula's asynchronous delete is done. Only a change of driver replaces the network.
 */
export class VirtualNetwork extends pulumi.dynamic.Resource {
    /** The network's OpenNebula ID. */
    declare readonly oneId: pulumi.Output<number>;
    declare readonly name: pulumi.Output<string>;
    declare readonly template: pulumi.Output<Template>;
    declare readonly addressRanges: pulumi.Output<TemplateVector[]>;
    /** OpenNebula's AR_ID of each address range. */
    declare readonly addressRangeIds: pulumi.Output<number[]>;
    declare readonly clusterIds: pulumi.Output<number[]>;
    /** The VLAN / VXLAN id in use. */
    declare readonly vlanId: pulumi.Output<string>;
    /** The Linux bridge used on the hosts. */
    declare readonly bridge: pulumi.Output<string>;

    constructor(name: string, args: VirtualNetworkArgs, opts?: pulumi.CustomResourceOptions) {
        const props = {
            name: args.name ?? name, vnMad: args.vnMad, template: args.template ?? {}, addressRanges: args.addressRanges ?? [],
            clusterIds: args.clusterIds, readyTimeoutSeconds: args.readyTimeoutSeconds, connection: args.connection,
            oneId: undefined, addressRangeIds: undefined, vlanId: undefined, bridge: undefined,
        };
        super(virtualNetworkProvider, name, props, keepConnectionSecret(opts), RESOURCE_MODULE, "VirtualNetwork");
    }
}
