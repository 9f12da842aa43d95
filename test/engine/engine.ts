/**
 * A stand-in for the Pulumi engine's side of a dynamic resource's life, over a real provider host:
 * what it sends (secrets stripped because the host answers `acceptSecrets: false`, unknowns as the
 * sentinel), in which order (Check → Diff → Create/Update/replacement, Read for refresh, Delete), and
 * what it keeps (inputs, outputs, partial state from `ErrorResourceInitFailed`, secrets re-marked by
 * its rule). Facts: shared/reference/pulumi-engine-protocol.md and the engine's Go code.
 */
import type { EngineDiff, Properties, ProviderHost } from "./provider-host";
import { HostCallError } from "./provider-host";
import type { Registration } from "./registrations";
import { urnOf } from "./registrations";

/** The SDK's signature key and its value for secrets (`runtime/rpc.js`). */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** The engine's sentinel for a value not known yet. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Prefix of every dynamic resource's type token. */
export const DYNAMIC_PREFIX = "pulumi-nodejs:dynamic/";

/** What the engine keeps for one resource. */
export interface ResourceState {
    urn: string;
    type: string;
    name: string;
    id: string;
    /** The checked inputs, secrets stripped (what later requests carry). */
    inputs: Properties;
    /** The outputs (`__provider` included). */
    outputs: Properties;
    /** The registered inputs with their secret wrappers: the source of the engine's re-marking. */
    registeredInputs: Properties;
    additionalSecretOutputs: string[];
    /** Reasons of a partial create or update (`ErrorResourceInitFailed`), when there was one. */
    initErrors: string[];
}

/** A check that failed: the engine stops before creating or changing anything. */
export class CheckFailed extends Error {
    constructor(
        readonly urn: string,
        readonly failures: { property: string; reason: string }[],
    ) {
        super(`${urn}: ${failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
        this.name = "CheckFailed";
    }
}

/** Whether a value is the SDK's secret wrapper. */
export function isSecretWrapper(value: unknown): value is { value: unknown } {
    return typeof value === "object" && value !== null && (value as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
}

/** The value with every secret wrapper replaced by its content, as the engine sends it to a host that does not accept secrets. */
export function stripSecrets(value: unknown): unknown {
    if (isSecretWrapper(value)) return stripSecrets(value.value);
    if (Array.isArray(value)) return value.map(stripSecrets);
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stripSecrets(v)]));
    return value;
}

/** Whether a value holds a secret wrapper anywhere. */
export function containsSecret(value: unknown): boolean {
    if (isSecretWrapper(value)) return true;
    if (Array.isArray(value)) return value.some(containsSecret);
    if (value && typeof value === "object") return Object.values(value).some(containsSecret);
    return false;
}

/** Marks a value secret in {@link ResourceState} outputs after the engine's rule. */
export interface MarkedSecret {
    secret: unknown;
}

/**
 * The outputs as the engine stores them: `annotateSecrets` (an output whose name equals an input
 * holding a secret becomes secret; objects on both sides are compared key by key), then
 * `additionalSecretOutputs`.
 */
export function markSecrets(outputs: Properties, inputs: Properties, additional: string[]): Properties {
    const marked = annotate(outputs, inputs);
    for (const key of additional) if (key in marked && !isMarked(marked[key])) marked[key] = { secret: marked[key] } satisfies MarkedSecret;
    return marked;
}

function annotate(outputs: Properties, inputs: Properties): Properties {
    const result: Properties = { ...outputs };
    for (const [key, input] of Object.entries(inputs)) {
        if (!(key in result)) continue;
        const output = result[key];
        if (isPlainObject(output) && isPlainObject(input) && !isSecretWrapper(input)) result[key] = annotate(output, input);
        else if (containsSecret(input)) result[key] = { secret: output } satisfies MarkedSecret;
    }
    return result;
}

function isPlainObject(value: unknown): value is Properties {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isMarked(value: unknown): value is MarkedSecret {
    return isPlainObject(value) && Object.keys(value).length === 1 && "secret" in value;
}

/** Every (path, string) of a marked output tree that the engine would store in plain text. */
export function plainStrings(value: unknown, path = ""): { path: string; text: string }[] {
    if (isMarked(value)) return [];
    if (Array.isArray(value)) return value.flatMap((v, i) => plainStrings(v, `${path}[${i}]`));
    if (isPlainObject(value)) return Object.entries(value).flatMap(([k, v]) => plainStrings(v, path ? `${path}.${k}` : k));
    return typeof value === "string" ? [{ path, text: value }] : [];
}

/** Paths of every `undefined`, NaN or non-plain value in a result (a Struct cannot carry them). */
export function nonStructValues(value: unknown, path = "$"): string[] {
    if (value === undefined) return [path];
    if (typeof value === "number" && !Number.isFinite(value)) return [path];
    if (Array.isArray(value)) return value.flatMap((v, i) => nonStructValues(v, `${path}[${i}]`));
    if (value && typeof value === "object") {
        if (Object.getPrototypeOf(value) !== Object.prototype) return [`${path} (${value.constructor?.name})`];
        return Object.entries(value).flatMap(([k, v]) => nonStructValues(v, `${path}.${k}`));
    }
    return [];
}

/** The engine's side of the resources it manages through one provider host. */
export class Engine {
    /** Resources by URN, in creation order. */
    readonly state = new Map<string, ResourceState>();

    constructor(readonly host: ProviderHost) {}

    /**
     * `pulumi up` for one registration: Check, then Create when the resource is new; otherwise Diff,
     * and Update, a replacement (delete-before-replace as Diff says), or nothing. A partial create or
     * update (`ErrorResourceInitFailed`) is recorded before the error is rethrown, as the engine does.
     */
    async up(registration: Registration): Promise<ResourceState> {
        const urn = registration.urn;
        const old = this.state.get(urn);
        const news = stripSecrets(registration.object) as Properties;
        const checked = await this.check(urn, old?.inputs ?? {}, news);
        if (!old) return this.create(registration, checked);
        const diff = await this.host.diff(urn, old.id, old.outputs, checked, old.inputs);
        if (diff.replaces.length > 0) return this.replace(registration, old, diff);
        if (diff.changes === "none" && old.initErrors.length === 0) return old;
        return this.update(registration, old, checked);
    }

    /** A preview of `up`: Check, and Diff for a resource that exists; Create and Update are never called. */
    async preview(registration: Registration): Promise<{ inputs: Properties; diff?: EngineDiff }> {
        const urn = registration.urn;
        const old = this.state.get(urn);
        const news = stripSecrets(registration.object) as Properties;
        const inputs = await this.check(urn, old?.inputs ?? {}, news);
        if (!old) return { inputs };
        return { inputs, diff: await this.host.diff(urn, old.id, old.outputs, inputs, old.inputs) };
    }

    /** `pulumi refresh` of one resource: Read with state and inputs; an empty id drops it from state. Returns the new state or undefined. */
    async refresh(urn: string): Promise<ResourceState | undefined> {
        const old = this.require(urn);
        const read = await this.host.read(urn, old.id, old.outputs, old.inputs);
        if (read.id === "") {
            this.state.delete(urn);
            return undefined;
        }
        const refreshed = { ...old, id: read.id, outputs: read.properties, inputs: read.inputs ?? old.inputs };
        this.state.set(urn, refreshed);
        return refreshed;
    }

    /** `pulumi up` with nothing changed: Check and Diff of one resource. */
    async diffUnchanged(urn: string, registration: Registration): Promise<EngineDiff> {
        const old = this.require(urn);
        const checked = await this.check(urn, old.inputs, stripSecrets(registration.object) as Properties);
        return this.host.diff(urn, old.id, old.outputs, checked, old.inputs);
    }

    /** Delete of one resource, then it leaves state. */
    async destroy(urn: string): Promise<void> {
        const old = this.require(urn);
        await this.host.delete(urn, old.id, old.outputs, old.inputs);
        this.state.delete(urn);
    }

    /** `pulumi destroy`: every resource, in the reverse order of creation. */
    async destroyAll(): Promise<void> {
        for (const urn of [...this.state.keys()].reverse()) await this.destroy(urn);
    }

    /** What `pulumi import` / the `import` option sends: Read with the id and nothing else. */
    importRead(type: string, name: string, id: string): Promise<{ id: string; properties: Properties; inputs?: Properties }> {
        return this.host.read(urnOf(type, name), id, {}, {});
    }

    /** A resource's outputs as the engine stores them, secrets marked. */
    storedOutputs(urn: string): Properties {
        const state = this.require(urn);
        return markSecrets(state.outputs, state.registeredInputs, state.additionalSecretOutputs);
    }

    require(urn: string): ResourceState {
        const state = this.state.get(urn);
        if (!state) throw new Error(`the engine holds no ${urn}`);
        return state;
    }

    private async check(urn: string, olds: Properties, news: Properties): Promise<Properties> {
        const { inputs, failures } = await this.host.check(urn, olds, news);
        if (failures.length > 0) throw new CheckFailed(urn, failures);
        return inputs;
    }

    private async create(registration: Registration, inputs: Properties): Promise<ResourceState> {
        const base = {
            urn: registration.urn,
            type: registration.type,
            name: registration.name,
            inputs,
            registeredInputs: registration.object,
            additionalSecretOutputs: registration.additionalSecretOutputs,
        };
        try {
            const { id, properties } = await this.host.create(registration.urn, inputs);
            const state: ResourceState = { ...base, id, outputs: properties, initErrors: [] };
            this.state.set(registration.urn, state);
            return state;
        } catch (err) {
            this.recordPartial(err, base);
            throw err;
        }
    }

    private async update(registration: Registration, old: ResourceState, inputs: Properties): Promise<ResourceState> {
        try {
            const outputs = await this.host.update(registration.urn, old.id, old.outputs, inputs, old.inputs);
            const state: ResourceState = { ...old, inputs, outputs, registeredInputs: registration.object, initErrors: [] };
            this.state.set(registration.urn, state);
            return state;
        } catch (err) {
            this.recordPartial(err, { ...old, inputs, registeredInputs: registration.object });
            throw err;
        }
    }

    /** A replacement: the new resource is checked afresh (no olds), created before or after the old one is deleted. */
    private async replace(registration: Registration, old: ResourceState, diff: EngineDiff): Promise<ResourceState> {
        const inputs = await this.check(registration.urn, {}, stripSecrets(registration.object) as Properties);
        if (diff.deleteBeforeReplace) {
            await this.destroy(registration.urn);
            return this.create(registration, inputs);
        }
        this.state.delete(registration.urn);
        try {
            const created = await this.create(registration, inputs);
            await this.host.delete(old.urn, old.id, old.outputs, old.inputs);
            return created;
        } catch (err) {
            if (!this.state.has(registration.urn)) this.state.set(registration.urn, old);
            throw err;
        }
    }

    private recordPartial(err: unknown, base: Omit<ResourceState, "id" | "outputs" | "initErrors">): void {
        if (!(err instanceof HostCallError) || !err.initFailed) return;
        const { id, properties, reasons } = err.initFailed;
        this.state.set(base.urn, { ...base, id, outputs: properties, initErrors: reasons });
    }
}
