import type { OneClient } from "./client";
import { OneErrorCode, isOneError } from "./errors";
import type { Template, TemplateInput } from "./template";
import { renderTemplateXml, templateFromXmlElement } from "./template";
import type { XmlElement } from "./xml";
import { child, children, childInt, childText, parseXml } from "./xml";

/**
 * The OpenNebula object kinds this package manages, with the XML-RPC names that address them: the
 * calls' prefix (`<prefix>.info`, and `<prefix>pool.info` for the pool), the pool's filter
 * arguments, the XML root element and a label for messages.
 */
export const OBJECT_KINDS = {
    cluster: { prefix: "one.cluster", poolArgs: [], root: "CLUSTER", label: "cluster" },
    host: { prefix: "one.host", poolArgs: [], root: "HOST", label: "host" },
    datastore: { prefix: "one.datastore", poolArgs: [], root: "DATASTORE", label: "datastore" },
    vnet: { prefix: "one.vn", poolArgs: [-3, -1, -1], root: "VNET", label: "virtual network" },
    vntemplate: { prefix: "one.vntemplate", poolArgs: [-3, -1, -1], root: "VNTEMPLATE", label: "virtual network template" },
    image: { prefix: "one.image", poolArgs: [-3, -1, -1], root: "IMAGE", label: "image" },
    vmtemplate: { prefix: "one.template", poolArgs: [-3, -1, -1], root: "VMTEMPLATE", label: "VM template" },
    // Marketplace apps usually belong to oneadmin and are shared with everyone: look through all visible ones (-2).
    marketapp: { prefix: "one.marketapp", poolArgs: [-2, -1, -1], root: "MARKETPLACEAPP", label: "marketplace app" },
    vrouter: { prefix: "one.vrouter", poolArgs: [-3, -1, -1], root: "VROUTER", label: "virtual router" },
    // The fourth pool argument -1 lists every state except DONE. VMs are deleted with one.vm.action, not *.delete.
    vm: { prefix: "one.vm", poolArgs: [-3, -1, -1, -1], root: "VM", label: "virtual machine" },
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

/** Kinds whose names OpenNebula keeps unique (globally, or per owner); VMs and virtual routers may share a name. */
const UNIQUE_NAMES: readonly ObjectKind[] = ["cluster", "host", "datastore", "vnet", "vntemplate", "image", "vmtemplate"];

/**
 * The template attribute that marks the object one creation made: a random token per create, also
 * kept in the resource's outputs (`creationToken`), so that after an answer that was lost the object
 * can be told apart from one of the same name that someone else made.
 */
export const CREATION_TOKEN = "PULUMI_CREATION_TOKEN";

/** IDs of the objects of `kind` called `name` (the caller's own objects for per-owner pools). */
export async function idsByName(client: OneClient, kind: ObjectKind, name: string): Promise<number[]> {
    const { prefix, poolArgs, root } = OBJECT_KINDS[kind];
    const poolXml = parseXml(String(await client.call(`${prefix}pool.info`, ...poolArgs)));
    return children(poolXml, root)
        .filter((object) => childText(object, "NAME") === name)
        .map((object) => childInt(object, "ID") ?? -1);
}

/** The creation token an object carries (in its TEMPLATE, or a VM's USER_TEMPLATE), if any. */
export function creationTokenOf(object: XmlElement): string | undefined {
    for (const name of ["TEMPLATE", "USER_TEMPLATE"]) {
        const element = child(object, name);
        const token = element ? childText(element, CREATION_TOKEN) : undefined;
        if (token) return token;
    }
    return undefined;
}

/** The error for an object of this name that this resource did not create: nothing is adopted, changed or deleted. */
export function notOursError(kind: ObjectKind, name: string, id: number): Error {
    const label = OBJECT_KINDS[kind].label;
    return new Error(
        `${label} ${JSON.stringify(name)} already exists in OpenNebula (ID ${id}) and was not created by this resource ` +
            `(it does not carry this creation's ${CREATION_TOKEN}); nothing was adopted, changed or deleted. ` +
            `Choose another name, or delete ${label} ${id} if it is a leftover.`,
    );
}

/**
 * For kinds whose allocate call cannot carry the creation token (clusters and hosts take only a
 * name): fails with {@link notOursError} when the name is already taken. Once this passed, an
 * object of that name found after a lost answer is the one this creation made.
 */
export async function requireNameFree(client: OneClient, kind: ObjectKind, name: string): Promise<void> {
    const [existing] = await idsByName(client, kind, name);
    if (existing !== undefined) throw notOursError(kind, name, existing);
}

/**
 * After an allocate whose answer was lost: the object that creation made, or undefined when it made
 * none. A same-named object counts only if it carries `token` (or, with `nameWasFree`, if the name
 * was checked free just before); for kinds with unique names any other match is {@link notOursError}.
 */
export async function findOwn(
    client: OneClient,
    kind: ObjectKind,
    name: string,
    token: string,
    nameWasFree = false,
): Promise<number | undefined> {
    for (const id of await idsByName(client, kind, name)) {
        const object = await readObject(client, kind, id);
        if (!object) continue;
        const carried = creationTokenOf(object);
        if (carried === token || (nameWasFree && carried === undefined)) return id;
        if (UNIQUE_NAMES.includes(kind)) throw notOursError(kind, name, id);
    }
    return undefined;
}

/**
 * Allocates an object that carries `token` (in the template sent, or, with `nameWasFree`, stamped
 * right after). If the request may have reached the server before a failure, the object this
 * creation made is looked up (see {@link findOwn}) instead of being allocated twice.
 */
export function allocateOwn(
    client: OneClient,
    kind: ObjectKind,
    name: string,
    params: (string | number | boolean)[],
    token: string,
    nameWasFree = false,
): Promise<number> {
    return client.allocate(`${OBJECT_KINDS[kind].prefix}.allocate`, params, () => findOwn(client, kind, name, token, nameWasFree));
}

/** The object's user template. */
export function templateOf(object: XmlElement): Template {
    const element = child(object, "TEMPLATE");
    return element ? templateFromXmlElement(element) : {};
}

/** An object that must exist as now read: its STATE (-1 when absent) and `: <reason>` from the ERROR its template records ("" when none). */
export async function readState(
    client: OneClient,
    kind: ObjectKind,
    id: number,
): Promise<{ xml: XmlElement; state: number; reason: string }> {
    const xml = await requireObject(client, kind, id);
    const error = templateOf(xml).ERROR;
    return { xml, state: childInt(xml, "STATE") ?? -1, reason: typeof error === "string" ? `: ${error}` : "" };
}

/** Replaces (`replace`) or merges (`merge`) the object's user template. */
export async function updateTemplate(
    client: OneClient,
    kind: ObjectKind,
    id: number,
    template: TemplateInput,
    mode: "replace" | "merge",
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
    const longest = maxPollMs();
    let interval = Math.min(options.intervalMs ?? 500, longest);
    for (;;) {
        const result = await probe();
        if (result !== undefined) return result;
        if (Date.now() >= deadline) throw onTimeout();
        await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(0, deadline - Date.now()))));
        interval = Math.min(interval * 2, longest);
    }
}

/** The longest pause between polls: 5 s, or less when the provider process's ONE_EDGE_MAX_POLL_MS says so (tests). */
function maxPollMs(): number {
    const fromEnv = Number(process.env.ONE_EDGE_MAX_POLL_MS);
    return Number.isFinite(fromEnv) && fromEnv > 0 ? Math.min(fromEnv, 5000) : 5000;
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
    client: OneClient,
    kind: keyof typeof MEMBERSHIP_CALLS,
    id: number,
    current: number[],
    wanted: number[],
): Promise<void> {
    const calls = MEMBERSHIP_CALLS[kind];
    for (const clusterId of wanted.filter((c) => !current.includes(c))) await client.call(calls.add, clusterId, id);
    for (const clusterId of current.filter((c) => !wanted.includes(c))) await client.call(calls.remove, clusterId, id);
}
