import * as pulumi from "@pulumi/pulumi";

/** One resource as a program registered it under mocks. */
export interface RecordedResource {
    type: string;
    name: string;
    /** Inputs as the engine received them (Outputs resolved; secrets unwrapped). */
    inputs: Record<string, any>;
    /** Whether the resource is a custom resource (false for components). */
    custom: boolean;
    /** Name of the parent resource, when there is one. */
    parent?: string;
    /** Name of the explicit provider resource, when one was given. */
    provider?: string;
    /** Names of the resources it depends on: `dependsOn` plus every resource an input Output came from. */
    dependsOn: string[];
    /** Names of the inputs that arrived as secrets. */
    secretInputs: string[];
    /** The resource object itself. */
    resource: pulumi.Resource;
}

/** Options of {@link runProgram}. */
export interface RunOptions {
    /** Milliseconds every resource takes to "create" (for critical-path measurements). Default 0. */
    delayMs?: number;
    /** Extra outputs per resource type, e.g. the IP a cloud assigns. */
    outputs?: (args: pulumi.runtime.MockResourceArgs) => Record<string, unknown>;
    /** Answers to provider function calls (`aws.getAvailabilityZones` …). Default: echo the inputs. */
    call?: (args: pulumi.runtime.MockCallArgs) => Record<string, unknown>;
    /** Run as a preview (unknown outputs stay unknown). Default false. */
    preview?: boolean;
}

/** Everything a program registered, plus helpers to query it. */
export class RecordedProgram {
    constructor(
        readonly resources: RecordedResource[],
        readonly elapsedMs: number,
    ) {}

    /** The resources of a type (exact token, e.g. `aws:ec2/instance:Instance`). */
    ofType(type: string): RecordedResource[] {
        return this.resources.filter((r) => r.type === type);
    }

    /** The resource with this name; fails when there is none or several. */
    named(name: string): RecordedResource {
        const found = this.resources.filter((r) => r.name === name);
        if (found.length !== 1)
            throw new Error(`expected one resource named ${name}, found ${found.length}: ${this.resources.map((r) => r.name).join(", ")}`);
        return found[0];
    }

    /** Whether `name` depends on `on`, directly or through a chain of dependencies. */
    dependsOn(name: string, on: string): boolean {
        const seen = new Set<string>();
        const walk = (current: string): boolean => {
            if (seen.has(current)) return false;
            seen.add(current);
            const resource = this.resources.find((r) => r.name === current);
            return !!resource && resource.dependsOn.some((d) => d === on || walk(d));
        };
        return walk(name);
    }

    /** Length of the longest chain of custom resources that wait on one another. */
    criticalPath(): number {
        const memo = new Map<string, number>();
        const byName = new Map(this.resources.map((r) => [r.name, r]));
        const depth = (name: string): number => {
            if (memo.has(name)) return memo.get(name)!;
            memo.set(name, 0);
            const resource = byName.get(name);
            const below = Math.max(0, ...(resource?.dependsOn ?? []).map(depth));
            const result = below + (resource?.custom ? 1 : 0);
            memo.set(name, result);
            return result;
        };
        return Math.max(0, ...this.resources.map((r) => depth(r.name)));
    }
}

/**
 * Runs a Pulumi program under `pulumi.runtime.setMocks` and records every resource it registers,
 * with its resolved inputs, parent, explicit provider, secrets and dependencies.
 */
export async function runProgram(program: () => unknown, options: RunOptions = {}): Promise<RecordedProgram> {
    const registered = new Map<string, pulumi.runtime.MockResourceArgs>();
    const captured: {
        resource: pulumi.Resource;
        type: string;
        name: string;
        props: pulumi.Inputs;
        opts: pulumi.ResourceOptions;
        custom: boolean;
    }[] = [];
    await pulumi.runtime.setMocks(
        {
            async newResource(args) {
                registered.set(args.name, args);
                if (options.delayMs) await new Promise((resolve) => setTimeout(resolve, options.delayMs));
                return { id: `${args.name}-id`, state: { ...args.inputs, ...options.outputs?.(args) } };
            },
            call(args) {
                return options.call ? options.call(args) : args.inputs;
            },
        },
        "project",
        "stack",
        options.preview ?? false,
    );
    const started = Date.now();
    await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            const custom = args.resource instanceof pulumi.CustomResource;
            captured.push({ resource: args.resource, type: args.type, name: args.name, props: args.props, opts: args.opts, custom });
            return undefined;
        });
        await program();
    });
    // Wait until every registered resource has settled (its URN resolves once registration is done).
    for (let seen = -1; seen !== captured.length;) {
        seen = captured.length;
        await Promise.all(captured.map((c) => promiseOf(c.resource.urn)));
    }
    const elapsedMs = Date.now() - started;

    const names = new Map<pulumi.Resource, string>(captured.map((c) => [c.resource, c.name]));
    const resources: RecordedResource[] = [];
    for (const c of captured) {
        const dependencies = new Set<string>();
        for (const dep of toArray(c.opts.dependsOn))
            if (names.has(dep as pulumi.Resource)) dependencies.add(names.get(dep as pulumi.Resource)!);
        for (const dep of await inputResources(c.props)) if (names.has(dep)) dependencies.add(names.get(dep)!);
        resources.push({
            type: c.type,
            name: c.name,
            inputs: registered.get(c.name)?.inputs ?? {},
            custom: c.custom,
            parent: c.opts.parent ? names.get(c.opts.parent) : undefined,
            provider: c.opts.provider ? names.get(c.opts.provider as pulumi.Resource) : undefined,
            dependsOn: [...dependencies],
            secretInputs: await secretKeys(c.props),
            resource: c.resource,
        });
    }
    return new RecordedProgram(resources, elapsedMs);
}

function toArray<T>(value: T | T[] | undefined): T[] {
    if (value === undefined) return [];
    return Array.isArray(value) ? value : [value];
}

/** The value of an Output; rejects when the Output does (an `apply` callback would never run then). */
function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
    return (output as unknown as { promise(): Promise<T> }).promise();
}

/** Every resource whose Outputs flow into these inputs (at any depth). */
async function inputResources(value: unknown, found = new Set<pulumi.Resource>()): Promise<Set<pulumi.Resource>> {
    if (pulumi.Output.isInstance(value)) {
        for (const resource of await (value as any).allResources()) found.add(resource);
        await inputResources(await promiseOf(value as pulumi.Output<unknown>), found);
    } else if (value instanceof Promise) {
        await inputResources(await value, found);
    } else if (Array.isArray(value)) {
        for (const item of value) await inputResources(item, found);
    } else if (value && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
        for (const item of Object.values(value)) await inputResources(item, found);
    }
    return found;
}

/** Names of the top-level inputs that hold a secret anywhere inside them. */
async function secretKeys(props: pulumi.Inputs): Promise<string[]> {
    const keys: string[] = [];
    for (const [key, value] of Object.entries(props ?? {})) {
        if (await holdsSecret(value)) keys.push(key);
    }
    return keys;
}

async function holdsSecret(value: unknown): Promise<boolean> {
    if (pulumi.Output.isInstance(value)) {
        return (await pulumi.isSecret(value as pulumi.Output<unknown>)) || holdsSecret(await promiseOf(value as pulumi.Output<unknown>));
    }
    if (Array.isArray(value)) return (await Promise.all(value.map(holdsSecret))).some(Boolean);
    if (value && typeof value === "object" && !pulumi.Resource.isInstance(value)) {
        return (await Promise.all(Object.values(value).map(holdsSecret))).some(Boolean);
    }
    return false;
}

/** How the resources of `after` compare with those of `before`, by name. */
export interface ProgramDiff {
    /** In `after` only. */
    added: string[];
    /** In `before` only. */
    removed: string[];
    /** In both, with another type, parent, provider or other inputs. */
    changed: string[];
    /** In both, with the same type, parent, provider and inputs. */
    unchanged: string[];
}

/** What makes a resource the same in two runs: its type, parent, provider and inputs. */
function identityOf(r: RecordedResource): string {
    return JSON.stringify({ type: r.type, parent: r.parent, provider: r.provider, inputs: r.inputs });
}

/**
 * Compares two runs of a program resource by resource: what the engine would create, delete,
 * update (or replace), and leave alone. Sorted names. `only` limits it to some resources, and
 * `identity` to what matters of them.
 */
export function diffPrograms(
    before: RecordedProgram,
    after: RecordedProgram,
    only: (r: RecordedResource) => boolean = () => true,
    identity: (r: RecordedResource) => string = identityOf,
): ProgramDiff {
    const old = new Map(before.resources.filter(only).map((r) => [r.name, identity(r)]));
    const next = new Map(after.resources.filter(only).map((r) => [r.name, identity(r)]));
    const diff: ProgramDiff = { added: [], removed: [], changed: [], unchanged: [] };
    for (const [name, value] of next) {
        if (!old.has(name)) diff.added.push(name);
        else if (old.get(name) === value) diff.unchanged.push(name);
        else diff.changed.push(name);
    }
    diff.removed = [...old.keys()].filter((name) => !next.has(name));
    for (const list of Object.values(diff)) list.sort();
    return diff;
}
