/**
 * Deployment critical path: the fleet of {@link fleetProgram} under mocks that take the same time
 * `delayMs` to "create" every resource, for 1, 10 and 100 hosts. If hosts are deployed in
 * parallel, the deployment takes the same number of delays whatever the number of hosts.
 *
 * Two figures per size, both in units of the delay:
 * - `totalInDelays`: the whole evaluation, from starting the program to the last resource created;
 *   it also contains the CPU time of evaluating the program, which grows with the hosts;
 * - `wavesInDelays`: from the first resource created to the last one, plus one delay — the
 *   deployment itself, which is what the target applies to;
 * and the longest chain of custom resources waiting on one another in the recorded dependency
 * graph (`criticalPath()` of the test harness), which is exact and needs no clock. The waves count
 * two more than that chain: the stack resource, created first, and the DigitalOcean provider, which
 * every cloud resource waits for but which the recorded graph leaves out.
 */
import { runChild, serveChild } from "./child";
import type { BenchmarkRow } from "./index";
import { round } from "./scale";
import { fleetOutputs, fleetProgram } from "./fleet";
import { runProgram } from "../../test/support/pulumi-mocks";

/** What one child measures. */
export interface CriticalPathSpec {
    hosts: number;
    delayMs: number;
}

/** What it measured. */
export interface CriticalPathResult extends CriticalPathSpec {
    resources: number;
    /** Evaluation time / delay. */
    totalInDelays: number;
    /** (last creation − first creation + delay) / delay. */
    wavesInDelays: number;
    /** Longest chain of custom resources in the recorded dependency graph. */
    criticalPath: number;
}

/** Runs the fleet with every resource delayed by `delayMs` (meant for a fresh child process). */
export async function measureCriticalPath(spec: CriticalPathSpec): Promise<CriticalPathResult> {
    const created: number[] = [];
    const program = await runProgram(() => void fleetProgram({ hosts: spec.hosts }), {
        delayMs: spec.delayMs,
        // Called when a resource's delay is over, i.e. when it has been "created".
        outputs: (args) => {
            created.push(performance.now());
            return fleetOutputs(args);
        },
    });
    const first = Math.min(...created);
    const last = Math.max(...created);
    return {
        ...spec,
        resources: program.resources.length,
        totalInDelays: program.elapsedMs / spec.delayMs,
        wavesInDelays: (last - first + spec.delayMs) / spec.delayMs,
        criticalPath: program.criticalPath(),
    };
}

/** Host counts of the routine run. */
export const CRITICAL_PATH_SIZES = [1, 10, 100];

/**
 * Default delay: long against the CPU time one wave of resources takes to register on this machine
 * (a few hundred ms at 100 hosts), so that the waves measure waiting, not computing.
 */
export const DEFAULT_DELAY_MS = 1000;

/** Measures every size in its own process. */
export async function runCriticalPathBenchmark(
    options: { sizes?: number[]; delayMs?: number; log?: (message: string) => void } = {},
): Promise<CriticalPathResult[]> {
    const results: CriticalPathResult[] = [];
    for (const hosts of options.sizes ?? CRITICAL_PATH_SIZES) {
        options.log?.(`critical-path: ${hosts} host(s)`);
        results.push(
            await runChild<CriticalPathSpec, CriticalPathResult>(__filename, { hosts, delayMs: options.delayMs ?? DEFAULT_DELAY_MS }),
        );
    }
    return results;
}

/**
 * The table rows: per size the three figures; the targets are that the recorded critical path is
 * the same as with one host, and that the deployment takes at most one delay more than with one host
 * (what registering many resources costs in CPU between the waves).
 */
export function criticalPathRows(results: CriticalPathResult[]): BenchmarkRow[] {
    const [first] = results;
    return results.flatMap((result): BenchmarkRow[] => {
        const label = `${result.hosts} host(s)`;
        const extra =
            result.hosts === first.hosts
                ? {}
                : {
                      waves: { target: `≤ ${round(first.wavesInDelays + 1, 1)}`, met: result.wavesInDelays <= first.wavesInDelays + 1 },
                      path: { target: `= ${first.criticalPath}`, met: result.criticalPath === first.criticalPath },
                  };
        return [
            {
                benchmark: "critical-path",
                metric: `${label}: total time / delay (${result.delayMs} ms)`,
                value: round(result.totalInDelays, 2),
                unit: "",
                target: "",
            },
            {
                benchmark: "critical-path",
                metric: `${label}: first to last creation / delay`,
                value: round(result.wavesInDelays, 2),
                unit: "",
                target: "",
                ...extra.waves,
            },
            {
                benchmark: "critical-path",
                metric: `${label}: criticalPath() (custom resources)`,
                value: result.criticalPath,
                unit: "",
                target: "",
                ...extra.path,
            },
        ];
    });
}

if (require.main === module) serveChild(measureCriticalPath);
