/**
 * The local lab: the seed's topology (an ingress route reflector, two edge clusters of two KVM
 * hosts, one VM per host) built on one machine from network namespaces, configured by the
 * package's own renderers and host scripts.
 *
 * - Each node (ingress, KVM host) has its own network namespace and its own mount namespace,
 *   kept alive by a "holder" process, so it has its own `wg0` (wireguard-go's control socket
 *   lives in /run/wireguard), `/etc/frr`, `/run/frr`, `/etc/wireguard` and `/var/log/frr`.
 *   Commands enter a node with `nsenter -t <holder> -m -n`.
 * - WireGuard and FRR are configured by `scripts/host/wireguard-up.sh` and
 *   `scripts/host/frr-apply.sh` (FRR_SERVICE=direct: no init system in the lab), with values
 *   passed as environment variables, exactly as a Pulumi command would run them on a host.
 * - The bridge and VXLAN device are created with the commands of `planVxlanDevice`, i.e. what
 *   OpenNebula's vxlan driver runs; VMs are namespaces attached by veth (`one-<id>-0`).
 * - Every lab has a name (naming.ts); several labs of different names run side by side, and
 *   `down` removes only its own lab's namespaces, processes and mounts (teardown.ts).
 */
import type { ChildProcess } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { Ipv4Cidr } from "../../components/validation";
import { ipv4Cidr, numberToIpv4 } from "../../components/validation";
import { networkCidrOf } from "../../components/overlay/evpn-network";
import { frrScriptEnvironment } from "../../components/overlay/frr-config";
import type { VxlanDevicePlan } from "../../components/overlay/vxlan-device";
import { planVxlanDevice } from "../../components/overlay/vxlan-device";
import { assertPublicKey, wireguardScriptEnvironment } from "../../components/overlay/wireguard-config";
import type { BgpPeer, EvpnRoute } from "./inspect";
import { parseBgpPeers, parseEvpnRoutes } from "./inspect";
import { labPrerequisiteProblems, packageRoot } from "./environment";
import { describeLab } from "./describe";
import { bootOrder } from "./boot";
import { labFirewall } from "./firewall";
import { withExtraHost } from "./growth";
import { startHolder } from "./holder";
import { LAB_RUN_VARIABLE, LAB_STATE_ROOT, labStateDir, validateLabName } from "./naming";
import type { RunOptions, RunResult } from "./process";
import { CommandError, run, runLimited, runOk, sleep, startUntilOutput, waitUntil } from "./process";
import type { LabDownReport, LabLeftovers, LabProcess, LabRun } from "./teardown";
import { describeProcess, findLeftovers, stillRunning, teardown, terminate } from "./teardown";
import type { LabNode, LabTopology, LabTopologyOptions, LabVm } from "./topology";
import { buildTopology, tapOf } from "./topology";
import type { WireGuardInUse } from "./wireguard-go";
import { chooseWireguardGo, describeWireguardGo, tunHasOffloads } from "./wireguard-go";

/** Options of {@link Lab.up}. */
export interface LabOptions extends LabTopologyOptions {
    /**
     * The lab's name (naming.ts): the prefix of its namespaces; its state (per-node configs, keys,
     * logs, state.json) is in `/run/oneedge-lab/<name>`. Required: tests use `randomLabName()`,
     * the CLI `defaultLabName()`.
     */
    name: string;
    /** Start zebra and bgpd on every node. Default true. */
    startBgp?: boolean;
    /** Wait until every VM pings every other (needs startBgp). Default true. */
    waitForConvergence?: boolean;
    /** Bound of every wait, in ms. Default 60000. */
    timeoutMs?: number;
    /** Keep what was built when `up` fails (for debugging). Default false: tear it down. */
    keepOnFailure?: boolean;
    /** Progress messages. Default: none. */
    log?: (message: string) => void;
    /**
     * The wireguard-go program the nodes run when their kernel has no WireGuard module (a path or a
     * name on PATH). Default: `$ONEEDGE_LAB_WIREGUARD_GO`, else the one `scripts/setup.sh`
     * installed (/usr/local/lib/oneedge-lab/bin/wireguard-go, with TUN offloads) when it is there,
     * else `wireguard-go` on PATH.
     */
    wireguardGo?: string;
}

/** Options of {@link Lab.ping}. */
export interface PingOptions {
    /** ICMP payload size (`ping -s`). Default ping's 56. */
    size?: number;
    /** Set the DF bit and never fragment (`ping -M do`). Default false. */
    dontFragment?: boolean;
    /** Seconds to wait for the reply. Default 1. */
    waitSeconds?: number;
}

/** When a migrated VM paused on its source and resumed on its destination ({@link Lab.migrateVm}), in epoch ms. */
export interface MigrationTimes {
    pausedAt: number;
    resumedAt: number;
}

/** One process of a node. */
export interface LabNodeProcess {
    pid: number;
    command: string;
}

/** State of the running lab. */
export interface LabStatus {
    name: string;
    dir: string;
    nodes: {
        name: string;
        role: string;
        netns: string;
        holderAlive: boolean;
        processes: LabNodeProcess[];
        bgpPeers: BgpPeer[];
        wireguard?: WireGuardInUse;
    }[];
    vms: { name: string; host: string; ip: string; mac: string }[];
    /** The lab's other processes: in the VM or internet namespaces, or stranded outside them. */
    others: LabProcess[];
}

/** What is persisted in `<dir>/state.json`, so `status`, `down` and other processes can attach. */
interface LabState {
    version: 2;
    name: string;
    dir: string;
    /** The process running `up`, while it builds the lab (so another `up` does not take it for a crashed one). */
    builder?: LabProcess;
    options: LabTopologyOptions;
    topology: LabTopology;
    holders: Record<string, LabProcess>;
    publicKeys: Record<string, string>;
    /** The wireguard-go program wireguard-up.sh starts (WG_USERSPACE_PROGRAM); absent in labs built before it was recorded. */
    wireguardGo?: string;
    vmHosts: Record<string, string>;
    timings: Record<string, number>;
    createdAt: string;
}

/** A running lab. Create with {@link Lab.up}, attach with {@link Lab.open}, remove with {@link Lab.down}. */
export class Lab {
    private readonly scripts = path.join(packageRoot(), "scripts", "host");
    private saving: Promise<void> = Promise.resolve();

    private constructor(
        private readonly state: LabState,
        private readonly log: (message: string) => void,
    ) {}

    /**
     * Builds the lab and, by default, waits until every VM reaches every other. Phase durations
     * are in {@link Lab.timings}. Refuses, touching nothing, when a lab of this name exists;
     * removes the remains of a crashed one of this name first.
     */
    static async up(options: LabOptions): Promise<Lab> {
        const problems = labPrerequisiteProblems();
        if (problems.length > 0) {
            throw new Error(`the lab cannot run here: ${problems.join("; ")}`);
        }
        const log = options.log ?? (() => undefined);
        const name = validateLabName(options.name);
        const dir = labStateDir(name);
        const topologyOptions: LabTopologyOptions = {
            topology: options.topology,
            clusters: options.clusters,
            hostsPerCluster: options.hostsPerCluster,
            vni: options.vni,
            underlayMtu: options.underlayMtu,
            vms: options.vms,
            networkOnEveryHost: options.networkOnEveryHost,
            useListenRange: options.useListenRange,
        };
        const topology = buildTopology(name, topologyOptions);
        const wireguardGo = chooseWireguardGo(options.wireguardGo);
        const builder = await describeProcess(process.pid);
        if (builder === undefined) {
            throw new Error("cannot read this process's own /proc entry");
        }
        const lab = new Lab(
            {
                version: 2,
                name,
                dir,
                builder,
                options: topologyOptions,
                topology,
                holders: {},
                publicKeys: {},
                wireguardGo,
                vmHosts: Object.fromEntries(topology.vms.map((vm) => [vm.name, vm.host])),
                timings: {},
                createdAt: new Date().toISOString(),
            },
            log,
        );
        await lab.claim();
        const timeoutMs = options.timeoutMs ?? 60_000;
        try {
            await lab.phase("underlay", () => lab.createNamespacesAndUnderlay());
            await lab.phase("holders", () => lab.startHolders());
            await lab.phase("wireguard", () => lab.bringUpWireGuard());
            await lab.phase("vxlan+vms", () => lab.attachAllVms());
            if (options.startBgp ?? true) {
                await lab.phase("frr", () => Promise.all(lab.nodes.map((node) => lab.applyFrr(node.name))));
                if (options.waitForConvergence ?? true) {
                    await lab.phase("convergence", () => lab.waitForConvergence(timeoutMs));
                }
            }
            delete lab.state.builder;
            await lab.save();
            return lab;
        } catch (error) {
            if (options.keepOnFailure) {
                delete lab.state.builder;
                await lab.save();
            } else {
                await Lab.down({ name, log }).catch(() => undefined);
            }
            throw error;
        }
    }

    /** Attaches to the lab `name`; rejects when it has no state file. */
    static async open(name: string, log: (message: string) => void = () => undefined): Promise<Lab> {
        const dir = labStateDir(name);
        const state = await readState(dir).catch((error: NodeJS.ErrnoException) => {
            throw error.code === "ENOENT" ? new Error(`there is no lab named "${name}" (no ${path.join(dir, "state.json")})`) : error;
        });
        return new Lab(state, log);
    }

    /** True when the lab `name` is up: its state file exists and it has anything left. */
    static async exists(name: string): Promise<boolean> {
        const state = await readState(labStateDir(name)).catch(() => undefined);
        return state !== undefined && (await isLive(state));
    }

    /** Names of the labs that have a state directory on this machine. */
    static async list(): Promise<string[]> {
        const entries = await fs.readdir(LAB_STATE_ROOT).catch(() => []);
        return entries.sort();
    }

    /**
     * Removes the lab `name`: its namespaces, processes and mounts, and its state directory.
     * Works without a state file (after a crash): what is left is found by the lab's name.
     * Nothing of another lab is touched.
     */
    static async down(options: { name: string; log?: (message: string) => void }): Promise<LabDownReport> {
        const dir = labStateDir(options.name);
        const state = await readState(dir).catch(() => undefined);
        const report = await teardown(state === undefined ? { name: options.name, dir } : runOf(state));
        await fs.rm(dir, { recursive: true, force: true });
        if (report.namespaces.length + report.processes.length + report.mounts.length > 0) {
            options.log?.(
                `removed ${report.namespaces.length} namespaces, ${report.processes.length} processes, ${report.mounts.length} mounts in ${report.elapsedMs} ms`,
            );
        }
        return report;
    }

    /** Lists what is left of the lab `name` (its namespaces, processes and mounts). */
    static async leftovers(name: string): Promise<LabLeftovers> {
        const dir = labStateDir(name);
        const state = await readState(dir).catch(() => undefined);
        return findLeftovers(state === undefined ? { name, dir } : runOf(state));
    }

    /** The lab's name. */
    get name(): string {
        return this.state.name;
    }

    /** The state directory. */
    get dir(): string {
        return this.state.dir;
    }

    /** The topology (nodes, VMs, plans, network template). */
    get topology(): LabTopology {
        return this.state.topology;
    }

    /** The ingress and the KVM hosts. */
    get nodes(): LabNode[] {
        return this.state.topology.nodes;
    }

    /** The KVM hosts. */
    get hosts(): LabNode[] {
        return this.nodes.filter((node) => node.role === "host");
    }

    /** The VMs, with their current host. */
    get vms(): LabVm[] {
        return this.state.topology.vms.map((vm) => ({ ...vm, host: this.state.vmHosts[vm.name] }));
    }

    /** Milliseconds taken by each phase of `up`. */
    get timings(): Readonly<Record<string, number>> {
        return this.state.timings;
    }

    /** The holder pid of a node (the process whose namespaces `exec` enters). */
    holderPid(node: string): number {
        const holder = this.state.holders[this.node(node).name];
        if (holder === undefined) {
            throw new Error(`${node} has no holder process`);
        }
        return holder.pid;
    }

    /** The argv prefix that runs a command inside a node, VM or the internet namespace. */
    enterArgv(target: string): string[] {
        const node = this.nodes.find((candidate) => candidate.name === target);
        if (node !== undefined) {
            return ["nsenter", "-t", String(this.holderPid(node.name)), "-m", "-n", "--"];
        }
        const vm = this.state.topology.vms.find((candidate) => candidate.name === target);
        if (vm !== undefined) {
            return ["ip", "netns", "exec", vm.netns];
        }
        if (target === "internet") {
            return ["ip", "netns", "exec", this.state.topology.internetNetns];
        }
        throw new Error(
            `unknown lab target "${target}"; nodes: ${this.nodes.map((n) => n.name).join(", ")}, VMs: ${this.vms.map((v) => v.name).join(", ")}, internet`,
        );
    }

    /**
     * Runs `argv` inside a node (`ingress`, `kvm1`…), a VM (`vm1`…) or `internet`, with the lab's
     * name in its environment (so `down` finds whatever it leaves running).
     */
    exec(target: string, argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
        return run([...this.enterArgv(target), ...argv], { ...options, env: { ...options.env, ...this.runVariable() } });
    }

    /**
     * Starts a long-running command inside a target (e.g. an iperf3 server) and resolves once
     * its output matches `ready`. Stop it with `kill()`; `down` also ends it.
     */
    async startBackground(target: string, argv: readonly string[], ready: RegExp, timeoutMs = 10_000): Promise<ChildProcess> {
        return (await startUntilOutput([...this.enterArgv(target), ...argv], ready, timeoutMs, this.runVariable())).child;
    }

    /** Like {@link exec} but rejects on a non-zero exit; resolves with stdout. */
    async execOk(target: string, argv: readonly string[], options: RunOptions = {}): Promise<string> {
        const fullArgv = [...this.enterArgv(target), ...argv];
        const result = await this.exec(target, argv, options);
        if (result.code !== 0) {
            throw new CommandError(fullArgv, result);
        }
        return result.stdout;
    }

    /** Runs a vtysh command on a node and returns its output. */
    vtysh(node: string, command: string): Promise<string> {
        return this.execOk(node, ["vtysh", "-c", command]);
    }

    /** The node's BGP l2vpn evpn sessions and their states. */
    async bgpPeers(node: string): Promise<BgpPeer[]> {
        const result = await this.exec(node, ["vtysh", "-c", "show bgp l2vpn evpn summary json"]);
        return result.code === 0 ? parseBgpPeers(result.stdout) : [];
    }

    /** The node's EVPN routes (type 2 and 3) with their next hops. */
    async evpnRoutes(node: string): Promise<EvpnRoute[]> {
        return parseEvpnRoutes(await this.vtysh(node, "show bgp l2vpn evpn json"));
    }

    /** True when `fromVm` gets a reply from `target` (a VM name or an IP) to one ping. */
    async ping(fromVm: string, target: string, options: PingOptions = {}): Promise<boolean> {
        const argv = ["ping", "-n", "-q", "-c", "1", "-W", String(options.waitSeconds ?? 1)];
        if (options.dontFragment) {
            argv.push("-M", "do");
        }
        if (options.size !== undefined) {
            argv.push("-s", String(options.size));
        }
        const result = await this.exec(this.vm(fromVm).name, [...argv, this.addressOf(target)]);
        return result.code === 0;
    }

    /**
     * Pings `target` from `fromVm` every 100 ms until the first reply; resolves with the
     * milliseconds from the call to that reply (rejects after `timeoutMs`). Error replies
     * (host unreachable) do not end the wait.
     */
    async firstReply(fromVm: string, target: string, timeoutMs = 60_000): Promise<number> {
        // No `-w`: with a deadline, ping stops at the first error reply (e.g. ARP failure).
        const count = String(Math.ceil(timeoutMs / 100));
        const argv = [...this.enterArgv(this.vm(fromVm).name), "ping", "-n", "-i", "0.1", "-W", "1", "-c", count, this.addressOf(target)];
        const { child, elapsedMs } = await startUntilOutput(argv, /bytes from/, timeoutMs, this.runVariable()).catch((error: Error) => {
            throw new Error(`${fromVm} got no reply from ${target} within ${timeoutMs} ms (${error.message})`);
        });
        child.kill("SIGTERM");
        return elapsedMs;
    }

    /** Waits (bounded) until `fromVm` pings `target`; resolves with the ms it took. */
    waitForPing(fromVm: string, target: string, timeoutMs = 60_000): Promise<number> {
        return waitUntil(`${fromVm} to ping ${target}`, () => this.ping(fromVm, target), timeoutMs, 50);
    }

    /**
     * Live-migrates a VM the way OpenNebula and QEMU do: the destination gets the bridge and VXLAN
     * device first if it has none (the driver's `pre`, while the VM still runs on the source); then
     * the VM pauses on the source and resumes on the destination — its NIC's host end moves to the
     * destination's bridge, the guest keeps its interface, addresses and neighbour cache — and
     * announces itself at once with a broadcast from its MAC (QEMU's self-announce after a
     * migration), so the destination's bridge learns the MAC and EVPN moves its type-2 route (MAC
     * mobility); last the source loses its bridge and VXLAN device if no VM is left there (the
     * driver's `clean`). Resolves with the moments the VM paused and resumed.
     */
    async migrateVm(vmName: string, toHost: string): Promise<MigrationTimes> {
        const vm = this.vm(vmName);
        const from = this.node(vm.host);
        const to = this.node(toHost);
        if (to.role !== "host") {
            throw new Error(`${toHost} is not a KVM host`);
        }
        if (from.name === to.name) {
            throw new Error(`${vmName} already runs on ${toHost}`);
        }
        await this.ensureNetworkOnHost(to.name);
        const pausedAt = Date.now();
        await this.execOk(from.name, ["ip", "link", "set", "dev", tapOf(vm), "netns", String(this.holderPid(to.name))]);
        await this.execOk(to.name, ["ip", "link", "set", "dev", tapOf(vm), "master", this.vxlanPlan(to.name).bridge, "up"]);
        const resumedAt = Date.now();
        this.state.vmHosts[vm.name] = to.name;
        await this.announce(vm.name);
        await this.removeNetworkIfUnused(from.name);
        await this.save();
        return { pausedAt, resumedAt };
    }

    /** Deletes the host's WireGuard interface (wireguard-go exits with it). */
    async stopWireGuard(host: string): Promise<void> {
        await this.execOk(this.node(host).name, ["ip", "link", "delete", "wg0"]);
        await waitUntil(
            `wireguard-go on ${host} to exit`,
            async () => !(await this.nodeProcesses(host)).some((p) => p.command === "wireguard-go"),
            10_000,
        );
    }

    /** Runs the WireGuard host script again on `host` (same key, same peers). */
    async startWireGuard(host: string): Promise<void> {
        await this.applyWireGuard(this.node(host).name);
    }

    /**
     * Restarts WireGuard on every node with another wireguard-go program (same keys, peers and
     * addresses; the VXLAN devices, bound to the address rather than to wg0, stay), one node after
     * the other, and waits until every peer answers again. For comparing wireguard-go builds on one lab.
     */
    async switchWireguardGo(program: string): Promise<void> {
        this.state.wireguardGo = chooseWireguardGo(program);
        await this.save();
        for (const node of this.nodes) {
            await this.stopWireGuard(node.name);
            await this.applyWireGuard(node.name);
        }
        await this.verifyWireGuard();
    }

    /**
     * How a node runs wg0: kernel WireGuard, or which wireguard-go (the running process's program
     * and version) and whether its TUN offloads are on.
     */
    async wireguardInUse(node: string): Promise<WireGuardInUse> {
        const name = this.node(node).name;
        const daemon = (await this.nodeProcesses(name)).find((p) => p.command === "wireguard-go");
        const details = await this.execOk(name, ["ip", "-d", "link", "show", "dev", "wg0"]);
        if (daemon === undefined) {
            if (!/\bwireguard\b/.test(details)) {
                throw new Error(`${name}: wg0 is neither kernel WireGuard nor served by a wireguard-go process`);
            }
            return { implementation: "kernel", offloads: true };
        }
        const program = (await fs.readlink(`/proc/${daemon.pid}/exe`)).replace(/ \(deleted\)$/, "");
        return {
            implementation: "wireguard-go",
            program: await describeWireguardGo(program),
            pid: daemon.pid,
            offloads: tunHasOffloads(details),
        };
    }

    /** Stops bgpd on a node (SIGTERM, as systemd would) and waits until it has exited. */
    async stopBgpd(node: string): Promise<void> {
        const pid = Number((await this.execOk(this.node(node).name, ["cat", "/run/frr/bgpd.pid"])).trim());
        await terminate([pid], 10_000);
    }

    /** Runs the FRR host script again on a node, which starts bgpd if it is not running. */
    async startBgpd(node: string): Promise<void> {
        await this.applyFrr(this.node(node).name);
    }

    /**
     * Turns the br_netfilter hooks for bridged frames (bridge-nf-call-iptables/ip6tables) on or
     * off in every KVM host. Resolves false, changing nothing, when br_netfilter is not loaded.
     * With the hooks on, every bridged frame passes the (empty) iptables chains of the host, as
     * on an OpenNebula host that filters VM traffic with security groups.
     */
    async setBridgeNetfilter(enabled: boolean): Promise<boolean> {
        const script =
            'f=/proc/sys/net/bridge/bridge-nf-call-iptables; [ -e "$f" ] || exit 3; echo "$1" > "$f"; echo "$1" > /proc/sys/net/bridge/bridge-nf-call-ip6tables';
        const results = await Promise.all(this.hosts.map((host) => this.exec(host.name, ["sh", "-c", script, "sh", enabled ? "1" : "0"])));
        const failed = results.find((result) => result.code !== 0 && result.code !== 3);
        if (failed !== undefined) {
            throw new Error(`could not set bridge-nf-call-iptables: ${failed.stderr.trim()}`);
        }
        return results.every((result) => result.code === 0);
    }

    /** Processes running in a node's network namespace. */
    async nodeProcesses(name: string): Promise<LabNodeProcess[]> {
        const result = await run(["ip", "netns", "pids", this.node(name).netns]);
        const processes: LabNodeProcess[] = [];
        for (const pid of result.stdout.split(/\s+/).filter(Boolean).map(Number)) {
            const command = await fs.readFile(`/proc/${pid}/comm`, "utf8").catch(() => undefined);
            if (command !== undefined) {
                processes.push({ pid, command: command.trim() });
            }
        }
        return processes;
    }

    /** Nodes, their processes and BGP sessions, where the VMs run, and the lab's other processes. */
    async status(): Promise<LabStatus> {
        const nodes = [];
        for (const node of this.nodes) {
            const processes = await this.nodeProcesses(node.name).catch(() => []);
            const holderAlive = processes.some((p) => p.pid === this.state.holders[node.name]?.pid);
            const wireguard = holderAlive ? await this.wireguardInUse(node.name).catch(() => undefined) : undefined;
            nodes.push({
                name: node.name,
                role: node.role,
                netns: node.netns,
                holderAlive,
                processes,
                bgpPeers: holderAlive ? await this.bgpPeers(node.name) : [],
                ...(wireguard === undefined ? {} : { wireguard }),
            });
        }
        const listed = new Set(nodes.flatMap((node) => node.processes.map((p) => p.pid)));
        const others = (await findLeftovers(runOf(this.state))).processes.filter((p) => !listed.has(p.pid));
        return { name: this.name, dir: this.dir, nodes, vms: this.vms.map(({ name, host, ip, mac }) => ({ name, host, ip, mac })), others };
    }

    /** Removes this lab (see {@link Lab.down}). */
    down(): Promise<LabDownReport> {
        return Lab.down({ name: this.name, log: this.log });
    }

    /** A human summary: what was built and commands to try. */
    describe(): string {
        return describeLab(this);
    }

    // --- the host firewall, a reboot, growing the fabric (issue 11) ---------------------------

    /**
     * Where a node keeps what the host scripts write besides /etc/frr and /etc/wireguard (boot
     * units, remembered values): its `HOST_ROOT`, so that nothing reaches the machine's own /etc.
     */
    nodeRoot(node: string): string {
        return path.join(this.dir, "nodes", this.node(node).name, "root");
    }

    /** Applies the node's host firewall as the components give it (see firewall.ts); `bootUnit` also writes its boot unit. */
    async applyFirewall(node: string, options: { bootUnit?: boolean } = {}): Promise<void> {
        const firewall = labFirewall(this.topology, this.node(node).name, options);
        await this.execOk(node, [this.script(firewall.name)], { env: { ...firewall.environment, HOST_ROOT: this.nodeRoot(node) } });
    }

    /** Runs wireguard-up.sh on a node again the way the components run it: same configuration, and its boot unit. */
    async writeWireGuardBootUnit(node: string): Promise<void> {
        await this.applyWireGuard(this.node(node).name, { BOOT_UNITS: "yes", HOST_ROOT: this.nodeRoot(node) });
    }

    /**
     * "Reboots" a node: every process of it ends, its runtime state goes (iptables, every link but
     * lo and eth0, /run/frr and /run/wireguard, IP forwarding); then what its boot runs: the
     * package's enabled units in their order (boot.ts; the files under {@link nodeRoot}), then FRR
     * as the `frr` unit starts it (`frrinit.sh start`, which reads /etc/frr). Nothing of the lab's
     * own configuration runs again. Resolves with the units run.
     */
    async reboot(node: string): Promise<string[]> {
        await this.powerOff(node);
        return this.boot(node);
    }

    /** The first half of {@link reboot}: the node's processes end and its runtime state goes. */
    async powerOff(node: string): Promise<void> {
        const name = this.node(node).name;
        const holder = this.holderPid(name);
        const others = async () => (await this.nodeProcesses(name)).filter((p) => p.pid !== holder).map((p) => p.pid);
        await run(["kill", "-KILL", ...(await others()).map(String)]);
        await waitUntil(`the processes of ${name} to end`, async () => (await others()).length === 0, 10_000);
        const flush = [
            "for tool in iptables ip6tables; do",
            '  for table in $($tool-save | sed -n \'s/^\\*//p\'); do $tool -t "$table" -F; $tool -t "$table" -X; done',
            "  $tool -P FORWARD ACCEPT 2>/dev/null || true",
            "done",
            "for link in $(ip -o link show | awk -F': ' '{ sub(/@.*/, \"\", $2); print $2 }'); do",
            '  case $link in lo|eth0) ;; *) ip link del "$link" 2>/dev/null || true ;; esac',
            "done",
            "find /run/frr /run/wireguard -mindepth 1 -delete",
            "sysctl -q -w net.ipv4.ip_forward=0",
        ].join("\n");
        await this.execOk(name, ["sh", "-c", flush]);
    }

    /** The second half of {@link reboot}: what the node's boot runs. Resolves with the units run. */
    async boot(node: string): Promise<string[]> {
        const name = this.node(node).name;
        const root = this.nodeRoot(name);
        const unitDir = path.join(root, "etc", "systemd", "system");
        const enabled = await fs.readdir(path.join(unitDir, "multi-user.target.wants")).catch(() => []);
        const units = bootOrder(
            Object.fromEntries(
                await Promise.all(enabled.map(async (unit) => [unit, await fs.readFile(path.join(unitDir, unit), "utf8")] as const)),
            ),
        );
        for (const unit of units) {
            for (const argv of unit.execStart) {
                // The unit names its replay at /etc/opennebula-edge; the node keeps it under its root.
                await this.execOk(
                    name,
                    argv.map((arg) => (arg.startsWith("/etc/opennebula-edge/") ? path.join(root, arg) : arg)),
                    { env: { HOST_ROOT: root } },
                );
            }
        }
        await this.execOk(name, ["/usr/lib/frr/frrinit.sh", "start"]);
        return units.map((unit) => unit.name);
    }

    /**
     * Adds a KVM host to `cluster` (`ec1` …) as adding a host to a stack does: its namespace,
     * underlay and holder, its WireGuard key; its firewall when `firewall` is set (before the
     * overlay, as the edge cluster configures it); then every node's WireGuard configuration (the
     * new node's, then the others', which gain it as a peer with `wg syncconf`), its FRR and the
     * reflector's configuration re-applied through frr-apply.sh (the other hosts' files do not
     * change). Resolves with the new node once the reflector's session to it is established.
     */
    async addHost(cluster: string, options: { firewall?: boolean; timeoutMs?: number } = {}): Promise<LabNode> {
        const { topology, node } = withExtraHost(this.topology, cluster);
        await runOk(["ip", "netns", "add", node.netns]);
        this.state.topology = topology;
        await this.save();
        await runOk(["ip", "-n", node.netns, "link", "set", "lo", "up"]);
        await this.connectToUnderlay(node);
        const pid = await startHolder(this.name, node.netns, path.join(this.dir, "nodes", node.name));
        const holder = await describeProcess(pid);
        if (holder === undefined) {
            throw new Error(`the holder of ${node.name} (pid ${pid}) exited`);
        }
        this.state.holders[node.name] = holder;
        const key = await this.execOk(node.name, [this.script("wireguard-up.sh")], { env: { WG_KEY_ONLY: "1" } });
        this.state.publicKeys[node.name] = assertPublicKey(key.trim(), `public key of ${node.name}`);
        await this.save();
        if (options.firewall) {
            await this.applyFirewall(node.name);
        }
        for (const name of [node.name, ...this.nodes.filter((other) => other.name !== node.name).map((other) => other.name)]) {
            await this.applyWireGuard(name);
        }
        const peers = this.topology.wireguard.nodes.find((plan) => plan.name === node.name)!.peers;
        const addressOf = (peer: string) => this.topology.wireguard.nodes.find((plan) => plan.name === peer)!.address;
        await Promise.all(
            peers.map((peer) =>
                waitUntil(
                    `${node.name} to ping ${peer.name} over wg0`,
                    async () => (await this.exec(node.name, ["ping", "-n", "-q", "-c", "1", "-W", "1", addressOf(peer.name)])).code === 0,
                    30_000,
                    50,
                ),
            ),
        );
        for (const name of [node.name, ...this.nodes.filter((other) => other.name !== node.name).map((other) => other.name)]) {
            await this.applyFrr(name);
        }
        const address = addressOf(node.name);
        await waitUntil(
            `the reflector's session to ${node.name} to be Established`,
            async () => (await this.bgpPeers(this.nodes[0].name)).some((peer) => peer.address === address && peer.state === "Established"),
            options.timeoutMs ?? 60_000,
        );
        return node;
    }

    // --- building ----------------------------------------------------------------------------

    /**
     * Makes this run the only one of its name: creates state.json atomically (a link never replaces
     * a file), so of two `up`s of one name only one proceeds. A state file of a lab that has
     * nothing left (no `up` process, holder or namespace) is removed first; what a crashed run
     * of this name left without a state file is torn down after the claim, and its files removed.
     */
    private async claim(): Promise<void> {
        await fs.mkdir(this.dir, { recursive: true, mode: 0o755 });
        const file = path.join(this.dir, "state.json");
        const draft = `${file}.${process.pid}`;
        await fs.writeFile(draft, `${JSON.stringify(this.state, null, 2)}\n`);
        try {
            if (!(await linkOnce(draft, file))) {
                const existing = await readState(this.dir).catch(() => undefined);
                if (existing !== undefined && (await isLive(existing))) {
                    throw new Error(
                        `a lab named "${this.name}" already exists (created ${existing.createdAt}, state in ${this.dir}); it was left untouched: remove it first`,
                    );
                }
                this.log(`removing the remains of an earlier lab "${this.name}"`);
                await teardown(existing === undefined ? { name: this.name, dir: this.dir } : runOf(existing));
                await fs.rm(file, { force: true });
                if (!(await linkOnce(draft, file))) {
                    throw new Error(`another \`up\` of the lab "${this.name}" started at the same time`);
                }
            }
        } finally {
            await fs.rm(draft, { force: true });
        }
        const leftovers = await teardown({ name: this.name, dir: this.dir });
        if (leftovers.namespaces.length + leftovers.processes.length + leftovers.mounts.length > 0) {
            this.log(
                `removed what a crashed lab "${this.name}" left: ${leftovers.namespaces.length} namespaces, ${leftovers.processes.length} processes`,
            );
        }
        // Node directories of an earlier lab of this name (keys, configs, logs, ready files) go too.
        for (const entry of await fs.readdir(this.dir)) {
            if (entry !== "state.json") {
                await fs.rm(path.join(this.dir, entry), { recursive: true, force: true });
            }
        }
    }

    private async phase<T>(name: string, work: () => Promise<T>): Promise<T> {
        const started = Date.now();
        const result = await work();
        this.state.timings[name] = Date.now() - started;
        this.log(`${name}: ${this.state.timings[name]} ms`);
        return result;
    }

    private async createNamespacesAndUnderlay(): Promise<void> {
        const t = this.topology;
        const names = [t.internetNetns, ...t.nodes.map((node) => node.netns), ...t.vms.map((vm) => vm.netns)];
        for (const name of names) {
            await runOk(["ip", "netns", "add", name]);
        }
        await Promise.all(names.map((name) => runOk(["ip", "-n", name, "link", "set", "lo", "up"])));
        const inet = t.internetNetns;
        await runOk(["ip", "netns", "exec", inet, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]);
        for (const region of t.regions) {
            await runOk(["ip", "-n", inet, "link", "add", "name", region.bridge, "type", "bridge"]);
            await runOk(["ip", "-n", inet, "addr", "add", `${region.gateway}/${region.prefixLength}`, "dev", region.bridge]);
            await runOk(["ip", "-n", inet, "link", "set", region.bridge, "up"]);
        }
        for (const node of t.nodes) {
            await this.connectToUnderlay(node);
        }
    }

    /** The node's eth0 on its region's bridge in the internet namespace, with its address and default route. */
    private async connectToUnderlay(node: LabNode): Promise<void> {
        const t = this.topology;
        const inet = t.internetNetns;
        const mtu = String(t.mtu.underlayMtu);
        const region = t.regions.find((candidate) => candidate.name === node.region);
        if (region === undefined) {
            throw new Error(`${node.name}: unknown region ${node.region}`);
        }
        await runOk([
            "ip",
            "-n",
            inet,
            "link",
            "add",
            node.uplink,
            "mtu",
            mtu,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            node.netns,
            "mtu",
            mtu,
        ]);
        await runOk(["ip", "-n", inet, "link", "set", node.uplink, "master", region.bridge, "up"]);
        await runOk(["ip", "-n", node.netns, "addr", "add", `${node.underlayIp}/${region.prefixLength}`, "dev", "eth0"]);
        await runOk(["ip", "-n", node.netns, "link", "set", "eth0", "up"]);
        await runOk(["ip", "-n", node.netns, "route", "add", "default", "via", region.gateway]);
    }

    /** Starts the holder of every node (its private mount namespace; see holder.ts). */
    private async startHolders(): Promise<void> {
        await Promise.all(
            this.nodes.map(async (node) => {
                const pid = await startHolder(this.name, node.netns, path.join(this.dir, "nodes", node.name));
                const holder = await describeProcess(pid);
                if (holder === undefined) {
                    throw new Error(`the holder of ${node.name} (pid ${pid}) exited`);
                }
                this.state.holders[node.name] = holder;
                await this.save();
            }),
        );
    }

    private async bringUpWireGuard(): Promise<void> {
        const keys = await Promise.all(
            this.nodes.map(async (node) => {
                const output = await this.execOk(node.name, [this.script("wireguard-up.sh")], { env: { WG_KEY_ONLY: "1" } });
                return [node.name, assertPublicKey(output.trim(), `public key of ${node.name}`)] as const;
            }),
        );
        this.state.publicKeys = Object.fromEntries(keys);
        await this.save();
        // One node after the other, ingress first. In parallel, two hosts often send their first
        // handshake initiations (PersistentKeepalive) at the same moment; each then answers the
        // other's and drops the reply to its own, and WireGuard retries only after 5 s.
        for (const node of this.nodes) {
            await this.applyWireGuard(node.name);
        }
        await this.verifyWireGuard();
    }

    /**
     * Every node pings the wg address of each of its WireGuard peers (all nodes in a mesh, the
     * ingress in a hub): proves the WireGuard layer and completes every handshake before FRR
     * starts, so they do not show in convergence timings. A few pings at a time, so that a large
     * lab does not start hundreds of processes at once.
     */
    private async verifyWireGuard(): Promise<void> {
        const addressOf = new Map(this.topology.wireguard.nodes.map((node) => [node.name, node.address]));
        const reachable = (node: string, address: string) => async () =>
            (await this.exec(node, ["ping", "-n", "-q", "-c", "1", "-W", "1", address])).code === 0;
        const checks = this.topology.wireguard.nodes.flatMap((node) =>
            node.peers.map((peer) => async () => {
                const address = addressOf.get(peer.name) ?? peer.name;
                await waitUntil(`${node.name} to ping ${peer.name} (${address}) over wg0`, reachable(node.name, address), 30_000, 50).catch(
                    async (error: Error) => {
                        throw new Error(`${error.message}\n${await this.wireGuardDiagnostics([node.name, peer.name])}`);
                    },
                );
            }),
        );
        await runLimited(checks, 8);
    }

    /** Links, wg state (public data only) and processes of some nodes, for error messages. */
    private async wireGuardDiagnostics(names: string[]): Promise<string> {
        const parts: string[] = [];
        for (const name of names) {
            const links = await this.exec(name, ["ip", "-br", "addr"]);
            const wg = await this.exec(name, ["wg", "show", "wg0"]);
            const processes = (await this.nodeProcesses(name)).map((p) => p.command).join(" ");
            parts.push(`--- ${name}: processes: ${processes}\n${links.stdout}${links.stderr}${wg.stdout}${wg.stderr}`);
        }
        return parts.join("\n");
    }

    /** Runs wireguard-up.sh on a node with its planned configuration (and `extra` variables, e.g. BOOT_UNITS). */
    private async applyWireGuard(name: string, extra: Record<string, string> = {}): Promise<void> {
        const plan = this.topology.wireguard.nodes.find((node) => node.name === name);
        if (plan === undefined) {
            throw new Error(`${name} has no WireGuard plan`);
        }
        const program: Record<string, string> =
            this.state.wireguardGo === undefined ? {} : { WG_USERSPACE_PROGRAM: this.state.wireguardGo };
        const output = await this.execOk(name, [this.script("wireguard-up.sh")], {
            env: { ...wireguardScriptEnvironment(plan, this.state.publicKeys), ...program, ...extra },
        });
        if (output.trim() !== this.state.publicKeys[name]) {
            throw new Error(`${name}: wireguard-up.sh printed another public key than the one recorded`);
        }
    }

    private async applyFrr(name: string): Promise<void> {
        const files = this.topology.fabric.find((node) => node.name === name);
        if (files === undefined) {
            throw new Error(`${name} has no FRR files`);
        }
        await this.execOk(name, [this.script("frr-apply.sh")], { env: { ...frrScriptEnvironment(files), FRR_SERVICE: "direct" } });
    }

    private async attachAllVms(): Promise<void> {
        const hosts = this.topology.networkOnEveryHost ? this.hosts.map((host) => host.name) : [...new Set(this.vms.map((vm) => vm.host))];
        await Promise.all(hosts.map((host) => this.ensureNetworkOnHost(host)));
        await Promise.all(this.vms.map((vm) => this.attachVm(vm)));
    }

    /** Every VM pings every other one, and the reflector has all its sessions. */
    private async waitForConvergence(timeoutMs: number): Promise<void> {
        const ingress = this.nodes[0].name;
        await waitUntil(
            "every BGP session of the route reflector to be Established",
            async () => {
                const peers = await this.bgpPeers(ingress);
                return peers.length === this.hosts.length && peers.every((peer) => peer.state === "Established");
            },
            timeoutMs,
        );
        const vms = this.vms;
        const pairs = vms.flatMap((a, i) => vms.slice(i + 1).map((b) => [a.name, b.name] as const));
        await Promise.all(pairs.map(([a, b]) => this.firstReply(a, b, timeoutMs)));
    }

    // --- VMs and the vxlan driver ------------------------------------------------------------

    private vxlanPlan(host: string): VxlanDevicePlan {
        const wg = this.topology.wireguard.nodes.find((node) => node.name === host);
        if (wg === undefined) {
            throw new Error(`${host} has no wg address`);
        }
        return planVxlanDevice(this.topology.network, wg.address);
    }

    /** Runs the driver's create commands on `host` unless its bridge already exists. */
    private async ensureNetworkOnHost(host: string): Promise<void> {
        const plan = this.vxlanPlan(host);
        if ((await this.exec(host, ["ip", "link", "show", "dev", plan.bridge])).code === 0) {
            return;
        }
        for (const argv of plan.create) {
            await this.execOk(host, argv);
        }
    }

    private async removeNetworkIfUnused(host: string): Promise<void> {
        if (this.topology.networkOnEveryHost || this.vms.some((vm) => vm.host === host)) {
            return;
        }
        for (const argv of this.vxlanPlan(host).remove) {
            await this.execOk(host, argv);
        }
    }

    /**
     * Creates the VM's NIC: eth0 in the VM, its peer `one-<id>-0` in the host, on the bridge. The
     * guest keeps its ARP entries when the NIC loses its carrier, which it does while a migration
     * moves the host end (a real guest's NIC never sees that).
     */
    private async attachVm(vm: LabVm): Promise<void> {
        const t = this.topology;
        const tap = tapOf(vm);
        const { prefixLength } = this.networkCidr();
        const bridge = this.vxlanPlan(vm.host).bridge;
        await runOk([
            "ip",
            "-n",
            vm.netns,
            "link",
            "add",
            "eth0",
            "mtu",
            t.network.GUEST_MTU,
            "address",
            vm.mac,
            "type",
            "veth",
            "peer",
            "name",
            tap,
            "netns",
            String(this.holderPid(vm.host)),
            "mtu",
            t.network.MTU,
        ]);
        await runOk(["ip", "netns", "exec", vm.netns, "sysctl", "-q", "-w", "net.ipv4.conf.eth0.arp_evict_nocarrier=0"]);
        await runOk(["ip", "-n", vm.netns, "addr", "add", `${vm.ip}/${prefixLength}`, "dev", "eth0"]);
        await runOk(["ip", "-n", vm.netns, "link", "set", "eth0", "up"]);
        await this.execOk(vm.host, ["ip", "link", "set", tap, "master", bridge]);
        await this.execOk(vm.host, ["ip", "link", "set", tap, "up"]);
    }

    /**
     * One broadcast frame from the VM, so its new host's bridge learns its MAC at once, as the
     * first frame of QEMU's self-announce does (QEMU repeats it in the background; a frame on a
     * local bridge is not lost, so one is enough here and nothing keeps running).
     */
    private async announce(vmName: string): Promise<void> {
        const vm = this.vm(vmName);
        const network = this.networkCidr();
        const broadcast = numberToIpv4(network.network + network.size - 1);
        await this.exec(vm.name, ["ping", "-n", "-q", "-b", "-c", "1", "-W", "0.01", broadcast]);
    }

    // --- helpers -----------------------------------------------------------------------------

    private node(name: string): LabNode {
        const node = this.nodes.find((candidate) => candidate.name === name);
        if (node === undefined) {
            throw new Error(`unknown lab node "${name}"; nodes: ${this.nodes.map((n) => n.name).join(", ")}`);
        }
        return node;
    }

    private vm(name: string): LabVm {
        const vm = this.vms.find((candidate) => candidate.name === name);
        if (vm === undefined) {
            throw new Error(`unknown lab VM "${name}"; VMs: ${this.vms.map((v) => v.name).join(", ")}`);
        }
        return vm;
    }

    private addressOf(target: string): string {
        return this.vms.find((vm) => vm.name === target)?.ip ?? target;
    }

    private networkCidr(): Ipv4Cidr {
        return ipv4Cidr("network", networkCidrOf(this.topology.network));
    }

    private runVariable(): Record<string, string> {
        return { [LAB_RUN_VARIABLE]: this.name };
    }

    private script(name: string): string {
        return path.join(this.scripts, name);
    }

    /** Writes state.json; saves are queued so concurrent phases never interleave their writes. */
    private save(): Promise<void> {
        const file = path.join(this.dir, "state.json");
        const write = async () => {
            await fs.writeFile(`${file}.tmp`, `${JSON.stringify(this.state, null, 2)}\n`);
            await fs.rename(`${file}.tmp`, file);
        };
        this.saving = this.saving.then(write, write);
        return this.saving;
    }
}

/** Reads and checks `<dir>/state.json`. */
async function readState(dir: string): Promise<LabState> {
    const file = path.join(dir, "state.json");
    const state = JSON.parse(await fs.readFile(file, "utf8")) as LabState;
    if (state.version !== 2) {
        throw new Error(`${file}: unknown state version ${String(state.version)}`);
    }
    if (state.name !== path.basename(dir)) {
        throw new Error(`${file}: records the lab "${String(state.name)}", not "${path.basename(dir)}"`);
    }
    return state;
}

/** The run as teardown sees it: its name, its directory and what its state recorded. */
function runOf(state: LabState): LabRun {
    const t = state.topology;
    return {
        name: state.name,
        dir: state.dir,
        namespaces: [t.internetNetns, ...t.nodes.map((node) => node.netns), ...t.vms.map((vm) => vm.netns)],
        processes: Object.values(state.holders),
    };
}

/** True while the lab has anything left: the `up` still building it, a holder or a namespace. */
async function isLive(state: LabState): Promise<boolean> {
    const recorded = [...(state.builder === undefined ? [] : [state.builder]), ...Object.values(state.holders)];
    if ((await stillRunning(recorded)).length > 0) {
        return true;
    }
    return (await findLeftovers(runOf(state))).namespaces.length > 0;
}

/** Hard-links `from` to `to`; false when `to` exists. */
async function linkOnce(from: string, to: string): Promise<boolean> {
    try {
        await fs.link(from, to);
        return true;
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EEXIST") {
            return false;
        }
        throw error;
    }
}

export { CommandError, labPrerequisiteProblems, packageRoot, sleep };
