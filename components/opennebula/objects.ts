import { OneClient } from "./client";
import { OneErrorCode, isOneError } from "./errors";
import { Template, TemplateInput, renderTemplateXml, templateFromXmlElement } from "./template";
import { XmlElement, child, children, childInt, childText, parseXml } from "./xml";

/** The OpenNebula object kinds this package manages, with the XML-RPC names that address them. */
export const OBJECT_KINDS = {
    cluster: { prefix: "one.cluster", pool: "one.clusterpool.info", poolArgs: [], root: "CLUSTER", label: "cluster" },
    host: { prefix: "one.host", pool: "one.hostpool.info", poolArgs: [], root: "HOST", label: "host" },
    datastore: { prefix: "one.datastore", pool: "one.datastorepool.info", poolArgs: [], root: "DATASTORE", label: "datastore" },
    vnet: { prefix: "one.vn", pool: "one.vnpool.info", poolArgs: [-3, -1, -1], root: "VNET", label: "virtual network" },
    vntemplate: {
        prefix: "one.vntemplate", pool: "one.vntemplatepool.info", poolArgs: [-3, -1, -1],
        root: "VNTEMPLATE", label: "virtual network template",
    },
    image: { prefix: "one.image", pool: "one.imagepool.info", poolArgs: [-3, -1, -1], root: "IMAGE", label: "image" },
    vmtemplate: { prefix: "one.template", pool: "one.templatepool.info", poolArgs: [-3, -1, -1], root: "VMTEMPLATE", label: "VM template" },
    // Marketplace apps usually belong to oneadmin and are shared with everyone: look through all visible ones (-2).
    marketapp: {
        prefix: "one.marketapp", pool: "one.marketapppool.info", poolArgs: [-2, -1, -1],
        root: "MARKETPLACEAPP", label: "marketplace app",
    },
    vrouter: { prefix: "one.vrouter", pool: "one.vrouterpool.info", poolArgs: [-3, -1, -1], root: "VROUTER", label: "virtual router" },
    // The fourth pool argument -1 lists every state except DONE. VMs are deleted with one.vm.action, not *.delete.
    vm: { prefix: "one.vm", pool: "one.vmpool.info", poolArgs: [-3, -1, -1, -1], root: "VM", label: "virtual machine" },
} as const;

export type ObjectKind = keyof typeof OBJECT_KINDS;

/** `one.<kind>.info`: the object's XML, or undefined when it no longer exists. */
export async function readObject(client: OneClient, kind: ObjectKind, id: number): Promise<XmlElement | undefined> {
    try {
        return parseXml(String(await client.call(`${OBJECT_KINDS[kind].prefix}.info`, id)));
    } catch (err) {
        if (isOneError(err, OneErrorCode.NO_EXISTS)) return undefined;
        throw err;
    }
}

/** `one.<kind>.info`, failing with a clear error when the object is gone. */
export async function requireObject(client: OneClient, kind: ObjectKind, id: number): Promise<XmlElement> {
    const xml = await readObject(client, kind, id);
    if (!xml) throw new Error(`${OBJECT_KINDS[kind].label} ${id} no longer exists in OpenNebula`);
    return xml;
}

/** Looks an object up by name in its pool (the caller's own objects for per-owner pools). */
export async function findByName(client: OneClient, kind: ObjectKind, name: string): Promise<number | undefined> {
    const { pool, poolArgs, root } = OBJECT_KINDS[kind];
    const poolXml = parseXml(String(await client.call(pool, ...poolArgs)));
    const match = children(poolXml, root).find((object) => childText(object, "NAME") === name);
    return match ? childInt(match, "ID") : undefined;
}

/**
 * Allocates an object whose name is unique in its pool. If the request may have reached the server
 * before a failure, the object is looked up by name instead of being allocated twice.
 */
export function allocateNamed(
    client: OneClient, kind: ObjectKind, name: string, params: (string | number | boolean)[],
): Promise<number> {
    return client.allocate(`${OBJECT_KINDS[kind].prefix}.allocate`, params, () => findByName(client, kind, name));
}

/** The object's user template. */
export function templateOf(object: XmlElement): Template {
    const element = child(object, "TEMPLATE");
    return element ? templateFromXmlElement(element) : {};
}

/** Replaces (`replace`) or merges (`merge`) the object's user template. */
export async function updateTemplate(
    client: OneClient, kind: ObjectKind, id: number, template: TemplateInput, mode: "replace" | "merge",
): Promise<void> {
    await client.call(`${OBJECT_KINDS[kind].prefix}.update`, id, renderTemplateXml(template), mode === "merge" ? 1 : 0);
}

/** Renames the object unless it already has that name. */
export async function renameObject(client: OneClient, kind: ObjectKind, id: number, name: string): Promise<void> {
    await client.call(`${OBJECT_KINDS[kind].prefix}.rename`, id, name);
}

/** Deletes the object; an object that is already gone counts as deleted. */
export async function deleteObject(client: OneClient, kind: ObjectKind, id: number): Promise<void> {
    try {
        await client.call(`${OBJECT_KINDS[kind].prefix}.delete`, id);
    } catch (err) {
        if (!isOneError(err, OneErrorCode.NO_EXISTS)) throw err;
    }
}

/** Options for {@link waitFor}. */
export interface WaitOptions {
    /** Give up after this many milliseconds. */
    timeoutMs: number;
    /** Poll interval in milliseconds. Default 500, doubling up to 5000. */
    intervalMs?: number;
}

/**
 * Polls `probe` until it returns something other than undefined, and returns that.
 * Throws `onTimeout()` when the time is up.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined>, options: WaitOptions, onTimeout: () => Error): Promise<T> {
    const deadline = Date.now() + options.timeoutMs;
    let interval = options.intervalMs ?? 500;
    for (;;) {
        const result = await probe();
        if (result !== undefined) return result;
        if (Date.now() >= deadline) throw onTimeout();
        await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(0, deadline - Date.now()))));
        interval = Math.min(interval * 2, 5000);
    }
}

/** Waits until the object is gone (for OpenNebula's asynchronous deletes). */
export async function waitUntilGone(client: OneClient, kind: ObjectKind, id: number, timeoutMs: number): Promise<void> {
    await waitFor(
        async () => ((await readObject(client, kind, id)) ? undefined : true),
        { timeoutMs, intervalMs: 200 },
        () => new Error(`${OBJECT_KINDS[kind].label} ${id} was asked to delete but still exists after ${timeoutMs / 1000} s`),
    );
}

/** Cluster membership calls per object kind that can belong to several clusters. */
const MEMBERSHIP_CALLS = {
    datastore: { add: "one.cluster.adddatastore", remove: "one.cluster.deldatastore" },
    vnet: { add: "one.cluster.addvnet", remove: "one.cluster.delvnet" },
} as const;

/** Adds and removes cluster memberships so that the object is in exactly `wanted` clusters. */
export async function syncMemberships(
    client: OneClient, kind: keyof typeof MEMBERSHIP_CALLS, id: number, current: number[], wanted: number[],
): Promise<void> {
    const calls = MEMBERSHIP_CALLS[kind];
    for (const clusterId of wanted.filter((c) => !current.includes(c))) await client.call(calls.add, clusterId, id);
    for (const clusterId of current.filter((c) => !wanted.includes(c))) await client.call(calls.remove, clusterId, id);
}
