/**
 * `npm run bench`: runs the benchmarks, prints a table and writes bench-results.json in the
 * package root (`npm run bench -- scale api-cost` runs only those named; the file keeps the other
 * benchmarks' last results, each with its date). Benchmarks that cannot run here (e.g. the lab
 * without root) are reported as skipped with the reason.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { labPrerequisiteProblems, onPath, packageRoot } from "../lab/environment";
import { apiCostRows, runApiCostBenchmark } from "./api-cost";
import { criticalPathRows, runCriticalPathBenchmark } from "./critical-path";
import { measureOpenNebulaCalls } from "./opennebula-calls";
import type { FabricSizeResult } from "./fabric";
import { FABRIC_TARGETS, fabricGrowth, runFabricBenchmark } from "./fabric";
import type { OverlayBenchmarkResult } from "./overlay";
import { OVERLAY_TARGETS, runOverlayBenchmark } from "./overlay";
import { runScaleBenchmark, scaleRows } from "./scale";
import { runWireGuardSizeBenchmark, wireguardSizeRows } from "./wireguard-size";

/** One line of the results table. */
export interface BenchmarkRow {
    benchmark: string;
    metric: string;
    value: number | string;
    unit: string;
    /** e.g. "≥ 0.93"; empty when the metric is context without a target of its own (printed as {@link NO_TARGET}). */
    target: string;
    /** true/false when there is a target, undefined otherwise. */
    met?: boolean;
}

/** A benchmark: a name and a function that measures and returns its rows and raw results. */
export interface Benchmark {
    name: string;
    /** Why it cannot run here, or undefined when it can. */
    skipReason(): string | undefined;
    run(log: (message: string) => void): Promise<{ rows: BenchmarkRow[]; raw: unknown }>;
}

/** Why a lab benchmark cannot run here (no root, tools missing), or undefined. */
function labSkipReason(): string | undefined {
    const problems = labPrerequisiteProblems();
    if (!onPath("iperf3")) {
        problems.push("missing: iperf3 (Debian package iperf3)");
    }
    return problems.length > 0 ? problems.join("; ") : undefined;
}

/** The overlay benchmark (lab: WireGuard + FRR EVPN + VXLAN). */
export const overlayBenchmark: Benchmark = {
    name: "overlay",
    skipReason: labSkipReason,
    async run(log) {
        const result = await runOverlayBenchmark({ log });
        return { raw: result, rows: overlayRows(result) };
    },
};

/** The overlay benchmark's rows, each with the issue's target or marked as context. */
export function overlayRows(result: OverlayBenchmarkResult): BenchmarkRow[] {
    const t = OVERLAY_TARGETS;
    const row = (metric: string, value: number | string, unit: string, target = "", met?: boolean): BenchmarkRow => ({
        benchmark: "overlay",
        metric,
        value,
        unit,
        target,
        met,
    });
    const steps = result.convergenceSteps;
    return [
        row(`WireGuard host → host (${result.wireguardImplementation})`, result.wireguardMbps, "Mbit/s"),
        row("overlay VM → VM (VXLAN over WireGuard)", result.overlayMbps, "Mbit/s"),
        row(
            "overlay / WireGuard (median of back-to-back pairs)",
            result.overlayToWireguardRatio,
            "",
            `≥ ${t.overlayToWireguardRatio} (ceiling ${t.overlayRatioCeiling})`,
            result.overlayToWireguardRatio >= t.overlayToWireguardRatio,
        ),
        ...(result.overlayCpuMsPerMB === undefined || result.wireguardCpuMsPerMB === undefined
            ? []
            : [
                  row(
                      "wireguard-go CPU per MB, WireGuard alone (sender / receiver)",
                      `${result.wireguardCpuMsPerMB.sender} / ${result.wireguardCpuMsPerMB.receiver}`,
                      "ms",
                  ),
                  row(
                      "wireguard-go CPU per MB, overlay (sender / receiver)",
                      `${result.overlayCpuMsPerMB.sender} / ${result.overlayCpuMsPerMB.receiver}`,
                      "ms",
                  ),
              ]),
        ...(result.baseline === undefined
            ? []
            : [
                  row(
                      `baseline, same lab in pairs: WireGuard host → host (${result.baseline.wireguardImplementation})`,
                      result.baseline.wireguardMbps,
                      "Mbit/s",
                  ),
                  row("baseline: overlay VM → VM", result.baseline.overlayMbps, "Mbit/s"),
                  row("baseline: overlay / WireGuard", result.baseline.overlayToWireguardRatio, ""),
                  row("overlay Mbit/s, lab's wireguard-go / baseline (median of pairs)", result.baseline.overlaySpeedup, "×"),
                  row("WireGuard Mbit/s, lab's wireguard-go / baseline (median of pairs)", result.baseline.wireguardSpeedup, "×"),
              ]),
        ...(result.overlayBridgeNetfilterToWireguardRatio === undefined
            ? []
            : [
                  row("overlay VM → VM, hosts' br_netfilter on", result.overlayBridgeNetfilterMbps ?? 0, "Mbit/s"),
                  row("overlay (br_netfilter on) / WireGuard", result.overlayBridgeNetfilterToWireguardRatio, ""),
              ]),
        row(
            "kernel WireGuard",
            result.kernelWireguardSkipped === undefined ? "measured above" : `skipped: ${result.kernelWireguardSkipped}`,
            "",
        ),
        row(
            "bgpd start → first VM reply (median)",
            result.bgpStartToFirstReplyMs,
            "ms",
            `≤ ${t.bgpStartToFirstReplyMs}`,
            result.bgpStartToFirstReplyMs <= t.bgpStartToFirstReplyMs,
        ),
        row("bgpd start → first VM reply (max)", result.bgpStartToFirstReplyMaxMs, "ms"),
        row("  of which: FRR host scripts done (median)", steps.scriptsDone, "ms"),
        row("  of which: last bgpd started", steps.lastBgpdStarted, "ms"),
        row("  of which: reflector's sessions up", steps.sessionsUp, "ms"),
        row("  of which: flood entries on both hosts", steps.floodEntries, "ms"),
        row(
            "migration: outage seen by a pinging VM (median)",
            result.migrationRecoveryMs,
            "ms",
            `≤ ${t.migrationRecoveryMs}`,
            result.migrationRecoveryMs <= t.migrationRecoveryMs,
        ),
        row("migration: outage seen by a pinging VM (max)", result.migrationRecoveryMaxMs, "ms"),
        row("migration: start (destination network first) → reply (median)", result.migrationTotalMs, "ms"),
        row("lab up (4 hosts, 4 VMs, converged)", result.labUpMs, "ms"),
    ];
}

/** Fabric scale (lab: one reflector, 8 to 64 KVM hosts, every host a VTEP). */
export const fabricBenchmark: Benchmark = {
    name: "fabric",
    skipReason: () => {
        const problems = labPrerequisiteProblems();
        return problems.length > 0 ? problems.join("; ") : undefined;
    },
    async run(log) {
        const results = await runFabricBenchmark({ log });
        return { raw: results, rows: fabricRows(results) };
    },
};

/** The fabric benchmark's rows: per size the times, then the growth per added host. */
export function fabricRows(results: readonly FabricSizeResult[]): BenchmarkRow[] {
    const row = (metric: string, value: number | string, unit: string, target = "", met?: boolean): BenchmarkRow => ({
        benchmark: "fabric",
        metric,
        value,
        unit,
        target,
        met,
    });
    const perSize = results.flatMap((result) => [
        row(`${result.hosts} hosts: every session Established`, Math.round(result.sessionsMs), "ms"),
        row(`${result.hosts} hosts: every type-3 route on every host`, Math.round(result.type3Ms), "ms"),
        row(`${result.hosts} hosts: the same, after the last bgpd started`, Math.round(result.type3AfterLastBgpdMs), "ms"),
        row(
            `${result.hosts} hosts: reflector's bgp listen limit`,
            result.listenLimit,
            "",
            `≥ ${result.hosts}`,
            result.listenLimit >= result.hosts,
        ),
        row(`${result.hosts} hosts: update-groups on the reflector`, result.updateGroups, "", "= 1", result.updateGroups === 1),
    ]);
    if (results.length < 2) {
        return perSize;
    }
    const sizes = results.map((result) => result.hosts);
    const growthRows = (metric: "type3Ms" | "type3AfterLastBgpdMs", label: string) => {
        const growth = fabricGrowth(results, metric);
        return [
            ...growth.perHostMs.map((ms, index) =>
                row(`${label}: ms per added host, ${sizes[index]} → ${sizes[index + 1]}`, Math.round(ms), "ms"),
            ),
            row(
                `${label}: per added host, last step / first step`,
                Math.round(growth.ratio * 100) / 100,
                "×",
                `≤ ${FABRIC_TARGETS.perHostGrowthRatio} (linear)`,
                growth.ratio <= FABRIC_TARGETS.perHostGrowthRatio,
            ),
        ];
    };
    return [
        ...perSize,
        ...growthRows("type3Ms", "type-3 everywhere"),
        ...growthRows("type3AfterLastBgpdMs", "the same after the last bgpd"),
    ];
}

/** XML-RPC calls per lifecycle step of every OpenNebula resource, from the test double's counters. */
export const openNebulaCallsBenchmark: Benchmark = {
    name: "opennebula-calls",
    skipReason: () => undefined,
    async run() {
        const calls = await measureOpenNebulaCalls();
        const rows = calls.flatMap(({ resource, ...steps }) =>
            Object.entries(steps).map(([step, count]): BenchmarkRow => ({
                benchmark: "opennebula-calls",
                metric: `${resource} ${step}`,
                value: count,
                unit: "calls",
                ...(step === "refresh" ? { target: "= 1", met: count === 1 } : { target: "" }),
            })),
        );
        return { rows, raw: calls };
    },
};

/** Program evaluation under mocks for 1 to 1000 hosts, against bare resources and the same resources declared flat (scale.ts). */
export const scaleBenchmark: Benchmark = {
    name: "scale",
    skipReason: () => undefined,
    async run(log) {
        const result = await runScaleBenchmark({ log });
        return { rows: scaleRows(result), raw: result };
    },
};

/** Deployment time in units of a per-resource delay, for 1, 10 and 100 hosts (critical-path.ts). */
export const criticalPathBenchmark: Benchmark = {
    name: "critical-path",
    skipReason: () => undefined,
    async run(log) {
        const results = await runCriticalPathBenchmark({ log });
        return { rows: criticalPathRows(results), raw: results };
    },
};

/** XML-RPC calls to create, refresh, re-apply and destroy an edge cluster of N hosts (api-cost.ts). */
export const apiCostBenchmark: Benchmark = {
    name: "api-cost",
    skipReason: () => undefined,
    async run(log) {
        const results = await runApiCostBenchmark({ log });
        return { rows: apiCostRows(results), raw: results };
    },
};

/** WireGuard configuration size per host, full mesh against hub (wireguard-size.ts). */
export const wireguardSizeBenchmark: Benchmark = {
    name: "wireguard-size",
    skipReason: () => undefined,
    async run() {
        const results = runWireGuardSizeBenchmark();
        return { rows: wireguardSizeRows(results), raw: results };
    },
};

/** Every benchmark `npm run bench` runs, in order (`npm run bench -- <name> …` runs only those named). */
export const BENCHMARKS: Benchmark[] = [
    openNebulaCallsBenchmark,
    apiCostBenchmark,
    wireguardSizeBenchmark,
    criticalPathBenchmark,
    scaleBenchmark,
    overlayBenchmark,
    fabricBenchmark,
];

/** Shown in the target column of a row that has no target of its own (a measurement given as context). */
export const NO_TARGET = "— (context)";

/** Formats rows as an aligned text table: every row with its target, and whether it was met. */
export function formatTable(rows: readonly BenchmarkRow[]): string {
    const cells = rows.map((r) => [
        r.benchmark,
        r.metric,
        `${r.value}${r.unit ? ` ${r.unit}` : ""}`,
        r.target || NO_TARGET,
        r.met === undefined ? "" : r.met ? "ok" : "MISSED",
    ]);
    const header = ["benchmark", "metric", "value", "target", ""];
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
    const line = (c: string[]) =>
        c
            .map((cell, i) => cell.padEnd(widths[i]))
            .join("  ")
            .trimEnd();
    return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

async function main(): Promise<void> {
    const log = (message: string) => console.error(`bench: ${message}`);
    const rows: BenchmarkRow[] = [];
    const results: Record<string, unknown> = {};
    const wanted = process.argv.slice(2);
    const unknown = wanted.filter((name) => !BENCHMARKS.some((b) => b.name === name));
    if (unknown.length > 0)
        throw new Error(`unknown benchmark(s) ${unknown.join(", ")}; known: ${BENCHMARKS.map((b) => b.name).join(", ")}`);
    for (const benchmark of BENCHMARKS.filter((b) => wanted.length === 0 || wanted.includes(b.name))) {
        const skip = benchmark.skipReason();
        if (skip !== undefined) {
            log(`${benchmark.name} skipped: ${skip}`);
            results[benchmark.name] = { skipped: skip };
            continue;
        }
        const started = Date.now();
        const outcome = await benchmark.run(log);
        log(`${benchmark.name} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
        rows.push(...outcome.rows);
        results[benchmark.name] = { date: new Date().toISOString(), rows: outcome.rows, raw: outcome.raw };
    }
    console.log(formatTable(rows));
    const file = path.join(packageRoot(), "bench-results.json");
    // A run of some benchmarks keeps the other benchmarks' last results.
    const previous = await readPreviousResults(file);
    const merged = { ...previous, ...results };
    await fs.writeFile(file, `${JSON.stringify({ date: new Date().toISOString(), results: merged }, null, 2)}\n`);
    console.log(`\nwritten: ${file}`);
}

/** The `results` of an earlier bench-results.json, or none when there is no readable one. */
async function readPreviousResults(file: string): Promise<Record<string, unknown>> {
    try {
        const previous = JSON.parse(await fs.readFile(file, "utf8")) as { date?: string; results?: Record<string, { date?: string }> };
        // Entries written before results carried their own date get the file's.
        return Object.fromEntries(
            Object.entries(previous.results ?? {}).map(([name, result]) => [name, { date: previous.date, ...result }]),
        );
    } catch {
        return {};
    }
}

if (require.main === module) {
    main().catch((error: unknown) => {
        console.error(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        process.exitCode = 1;
    });
}
