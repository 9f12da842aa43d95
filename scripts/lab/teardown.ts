/**
 * Finding and removing what one lab run left behind, with or without its state file (after a
 * crash). Everything is found by the run's own records and its own name, never by a pattern
 * another run could match (see naming.ts):
 *
 * - namespaces: those recorded in its state, and `<name>-…` in `ip netns list`;
 * - processes: every process inside those namespaces (holders, zebra, bgpd, wireguard-go,
 *   iperf3…), every process whose environment carries `ONEEDGE_LAB=<name>` (also one stranded
 *   outside them), and the recorded holders still running with their recorded start time;
 * - mounts: `/run/netns/<name>-…`, mounts sourced `<name>-…` (the nodes' tmpfs, should one leak
 *   out of its private mount namespace) and mounts under the run's state directory.
 *
 * (Namespace inodes are not used to find processes: the kernel reuses them at once for new
 * namespaces, possibly another run's.)
 */
import { promises as fs } from "node:fs";
import { LAB_RUN_VARIABLE, isLabNamespace } from "./naming";
import { run, sleep } from "./process";

/** A process of a lab. */
export interface LabProcess {
    pid: number;
    /** Short command name from /proc/<pid>/comm. */
    command: string;
    /** Start time (clock ticks since boot), which tells a process from a later one reusing its pid. */
    startTime: number;
}

/** One lab run: its name, state directory, and what its state file recorded (if it still has one). */
export interface LabRun {
    name: string;
    dir: string;
    /** Namespaces recorded in its state. */
    namespaces?: readonly string[];
    /** Processes recorded in its state (the holders). */
    processes?: readonly LabProcess[];
}

/** What is left of a lab run. Empty lists mean nothing is left. */
export interface LabLeftovers {
    /** Its network namespaces. */
    namespaces: string[];
    /** Its processes, inside those namespaces or not. */
    processes: LabProcess[];
    /** Its mount points in this mount namespace. */
    mounts: string[];
}

/** What `down` removed. */
export interface LabDownReport extends LabLeftovers {
    /** Processes that needed SIGKILL after the grace period. */
    killed: number[];
    /** Milliseconds the teardown took. */
    elapsedMs: number;
}

/** Lists the run's namespaces, its processes and its mounts. */
export async function findLeftovers(labRun: LabRun): Promise<LabLeftovers> {
    const namespaces = await runNamespaces(labRun);
    const pids = new Set<number>();
    for (const name of namespaces) {
        const result = await run(["ip", "netns", "pids", name]);
        result.stdout
            .split(/\s+/)
            .filter(Boolean)
            .forEach((pid) => pids.add(Number(pid)));
    }
    (await markedPids(labRun.name)).forEach((pid) => pids.add(pid));
    (await stillRunning(labRun.processes ?? [])).forEach((process) => pids.add(process.pid));
    for (const pid of await selfAndAncestors()) {
        pids.delete(pid);
    }
    const processes: LabProcess[] = [];
    for (const pid of [...pids].sort((a, b) => a - b)) {
        const found = await describeProcess(pid);
        if (found !== undefined) {
            processes.push(found);
        }
    }
    return { namespaces, processes, mounts: await runMounts(labRun) };
}

/** The processes of `snapshot` that still run (same pid and start time). */
export async function stillRunning(snapshot: readonly LabProcess[]): Promise<LabProcess[]> {
    const running: LabProcess[] = [];
    for (const process of snapshot) {
        const now = await describeProcess(process.pid);
        if (now !== undefined && now.startTime === process.startTime) {
            running.push(now);
        }
    }
    return running;
}

/**
 * Removes what is left of the run: SIGTERM to all its processes at once (bgpd needs ~1.4 s to
 * exit), SIGKILL after 5 s, then its namespaces and any stray mount of it.
 */
export async function teardown(labRun: LabRun): Promise<LabDownReport> {
    const started = Date.now();
    const found = await findLeftovers(labRun);
    const killed = await terminate(found.processes.map((process) => process.pid));
    for (const name of found.namespaces) {
        const result = await run(["ip", "netns", "delete", name]);
        if (result.code !== 0) {
            await run(["umount", "-l", `/run/netns/${name}`]);
            await fs.rm(`/run/netns/${name}`, { force: true });
        }
    }
    for (const mount of (await runMounts(labRun)).reverse()) {
        await run(["umount", "-l", mount]);
    }
    return { ...found, killed, elapsedMs: Date.now() - started };
}

/** Signals every pid with SIGTERM, waits up to `graceMs` for all to exit, then SIGKILLs the rest. */
export async function terminate(pids: readonly number[], graceMs = 5000): Promise<number[]> {
    for (const pid of pids) {
        signal(pid, "SIGTERM");
    }
    const deadline = Date.now() + graceMs;
    let alive = await stillAlive(pids);
    while (alive.length > 0 && Date.now() < deadline) {
        await sleep(50);
        alive = await stillAlive(pids);
    }
    for (const pid of alive) {
        signal(pid, "SIGKILL");
    }
    if (alive.length > 0) {
        await sleep(100);
    }
    return alive;
}

/** pid, command and start time of a live (non-zombie) process, or undefined. */
export async function describeProcess(pid: number): Promise<LabProcess | undefined> {
    const [command, stat] = await Promise.all([readProc(pid, "comm"), readProc(pid, "stat")]);
    if (command === undefined || stat === undefined || isZombie(stat)) {
        return undefined;
    }
    // Fields after "(comm)": state is field 3, starttime field 22 of /proc/<pid>/stat.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pid, command: command.trim(), startTime: Number(fields[19]) };
}

/** The run's recorded namespaces that still exist, and every `<name>-…` namespace. */
async function runNamespaces(labRun: LabRun): Promise<string[]> {
    const result = await run(["ip", "netns", "list"]);
    const existing = result.stdout
        .split("\n")
        .map((line) => line.split(/\s+/)[0])
        .filter((name) => name !== undefined && name !== "");
    const recorded = new Set(labRun.namespaces ?? []);
    return existing.filter((name) => recorded.has(name) || isLabNamespace(labRun.name, name)).sort();
}

/** Processes whose environment carries `ONEEDGE_LAB=<name>`. */
async function markedPids(name: string): Promise<number[]> {
    const marker = `\0${LAB_RUN_VARIABLE}=${name}\0`;
    const pids = (await fs.readdir("/proc")).filter((entry) => /^\d+$/.test(entry)).map(Number);
    const marked: number[] = [];
    for (const pid of pids) {
        const environment = await readProc(pid, "environ");
        if (environment !== undefined && `\0${environment}`.includes(marker)) {
            marked.push(pid);
        }
    }
    return marked;
}

/**
 * This process and its ancestors: never signalled, even when marked (a `down` typed in a shell
 * that `exec` opened inside the lab).
 */
async function selfAndAncestors(): Promise<number[]> {
    const chain: number[] = [];
    for (let pid = process.pid; pid > 1 && !chain.includes(pid);) {
        chain.push(pid);
        const stat = await readProc(pid, "stat");
        pid = stat === undefined ? 0 : Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    }
    return chain;
}

async function runMounts(labRun: LabRun): Promise<string[]> {
    const mountinfo = await fs.readFile("/proc/self/mountinfo", "utf8");
    return mountinfo
        .split("\n")
        .filter(Boolean)
        .map((line) => {
            const fields = line.split(" ");
            const separator = fields.indexOf("-");
            return { mountPoint: fields[4], source: fields[separator + 2] ?? "" };
        })
        .filter(
            ({ mountPoint, source }) =>
                (mountPoint.startsWith("/run/netns/") && isLabNamespace(labRun.name, mountPoint.slice("/run/netns/".length))) ||
                isLabNamespace(labRun.name, source) ||
                mountPoint.startsWith(`${labRun.dir}/`),
        )
        .map(({ mountPoint }) => mountPoint);
}

async function stillAlive(pids: readonly number[]): Promise<number[]> {
    const alive: number[] = [];
    for (const pid of pids) {
        const stat = await readProc(pid, "stat");
        if (stat !== undefined && !isZombie(stat)) {
            alive.push(pid);
        }
    }
    return alive;
}

function isZombie(stat: string): boolean {
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z");
}

async function readProc(pid: number, file: string): Promise<string | undefined> {
    return fs.readFile(`/proc/${pid}/${file}`, "utf8").catch(() => undefined);
}

function signal(pid: number, name: NodeJS.Signals): void {
    try {
        process.kill(pid, name);
    } catch {
        // Already gone.
    }
}
