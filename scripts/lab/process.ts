/**
 * Running commands for the lab: argv arrays only (no shell strings), values for host scripts
 * through the child's environment, bounded timeouts, and polling helpers.
 */
import type { ChildProcess } from "node:child_process";
import { execFile, spawn } from "node:child_process";
import { promises as fs } from "node:fs";

/** Result of a finished command. */
export interface RunResult {
    /** Exit code (non-zero also when killed by the timeout). */
    code: number;
    /** Captured standard output. */
    stdout: string;
    /** Captured standard error. */
    stderr: string;
}

/** Options of {@link run}. */
export interface RunOptions {
    /** Extra environment variables for the child (added to this process's environment). */
    env?: Readonly<Record<string, string>>;
    /** Text written to the child's standard input. */
    input?: string;
    /** Kill the child after this many milliseconds. Default 60000. */
    timeoutMs?: number;
}

/** Runs `argv` and resolves with its exit code and output; never rejects for a non-zero exit. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = execFile(
            argv[0],
            argv.slice(1),
            {
                env: { ...process.env, ...(options.env ?? {}) },
                timeout: options.timeoutMs ?? 60_000,
                maxBuffer: 64 * 1024 * 1024,
                encoding: "utf8",
            },
            (error, stdout, stderr) => {
                if (error && typeof (error as NodeJS.ErrnoException).code === "string") {
                    reject(new Error(`cannot run ${argv[0]}: ${error.message}`));
                    return;
                }
                const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
                resolve({ code, stdout, stderr });
            },
        );
        if (options.input !== undefined) {
            child.stdin?.end(options.input);
        }
    });
}

/** A command that exited non-zero. The message carries argv (never secrets, by design) and stderr. */
export class CommandError extends Error {
    constructor(
        readonly argv: readonly string[],
        readonly result: RunResult,
    ) {
        super(`command failed (exit ${result.code}): ${argv.join(" ")}\n${result.stderr.trim() || result.stdout.trim()}`);
        this.name = "CommandError";
    }
}

/** Runs `argv` and resolves with its standard output; rejects with {@link CommandError} on a non-zero exit. */
export async function runOk(argv: readonly string[], options: RunOptions = {}): Promise<string> {
    const result = await run(argv, options);
    if (result.code !== 0) {
        throw new CommandError(argv, result);
    }
    return result.stdout;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Calls `probe` until it returns true or `timeoutMs` has passed, pausing `intervalMs` between
 * attempts. Resolves with the milliseconds it took; rejects with `what` in the message on timeout.
 */
export async function waitUntil(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000, intervalMs = 100): Promise<number> {
    const started = Date.now();
    let attempts = 0;
    for (;;) {
        attempts += 1;
        if (await probe()) {
            return Date.now() - started;
        }
        if (Date.now() - started >= timeoutMs) {
            throw new Error(`timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${what}`);
        }
        await sleep(intervalMs);
    }
}

/** A started process whose output matched. */
export interface StartedProcess {
    /** The running child; kill it when done. */
    child: ChildProcess;
    /** Milliseconds from the start to the first matching output. */
    elapsedMs: number;
}

/**
 * Starts `argv` and resolves as soon as its standard output or error matches `pattern`, leaving
 * it running. Rejects if it exits first or after `timeoutMs` (then it is killed). `env` is added
 * to this process's environment for the child.
 */
export function startUntilOutput(
    argv: readonly string[],
    pattern: RegExp,
    timeoutMs: number,
    env: Readonly<Record<string, string>> = {},
): Promise<StartedProcess> {
    const started = Date.now();
    return new Promise((resolve, reject) => {
        const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
        let output = "";
        let settled = false;
        const settle = (outcome: () => void) => {
            if (!settled) {
                settled = true;
                clearTimeout(timer);
                outcome();
            }
        };
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            settle(() => reject(new Error(`${argv.join(" ")}: no output matching ${pattern} within ${timeoutMs} ms`)));
        }, timeoutMs);
        const onData = (chunk: Buffer) => {
            if (settled) {
                return;
            }
            output = (output + chunk.toString()).slice(-4096);
            if (pattern.test(output)) {
                settle(() => resolve({ child, elapsedMs: Date.now() - started }));
            }
        };
        child.stdout.on("data", onData);
        child.stderr.on("data", onData);
        child.on("error", (error) => settle(() => reject(error)));
        child.on("exit", (code) =>
            settle(() => reject(new Error(`${argv.join(" ")} exited (${code}) before printing ${pattern}: ${output.trim()}`))),
        );
    });
}

/** Runs the tasks, at most `limit` at a time; rejects with the first failure once the running ones ended. */
export async function runLimited(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
    let next = 0;
    const worker = async () => {
        while (next < tasks.length) {
            await tasks[next++]();
        }
    };
    const results = await Promise.allSettled(Array.from({ length: Math.min(limit, tasks.length) }, worker));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === "rejected");
    if (failed !== undefined) {
        throw failed.reason;
    }
}

/** When a process started, in epoch ms (from /proc: clock ticks of 10 ms since boot). */
export async function processStartedAt(pid: number): Promise<number> {
    const fields = await procStatFields(pid);
    const uptimeSeconds = Number((await fs.readFile("/proc/uptime", "utf8")).split(" ")[0]);
    return Date.now() - uptimeSeconds * 1000 + Number(fields[19]) * 10;
}

/** User + system CPU time a process (all its threads) has used, in ms. */
export async function processCpuMs(pid: number): Promise<number> {
    const fields = await procStatFields(pid);
    return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The fields of /proc/<pid>/stat after the command name: [0] is field 3 (state), [11] utime, [12] stime, [19] starttime. */
async function procStatFields(pid: number): Promise<string[]> {
    const stat = await fs.readFile(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}
