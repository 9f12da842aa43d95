/**
 * `npm run lab [-- <command> [options]]`: see {@link usage}. `npm run lab` starts
 * `scripts/lab/launch.cjs`, which rebuilds `dist/` only when a source is newer, then loads this.
 */
import type { LabStatus } from "./lab";
import { Lab, labPrerequisiteProblems } from "./lab";
import { defaultLabName, validateLabName } from "./naming";
import { formatWireGuardInUse } from "./wireguard-go";

interface CliArguments {
    command: string;
    rest: string[];
    name: string;
    topology?: "mesh" | "hub";
    clusters?: number;
    hostsPerCluster?: number;
    vni?: number;
    bgp: boolean;
    keep: boolean;
}

/** The text of `--help`. */
function usage(defaultName = defaultLabName()): string {
    return `Usage: npm run lab [-- <command> [options]]

Commands:
  up (default)           build a lab and wait until every VM reaches every other; refuses,
                         touching nothing, when a lab of this name exists (down it first)
  down                   remove the lab: its namespaces, processes, mounts and state, also
                         after a crashed run; other labs on the machine are left alone
  status                 nodes, processes, BGP sessions, VM placement, other processes
  exec <target> <cmd…>   run a command in a node (ingress, kvm1…), a VM (vm1…) or internet
  help                   this text (also --help, -h)

Options (before <target> for exec):
  --name <name>          the lab's name, the prefix of its namespaces: 1 to 12 lowercase
                         letters or digits, starting with a letter. Default for this
                         checkout: ${defaultName} (from its path)
  --topology mesh|hub    up: WireGuard as a full mesh or through the ingress. Default mesh
  --clusters <n>         up: edge clusters, 1 to 9. Default 2
  --hosts <n>            up: KVM hosts per cluster, 1 to 9 (one VM each; at most 19
                         hosts in all). Default 2
  --vni <n>              up: VNI (VLAN_ID) of the EVPN network. Default 100
  --no-bgp               up: do not start FRR
  --keep                 up: keep what was built when up fails (for debugging)

The lab needs root. Its state is in /run/oneedge-lab/<name>, its namespaces are <name>-….`;
}

const FLAGS_WITH_VALUES = ["--name", "--topology", "--clusters", "--hosts", "--vni"];

function parseArguments(argv: string[]): CliArguments {
    const parsed: CliArguments = { command: "up", rest: [], name: defaultLabName(), bgp: true, keep: false };
    let commandSeen = false;
    for (let i = 0; i < argv.length; i += 1) {
        const arg = argv[i];
        if (parsed.rest.length > 0) {
            parsed.rest.push(arg);
        } else if (FLAGS_WITH_VALUES.includes(arg)) {
            setOption(parsed, arg, requireValue(argv, ++i, arg));
        } else if (arg === "--no-bgp") {
            parsed.bgp = false;
        } else if (arg === "--keep") {
            parsed.keep = true;
        } else if (arg === "--help" || arg === "-h") {
            parsed.command = "help";
            commandSeen = true;
        } else if (arg === "--") {
            continue;
        } else if (arg.startsWith("-")) {
            throw new Error(`unknown option "${arg}"; see npm run lab -- --help`);
        } else if (!commandSeen) {
            parsed.command = arg;
            commandSeen = true;
        } else {
            parsed.rest.push(arg);
        }
    }
    return parsed;
}

function setOption(parsed: CliArguments, flag: string, value: string): void {
    if (flag === "--name") {
        parsed.name = validateLabName(value, "--name");
    } else if (flag === "--topology") {
        if (value !== "mesh" && value !== "hub") {
            throw new Error(`--topology must be mesh or hub, got ${value}`);
        }
        parsed.topology = value;
    } else if (flag === "--clusters") {
        parsed.clusters = integer(flag, value);
    } else if (flag === "--hosts") {
        parsed.hostsPerCluster = integer(flag, value);
    } else {
        parsed.vni = integer(flag, value);
    }
}

function integer(flag: string, value: string): number {
    if (!/^\d+$/.test(value)) {
        throw new Error(`${flag} must be a whole number, got ${value}`);
    }
    return Number(value);
}

function requireValue(argv: string[], index: number, flag: string): string {
    const value = argv[index];
    if (value === undefined) {
        throw new Error(`${flag} needs a value`);
    }
    return value;
}

const log = (message: string) => console.error(`lab: ${message}`);

/** `npm run lab -- <command>` for this lab (with `--name` unless it is the checkout's default). */
function npmCommand(name: string, command: string): string {
    return `npm run lab -- ${command}${name === defaultLabName() ? "" : ` --name ${name}`}`;
}

async function up(args: CliArguments): Promise<void> {
    if (await Lab.exists(args.name)) {
        console.error(`lab: the lab "${args.name}" is already up; it was left as it is.`);
        console.error(
            `lab: see it with \`${npmCommand(args.name, "status")}\`; rebuild it with \`${npmCommand(args.name, "down")}\`, then up again.`,
        );
        process.exitCode = 1;
        return;
    }
    const started = Date.now();
    const lab = await Lab.up({
        name: args.name,
        topology: args.topology,
        clusters: args.clusters,
        hostsPerCluster: args.hostsPerCluster,
        vni: args.vni,
        startBgp: args.bgp,
        keepOnFailure: args.keep,
        log,
    });
    log(`up in ${Date.now() - started} ms`);
    console.log(lab.describe());
    console.log(`\nWireGuard on ${lab.hosts[0].name}: ${formatWireGuardInUse(await lab.wireguardInUse(lab.hosts[0].name))}`);
}

async function down(args: CliArguments): Promise<void> {
    const report = await Lab.down({ name: args.name, log });
    const left = await Lab.leftovers(args.name);
    console.log(
        `down "${args.name}" in ${report.elapsedMs} ms: removed ${report.namespaces.length} namespaces, ${report.processes.length} processes (${report.killed.length} needed SIGKILL), ${report.mounts.length} mounts`,
    );
    if (left.namespaces.length + left.processes.length + left.mounts.length > 0) {
        console.log(`still left: ${JSON.stringify(left)}`);
        process.exitCode = 1;
    }
}

async function status(args: CliArguments): Promise<void> {
    const lab = await Lab.open(args.name).catch(() => undefined);
    if (lab === undefined) {
        const left = await Lab.leftovers(args.name);
        console.log(`no lab named "${args.name}" is up`);
        if (left.namespaces.length + left.processes.length + left.mounts.length > 0) {
            console.log(`leftovers (remove with: ${npmCommand(args.name, "down")}): ${JSON.stringify(left, null, 2)}`);
        }
        const others = (await Lab.list()).filter((name) => name !== args.name);
        if (others.length > 0) {
            console.log(`labs on this machine: ${others.join(", ")} (choose one with --name)`);
        }
        return;
    }
    printStatus(await lab.status());
}

function printStatus(state: LabStatus): void {
    console.log(`lab "${state.name}", state in ${state.dir}`);
    for (const node of state.nodes) {
        const processes = node.processes.map((p) => `${p.command}:${p.pid}`).join(" ");
        const peers = node.bgpPeers.map((peer) => `${peer.address}=${peer.state}`).join(" ");
        console.log(`${node.name.padEnd(8)} ${node.holderAlive ? "up  " : "DOWN"} ${processes}`);
        if (node.wireguard !== undefined) {
            console.log(`         wg0: ${formatWireGuardInUse(node.wireguard)}`);
        }
        if (peers) {
            console.log(`         bgp: ${peers}`);
        }
    }
    for (const vm of state.vms) {
        console.log(`${vm.name.padEnd(8)} ${vm.ip} ${vm.mac} on ${vm.host}`);
    }
    if (state.others.length > 0) {
        console.log(`other processes: ${state.others.map((p) => `${p.command}:${p.pid}`).join(" ")}`);
    }
}

async function exec(args: CliArguments): Promise<void> {
    const [target, ...argv] = args.rest;
    if (target === undefined || argv.length === 0) {
        throw new Error("usage: npm run lab -- exec [--name <name>] <node|vm|internet> <command…>");
    }
    const lab = await Lab.open(args.name);
    const result = await lab.exec(target, argv);
    process.stdout.write(result.stdout);
    process.stderr.write(result.stderr);
    process.exitCode = result.code;
}

async function main(): Promise<void> {
    const args = parseArguments(process.argv.slice(2));
    if (args.command === "help") {
        console.log(usage());
        return;
    }
    const commands: Record<string, (a: CliArguments) => Promise<void>> = { up, down, status, exec };
    const command = commands[args.command];
    if (command === undefined) {
        throw new Error(`unknown command "${args.command}"; see npm run lab -- --help`);
    }
    if (args.command !== "exec" && args.rest.length > 0) {
        throw new Error(`${args.command} takes no arguments, got "${args.rest.join(" ")}"; see npm run lab -- --help`);
    }
    const problems = labPrerequisiteProblems();
    if (problems.length > 0) {
        throw new Error(`the lab cannot run here: ${problems.join("; ")}`);
    }
    await command(args);
}

main().catch((error: unknown) => {
    console.error(`lab: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
});
