/**
 * Fabric scale on the lab: an ingress route reflector with dynamic neighbours (`bgp listen range`
 * and the raised `bgp listen limit`, the configuration for large fleets) and N KVM hosts, each a
 * VTEP of the EVPN network (VMs on two of them only), WireGuard as a hub. Per round, bgpd stops
 * everywhere, the hosts drop their flood entries, and bgpd starts on every node at once through
 * the FRR host script; the benchmark times
 *
 * - until the reflector has all N sessions Established, and
 * - until every host has the flood entry (the type-3 route, in the kernel) of every other host,
 *
 * both from the start call and from the last bgpd's start (the protocol alone: on this machine
 * every host's script and daemons share 2 cores, so the start of N hosts is itself N times the
 * work of one). Growth per added host: the time added per host from one size to the next.
 */
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { Lab } from "../lab/lab";
import { LAB_RUN_VARIABLE, randomLabName } from "../lab/naming";
import { processStartedAt, run, waitUntil } from "../lab/process";
import { median, sessionUpTimes } from "./overlay";

/** Options of {@link runFabricBenchmark}. */
export interface FabricBenchmarkOptions {
    /** Numbers of KVM hosts, each size in its own lab. Default 8, 16, 32, 64. */
    sizes?: number[];
    /** Rounds per size. Default 3. */
    rounds?: number;
    /** Bound of each wait, in ms. Default 120000. */
    timeoutMs?: number;
    /** Progress messages. Default: none. */
    log?: (message: string) => void;
}

/** One size's medians, in ms. */
export interface FabricSizeResult {
    hosts: number;
    /** Start call → every session Established on the reflector. */
    sessionsMs: number;
    /** Start call → every host holds every other host's flood entry. */
    type3Ms: number;
    /** Last bgpd started → every host holds every other host's flood entry. */
    type3AfterLastBgpdMs: number;
    /** The reflector's `bgp listen limit`, as it runs. */
    listenLimit: number;
    /** Update-groups on the reflector (1: every client shares one). */
    updateGroups: number;
    samples: { sessionsMs: number[]; type3Ms: number[]; type3AfterLastBgpdMs: number[] };
}

/** The target: time added per host at the largest step at most 1.1 × that at the first (linear growth). */
export const FABRIC_TARGETS = { perHostGrowthRatio: 1.1 } as const;

/** Builds one lab per size, measures, and always tears each down. */
export async function runFabricBenchmark(options: FabricBenchmarkOptions = {}): Promise<FabricSizeResult[]> {
    const results: FabricSizeResult[] = [];
    for (const hosts of options.sizes ?? [8, 16, 32, 64]) {
        results.push(await measureSize(hosts, options.rounds ?? 3, options.timeoutMs ?? 120_000, options.log ?? (() => undefined)));
    }
    return results;
}

/**
 * Time added per added host between consecutive sizes, and the ratio of the last step's to the
 * first's (≤ 1 when growth is at most linear).
 */
export function fabricGrowth(
    results: readonly FabricSizeResult[],
    metric: "type3Ms" | "sessionsMs" | "type3AfterLastBgpdMs" = "type3Ms",
): { perHostMs: number[]; ratio: number } {
    const perHostMs = results
        .slice(1)
        .map((result, index) => (result[metric] - results[index][metric]) / (result.hosts - results[index].hosts));
    if (perHostMs.length < 2) {
        return { perHostMs, ratio: 1 };
    }
    const [first, last] = [perHostMs[0], perHostMs[perHostMs.length - 1]];
    // No growth at the first step: any growth at the last one is not linear.
    return { perHostMs, ratio: first > 0 ? last / first : last <= 0 ? 0 : Number.POSITIVE_INFINITY };
}

async function measureSize(hosts: number, rounds: number, timeoutMs: number, log: (m: string) => void): Promise<FabricSizeResult> {
    const clusters = Math.max(2, Math.ceil(hosts / 8));
    if (hosts % clusters !== 0) {
        throw new Error(`sizes: ${hosts} hosts do not split evenly into ${clusters} clusters of at most 8`);
    }
    const lab = await Lab.up({
        name: randomLabName("fab"),
        clusters,
        hostsPerCluster: hosts / clusters,
        vms: 2,
        networkOnEveryHost: true,
        topology: "hub",
        useListenRange: true,
        timeoutMs,
        log: (message) => log(`fabric ${hosts}: lab ${message}`),
    });
    try {
        const reflector = lab.nodes[0].name;
        const running = await lab.vtysh(reflector, "show running-config");
        const listenLimit = Number(/^ bgp listen limit (\d+)$/m.exec(running)?.[1] ?? 100);
        const samples = { sessionsMs: [] as number[], type3Ms: [] as number[], type3AfterLastBgpdMs: [] as number[] };
        for (let round = 1; round <= rounds; round += 1) {
            await Promise.all(lab.nodes.map((node) => lab.stopBgpd(node.name)));
            await waitUntil(
                "every host to drop its flood entries",
                async () => (await floodEntryCounts(lab)).every((count) => count === 0),
                timeoutMs,
                500,
            );
            await lab.execOk(reflector, ["truncate", "-s", "0", "/var/log/frr/bgpd.log"]);
            // Watched, not polled: polling N hosts would add work that grows with N to what is measured.
            const watchers = lab.hosts.map((host) => watchFloodEntries(lab, host.name, hosts - 1));
            try {
                const t0 = Date.now();
                await Promise.all(lab.nodes.map((node) => lab.startBgpd(node.name)));
                const lastBgpd = Math.max(...(await Promise.all(lab.nodes.map((node) => bgpdStartedAt(lab, node.name)))));
                const type3At = Math.max(
                    ...(await Promise.all(
                        watchers.map((watcher) =>
                            withTimeout(watcher.complete, timeoutMs, "every host to hold every other host's flood entry"),
                        ),
                    )),
                );
                const sessionsAt = await sessionsUpAt(lab, reflector, hosts);
                samples.sessionsMs.push(sessionsAt - t0);
                samples.type3Ms.push(type3At - t0);
                samples.type3AfterLastBgpdMs.push(type3At - lastBgpd);
                log(
                    `fabric ${hosts} round ${round}: sessions ${sessionsAt - t0} ms, every type-3 route ${type3At - t0} ms (${type3At - lastBgpd} ms after the last bgpd started)`,
                );
            } finally {
                watchers.forEach((watcher) => watcher.child.kill());
            }
        }
        const groups = await lab.vtysh(reflector, "show bgp l2vpn evpn update-groups");
        return {
            hosts,
            sessionsMs: median(samples.sessionsMs),
            type3Ms: median(samples.type3Ms),
            type3AfterLastBgpdMs: median(samples.type3AfterLastBgpdMs),
            listenLimit,
            updateGroups: (groups.match(/^ *Update-group \d+:/gm) ?? []).length,
            samples,
        };
    } finally {
        await lab.down();
    }
}

/** Per host, the number of remote VTEPs it floods to (its `00:00:00:00:00:00 dst …` entries), read in one shell. */
async function floodEntryCounts(lab: Lab): Promise<number[]> {
    const device = `wg0.${lab.topology.network.VLAN_ID}`;
    const script = 'for pid in "$@"; do nsenter -t "$pid" -n bridge fdb show dev "$0" | grep -c "^00:00:00:00:00:00 dst" || true; done';
    const result = await run(["bash", "-c", script, device, ...lab.hosts.map((host) => String(lab.holderPid(host.name)))]);
    return result.stdout.trim().split("\n").map(Number);
}

/**
 * Watches a host's bridge FDB (`bridge -timestamp monitor fdb`) and resolves with the time (epoch
 * ms, as the monitor stamped it) at which the host had flood entries toward `expected` VTEPs.
 */
function watchFloodEntries(lab: Lab, host: string, expected: number): { child: ChildProcess; complete: Promise<number> } {
    const [command, ...args] = [...lab.enterArgv(host), "bridge", "-timestamp", "monitor", "fdb"];
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, [LAB_RUN_VARIABLE]: lab.name } });
    const complete = new Promise<number>((resolve, reject) => {
        const vteps = new Set<string>();
        let stamp = Date.now();
        let pending = "";
        child.stdout?.on("data", (chunk: Buffer) => {
            const lines = (pending + chunk.toString()).split("\n");
            pending = lines.pop() ?? "";
            for (const line of lines) {
                const time = /^Timestamp: (.+) (\d+) usec$/.exec(line);
                if (time !== null) {
                    stamp = Date.parse(time[1]) + Math.round(Number(time[2]) / 1000);
                    continue;
                }
                const flood = /^00:00:00:00:00:00 dev \S+ dst (\S+) /.exec(line);
                if (flood !== null) {
                    vteps.add(flood[1]);
                    if (vteps.size === expected) {
                        resolve(stamp);
                    }
                }
            }
        });
        child.on("exit", () => reject(new Error(`the FDB monitor of ${host} exited with ${vteps.size} of ${expected} flood entries`)));
    });
    complete.catch(() => undefined);
    return { child, complete };
}

/** When the last of `count` sessions came up, from the reflector's bgpd log (epoch ms). */
async function sessionsUpAt(lab: Lab, reflector: string, count: number): Promise<number> {
    const times = sessionUpTimes(await lab.execOk(reflector, ["cat", "/var/log/frr/bgpd.log"]));
    if (times.length < count) {
        throw new Error(`${reflector}: ${times.length} of ${count} sessions came up in its bgpd log`);
    }
    return Math.max(...times);
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
    });
    try {
        return await Promise.race([promise, timeout]);
    } finally {
        clearTimeout(timer);
    }
}

/** When the node's bgpd started (epoch ms). */
async function bgpdStartedAt(lab: Lab, node: string): Promise<number> {
    return processStartedAt(Number((await lab.execOk(node, ["cat", "/run/frr/bgpd.pid"])).trim()));
}
