/**
 * OpenNebula API cost of an edge cluster of N hosts: XML-RPC calls, counted by the OpenNebula test
 * double, to create it, to refresh it with nothing changed, to run `up` again with nothing changed,
 * and to destroy it.
 *
 * There is no Pulumi engine here, so a small one stands in for it. The program (a DigitalOcean edge
 * cluster, see {@link fleetProgram}) runs under mocks; the mocks hand every `pulumi-nodejs:dynamic/*`
 * resource to its dynamic provider exactly as Pulumi's dynamic-provider host does — the provider is
 * loaded from the serialized text in the resource's `__provider` input, `check` then `create` run
 * with the resolved, unwrapped inputs, and the outputs (the real OpenNebula IDs) flow on to the
 * resources that depend on them. Then every object is read once (`read`, the refresh), checked and
 * diffed against its state (`up` with no change), and deleted in the reverse order of creation.
 */
import { Module } from "node:module";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { runChild, serveChild } from "./child";
import type { BenchmarkRow } from "./index";
import { fleetOutputs, fleetProgram } from "./fleet";
import { packageRoot } from "../lab/environment";
import { OneDouble } from "../../test/support/one-double";

/** Type tokens of dynamic resources start with this. */
const DYNAMIC_PREFIX = "pulumi-nodejs:dynamic/";
/** The input that carries a dynamic resource's serialized provider. */
const PROVIDER_KEY = "__provider";

/** XML-RPC calls per lifecycle step of an edge cluster of `hosts` hosts. */
export interface ApiCost {
    hosts: number;
    /** OpenNebula objects the program manages (dynamic resources), by type. */
    objectsByType: Record<string, number>;
    /** Their total. */
    objects: number;
    create: number;
    /** `pulumi refresh` with nothing changed: every object read once. */
    refresh: number;
    /** `pulumi up` with nothing changed: check and diff of every object. */
    upNoChange: number;
    destroy: number;
    /** Objects the double still holds after the destroy (besides its built-in ones). */
    leftAfterDestroy: number;
    /** Bytes of the OpenNebula objects' state (outputs as JSON), what a checkpoint holds for them. */
    stateBytes: number;
    /** Of which the serialized dynamic providers (`__provider`, one copy per object). */
    providerBytes: number;
    /** Calls per method over the whole lifecycle, for the record. */
    byMethod: Record<string, number>;
}

/** A dynamic resource as the stand-in engine created it. */
interface CreatedObject {
    type: string;
    name: string;
    id: string;
    /** The checked inputs, as the engine keeps them in state. */
    inputs: Record<string, unknown>;
    /** The outputs, `__provider` included. */
    state: Record<string, unknown>;
}

/**
 * Creates, refreshes, re-checks and destroys a DigitalOcean edge cluster of `hosts` hosts (1–50)
 * against a fresh test double, counting the calls of each step.
 */
export async function measureApiCost(hosts: number): Promise<ApiCost> {
    if (!Number.isInteger(hosts) || hosts < 1 || hosts > 50)
        throw new Error(`hosts must be an integer from 1 to 50 (one edge cluster), got ${hosts}`);
    // Asynchronous state changes (a host's monitoring, a network's creation and deletion) happen at
    // once, so a wait mostly costs one read; against a real front-end, monitoring a host takes seconds
    // and costs a few more polls (500 ms, doubling up to 5 s).
    const double = await OneDouble.start({ vnetCreateMs: 0, vnetDeleteMs: 0, hostMonitorMs: 0 });
    try {
        const connection = { endpoint: double.endpoint, username: double.username, password: pulumi.secret(double.password) };
        const byMethod: Record<string, number> = {};
        const counted = async (step: () => Promise<void>): Promise<number> => {
            double.resetCounts();
            await step();
            for (const method of double.callLog()) byMethod[method] = (byMethod[method] ?? 0) + 1;
            return double.calls();
        };

        const created: CreatedObject[] = [];
        const create = await counted(() => runWithEngine(() => void fleetProgram({ hosts, withoutOverlay: true, connection }), created));
        const refresh = await counted(async () => {
            for (const object of created) {
                const read = await providerOf(object.state).read!(object.id, object.state);
                if (read.id !== object.id) throw new Error(`refresh: ${object.name} (${object.type}) is gone`);
            }
        });
        const upNoChange = await counted(async () => {
            for (const object of created) {
                const provider = providerOf(object.state);
                const checked = await provider.check!(object.inputs, object.inputs);
                const diff = await provider.diff!(object.id, object.state, checked.inputs);
                if (diff.changes) throw new Error(`up: ${object.name} (${object.type}) reports changes although nothing changed`);
            }
        });
        const destroy = await counted(async () => {
            for (const object of [...created].reverse()) await providerOf(object.state).delete!(object.id, object.state);
        });

        const objectsByType: Record<string, number> = {};
        for (const object of created) objectsByType[object.type] = (objectsByType[object.type] ?? 0) + 1;
        return {
            hosts,
            objectsByType,
            objects: created.length,
            create,
            refresh,
            upNoChange,
            destroy,
            leftAfterDestroy: double.objects().filter((object) => !object.builtin).length,
            stateBytes: created.reduce((sum, object) => sum + JSON.stringify(object.state).length, 0),
            providerBytes: created.reduce((sum, object) => sum + String(object.state[PROVIDER_KEY]).length, 0),
            byMethod,
        };
    } finally {
        await double.stop();
    }
}

/**
 * Runs `program` under mocks that create every dynamic resource through its provider (recording it
 * in `created`, in order of completion) and echo every other resource's inputs plus
 * {@link fleetOutputs}.
 */
async function runWithEngine(program: () => void, created: CreatedObject[]): Promise<void> {
    await pulumi.runtime.setMocks(
        {
            async newResource(args) {
                if (!args.type.startsWith(DYNAMIC_PREFIX))
                    return { id: `${args.name}-id`, state: { ...args.inputs, ...fleetOutputs(args) } };
                const news = unwrapSecrets(args.inputs) as Record<string, unknown>;
                const provider = providerOf(news);
                const checked = await provider.check!({}, news);
                if (checked.failures?.length) throw new Error(`${args.name}: check failed: ${JSON.stringify(checked.failures)}`);
                const inputs = { ...checked.inputs, [PROVIDER_KEY]: news[PROVIDER_KEY] };
                const result = await provider.create(inputs);
                const state = { ...result.outs, [PROVIDER_KEY]: news[PROVIDER_KEY] };
                created.push({ type: args.type.slice(DYNAMIC_PREFIX.length), name: args.name, id: result.id, inputs, state });
                return { id: result.id, state };
            },
            call: (args) => args.inputs,
        },
        "bench",
        "api-cost",
        false,
    );
    const declared: pulumi.Resource[] = [];
    await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            declared.push(args.resource);
            return undefined;
        });
        program();
    });
    for (let seen = -1; seen !== declared.length;) {
        seen = declared.length;
        await Promise.all(declared.map((resource) => (resource.urn as unknown as { promise(): Promise<string> }).promise()));
    }
}

const providers = new Map<string, pulumi.dynamic.ResourceProvider>();

/** The provider of a dynamic resource, loaded from its serialized text the way Pulumi's dynamic-provider host does. */
function providerOf(props: Record<string, unknown>): pulumi.dynamic.ResourceProvider {
    const text = props[PROVIDER_KEY];
    if (typeof text !== "string") throw new Error(`a dynamic resource without ${PROVIDER_KEY}`);
    let provider = providers.get(text);
    if (!provider) {
        provider = (loadModuleFromText(text) as { handler(): pulumi.dynamic.ResourceProvider }).handler();
        providers.set(text, provider);
    }
    return provider;
}

/** `require-from-string`: compiles module text as if it were a file in the package root. */
function loadModuleFromText(text: string): unknown {
    const filename = path.join(packageRoot(), "__serialized_provider__.js");
    const loaded = new Module(filename, module) as Module & { _compile(code: string, file: string): void };
    loaded.filename = filename;
    loaded.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(path.dirname(filename));
    loaded._compile(text, filename);
    return loaded.exports;
}

/** The value with every secret wrapper removed, as the engine hands inputs to a dynamic provider. */
function unwrapSecrets(value: unknown): unknown {
    if (Array.isArray(value)) return value.map(unwrapSecrets);
    if (value && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig) return unwrapSecrets(record.value);
        return Object.fromEntries(Object.entries(record).map(([key, item]) => [key, unwrapSecrets(item)]));
    }
    return value;
}

/** Host counts of the routine run: one host, ten, and a full edge cluster. */
export const API_COST_SIZES = [1, 10, 50];

/** {@link measureApiCost} for each size, each in a fresh process (Pulumi's mocks are global). */
export async function runApiCostBenchmark(options: { sizes?: number[]; log?: (message: string) => void } = {}): Promise<ApiCost[]> {
    const results: ApiCost[] = [];
    for (const hosts of options.sizes ?? API_COST_SIZES) {
        options.log?.(`api-cost: ${hosts} host(s)`);
        results.push(await runChild<number, ApiCost>(__filename, hosts));
    }
    return results;
}

/**
 * A wait for an asynchronous state change may cost one poll more or less depending on timing; a
 * size whose calls lie this close to the line still counts as on it.
 */
export const POLL_JITTER = 2;

/**
 * Calls as `fixed + perHost × N` through the smallest and the largest size; `linear` tells whether
 * every size lies on that line, give or take {@link POLL_JITTER}.
 */
export function linearFit(sizes: number[], calls: number[]): { fixed: number; perHost: number; linear: boolean } {
    const last = sizes.length - 1;
    const perHost = (calls[last] - calls[0]) / (sizes[last] - sizes[0]);
    const fixed = calls[0] - perHost * sizes[0];
    return { fixed, perHost, linear: sizes.every((n, i) => Math.abs(calls[i] - (fixed + perHost * n)) <= POLL_JITTER) };
}

/**
 * The table rows: per size the calls of each step (refresh: target one call per object; `up` with
 * no change: target none; nothing left after destroy), then each step as `fixed + perHost × N`
 * (target: linear in N).
 */
export function apiCostRows(results: ApiCost[]): BenchmarkRow[] {
    const row = (metric: string, value: number | string, unit: string, target = "", met?: boolean): BenchmarkRow => ({
        benchmark: "api-cost",
        metric,
        value,
        unit,
        target,
        met,
    });
    const rows = results.flatMap((r) => [
        row(`${r.hosts} host(s): OpenNebula objects`, r.objects, ""),
        row(`${r.hosts} host(s): create`, r.create, "calls"),
        row(`${r.hosts} host(s): refresh, no change`, r.refresh, "calls", `= ${r.objects} (1 per object)`, r.refresh === r.objects),
        row(`${r.hosts} host(s): up, no change`, r.upNoChange, "calls", "= 0", r.upNoChange === 0),
        row(`${r.hosts} host(s): destroy`, r.destroy, "calls"),
        row(`${r.hosts} host(s): objects left after destroy`, r.leftAfterDestroy, "", "= 0", r.leftAfterDestroy === 0),
        row(
            `${r.hosts} host(s): state of the objects (serialized providers)`,
            `${round1(r.stateBytes / 1024)} (${round1(r.providerBytes / 1024)})`,
            "KiB",
        ),
    ]);
    const sizes = results.map((r) => r.hosts);
    if (sizes.length >= 2) {
        for (const step of ["create", "refresh", "destroy"] as const) {
            const fit = linearFit(
                sizes,
                results.map((r) => r[step]),
            );
            rows.push(
                row(
                    `${step}: calls = fixed + per host × N`,
                    `${round1(fit.fixed)} + ${round1(fit.perHost)} × N`,
                    "",
                    "linear in N",
                    fit.linear,
                ),
            );
        }
    }
    return rows;
}

function round1(value: number): number {
    return Math.round(value * 10) / 10;
}

if (require.main === module) serveChild(measureApiCost);
