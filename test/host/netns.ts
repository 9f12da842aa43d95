/**
 * Test helpers: network namespaces (all named "hst…"), running the host scripts inside them the
 * way the components will (`bash -s` fed by `toStdin`), tiny TCP servers and clients in node,
 * and a snapshot of a namespace's forwarding state for "twice gives the same result" checks.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { HostScript, toStdin } from "../../components/edge/host-scripts";

/** Output of a finished command. */
export interface Result {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Runs a command synchronously with a minimal environment plus `env`. */
export function run(command: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): Result {
    const result = spawnSync(command, args, {
        input: options.input,
        env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...options.env },
        encoding: "utf8",
        timeout: 30_000,
    });
    if (result.error) throw result.error;
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Like {@link run}, but throws with the command's stderr unless it exits 0. */
export function must(command: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}): string {
    const result = run(command, args, options);
    if (result.status !== 0) {
        throw new Error(`${command} ${args.join(" ")} exited ${result.status}: ${result.stderr.trim()}`);
    }
    return result.stdout;
}

function hasCommand(name: string): boolean {
    return run("sh", ["-c", `command -v ${name}`]).status === 0;
}

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsSkipReason(): string | undefined {
    if (typeof process.getuid === "function" && process.getuid() !== 0) return "needs root (network namespaces, iptables)";
    for (const tool of ["ip", "iptables", "iptables-save", "iptables-restore", "sysctl", "bash", "base64"]) {
        if (!hasCommand(tool)) return `needs ${tool}`;
    }
    const probe = "hstprobe";
    run("ip", ["netns", "del", probe]);
    if (run("ip", ["netns", "add", probe]).status !== 0) return "cannot create network namespaces";
    run("ip", ["netns", "del", probe]);
    return undefined;
}

/** Namespaces created by a test, deleted (with their processes) by {@link Lab.destroy}. */
export class Lab {
    private readonly namespaces: string[] = [];
    private readonly processes: ChildProcess[] = [];
    private readonly tempDirs: string[] = [];

    /** Creates a fresh namespace (deleting a leftover of the same name) with loopback up. */
    namespace(name: string): string {
        if (!name.startsWith("hst")) throw new Error(`test namespaces must start with "hst" (got ${name})`);
        run("ip", ["netns", "del", name]);
        must("ip", ["netns", "add", name]);
        this.namespaces.push(name);
        must("ip", ["-n", name, "link", "set", "lo", "up"]);
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

    /** A temporary directory, removed by {@link Lab.destroy}. */
    tempDir(): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hst-"));
        this.tempDirs.push(dir);
        return dir;
    }

    /** Starts a TCP server in `ns` (see {@link serve}) and remembers it for cleanup. */
    async serve(ns: string, ports: number[], label: string): Promise<void> {
        this.processes.push(await serve(ns, ports, label));
    }

    /** Kills the servers, deletes the namespaces and temporary directories. Never throws. */
    destroy(): void {
        for (const child of this.processes.splice(0)) child.kill("SIGKILL");
        for (const ns of this.namespaces.splice(0)) run("ip", ["netns", "del", ns]);
        for (const dir of this.tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Runs a host script inside `ns` exactly as a component would: `bash -s` reading `toStdin(script)`. */
export function runScript(ns: string, script: HostScript, extraEnvironment: Record<string, string> = {}): Result {
    const withExtra: HostScript = { ...script, environment: { ...script.environment, ...extraEnvironment } };
    return run("ip", ["netns", "exec", ns, "bash", "-s"], { input: toStdin(withExtra) });
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

/**
 * A TCP server in `ns` that answers every connection with one line:
 * `<label> <local address>:<local port> from <remote address>`. Resolves once it listens.
 */
export function serve(ns: string, ports: number[], label: string): Promise<ChildProcess> {
    const child = spawn("ip", ["netns", "exec", ns, "node", "-e", SERVER, ports.join(","), label], {
        stdio: ["ignore", "pipe", "pipe"],
    });
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`server in ${ns} did not start`));
        }, 10_000);
        child.stdout!.on("data", (chunk: Buffer) => {
            if (chunk.toString().includes("listening")) {
                clearTimeout(timer);
                resolve(child);
            }
        });
        child.on("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`server in ${ns} exited (${code})`));
        });
    });
}

const CLIENT = `
const net = require("net");
const [host, port] = process.argv.slice(1);
const socket = net.connect({ host, port: Number(port), timeout: 4000 });
let data = "";
socket.on("data", (chunk) => (data += chunk));
socket.on("end", () => { process.stdout.write(data.trim()); process.exit(0); });
socket.on("timeout", () => { process.stdout.write("ERR timeout"); process.exit(0); });
socket.on("error", (error) => { process.stdout.write("ERR " + error.code); process.exit(0); });`;

/** Connects from `ns` to host:port; returns the server's line, or `ERR <code>` (ECONNREFUSED, timeout…). */
export function connect(ns: string, host: string, port: number): string {
    return must("ip", ["netns", "exec", ns, "node", "-e", CLIENT, host, String(port)]);
}

/** iptables-save output without comments and with counters zeroed. */
export function rules(ns: string, tool: "iptables-save" | "ip6tables-save" = "iptables-save"): string {
    return must("ip", ["netns", "exec", ns, tool])
        .split("\n")
        .filter((line) => line !== "" && !line.startsWith("#"))
        .map((line) => line.replace(/\[\d+:\d+\]/g, "[0:0]"))
        .join("\n");
}

/** Everything the network scripts touch in a namespace, as one comparable text (no trailing blanks). */
export function snapshot(ns: string, keys: string[] = SNAPSHOT_SYSCTLS): string {
    const sysctls = keys.map((key) => `${key}=${must("ip", ["netns", "exec", ns, "sysctl", "-n", key]).trim()}`);
    return [
        "## iptables",
        rules(ns),
        "## ip6tables",
        hasCommand("ip6tables-save") ? rules(ns, "ip6tables-save") : "(none)",
        "## routes",
        must("ip", ["-n", ns, "-4", "route", "show", "table", "main"]).trim(),
        "## proxy neighbours",
        must("ip", ["-n", ns, "-4", "neigh", "show", "proxy"]).trim(),
        "## bridges",
        must("ip", ["-n", ns, "-br", "link", "show", "type", "bridge"]).trim(),
        "## sysctls",
        ...sysctls,
    ]
        .join("\n")
        .replace(/[ \t]+$/gm, "");
}

const SNAPSHOT_SYSCTLS = [
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.proxy_arp",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
];
