/**
 * `npm run lab [-- <command> [options]]`
 *
 *   up (default)          build the lab and wait until every VM reaches every other
 *   down                  remove everything (also after a crashed run)
 *   status                nodes, processes, BGP sessions, VM placement, leftovers
 *   exec <target> <cmd…>  run a command in a node (ingress, kvm1…), a VM (vm1…) or internet
 *
 * Options of `up`: --topology mesh|hub, --vni <n>, --no-bgp, --keep (keep a failed lab).
 * Every command accepts --dir <state dir> (default /tmp/oneedge-lab).
 */
import { DEFAULT_LAB_DIR, Lab, labPrerequisiteProblems } from "./lab";

interface CliArguments {
    command: string;
    rest: string[];
    dir: string;
    topology?: "mesh" | "hub";
    vni?: number;
    bgp: boolean;
    keep: boolean;
}

function parseArguments(argv: string[]): CliArguments {
    const parsed: CliArguments = { command: "up", rest: [], dir: DEFAULT_LAB_DIR, bgp: true, keep: false };
    let commandSeen = false;
    for (let i = 0; i < argv.length; i += 1) {
        const arg = argv[i];
        if (commandSeen && parsed.command === "exec" && parsed.rest.length > 0) {
            parsed.rest.push(arg);
        } else if (arg === "--dir") {
            parsed.dir = requireValue(argv, ++i, arg);
        } else if (arg === "--topology") {
            const value = requireValue(argv, ++i, arg);
            if (value !== "mesh" && value !== "hub") {
                throw new Error(`--topology must be mesh or hub, got ${value}`);
            }
            parsed.topology = value;
        } else if (arg === "--vni") {
            parsed.vni = Number(requireValue(argv, ++i, arg));
        } else if (arg === "--no-bgp") {
            parsed.bgp = false;
        } else if (arg === "--keep") {
            parsed.keep = true;
        } else if (arg === "--") {
            continue;
        } else if (!commandSeen) {
            parsed.command = arg;
            commandSeen = true;
        } else {
            parsed.rest.push(arg);
        }
    }
    return parsed;
}

function requireValue(argv: string[], index: number, flag: string): string {
    const value = argv[index];
    if (value === undefined) {
        throw new Error(`${flag} needs a value`);
    }
    return value;
}

const log = (message: string) => console.error(`lab: ${message}`);

async function up(args: CliArguments): Promise<void> {
    const started = Date.now();
    const lab = await Lab.up({ dir: args.dir, topology: args.topology, vni: args.vni, startBgp: args.bgp, keepOnFailure: args.keep, log });
    log(`up in ${Date.now() - started} ms`);
    console.log(lab.describe());
}

async function down(args: CliArguments): Promise<void> {
    const report = await Lab.down({ dir: args.dir, log });
    const left = await Lab.leftovers(args.dir);
    console.log(
        `down in ${report.elapsedMs} ms: removed ${report.namespaces.length} namespaces, ${report.processes.length} processes (${report.killed.length} needed SIGKILL), ${report.mounts.length} stray mounts`,
    );
    if (left.namespaces.length + left.processes.length + left.mounts.length > 0) {
        console.log(`still left: ${JSON.stringify(left)}`);
        process.exitCode = 1;
    }
}

async function status(args: CliArguments): Promise<void> {
    const lab = await Lab.open(args.dir).catch(() => undefined);
    if (lab === undefined) {
        const left = await Lab.leftovers(args.dir);
        console.log(`no lab state in ${args.dir}`);
        if (left.namespaces.length + left.processes.length + left.mounts.length > 0) {
            console.log(`leftovers (remove with: npm run lab -- down): ${JSON.stringify(left, null, 2)}`);
        }
        return;
    }
    const state = await lab.status();
    for (const node of state.nodes) {
        const processes = node.processes.map((p) => `${p.command}:${p.pid}`).join(" ");
        const peers = node.bgpPeers.map((peer) => `${peer.address}=${peer.state}`).join(" ");
        console.log(`${node.name.padEnd(8)} ${node.holderAlive ? "up  " : "DOWN"} ${processes}`);
        if (peers) {
            console.log(`         bgp: ${peers}`);
        }
    }
    for (const vm of state.vms) {
        console.log(`${vm.name.padEnd(8)} ${vm.ip} ${vm.mac} on ${vm.host}`);
    }
}

async function exec(args: CliArguments): Promise<void> {
    const [target, ...argv] = args.rest;
    if (target === undefined || argv.length === 0) {
        throw new Error("usage: npm run lab -- exec <node|vm|internet> <command…>");
    }
    const lab = await Lab.open(args.dir);
    const result = await lab.exec(target, argv);
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.code;
}

async function main(): Promise<void> {
    const args = parseArguments(process.argv.slice(2));
    const problems = labPrerequisiteProblems();
    if (problems.length > 0) {
        throw new Error(`the lab cannot run here: ${problems.join("; ")}`);
    }
    const commands: Record<string, (a: CliArguments) => Promise<void>> = { up, down, status, exec };
    const command = commands[args.command];
    if (command === undefined) {
        throw new Error(`unknown command "${args.command}"; use up, down, status or exec`);
    }
    await command(args);
}

main().catch((error: unknown) => {
    console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
});
