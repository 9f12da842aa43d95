/**
 * Finding and removing what a lab left behind, with or without its state file (after a crash):
 * namespaces named `lab*`, every process inside them (holders, zebra, bgpd, wireguard-go,
 * iperf3…), and mounts.
 *
 * Only names with the lab prefix are touched, so namespaces of other tools on the machine are
 * left alone. (Namespace inodes are not used to find processes: the kernel reuses them at once
 * for new namespaces, possibly another tool's.)
 */
import { promises as fs } from "node:fs";
import { run, sleep } from "./process";
import { LAB_PREFIX } from "./topology";

/** A process found in a lab namespace. */
export interface LabProcess {
    pid: number;
    /** Short command name from /proc/<pid>/comm. */
    command: string;
    /** Start time (clock ticks since boot), which tells a process from a later one reusing its pid. */
    startTime: number;
}

/** What is left of a lab. Empty lists mean nothing is left. */
export interface LabLeftovers {
    /** Network namespaces named `lab*`. */
    namespaces: string[];
    /** Processes in those namespaces. */
    processes: LabProcess[];
    /** Mount points in this mount namespace that belong to the lab. */
    mounts: string[];
}

/** What `down` removed. */
export interface LabDownReport extends LabLeftovers {
    /** Processes that needed SIGKILL after the grace period. */
    killed: number[];
    /** Milliseconds the teardown took. */
    elapsedMs: number;
}

/** Lists lab namespaces, the processes inside them, and lab mounts. */
export async function findLeftovers(labDir?: string): Promise<LabLeftovers> {
    const namespaces = await labNamespaces();
    const pids = new Set<number>();
    for (const name of namespaces) {
        const result = await run(["ip", "netns", "pids", name]);
        result.stdout.split(/\s+/).filter(Boolean).forEach((pid) => pids.add(Number(pid)));
    }
    const processes: LabProcess[] = [];
    for (const pid of [...pids].sort((a, b) => a - b)) {
        const found = await describeProcess(pid);
        if (found !== undefined) {
            processes.push(found);
        }
    }
    return { namespaces, processes, mounts: await labMounts(labDir) };
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
 * Removes every lab leftover: SIGTERM to all lab processes at once (bgpd needs ~1.4 s to exit),
 * SIGKILL after 5 s, then the namespaces and any stray mount.
 */
export async function teardown(labDir?: string): Promise<LabDownReport> {
    const started = Date.now();
    const found = await findLeftovers(labDir);
    const killed = await terminate(found.processes.map((process) => process.pid));
    for (const name of found.namespaces) {
        const result = await run(["ip", "netns", "delete", name]);
        if (result.code !== 0) {
            await run(["umount", "-l", `/run/netns/${name}`]);
            await fs.rm(`/run/netns/${name}`, { force: true });
        }
    }
    for (const mount of (await labMounts(labDir)).reverse()) {
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

async function labNamespaces(): Promise<string[]> {
    const result = await run(["ip", "netns", "list"]);
    return result.stdout
        .split("\n")
        .map((line) => line.split(/\s+/)[0])
        .filter((name) => name !== undefined && name.startsWith(LAB_PREFIX))
        .sort();
}

async function labMounts(labDir?: string): Promise<string[]> {
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
                mountPoint.startsWith(`/run/netns/${LAB_PREFIX}`) ||
                source.startsWith(`${LAB_PREFIX}-`) ||
                (labDir !== undefined && mountPoint.startsWith(`${labDir}/`)),
        )
        .map(({ mountPoint }) => mountPoint);
}

async function stillAlive(pids: readonly number[]): Promise<number[]> {
    const alive: number[] = [];
    for (const pid of pids) {
        if ((await readProc(pid, "stat")) !== undefined && !(await isZombie(pid))) {
            alive.push(pid);
        }
    }
    return alive;
}

/** pid, command and start time of a live (non-zombie) process, or undefined. */
async function describeProcess(pid: number): Promise<LabProcess | undefined> {
    const [command, stat] = await Promise.all([readProc(pid, "comm"), readProc(pid, "stat")]);
    if (command === undefined || stat === undefined || (await isZombie(pid))) {
        return undefined;
    }
    // Fields after "(comm)": state is field 3, starttime field 22 of /proc/<pid>/stat.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pid, command: command.trim(), startTime: Number(fields[19]) };
}

async function isZombie(pid: number): Promise<boolean> {
    const stat = await readProc(pid, "stat");
    return stat === undefined || / Z /.test(stat.slice(stat.lastIndexOf(")") + 1, stat.lastIndexOf(")") + 4));
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
