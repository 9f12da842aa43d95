/**
 * What the Pulumi SDK sends the engine for a resource: the `RegisterResource` request of a real
 * resource object constructed under `pulumi.runtime.setMocks`, taken from the mock monitor before it
 * is deserialized. Its `object` is the Struct as the engine receives it: `__provider` (the serialized
 * provider) among the inputs, secrets wrapped in the secret signature, and, during a preview, the
 * unknown sentinel where an input is not known yet.
 */
import * as pulumi from "@pulumi/pulumi";
import * as settings from "@pulumi/pulumi/runtime/settings";
import type { Properties } from "./provider-host";

/** One RegisterResource request as the engine received it. */
export interface Registration {
    type: string;
    name: string;
    urn: string;
    custom: boolean;
    /** The request's `object`: the inputs, serialized by the SDK. */
    object: Properties;
    /** `additionalSecretOutputs` of the request. */
    additionalSecretOutputs: string[];
}

/** Answers a custom resource's registration with its id and outputs (a stand-in engine or plain mocks). */
export type Registrar = (registration: Registration, args: pulumi.runtime.MockResourceArgs) => Promise<{ id: string; outputs: Properties }>;

/** Options of {@link register}. */
export interface RegisterOptions {
    /** Run as a preview: outputs not returned stay unknown and serialize as the unknown sentinel. Default false. */
    preview?: boolean;
    /** How each custom resource is created; default: id `<name>-id` and the inputs as outputs. */
    registrar?: Registrar;
    /** Answers to provider function calls; default: echo the arguments. */
    call?: (args: pulumi.runtime.MockCallArgs) => Record<string, unknown>;
}

/** The URN the engine gives a resource (project `project`, stack `stack`, as the mocks use). */
export function urnOf(type: string, name: string): string {
    return `urn:pulumi:stack::project::${type}::${name}`;
}

/**
 * Runs `program` under mocks and returns every RegisterResource request, in the order the SDK sent
 * them, after all of them have been answered.
 */
export async function register(program: () => unknown, options: RegisterOptions = {}): Promise<Registration[]> {
    const registrations = new Map<string, Registration>();
    const order: Registration[] = [];
    await pulumi.runtime.setMocks(
        {
            async newResource(args) {
                const registration = registrations.get(`${args.type}::${args.name}`);
                if (!registration || !args.custom || !options.registrar) return { id: `${args.name}-id`, state: args.inputs };
                const { id, outputs } = await options.registrar(registration, args);
                return { id, state: outputs };
            },
            call(args) {
                return options.call ? options.call(args) : args.inputs;
            },
        },
        "project",
        "stack",
        options.preview ?? false,
    );
    const monitor = settings.getMonitor() as unknown as { registerResource(req: RegisterRequest, callback: unknown): unknown };
    const forward = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        const registration: Registration = {
            type: req.getType(),
            name: req.getName(),
            urn: urnOf(req.getType(), req.getName()),
            custom: req.getCustom(),
            object: req.getObject()?.toJavaScript() ?? {},
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
        };
        registrations.set(`${registration.type}::${registration.name}`, registration);
        order.push(registration);
        return forward(req, callback);
    };
    const created: pulumi.Resource[] = [];
    await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            created.push(args.resource);
            return undefined;
        });
        await program();
    });
    for (let seen = -1; seen !== created.length;) {
        seen = created.length;
        await Promise.all(created.map((resource) => settled(resource.urn)));
    }
    return order;
}

/** The part of the SDK's RegisterResourceRequest read here. */
interface RegisterRequest {
    getType(): string;
    getName(): string;
    getCustom(): boolean;
    getObject(): { toJavaScript(): Properties } | undefined;
    getAdditionalsecretoutputsList(): string[];
}

function settled(output: pulumi.Output<unknown>): Promise<unknown> {
    return (output as unknown as { promise(): Promise<unknown> }).promise().catch(() => undefined);
}

/** The one registration of `type` (the dynamic resource's token ends with `:<Type>`). */
export function only(registrations: Registration[], typeName: string): Registration {
    const found = registrations.filter((r) => r.type.endsWith(`:${typeName}`));
    if (found.length !== 1) throw new Error(`expected one ${typeName} registration, got ${found.length}`);
    return found[0];
}

/** An Output that stays unknown in a preview: the output of a resource the mocks answer without it. */
export function unknownDuringPreview<T>(name: string): pulumi.Output<T> {
    return new Upstream(name).value as pulumi.Output<T>;
}

/** A resource whose `value` output the mocks never answer. */
class Upstream extends pulumi.CustomResource {
    declare readonly value: pulumi.Output<unknown>;

    constructor(name: string) {
        super("test:engine:Upstream", name, { value: undefined });
    }
}
