/**
 * Test helpers: hosts as network namespaces, running the host scripts inside them the way the
 * components will (`bash -s` fed by `toStdin`), tiny TCP servers and clients in node, and a
 * snapshot of a host's state for "twice gives the same result" and "delete undoes create" checks.
 *
 * Every name a run creates carries the run's id ({@link RUN_ID}): namespaces are
 * `hst<RUN_ID><role>` and temporary directories `hst-<RUN_ID>-…`, so two runs on one machine
 * never meet, and cleanup removes only what this run created. Each namespace also has a private
 * mount namespace, kept by a holder process, in which `/etc` and `/var` are overlays whose writes
 * land in the run's temporary directory and `/run` is empty: scripts write their files (boot
 * units, WireGuard keys, FRR configuration) to the real paths without touching the machine.
 */
import type { ChildProcess } from "child_process";
import { spawn, spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { HostScript } from "../../components/remote/host-script";
import { toStdin } from "../../components/remote/host-script";

/** This run's id: five lowercase letters and digits. */
export const RUN_ID = [...randomBytes(5)].map((byte) => "abcdefghijklmnopqrstuvwxyz0123456789"[byte % 36]).join("");

/** Longest namespace name: 15, like an interface name, so it fits wherever a name is used. */
const MAX_NAME = 15;

/** The namespace name of `role` in this run: `hst<RUN_ID><role>`; a name already of this run is kept. */
export function nsName(role: string): string {
    const prefix = `hst${RUN_ID}`;
    const name = role.startsWith(prefix) ? role : `${prefix}${role.startsWith("hst") ? role.slice(3) : role}`;
    if (!/^[a-z0-9]+$/.test(name) || name.length > MAX_NAME) {
        throw new Error(`namespace ${name} (role ${role}) must be at most ${MAX_NAME} lowercase letters and digits`);
    }
    return name;
}

/** Output of a finished command. */
export interface Result {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Options of {@link run}. */
export interface RunOptions {
    input?: string;
    env?: Record<string, string>;
    /** Milliseconds. Default 30 000. */
    timeout?: number;
}

/** Runs a command synchronously with a minimal environment plus `env`. */
export function run(command: string, args: string[], options: RunOptions = {}): Result {
    const result = spawnSync(command, args, {
        input: options.input,
        env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...options.env },
        encoding: "utf8",
        timeout: options.timeout ?? 30_000,
    });
    if (result.error) throw result.error;
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like {@link run}, but throws with the command's stderr unless it exits 0. */
export function must(command: string, args: string[], options: RunOptions = {}): string {
    const result = run(command, args, options);
    if (result.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} exited ${result.status}: ${result.stderr.trim()}`);
    }
    return result.stdout;
}

export function hasCommand(name: string): boolean {
    return run("sh", ["-c", 'command -v "$1"', "probe", name]).status === 0;
}

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsSkipReason(): string | undefined {
    if (typeof process.getuid === "function" && process.getuid() !== 0) return "needs root (network namespaces, iptables)";
    for (const tool of ["ip", "iptables", "iptables-save", "iptables-restore", "sysctl", "bash", "base64", "unshare", "nsenter"]) {
        if (!hasCommand(tool)) return `needs ${tool}`;
    }
    const probe = nsName("probe");
    if (run("ip", ["netns", "add", probe]).status !== 0) return "cannot create network namespaces";
    run("ip", ["netns", "del", probe]);
    return undefined;
}

/** The holder of each namespace of this run: its pid (mount namespace) and its overlay directory. */
const holders = new Map<string, { pid: number; process: ChildProcess; dir: string }>();

/**
 * Mounts the host's private /etc and /var (overlays) and /run (empty), then sleeps; $1 is the
 * directory of the overlays' upper and work directories, where it writes its pid (file `pid`) once
 * the mounts are in.
 */
const HOLDER = `set -e
for dir in etc var; do
  mkdir -p "$1/$dir.upper" "$1/$dir.work"
  mount -t overlay "hst-$dir" -o "lowerdir=/$dir,upperdir=$1/$dir.upper,workdir=$1/$dir.work" "/$dir"
done
mount -t tmpfs -o mode=0755 hst-run /run
echo "$$" > "$1/pid.tmp" && mv "$1/pid.tmp" "$1/pid"
exec sleep infinity`;

/** Every lab of this run, destroyed at exit if a test forgot to. */
const labs = new Set<Lab>();
process.on("exit", () => {
    for (const lab of labs) lab.destroy();
});

/** Namespaces (with their holders and processes) and temporary directories created by a test. */
export class Lab {
    private readonly namespaces: string[] = [];
    private readonly processes: ChildProcess[] = [];
    private readonly tempDirs: string[] = [];

    constructor() {
        labs.add(this);
    }

    /**
     * Creates the namespace of `role` ({@link nsName}) with loopback up and its holder; returns
     * its name. A leftover of the same name (this run only) is removed first.
     */
    namespace(role: string): string {
        const name = nsName(role);
        destroyNamespace(name);
        must("ip", ["netns", "add", name]);
        this.namespaces.push(name);
        must("ip", ["-n", name, "link", "set", "lo", "up"]);
        const dir = this.tempDir();
        const log = fs.openSync(path.join(dir, "holder.log"), "w");
        const child = spawn(
            "ip",
            ["netns", "exec", name, "unshare", "--mount", "--propagation", "private", "sh", "-c", HOLDER, "holder", dir],
            {
                stdio: ["ignore", log, log],
            },
        );
        fs.closeSync(log);
        const pidFile = path.join(dir, "pid");
        for (let waited = 0; !fs.existsSync(pidFile) && child.exitCode === null && waited < 10_000; waited += 20) {
            spawnSync("sleep", ["0.02"]);
        }
        const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, "utf8").trim()) : 0;
        if (!pid) {
            child.kill("SIGKILL");
            throw new Error(`holder of ${name} did not start: ${fs.readFileSync(path.join(dir, "holder.log"), "utf8").trim()}`);
        }
        holders.set(name, { pid, process: child, dir });
        return name;
    }

    /** A veth pair between two namespaces, with optional addresses (CIDR), both ends up. */
    link(a: { ns: string; dev: string; address?: string }, b: { ns: string; dev: string; address?: string }): void {
        must("ip", ["-n", a.ns, "link", "add", a.dev, "type", "veth", "peer", "name", b.dev, "netns", b.ns]);
        for (const end of [a, b]) {
            if (end.address) must("ip", ["-n", end.ns, "addr", "add", end.address, "dev", end.dev]);
            must("ip", ["-n", end.ns, "link", "set", end.dev, "up"]);
        }
    }

    /** A temporary directory of this run, removed by {@link Lab.destroy}. */
    tempDir(): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `hst-${RUN_ID}-`));
        this.tempDirs.push(dir);
        return dir;
    }

    /** Starts a TCP server in `ns` (see {@link serve}) and remembers it for cleanup. */
    async serve(ns: string, ports: number[], label: string): Promise<void> {
        this.processes.push(await serve(ns, ports, label));
    }

    /** Remembers a process started by the test, killed by {@link Lab.destroy}. */
    adopt(child: ChildProcess): void {
        this.processes.push(child);
    }

    /** Kills the servers and every process in the namespaces, deletes them and the temporary directories. Never throws. */
    destroy(): void {
        for (const child of this.processes.splice(0)) child.kill("SIGKILL");
        for (const ns of this.namespaces.splice(0)) destroyNamespace(ns);
        for (const dir of this.tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
        labs.delete(this);
    }
}

/** Kills every process of a namespace of this run (its holder included) and deletes it. */
function destroyNamespace(name: string): void {
    if (!name.startsWith(`hst${RUN_ID}`)) throw new Error(`${name} is not a namespace of this run`);
    for (let attempt = 0; attempt < 50; attempt++) {
        const pids = run("ip", ["netns", "pids", name])
            .stdout.split("\n")
            .filter((pid) => /^\d+$/.test(pid));
        if (pids.length === 0) break;
        run("kill", ["-KILL", ...pids]);
        spawnSync("sleep", ["0.05"]);
    }
    holders.get(name)?.process.kill("SIGKILL");
    holders.delete(name);
    run("ip", ["netns", "del", name]);
}

/** Kills every process of `ns` but its holder (what a reboot ends: the daemons a script started). */
export function killProcesses(ns: string): void {
    const holder = holders.get(ns)?.pid;
    for (let attempt = 0; attempt < 50; attempt++) {
        const pids = run("ip", ["netns", "pids", ns])
            .stdout.split("\n")
            .filter((pid) => /^\d+$/.test(pid) && Number(pid) !== holder);
        if (pids.length === 0) return;
        run("kill", ["-KILL", ...pids]);
        spawnSync("sleep", ["0.05"]);
    }
    throw new Error(`processes of ${ns} did not end`);
}

/** The names of the processes running in `ns` but its holder, sorted (what the scripts started: wireguard-go, zebra, bgpd). */
export function processNames(ns: string): string[] {
    const holder = holders.get(ns)?.pid;
    const pids = run("ip", ["netns", "pids", ns])
        .stdout.split("\n")
        .filter((pid) => /^\d+$/.test(pid) && Number(pid) !== holder);
    return pids
        .map((pid) => {
            try {
                return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
            } catch {
                return undefined;
            }
        })
        .filter((name): name is string => name !== undefined)
        .sort();
}

/** The argv prefix that runs a command inside `ns` (its network and mount namespaces). */
export function inNamespace(ns: string): string[] {
    const holder = holders.get(ns);
    return holder === undefined ? ["ip", "netns", "exec", ns] : ["nsenter", "-t", String(holder.pid), "-m", "-n", "--"];
}

/** Runs a command inside `ns`. */
export function exec(ns: string, argv: string[], options: RunOptions = {}): Result {
    const [command, ...args] = [...inNamespace(ns), ...argv];
    return run(command, args, options);
}

/** {@link exec}, throwing unless the command succeeds. */
export function mustExec(ns: string, argv: string[], options: RunOptions = {}): string {
    const [command, ...args] = [...inNamespace(ns), ...argv];
    return must(command, args, options);
}

/** Where the writes of `ns` to `/etc` or `/var` land (the overlay's upper directory). */
export function upperDir(ns: string, top: "etc" | "var"): string {
    const holder = holders.get(ns);
    if (holder === undefined) throw new Error(`${ns} has no holder`);
    return path.join(holder.dir, `${top}.upper`);
}

/** Runs a host script inside `ns` exactly as a component would: `bash -s` reading `toStdin(script)`. */
export function runScript(ns: string, script: HostScript, extraEnvironment: Record<string, string> = {}): Result {
    const withExtra: HostScript = { ...script, environment: { ...script.environment, ...extraEnvironment } };
    return exec(ns, ["bash", "-s"], { input: toStdin(withExtra), timeout: 60_000 });
}

/** {@link runScript}, throwing unless the script succeeds. */
export function mustRunScript(ns: string, script: HostScript, extraEnvironment: Record<string, string> = {}): string {
    const result = runScript(ns, script, extraEnvironment);
    if (result.status !== 0) throw new Error(`${script.name} failed (${result.status}): ${result.stderr.trim()}`);
    return result.stdout;
}

const SERVER = `
const net = require("net");
const [ports, label] = process.argv.slice(1);
let waiting = 0;
for (const port of ports.split(",")) {
    waiting++;
    net.createServer((socket) => {
        socket.on("error", () => {});
        socket.end(label + " " + socket.localAddress.replace("::ffff:", "") + ":" + socket.localPort +
            " from " + socket.remoteAddress.replace("::ffff:", "") + "\\n");
    }).listen(Number(port), "0.0.0.0", () => { if (--waiting === 0) console.log("listening"); });
}`;

/** Starts `node -e <code> args…` in `ns` and resolves once it prints `ready` (a line containing it). */
export function startNode(ns: string, code: string, args: string[], ready: string): Promise<ChildProcess> {
    const child = spawn(inNamespace(ns)[0], [...inNamespace(ns).slice(1), process.execPath, "-e", code, ...args], {
        stdio: ["ignore", "pipe", "pipe"],
    });
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`node in ${ns} did not start`));
        }, 10_000);
        child.stdout!.on("data", (chunk: Buffer) => {
            if (chunk.toString().includes(ready)) {
                clearTimeout(timer);
                resolve(child);
            }
        });
        child.on("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`node in ${ns} exited (${code})`));
        });
    });
}

/**
 * A TCP server in `ns` that answers every connection with one line:
 * `<label> <local address>:<local port> from <remote address>`. Resolves once it listens.
 */
export function serve(ns: string, ports: number[], label: string): Promise<ChildProcess> {
    return startNode(ns, SERVER, [ports.join(","), label], "listening");
}

const CLIENT = `
const net = require("net");
const [host, port] = process.argv.slice(1);
const socket = net.connect({ host, port: Number(port), timeout: 3000 });
let data = "";
socket.on("data", (chunk) => (data += chunk));
socket.on("end", () => { process.stdout.write(data.trim()); process.exit(0); });
socket.on("timeout", () => { process.stdout.write("ERR timeout"); process.exit(0); });
socket.on("error", (error) => { process.stdout.write("ERR " + error.code); process.exit(0); });`;

/** Connects from `ns` to host:port; returns the server's line, or `ERR <code>` (ECONNREFUSED, timeout…). */
export function connect(ns: string, host: string, port: number): string {
    return mustExec(ns, [process.execPath, "-e", CLIENT, host, String(port)]);
}

/**
 * iptables-save output without comments, with counters zeroed, and without tables that filter
 * nothing (no rule, no chain of their own, every policy ACCEPT): such a table appears as soon as
 * anything lists it, and a fresh kernel has none.
 */
export function rules(ns: string, tool: "iptables-save" | "ip6tables-save" = "iptables-save"): string {
    const lines = mustExec(ns, [tool])
        .split("\n")
        .filter((line) => line !== "" && !line.startsWith("#"))
        .map((line) => line.replace(/\[\d+:\d+\]/g, "[0:0]"));
    const tables: string[][] = [];
    for (const line of lines) {
        if (line.startsWith("*")) tables.push([]);
        tables[tables.length - 1]?.push(line);
    }
    const filtersNothing = (table: string[]) =>
        table.every((line) => line.startsWith("*") || line === "COMMIT" || /^:\S+ ACCEPT /.test(line));
    return tables
        .filter((table) => !filtersNothing(table))
        .flat()
        .join("\n");
}

/** Everything the network scripts touch in a namespace, as one comparable text (no trailing blanks). */
export function snapshot(ns: string, keys: string[] = SNAPSHOT_SYSCTLS): string {
    const sysctls = keys.map((key) => `${key}=${mustExec(ns, ["sysctl", "-n", key]).trim()}`);
    return [
        "## iptables",
        rules(ns),
        "## ip6tables",
        hasCommand("ip6tables-save") ? rules(ns, "ip6tables-save") : "(none)",
        "## routes",
        must("ip", ["-n", ns, "-4", "route", "show", "table", "main"]).trim(),
        "## proxy neighbours",
        must("ip", ["-n", ns, "-4", "neigh", "show", "proxy"]).trim(),
        "## links",
        withoutMacs(must("ip", ["-n", ns, "-br", "link", "show"])),
        "## addresses",
        withoutMacs(must("ip", ["-n", ns, "-br", "addr", "show"])),
        "## sysctls",
        ...sysctls,
    ]
        .join("\n")
        .replace(/[ \t]+$/gm, "");
}

/**
 * The files below `dirs` in `ns` (its own view of /etc and /var), one line each:
 * `<mode> <owner> <path> <sha256 or link target>`. Directories are left out: a delete removes the
 * files it wrote, not necessarily every directory a create made.
 */
export function files(ns: string, dirs: string[]): string {
    const script = `for dir in "$@"; do [ -e "$dir" ] || continue
find "$dir" \\( -type f -o -type l \\) -printf '%m %u %p %l\\n'; done | sort | while read -r mode owner file target; do
  if [ -L "$file" ]; then echo "$mode $owner $file -> $target"; else echo "$mode $owner $file $(sha256sum < "$file" | cut -c1-16)"; fi
done`;
    return mustExec(ns, ["sh", "-c", script, "files", ...dirs]).trim();
}

/**
 * Link listings without what a re-created link gets anew: its MAC, the link-local address derived
 * from it and its place in the list (sorted by name).
 */
function withoutMacs(text: string): string {
    return text
        .replace(/\b([0-9a-f]{2}:){5}[0-9a-f]{2}\b/g, "<mac>")
        .replace(/ fe80::\S+/g, "")
        .trim()
        .split("\n")
        .sort()
        .join("\n");
}

const SNAPSHOT_SYSCTLS = [
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.proxy_arp",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
];
