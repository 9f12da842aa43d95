/**
 * Program evaluation under mocks from 1 to 1000 KVM hosts: the fleet of {@link fleetProgram}
 * (DigitalOcean edge clusters of up to 50 hosts, WireGuard hub + EVPN fabric + EVPN network over
 * every host and an ingress) against two baselines with as many resources, under the same mocks:
 * - `bare`: trivial CustomResources without inputs;
 * - `flat`: {@link flatFleetProgram}, the same resources of the same classes declared one by one
 *   with literal inputs — no components, no Outputs between resources, nothing rendered. The
 *   fleet's CPU over the flat program's is what the components add: the overhead the target
 *   applies to. (Pulumi's SDK spends most of its time per resource and per input property — four
 *   tracked promises and a captured stack trace each — so resources without inputs are a much
 *   cheaper baseline than the real ones.)
 *
 * Every measurement runs in a fresh node process. Figures per run: wall time and CPU time of the
 * evaluation (from starting the program until every resource is registered), peak RSS of the
 * process, the heap still in use after the run and a full GC, and the number of resources. CPU time
 * is what the ratios use: this machine is shared, and CPU time is far less disturbed by other
 * processes than wall time. Each run also records the `__provider` text of every dynamic resource
 * type as the engine receives it (the serialized provider among the RegisterResource inputs).
 */
import * as pulumi from "@pulumi/pulumi";
import { runChild, serveChild } from "./child";
import { fleetOutputs, fleetProgram, flatFleetProgram } from "./fleet";
import type { BenchmarkRow } from "./index";
import type { WireGuardTopology } from "../../components/overlay/wireguard-config";

/** What one child evaluates. */
export type EvaluationSpec =
    /** The fleet with `hosts` KVM hosts. */
    | { kind: "fleet"; hosts: number; topology?: WireGuardTopology }
    /** The fleet's resources declared flat, for `hosts` KVM hosts. */
    | { kind: "flat"; hosts: number }
    /** `resources` trivial CustomResources without inputs. */
    | { kind: "bare"; resources: number };

/** What one evaluation measured. */
export interface EvaluationResult {
    spec: EvaluationSpec;
    /** Resources registered, components included. */
    resources: number;
    /** Of which custom resources (what the engine would create). */
    customResources: number;
    /** Custom resources by type token. */
    types: Record<string, number>;
    /** From starting the program until every resource is registered. */
    wallMs: number;
    /** CPU time (user + system, all threads) over the same span. */
    cpuMs: number;
    /** Peak resident memory of the process (node and modules included). */
    peakRssMiB: number;
    /** Heap still in use after the run and a full garbage collection. */
    retainedHeapMiB: number;
    /** Bytes of `__provider` (the serialized dynamic provider) per object, by type token; the largest seen. */
    providerBytes: Record<string, number>;
}

/** The input that carries a dynamic resource's serialized provider. */
const PROVIDER_KEY = "__provider";

/** Type token of the bare resources. */
const BARE = "bench:index:Bare";

class BareResource extends pulumi.CustomResource {
    constructor(name: string) {
        super(BARE, name, {});
    }
}

/**
 * Runs `program` under mocks that echo every input back (plus {@link fleetOutputs}) and waits until
 * every resource it declared is registered. Unlike the test harness it records nothing but the
 * resources' types, so that only the program and the Pulumi runtime are measured.
 */
export async function evaluateUnderMocks(program: () => void): Promise<Omit<EvaluationResult, "spec" | "peakRssMiB" | "retainedHeapMiB">> {
    const providerBytes: Record<string, number> = {};
    await pulumi.runtime.setMocks(
        {
            async newResource(args) {
                const provider: unknown = args.inputs[PROVIDER_KEY];
                if (typeof provider === "string")
                    providerBytes[args.type] = Math.max(providerBytes[args.type] ?? 0, Buffer.byteLength(provider));
                return { id: `${args.name}-id`, state: { ...args.inputs, ...fleetOutputs(args) } };
            },
            call: (args) => args.inputs,
        },
        "bench",
        "scale",
        false,
    );
    const declared: pulumi.Resource[] = [];
    const types: Record<string, number> = {};
    let custom = 0;
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    await pulumi.runtime.runInPulumiStack(async () => {
        pulumi.runtime.registerStackTransformation((args) => {
            declared.push(args.resource);
            if (args.resource instanceof pulumi.CustomResource) {
                custom++;
                types[args.type] = (types[args.type] ?? 0) + 1;
            }
            return undefined;
        });
        program();
    });
    // A resource's URN resolves once its registration is done; components may declare children late.
    for (let seen = -1; seen !== declared.length;) {
        seen = declared.length;
        await Promise.all(declared.map((resource) => (resource.urn as unknown as { promise(): Promise<string> }).promise()));
    }
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const cpu = process.cpuUsage(cpuBefore);
    return { resources: declared.length, customResources: custom, types, wallMs, cpuMs: (cpu.user + cpu.system) / 1000, providerBytes };
}

/** The program a spec declares. */
function programOf(spec: EvaluationSpec): () => void {
    switch (spec.kind) {
        case "fleet":
            return () => void fleetProgram({ hosts: spec.hosts, topology: spec.topology });
        case "flat":
            return () => flatFleetProgram(spec.hosts);
        case "bare":
            return () => {
                for (let i = 0; i < spec.resources; i++) new BareResource(`bare-${i}`);
            };
    }
}

/** Evaluates one spec in this process (meant for a fresh child: see {@link measureInChild}). */
export async function measureEvaluation(spec: EvaluationSpec): Promise<EvaluationResult> {
    const measured = await evaluateUnderMocks(programOf(spec));
    const peakRssMiB = process.resourceUsage().maxRSS / 1024;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    return { spec, ...measured, peakRssMiB, retainedHeapMiB: gc ? process.memoryUsage().heapUsed / 2 ** 20 : Number.NaN };
}

/** {@link measureEvaluation} in a fresh node process. */
export function measureInChild(spec: EvaluationSpec): Promise<EvaluationResult> {
    return runChild<EvaluationSpec, EvaluationResult>(__filename, spec);
}

/** Options of {@link runScaleBenchmark}. */
export interface ScaleOptions {
    /** Host counts, ascending, starting at 1. Default {@link SCALE_SIZES}. */
    sizes?: number[];
    /** Host count also measured with a full WireGuard mesh; 0 for none. Default 100. */
    meshSize?: number;
    /**
     * Rounds of the fleet and the flat program (interleaved) per size up to {@link ROUNDS_UP_TO}
     * hosts, of which the run with the median CPU time is kept; larger sizes run once. Default 3.
     */
    rounds?: number;
    /** Progress messages. */
    log?: (message: string) => void;
}

/** Host counts of the routine run. */
export const SCALE_SIZES = [1, 10, 100, 1000];

/** Sizes up to this many hosts run several rounds (they take seconds, and their ratios are the noisiest). */
export const ROUNDS_UP_TO = 100;

/** Targets of the scale benchmark (issue 13). */
export const SCALE_TARGETS = {
    /**
     * CPU per host at the largest size over CPU per host at the next smaller one — both per host
     * overall (`cpu(N) / N`) and per added host (without the fixed cost of the first host).
     */
    growth: 1.1,
    /** Fleet CPU over the CPU of the flat program, at every size. */
    overhead: 1.15,
    /** Wall time of the evaluation at 1000 hosts, seconds. */
    wallSecondsAt1000: 30,
    /** Peak RSS at 1000 hosts, MiB. */
    peakRssMiBAt1000: 1500,
    /** `__provider` text per OpenNebula object, bytes (16 KB). */
    providerBytes: 16_000,
};

/** Every figure of the scale benchmark. */
export interface ScaleResult {
    fleet: EvaluationResult[];
    /** Per size: as many resources without inputs. */
    bare: EvaluationResult[];
    /** Per size: the same resources declared flat. */
    flat: EvaluationResult[];
    mesh?: EvaluationResult;
}

/** Measures every size in its own process: the fleet, then the two baselines. */
export async function runScaleBenchmark(options: ScaleOptions = {}): Promise<ScaleResult> {
    const sizes = options.sizes ?? SCALE_SIZES;
    const log = options.log ?? (() => undefined);
    const result: ScaleResult = { fleet: [], bare: [], flat: [] };
    for (const hosts of sizes) {
        const rounds = hosts <= ROUNDS_UP_TO ? (options.rounds ?? 3) : 1;
        log(`scale: ${hosts} host(s), ${rounds} round(s)`);
        const fleet: EvaluationResult[] = [];
        const flat: EvaluationResult[] = [];
        for (let round = 0; round < rounds; round++) {
            fleet.push(await measureInChild({ kind: "fleet", hosts }));
            flat.push(await measureInChild({ kind: "flat", hosts }));
        }
        result.fleet.push(medianRun(fleet));
        result.flat.push(medianRun(flat));
        result.bare.push(await measureInChild({ kind: "bare", resources: fleet[0].resources }));
    }
    const meshSize = options.meshSize ?? 100;
    if (meshSize > 0) result.mesh = await measureInChild({ kind: "fleet", hosts: meshSize, topology: "mesh" });
    return result;
}

/** The run with the median CPU time (the later of the two middle ones for an even count). */
export function medianRun(runs: EvaluationResult[]): EvaluationResult {
    const sorted = [...runs].sort((a, b) => a.cpuMs - b.cpuMs);
    return sorted[Math.floor(sorted.length / 2)];
}

/** The number of hosts of a fleet or flat run. */
function hostsOf(run: EvaluationResult): number {
    return run.spec.kind === "bare" ? 0 : run.spec.hosts;
}

/** CPU per host beyond the first: `(cpu(N) − cpu(first)) / (N − first)`, per run after the first. */
export function marginalCpuMsPerHost(runs: EvaluationResult[]): (number | undefined)[] {
    const [first] = runs;
    return runs.map((run) => (hostsOf(run) > hostsOf(first) ? (run.cpuMs - first.cpuMs) / (hostsOf(run) - hostsOf(first)) : undefined));
}

/** The table rows of a scale run. */
export function scaleRows(result: ScaleResult): BenchmarkRow[] {
    const row = (metric: string, value: number, unit: string, digits: number, target = "", met?: boolean): BenchmarkRow => ({
        benchmark: "scale",
        metric,
        value: round(value, digits),
        unit,
        target,
        met,
    });
    const rows: BenchmarkRow[] = [];
    const marginal = marginalCpuMsPerHost(result.fleet);
    const flatMarginal = marginalCpuMsPerHost(result.flat);
    result.fleet.forEach((run, i) => {
        const label = `${hostsOf(run)} host(s)`;
        const [bare, flat] = [result.bare[i], result.flat[i]];
        const overhead = run.cpuMs / flat.cpuMs;
        const at1000 = hostsOf(run) === 1000;
        const wallTarget = at1000 ? `≤ ${SCALE_TARGETS.wallSecondsAt1000}` : "";
        const rssTarget = at1000 ? `≤ ${SCALE_TARGETS.peakRssMiBAt1000}` : "";
        rows.push(
            row(`${label}: resources`, run.resources, "", 0),
            row(
                `${label}: wall time`,
                run.wallMs / 1000,
                "s",
                2,
                wallTarget,
                at1000 ? run.wallMs / 1000 <= SCALE_TARGETS.wallSecondsAt1000 : undefined,
            ),
            row(`${label}: CPU time`, run.cpuMs / 1000, "s", 2),
            row(
                `${label}: peak RSS`,
                run.peakRssMiB,
                "MiB",
                0,
                rssTarget,
                at1000 ? run.peakRssMiB <= SCALE_TARGETS.peakRssMiBAt1000 : undefined,
            ),
            row(`${label}: heap retained after GC`, run.retainedHeapMiB, "MiB", 0),
            row(`${label}: as many bare resources (no inputs), CPU`, bare.cpuMs / 1000, "s", 2),
            row(`${label}: the same resources declared flat, wall time`, flat.wallMs / 1000, "s", 2),
            row(`${label}: the same resources declared flat, CPU`, flat.cpuMs / 1000, "s", 2),
            row(`${label}: the same resources declared flat, peak RSS`, flat.peakRssMiB, "MiB", 0),
            row(`${label}: CPU fleet / bare`, run.cpuMs / bare.cpuMs, "×", 1),
            row(
                `${label}: CPU fleet / flat (component overhead)`,
                overhead,
                "×",
                2,
                `≤ ${SCALE_TARGETS.overhead}`,
                overhead <= SCALE_TARGETS.overhead,
            ),
        );
        if (marginal[i] !== undefined) {
            rows.push(
                row(`${label}: CPU per added host`, marginal[i]!, "ms", 1),
                row(`${label}: CPU per added host, flat`, flatMarginal[i]!, "ms", 1),
            );
        }
    });
    const n = result.fleet.length;
    if (n >= 3) {
        const [before, last] = [result.fleet[n - 2], result.fleet[n - 1]];
        const [from, to] = [hostsOf(before), hostsOf(last)];
        const perHost = last.cpuMs / to / (before.cpuMs / from);
        const perAddedHost = marginal[n - 1]! / marginal[n - 2]!;
        const target = `≤ ${SCALE_TARGETS.growth}`;
        rows.push(
            row(`CPU per host, ${to} / ${from} hosts`, perHost, "×", 2, target, perHost <= SCALE_TARGETS.growth),
            row(`CPU per added host, ${to} / ${from} hosts`, perAddedHost, "×", 2, target, perAddedHost <= SCALE_TARGETS.growth),
            row(`CPU per added host, flat, ${to} / ${from} hosts`, flatMarginal[n - 1]! / flatMarginal[n - 2]!, "×", 2),
            row(`${to} hosts: CPU per added host, fleet / flat`, marginal[n - 1]! / flatMarginal[n - 1]!, "×", 2),
        );
    }
    const providerBytes = result.fleet.flatMap((run) => Object.entries(run.providerBytes ?? {}));
    if (providerBytes.length > 0) {
        const largest = Math.max(...providerBytes.map(([, bytes]) => bytes));
        const [type] = providerBytes.find(([, bytes]) => bytes === largest)!;
        rows.push(
            row(
                `__provider per OpenNebula object, largest type (${type.split(":").pop()})`,
                largest / 1000,
                "KB",
                1,
                `≤ ${SCALE_TARGETS.providerBytes / 1000}`,
                largest <= SCALE_TARGETS.providerBytes,
            ),
        );
    }
    if (result.mesh) {
        const hub = result.fleet.find((run) => hostsOf(run) === hostsOf(result.mesh!));
        rows.push(row(`${hostsOf(result.mesh)} hosts, full WireGuard mesh: CPU time`, result.mesh.cpuMs / 1000, "s", 2));
        if (hub) rows.push(row(`${hostsOf(hub)} hosts: CPU mesh / hub`, result.mesh.cpuMs / hub.cpuMs, "×", 2));
    }
    return rows;
}

/** `value` rounded to `digits` decimals. */
export function round(value: number, digits: number): number {
    const factor = 10 ** digits;
    return Math.round(value * factor) / factor;
}

if (require.main === module) serveChild(measureEvaluation);
