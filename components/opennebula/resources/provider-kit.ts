import type * as pulumi from "@pulumi/pulumi";
import type { OneClientOptions } from "../client";
import { OneClient } from "../client";
import type { OneConnection } from "../connection";
import { resolveConnection, validateConnection } from "../connection";
import { errorName } from "../errors";
import type { ObjectKind } from "../objects";
import { CREATION_TOKEN, renameObject, templateOf, updateTemplate } from "../objects";
import type { Template, TemplateInput } from "../template";
import { normalizeTemplate } from "../template";
import type { XmlElement } from "../xml";
import { childText } from "../xml";

// Shared machinery of the dynamic providers. Everything here runs inside the provider process after
// Pulumi's function serializer has carried it there, so it keeps to what the serializer can carry:
// the list, and the lint rule for each item, is `serializerRules` in eslint.config.mjs (it covers
// all of components/opennebula/).

/** Input shape of `connection` on the resource classes. */
export interface ConnectionArgs {
    /** XML-RPC endpoint, e.g. `http://frontend:2633/RPC2`. Default: `ONE_XMLRPC`, else `http://localhost:2633/RPC2`. */
    endpoint?: pulumi.Input<string>;
    /** User name. Default: the user in the `ONE_AUTH` file. */
    username?: pulumi.Input<string>;
    /** Password (kept secret in state). Default: the password in the `ONE_AUTH` file. */
    password?: pulumi.Input<string>;
}

/** The `connection` input of every OpenNebula resource, as the provider receives it. Omitted fields come from ONE_XMLRPC / ONE_AUTH. */
export type ConnectionInputs = pulumi.Unwrap<ConnectionArgs>;

/** The arguments every OpenNebula resource has. */
export interface OneResourceArgs {
    /** How to reach OpenNebula. Default: `ONE_XMLRPC` and `ONE_AUTH`, as OpenNebula's CLI reads them. */
    connection?: pulumi.Input<ConnectionArgs>;
}

/** The inputs every OpenNebula resource has, as the provider receives them (the factory fills `connection` in). */
export interface BaseInputs {
    connection?: ConnectionInputs;
}

/** The inputs of an object with a name and declared template attributes (every type but the marketplace app and memberships). */
export interface NamedInputs extends BaseInputs {
    name: string;
    template: Template;
}

/** Properties every provider keeps in its outputs. */
export interface CommonOutputs extends BaseInputs {
    /** The OpenNebula ID (also the Pulumi ID, as a string). */
    oneId: number;
    /** The random token this creation stamped on its object (template attribute `PULUMI_CREATION_TOKEN`); "" for an object it did not create. */
    creationToken: string;
}

/** Value the engine passes for inputs that are not known yet (during preview). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True for a value that is not known yet during a preview. */
export function isUnknown(value: unknown): boolean {
    if (value === UNKNOWN) return true;
    if (Array.isArray(value)) return value.some(isUnknown);
    if (value && typeof value === "object") return Object.values(value).some(isUnknown);
    return false;
}

/**
 * The one normaliser every provider result passes through on its way to the engine: a deep copy
 * without `undefined` anywhere (object members are dropped, array items become null). The provider
 * host turns results into protobuf Structs, and `Struct.fromJavaScript` throws on `undefined` at any
 * depth — after the object already exists in OpenNebula, for a create.
 */
export function plainResult<T>(value: T): T {
    if (Array.isArray(value)) return value.map((item) => (item === undefined ? null : plainResult(item))) as T;
    if (value !== null && typeof value === "object") {
        const copy: Record<string, unknown> = {};
        for (const [key, item] of Object.entries(value)) if (item !== undefined) copy[key] = plainResult(item);
        return copy as T;
    }
    return value;
}

/** Client options used by the providers; tests shorten them through the environment of the provider process. */
function clientOptions(): OneClientOptions {
    const timeoutMs = Number(process.env.ONE_EDGE_CALL_TIMEOUT_MS);
    return Number.isFinite(timeoutMs) && timeoutMs > 0 ? { timeoutMs } : {};
}

/** Runs `action` with a client for the resource's connection, and closes the client afterwards. */
export async function withClient<T>(connection: ConnectionInputs | undefined, action: (client: OneClient) => Promise<T>): Promise<T> {
    const client = new OneClient(resolveConnection(connection), clientOptions());
    try {
        return await action(client);
    } catch (err) {
        throw asEngineError(err);
    } finally {
        client.close();
    }
}

/**
 * The error as a real `Error` for the engine. After serialization the package's error classes no
 * longer inherit from the global `Error` (the serializer rebuilds them as plain functions), so their
 * message and name are copied onto a fresh one. The message already names the error's kind
 * (`[one.vn.allocate] NO_EXISTS (1024): …`): gRPC carries nothing else to the engine.
 */
function asEngineError(err: unknown): Error {
    if (err instanceof Error) return err;
    const { message, name } = (err ?? {}) as { message?: unknown; name?: unknown };
    const plain = new Error(typeof message === "string" ? message : String(err));
    if (typeof name === "string") plain.name = name;
    return plain;
}

/** An error in the shape Pulumi's provider host turns into partial state (`ErrorResourceInitFailed`). */
export interface PartialStateError extends Error {
    /** The Pulumi ID of the object that exists. */
    id: string;
    /** The outputs known for it. */
    properties: Record<string, unknown>;
    /** Why it is not complete. */
    reasons: string[];
}

/**
 * The object `id` exists but could not be completed, nor removed again: the engine records it with
 * `properties` (and the reason), so that the next `up` updates it or `destroy` deletes it, instead
 * of orphaning it. Only `create` and `update` may throw this (the host reads it there).
 */
export function partialStateError(message: string, id: string, properties: object): PartialStateError {
    const err = new Error(message) as PartialStateError;
    err.name = "PartialStateError";
    err.id = id;
    err.properties = plainResult(properties) as Record<string, unknown>;
    err.reasons = [message];
    return err;
}

export function isPartialState(err: unknown): err is PartialStateError {
    return errorName(err) === "PartialStateError" && typeof (err as PartialStateError).id === "string";
}

/** A list of validation failures, built field by field. */
export class Failures {
    readonly list: pulumi.dynamic.CheckFailure[];

    // No field initializers in code that runs inside providers: the serializer drops them.
    constructor() {
        this.list = [];
    }

    add(property: string, reason: string): void {
        this.list.push({ property, reason });
    }

    /** Validates a name as OpenNebula does (non-empty, ≤ 128 chars, none of its forbidden characters). */
    name(property: string, value: unknown): void {
        if (isUnknown(value)) return;
        const problem = nameProblem(value);
        if (problem) this.add(property, problem.replace(/^name/, property));
    }

    /** Normalizes a template input, recording a failure instead of throwing. */
    template(property: string, value: unknown): Template {
        if (value === undefined || value === null) return {};
        if (isUnknown(value)) return value as Template;
        if (typeof value !== "object" || Array.isArray(value)) {
            this.add(property, `${property} must be an object of attribute names to values`);
            return {};
        }
        try {
            const template = normalizeTemplate(value as TemplateInput);
            if (CREATION_TOKEN in template)
                this.add(property, `${property} must not set ${CREATION_TOKEN}: the provider stamps it on every object it creates`);
            return template;
        } catch (err) {
            if (errorName(err) !== "TemplateError") throw err;
            this.add(property, `${property}: ${(err as Error).message}`);
            return {};
        }
    }

    connection(value: unknown): void {
        if (value === undefined || isUnknown(value)) return;
        for (const problem of validateConnection(value as Partial<OneConnection>, "connection")) this.add("connection", problem);
    }

    /** An integer ID (≥ `min`). */
    id(property: string, value: unknown, min = 0): void {
        if (isUnknown(value)) return;
        if (!Number.isInteger(value) || (value as number) < min)
            this.add(property, `${property} must be an integer ≥ ${min} (got ${JSON.stringify(value)})`);
    }

    /** A number of seconds > 0 (a timeout). */
    seconds(property: string, value: unknown): void {
        if (isUnknown(value)) return;
        if (typeof value !== "number" || !(value > 0))
            this.add(property, `${property} must be a number of seconds > 0 (got ${JSON.stringify(value)})`);
    }

    /** Normalizes a list of cluster IDs: default (and -1) is OpenNebula's default cluster 0; sorted, unique. */
    clusterIds(property: string, value: unknown): number[] {
        if (value === undefined || value === null) return [0];
        if (isUnknown(value)) return value as number[];
        if (!Array.isArray(value) || value.length === 0 || value.some((id) => !Number.isInteger(id) || id < -1)) {
            this.add(
                property,
                `${property} must be a non-empty list of cluster IDs (integers ≥ 0; -1 means the default cluster 0), got ${JSON.stringify(value)}`,
            );
            return [0];
        }
        return [...new Set(value.map((id: number) => (id === -1 ? 0 : id)))].sort((a, b) => a - b);
    }

    oneOf(property: string, value: unknown, allowed: readonly string[]): void {
        if (isUnknown(value)) return;
        if (typeof value !== "string" || !allowed.includes(value)) {
            this.add(property, `${property} must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})`);
        }
    }

    /**
     * What OpenNebula cannot take in any string of the inputs, named by path: characters outside the
     * Basic Multilingual Plane (its XML-RPC server refuses the whole call), and `]]>` outside the
     * connection (templates are stored as CDATA: allocate fails, and a cluster or host update answers
     * success but stores nothing).
     */
    text(value: unknown, path: string): void {
        if (typeof value === "string") {
            const outside = /[\u{10000}-\u{10FFFF}]/u.exec(value);
            if (outside) {
                const code = outside[0].codePointAt(0)!.toString(16).toUpperCase();
                this.add(
                    path,
                    `${path} contains U+${code}, a character outside the Basic Multilingual Plane; OpenNebula's XML-RPC server refuses any call that carries one`,
                );
            }
            if (value.includes("]]>") && !path.startsWith("connection")) {
                this.add(
                    path,
                    `${path} contains "]]>", which OpenNebula cannot store in a template (allocate fails; a cluster or host update answers success but stores nothing)`,
                );
            }
        } else if (Array.isArray(value)) {
            value.forEach((item, i) => this.text(item, `${path}[${i}]`));
        } else if (value !== null && typeof value === "object") {
            for (const [key, item] of Object.entries(value)) this.text(item, path === "" ? key : `${path}.${key}`);
        }
    }
}

const FORBIDDEN_NAME_CHARS = /[&|:\\";/'#{}$<>\t\r\n\v\f]/;

/** Why OpenNebula would reject this object name, or undefined when it is acceptable. */
export function nameProblem(value: unknown): string | undefined {
    if (typeof value !== "string" || value.trim() === "") return "name must be a non-empty string";
    if (value.length > 128) return `name must be at most 128 characters (got ${value.length})`;
    const bad = FORBIDDEN_NAME_CHARS.exec(value);
    if (bad)
        return `name must not contain ${JSON.stringify(bad[0])} (OpenNebula forbids & | : \\ " ; / ' # { } $ < > and control characters)`;
    return undefined;
}

/** Deep equality for the JSON-like values kept in state. */
export function sameValue(a: unknown, b: unknown): boolean {
    return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === "object") {
        return Object.fromEntries(
            Object.keys(value)
                .sort()
                .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
        );
    }
    return value;
}

/**
 * Computes a diff from property lists: `replaceOn` properties force a replacement, `updateOn`
 * properties are changed in place; `connection` is compared too but never replaces anything. An
 * unchanged `name` with a replacement means delete-before-replace: the new object needs the name.
 */
export function diffProperties(
    olds: object,
    news: object,
    spec: { replaceOn: readonly string[]; updateOn: readonly string[] },
): pulumi.dynamic.DiffResult {
    const changed = (key: string) => !sameValue((olds as Record<string, unknown>)[key], (news as Record<string, unknown>)[key]);
    const replaces = spec.replaceOn.filter(changed);
    const changes = replaces.length > 0 || [...spec.updateOn, "connection"].some(changed);
    return { changes, replaces, deleteBeforeReplace: replaces.length > 0 && "name" in news && !changed("name") };
}

/** An object just allocated: how errors name it (`host 5`, `virtual machine 7 (web)`) and how it is undone (`deleted again`). */
export interface NewObject {
    id: number;
    subject: string;
    undone?: string;
}

/**
 * Runs `steps` after an object was allocated. When they fail, the object is removed again and the
 * error says why; when that fails too, the error is partial state (see {@link partialStateError})
 * carrying `known()` — the outputs known for the object — so that the engine keeps it.
 */
export async function completeOrRollBack<T>(
    object: NewObject,
    steps: () => Promise<T>,
    rollBack: () => Promise<void>,
    known: () => object,
): Promise<T> {
    try {
        return await steps();
    } catch (err) {
        const created = `${object.subject} was created but ${(err as Error).message}`;
        try {
            await rollBack();
        } catch (cleanup) {
            const message =
                `${created}; removing it again also failed (${(cleanup as Error).message ?? cleanup}), ` +
                `so it stays in the stack's state: the next \`pulumi up\` completes it, or \`pulumi destroy\` removes it`;
            throw partialStateError(message, String(object.id), known());
        }
        throw new Error(`${created}; it was ${object.undone ?? "deleted again"} so nothing is left behind`);
    }
}

/**
 * The whole template to send with a replace-mode update so that the attributes this resource declares
 * become `declared`, those it declared before and no longer does disappear, and every attribute it
 * never declared (OpenNebula's own defaults, other tools' attributes) stays. Undefined when nothing changes.
 */
export function replaceDeclaredAttributes(current: Template, previouslyDeclared: Template, declared: Template): Template | undefined {
    const next: Template = { ...current };
    for (const name of Object.keys(previouslyDeclared)) {
        if (!(name in declared)) delete next[name];
    }
    Object.assign(next, declared);
    return sameValue(next, current) ? undefined : next;
}

/**
 * The in-place update every named object shares: renames object `id` (read as `current`) when its name changed, and
 * replaces the template attributes the program declares (see {@link replaceDeclaredAttributes}).
 */
export async function updateNameAndTemplate(
    client: OneClient,
    kind: ObjectKind,
    id: number,
    current: XmlElement,
    olds: { template: Template },
    news: { name: string; template: Template },
): Promise<void> {
    if (childText(current, "NAME") !== news.name) await renameObject(client, kind, id, news.name);
    const template = replaceDeclaredAttributes(templateOf(current), olds.template, news.template);
    if (template) await updateTemplate(client, kind, id, template, "replace");
}

/**
 * The template attributes a user would declare for an object read with only its ID (an import):
 * everything but the creation token and what OpenNebula sets itself. `automatic` maps such an
 * attribute to the value OpenNebula gives it (null: any value is OpenNebula's).
 */
export function declaredAttributes(template: Template, automatic: Readonly<Record<string, string | null>>): Template {
    const declared: Template = {};
    for (const [name, value] of Object.entries(template)) {
        if (name === CREATION_TOKEN) continue;
        if (Object.hasOwn(automatic, name) && (automatic[name] === null || automatic[name] === value)) continue;
        declared[name] = value;
    }
    return declared;
}
