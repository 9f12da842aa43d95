/**
 * The provider factory: one description per resource type (its fields, which of them replace the
 * object and which change in place, how to check, create, read, update and delete it) gives both
 * the dynamic provider and the resource class. Everything the engine receives passes through the
 * same wrappers: one normaliser for every result, check failures instead of exceptions (and the
 * checks every type shares: connection, text OpenNebula cannot take), a creation token per create,
 * partial state that keeps `__provider` when it fits, and `read` with only an id (an import). The
 * resource classes register a small stand-in that loads the provider by the package's name.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import type { OneClient } from "../client";
import type { ObjectKind } from "../objects";
import { deleteObject, readObject } from "../objects";
import type { XmlElement } from "../xml";
import { packagedProvider } from "./packaged-provider";
import type { BaseInputs, CommonOutputs } from "./provider-kit";
import { Failures, diffProperties, isPartialState, plainResult, withClient } from "./provider-kit";
import { RESOURCE_MODULE, keepConnectionSecret } from "./resource-options";

/** A default for an absent argument: a value, or computed from the resource name and the arguments. */
export type FieldDefault<Args> = unknown | ((resourceName: string, args: Args) => unknown);

/** One resource type, described once. */
export interface ResourceType<Args extends object, Inputs extends BaseInputs, Outputs extends Inputs & Partial<CommonOutputs>> {
    /** `<Type>` of the type token `pulumi-nodejs:dynamic/opennebula-edge:<Type>`. */
    type: string;
    /** The input fields, in the order they are registered; `connection` is added last. */
    inputs: readonly (Exclude<keyof Inputs, "connection"> & string)[];
    /** Fields whose change replaces the object; every other input is changed in place. */
    replaceOn: readonly (keyof Inputs & string)[];
    /** The output-only fields. */
    outputs: readonly (Exclude<keyof Outputs, keyof Inputs> & string)[];
    /**
     * What the resource class registers for an absent argument (a function is called with the resource name and the args).
     * Default: the resource name for `name`, no attributes (`{}`) for `template`.
     */
    defaults?: { [K in keyof Inputs & string]?: FieldDefault<Args> };
    /** The object's kind (`one.<kind>.*`): without `read`, it is read with `outputsOf`; without `delete`, deleted with `one.<kind>.delete`. */
    kind?: ObjectKind;
    /** The outputs as OpenNebula holds the object; `declared` undefined reads it as an import would. */
    outputsOf?(xml: XmlElement, declared: Inputs | undefined): Outputs;
    /** Normalizes the inputs (but `connection`, which the factory adds), recording failures by property; must not throw. */
    check(news: Record<string, unknown>, failures: Failures): Omit<Inputs, "connection">;
    /** Creates the object, stamped with `token`, and returns its outputs. */
    create(client: OneClient, inputs: Inputs, token: string): Promise<Outputs>;
    /** The outputs as OpenNebula now holds the object; `olds` is undefined when only the id is known (an import). Undefined when it is gone. */
    read?(client: OneClient, id: string, olds: Outputs | undefined): Promise<Outputs | undefined>;
    update(client: OneClient, id: string, olds: Outputs, news: Inputs): Promise<Outputs>;
    /** Deletes the object; one that is already gone counts as deleted. */
    delete?(client: OneClient, id: string, olds: Outputs): Promise<void>;
    /** Adjusts the diff computed from the fields (e.g. a state found that needs an update, or when the old object must go first). */
    diff?(olds: Outputs, news: Inputs, diff: pulumi.dynamic.DiffResult): pulumi.dynamic.DiffResult;
    /** The Pulumi ID of an object's outputs. Default: `String(oneId)`. */
    idOf?(outputs: Outputs): string;
}

/** The outputs of a type as the properties of its resource objects (`connection` stays internal). */
export type OutputProperties<Outputs> = {
    readonly [K in keyof Outputs as K extends "connection" ? never : K]-?: pulumi.Output<Exclude<Outputs[K], undefined>>;
};

/** Constructor arguments: `args` may be left out when every argument is optional. */
// `{}` on purpose: it extends `Args` exactly when every argument is optional.
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
type ConstructorArgs<Args> = {} extends Args
    ? [args?: Args, opts?: pulumi.CustomResourceOptions]
    : [args: Args, opts?: pulumi.CustomResourceOptions];

/** A generated resource class. */
export type ResourceClass<Args, Outputs> = new (
    name: string,
    ...rest: ConstructorArgs<Args>
) => pulumi.dynamic.Resource & OutputProperties<Outputs>;

/** A description as the provider runs it: what the factory derives is filled in. */
type CompleteType<Args extends object, Inputs extends BaseInputs, Outputs extends Inputs & Partial<CommonOutputs>> = Omit<
    ResourceType<Args, Inputs, Outputs>,
    "inputs" | "read" | "delete"
> & {
    inputs: readonly (keyof Inputs & string)[];
    read: NonNullable<ResourceType<Args, Inputs, Outputs>["read"]>;
    delete: NonNullable<ResourceType<Args, Inputs, Outputs>["delete"]>;
};

/** The description with `connection` as its last input, and `read` and `delete` derived from `kind` where it gives none. */
function complete<Args extends object, Inputs extends BaseInputs, Outputs extends Inputs & Partial<CommonOutputs>>(
    type: ResourceType<Args, Inputs, Outputs>,
): CompleteType<Args, Inputs, Outputs> {
    const { kind, outputsOf } = type;
    const read =
        type.read ??
        (kind &&
            outputsOf &&
            (async (client: OneClient, id: string, olds: Outputs | undefined) => {
                const xml = await readObject(client, kind, Number(id));
                return xml && outputsOf(xml, olds);
            }));
    const remove = type.delete ?? (kind && ((client: OneClient, id: string) => deleteObject(client, kind, Number(id))));
    if (!read || !remove) throw new Error(`${type.type}: the description needs read and delete, or kind and outputsOf to derive them`);
    return { ...type, inputs: [...type.inputs, "connection"], read, delete: remove };
}

/** Every type's dynamic provider by type (`Host` …), as {@link packagedProvider} loads them in the provider host. */
const providers = new Map<string, pulumi.dynamic.ResourceProvider>();

/**
 * The dynamic provider of a type of this package, e.g. `dynamicProviderOf("Host")`: what the
 * resources' serialized stand-in ({@link packagedProvider}) runs.
 *
 * @throws Error naming the known types when `type` is none of them.
 */
export function dynamicProviderOf(type: string): pulumi.dynamic.ResourceProvider {
    const provider = providers.get(type);
    if (provider === undefined)
        throw new Error(`no OpenNebula resource type "${type}" in this package; known: ${[...providers.keys()].join(", ")}`);
    return provider;
}

/**
 * Makes the dynamic provider and the resource class of a type. The class registers the
 * {@link packagedProvider} stand-in, which loads this provider in the provider host by the
 * package's name (about 2.6 KB of `__provider` per object instead of the provider by value).
 */
export function defineResource<Args extends object, Inputs extends BaseInputs, Outputs extends Inputs & Partial<CommonOutputs>>(
    description: ResourceType<Args, Inputs, Outputs>,
): { provider: pulumi.dynamic.ResourceProvider; Resource: ResourceClass<Args, Outputs> } {
    const type = complete(description);
    const provider = dynamicProvider(type);
    providers.set(type.type, provider);
    const registeredProvider = packagedProvider(type.type);
    const defaults: Record<string, FieldDefault<Args>> = { name: (resourceName: string) => resourceName, template: {}, ...type.defaults };
    const registered = (name: string, args: Args): Record<string, unknown> => {
        const props: Record<string, unknown> = {};
        for (const field of type.inputs) {
            const given = (args as Record<string, unknown>)[field];
            const fallback = defaults[field];
            props[field] = given !== undefined ? given : typeof fallback === "function" ? fallback(name, args) : fallback;
        }
        for (const field of type.outputs) props[field] = undefined;
        return props;
    };
    class Resource extends pulumi.dynamic.Resource {
        constructor(name: string, args?: Args, opts?: pulumi.CustomResourceOptions) {
            super(registeredProvider, name, registered(name, args ?? ({} as Args)), keepConnectionSecret(opts), RESOURCE_MODULE, type.type);
        }
    }
    Object.defineProperty(Resource, "name", { value: type.type });
    return { provider, Resource: Resource as unknown as ResourceClass<Args, Outputs> };
}

/** The input that carries the serialized provider: the host reads it from inputs and outputs. */
const PROVIDER_KEY = "__provider";

/** The dynamic provider of a type. Its functions are what the engine's provider process runs. */
function dynamicProvider<Args extends object, Inputs extends BaseInputs, Outputs extends Inputs & Partial<CommonOutputs>>(
    type: CompleteType<Args, Inputs, Outputs>,
): pulumi.dynamic.ResourceProvider {
    const updateOn = type.inputs.filter((field) => field !== "connection" && !type.replaceOn.includes(field));
    const idOf = (outputs: Outputs) => (type.idOf ? type.idOf(outputs) : String(outputs.oneId));
    return {
        async check(_olds, news) {
            const failures = new Failures();
            let inputs: Inputs | Record<string, unknown> = news;
            try {
                inputs = { ...type.check(news, failures), connection: news.connection } as Inputs;
                failures.connection(news.connection);
                // A computed key in a destructuring pattern would not be carried by the serializer: filter instead.
                failures.text(Object.fromEntries(Object.entries(news).filter(([key]) => key !== PROVIDER_KEY)), "");
            } catch (err) {
                failures.add("", `${type.type}: the inputs could not be checked: ${(err as Error).message}`);
            }
            return plainResult({ inputs, failures: failures.list });
        },
        async diff(_id, olds: Outputs, news: Inputs) {
            const diff = diffProperties(olds, news, { replaceOn: type.replaceOn, updateOn });
            return plainResult(type.diff ? type.diff(olds, news, diff) : diff);
        },
        async create(inputs: Inputs) {
            const token = crypto.randomBytes(16).toString("hex");
            try {
                const outs = await withClient(inputs.connection, (client) => type.create(client, inputs, token));
                return plainResult({ id: idOf(outs), outs });
            } catch (err) {
                throw keepProvider(err, inputs);
            }
        },
        async read(id, props: Outputs) {
            const imported = !type.inputs.some((field) => field !== "connection" && field in (props ?? {}));
            const outs = await withClient(props?.connection, (client) => type.read(client, id, imported ? undefined : props));
            if (!outs) return { id: "", props: {} };
            if (!imported) return plainResult({ id, props: outs });
            const inputs = Object.fromEntries(type.inputs.filter((field) => field in outs).map((field) => [field, outs[field]]));
            return plainResult({ id, props: outs, inputs });
        },
        async update(id, olds: Outputs, news: Inputs) {
            try {
                return plainResult({ outs: await withClient(news.connection, (client) => type.update(client, id, olds, news)) });
            } catch (err) {
                throw keepProvider(err, news);
            }
        },
        async delete(id, props: Outputs) {
            await withClient(props.connection, (client) => type.delete(client, id, props));
        },
    };
}

/**
 * The largest serialized provider partial state carries. The host sends partial state in gRPC
 * trailing metadata, and past about 64 KiB the call never completes (measured through the host:
 * 60 KB of properties arrive, 70 KB never do). The resource classes' stand-in is about 2.6 KB;
 * a provider serialized by value from a program's own files (an exported `…Provider` used directly
 * with `pulumi.dynamic.Resource`) is ~100 KB.
 */
const MAX_RECORDED_PROVIDER = 32 * 1024;

/**
 * Partial state keeps the serialized provider when it fits: the host does not add it to an error's
 * properties, and without it the engine's next Read or Delete of the object cannot load the
 * provider — only the next `up` (whose Update carries it) can, and it restores it in the outputs.
 */
function keepProvider(err: unknown, inputs: object): unknown {
    if (!isPartialState(err)) return err;
    const provider = (inputs as Record<string, unknown>)[PROVIDER_KEY];
    if (typeof provider === "string" && provider.length <= MAX_RECORDED_PROVIDER) {
        err.properties[PROVIDER_KEY] = provider;
    } else {
        delete err.properties[PROVIDER_KEY];
        err.message +=
            "; run `pulumi up` (not `refresh` or `destroy`) first: the serialized provider is too large to be recorded with partial state";
        err.reasons = [err.message];
    }
    return err;
}
