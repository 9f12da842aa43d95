/**
 * The method registry and the request shapes several object kinds share (info, update, rename,
 * pool info, the cluster argument of allocate), each following the oned request class it mirrors.
 */
import { ErrorCode, Invalid, OneFailure, internal } from "./errors";
import type { Params } from "./params";
import type { Pool, PoolObject } from "./pool";
import { OneTemplate, TemplateParseError } from "./template";
import type { World } from "./world";
import { wrapAll } from "./xml";
import { nameError } from "./names";

/** A method body: returns the success value (an ID, an XML document or a string) or throws OneFailure/RpcFault. */
export type Handler = (params: Params) => string | number;

/** Method name → handler. */
export class MethodTable {
    private readonly handlers = new Map<string, Handler>();

    /** Registers `name`; registering a name twice is a programming error. */
    define(name: string, handler: Handler): void {
        if (this.handlers.has(name)) throw new Error(`method ${name} is defined twice`);
        this.handlers.set(name, handler);
    }

    /** The handler for `name`, or undefined when oned has no such method. */
    get(name: string): Handler | undefined {
        return this.handlers.get(name);
    }
}

/**
 * Parses an allocate template; a syntax error is INTERNAL "Parse error: …". With `object` (the
 * datastore, virtual network and VN template allocates, as measured on 6.10.5 and 7.0.2), a value
 * holding `]]>` is INTERNAL "Error transforming the <object> to XML.": oned stores templates as
 * CDATA and cannot write it.
 */
export function parseAllocateTemplate(text: string, object?: string): OneTemplate {
    let template: OneTemplate;
    try {
        template = OneTemplate.parse(text);
    } catch (err) {
        if (err instanceof TemplateParseError) throw internal(err.message);
        throw err;
    }
    if (object !== undefined && template.holdsCdataEnd) throw internal(`Error transforming the ${object} to XML.`);
    return template;
}

/**
 * Reads the cluster argument of host/datastore/vnet allocate: `-1` means the default cluster 0; an
 * unknown cluster is NO_EXISTS for the *cluster*.
 */
export function clusterArgument(world: World, params: Params, index: number): number {
    const requested = params.int(index);
    const clusterId = requested === -1 ? 0 : requested;
    world.clusters.get(clusterId);
    return clusterId;
}

/** Runs an object's own validation, turning `Invalid` into INTERNAL (8192) with the same message. */
export function asInternal<T>(check: () => T): T {
    try {
        return check();
    } catch (err) {
        if (err instanceof Invalid) throw internal(err.message);
        throw err;
    }
}

/** `one.<kind>.info(id, [decrypt])`. */
export function infoMethod<T extends PoolObject>(pool: Pool<T>, render: (object: T) => string): Handler {
    return (params) => {
        const id = params.int(1);
        params.optionalBoolean(2, false);
        return render(pool.get(id));
    };
}

/**
 * `one.<kind>.update(id, template, [type])` (`RequestManagerUpdateTemplate`): NO_EXISTS first, then
 * (with `dropsCdataEnd`, clusters and hosts) a template holding `]]>` answered with success and dropped, then
 * type 0/1 (else XML_RPC_API "Wrong update type"), then parse and apply. `apply` validates the
 * candidate template and commits it, or throws `Invalid`; either failure is INTERNAL
 * "Cannot update template. <reason>" and leaves the object unchanged. `current` is the template a
 * merge starts from (the object's `template` unless told otherwise, e.g. a VM's USER_TEMPLATE).
 */
export function updateMethod<T extends PoolObject & { template: OneTemplate }>(
    pool: Pool<T>,
    apply: (object: T, candidate: OneTemplate) => void = (object, candidate) => {
        object.template = candidate;
    },
    current: (object: T) => OneTemplate = (object) => object.template,
    options: { dropsCdataEnd?: boolean } = {},
): Handler {
    return (params) => {
        const id = params.int(1);
        const text = params.string(2);
        const type = params.optionalInt(3, 0);
        const object = pool.get(id);
        if (type !== 0 && type !== 1) throw new OneFailure(ErrorCode.XML_RPC_API, "Wrong update type");
        try {
            const parsed = OneTemplate.parse(text);
            // Measured on clusters and hosts: success, but nothing of that update is stored.
            if (options.dropsCdataEnd && parsed.holdsCdataEnd) return id;
            const candidate = type === 0 ? parsed : mergedInto(current(object), parsed);
            apply(object, candidate);
        } catch (err) {
            if (err instanceof TemplateParseError || err instanceof Invalid) throw internal(`Cannot update template. ${err.message}`);
            throw err;
        }
        return id;
    };
}

function mergedInto(current: OneTemplate, changes: OneTemplate): OneTemplate {
    const merged = current.clone();
    merged.merge(changes);
    return merged;
}

/**
 * `one.<kind>.rename(id, name)` (`RequestManagerRename`): NO_EXISTS, same name → success, collision
 * → ACTION "<object> cannot be renamed to <new> because it collides with <object> <id>" (unless the
 * kind has no unique names: `unique: false` for VMs and virtual routers), invalid name → ACTION with
 * the name error.
 */
export function renameMethod<T extends PoolObject>(pool: Pool<T>, options: { unique?: boolean } = {}): Handler {
    const unique = options.unique ?? true;
    return (params) => {
        const id = params.int(1);
        const newName = params.string(2);
        const object = pool.get(id);
        if (object.name === newName) return id;
        const other = unique ? pool.byName(newName) : undefined;
        const label = pool.labels.object;
        if (other)
            throw new OneFailure(
                ErrorCode.ACTION,
                `${label} cannot be renamed to ${newName} because it collides with ${label} ${other.id}`,
            );
        const invalid = nameError(newName);
        if (invalid) throw new OneFailure(ErrorCode.ACTION, invalid);
        object.name = newName;
        return id;
    };
}

/** Pool info without filter arguments (clusters, hosts, datastores): every object. */
export function unfilteredPoolInfo<T extends PoolObject>(root: string, pool: Pool<T>, render: (object: T) => string): Handler {
    return () => wrapAll(root, pool.list().map(render));
}

/**
 * Pool info with `(filter, start, end)` (`RequestManagerPoolInfoFilter`): filter < -4 is XML_RPC_API
 * "Incorrect filter_flag"; everything belongs to oneadmin (uid 0), so -4…-1 and 0 list everything and
 * any other uid nothing. `start`/`end` select an ID range, or offset/page size when `end < -1`.
 */
export function filteredPoolInfo<T extends PoolObject>(root: string, pool: Pool<T>, render: (object: T) => string): Handler {
    return (params) => {
        const filter = params.int(1);
        const start = params.int(2);
        const end = params.int(3);
        return wrapAll(root, selectPage(pool.list(), filter, start, end).map(render));
    };
}

/** The `(filter, start, end)` selection of {@link filteredPoolInfo} applied to `objects` (ascending IDs). */
export function selectPage<T extends PoolObject>(objects: T[], filter: number, start: number, end: number): T[] {
    if (filter < -4) throw new OneFailure(ErrorCode.XML_RPC_API, "Incorrect filter_flag");
    let selected = filter > 0 ? [] : objects;
    if (end >= -1 && start !== -1) selected = selected.filter((o) => o.id >= start && (end === -1 || o.id <= end));
    if (end < -1) selected = selected.slice(Math.max(start, 0), Math.max(start, 0) - end);
    return selected;
}
