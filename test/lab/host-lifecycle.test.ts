/**
 * Hosts that stay secure and keep working (issue 11), in the lab (one lab, per-run name, for the
 * whole file; the steps build on one another):
 *
 * 1. the package's firewall (firewall.sh with the allow-list the components give) on every KVM
 *    host and the ingress: a sender on the "internet" who knows the VNI injects VXLAN at a KVM
 *    host's underlay address — before the firewall the VM receives it (the injection is real),
 *    after it nothing reaches the VM; BGP and the guarded ports are closed to the internet, while
 *    BGP over wg0 (the same sessions, never reset), VM↔VM over VXLAN, a migration and the
 *    migration port from the cluster's peers still work;
 * 2. a KVM host "reboots" (its processes killed, its runtime state flushed, then only what its boot
 *    runs: the package's units and FRR's own unit): firewall, WireGuard and BGP come back;
 * 3. a fifth KVM host joins (its wg0 and FRR, every node's WireGuard, the reflector's FRR through
 *    frr-apply.sh): no existing BGP session resets;
 * 4. a configuration bgpd cannot apply fails frr-apply.sh with FRR's message and leaves bgpd, its
 *    running configuration and its sessions alone.
 */
import { strict as assert } from "assert";
import { randomBytes } from "crypto";
import * as path from "path";
import { frrScriptEnvironment } from "../../components/overlay/frr-config";
import type { Lab } from "../../scripts/lab/lab";
import { packageRoot } from "../../scripts/lab/lab";
import { waitUntil } from "../../scripts/lab/process";
import { downLab, newLabName, skipUnlessLabCanRun, upLab } from "./lab-support";

/** An address of the "internet", outside every range the firewalls trust. */
const OUTSIDER = "198.51.100.66";
const VNI_PORT = 8472;
const PAYLOAD_PORT = 7777;

/** A VXLAN packet (UDP payload) carrying an Ethernet frame with an IPv4/UDP packet to `dstIp`:`dstPort`. */
function vxlanPacket(frame: { vni: number; dstMac: string; srcIp: string; dstIp: string; dstPort: number; payload: string }): Buffer {
    const mac = (text: string) => Buffer.from(text.split(":").map((byte) => parseInt(byte, 16)));
    const ipv4 = (text: string) => Buffer.from(text.split(".").map(Number));
    const data = Buffer.from(frame.payload);
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(40000, 0);
    udp.writeUInt16BE(frame.dstPort, 2);
    udp.writeUInt16BE(8 + data.length, 4);
    const ip = Buffer.alloc(20);
    ip.writeUInt8(0x45, 0);
    ip.writeUInt16BE(20 + udp.length + data.length, 2);
    ip.writeUInt16BE(0x4000, 6);
    ip.writeUInt8(64, 8);
    ip.writeUInt8(17, 9);
    ipv4(frame.srcIp).copy(ip, 12);
    ipv4(frame.dstIp).copy(ip, 16);
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += ip.readUInt16BE(i);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    ip.writeUInt16BE(~sum & 0xffff, 10);
    const ethernet = Buffer.concat([mac(frame.dstMac), mac("02:00:de:ad:be:ef"), Buffer.from([0x08, 0x00])]);
    const vxlan = Buffer.from([0x08, 0, 0, 0, (frame.vni >> 16) & 0xff, (frame.vni >> 8) & 0xff, frame.vni & 0xff, 0]);
    return Buffer.concat([vxlan, ethernet, ip, udp, data]);
}

/** Sends a UDP datagram (hex) from a bound source address three times. */
const UDP_SEND = `
const dgram = require("dgram");
const [host, port, source, hex] = process.argv.slice(1);
const socket = dgram.createSocket("udp4");
socket.bind({ address: source }, async () => {
    for (let i = 0; i < 3; i++) await new Promise((done, fail) => socket.send(Buffer.from(hex, "hex"), Number(port), host, (e) => (e ? fail(e) : done())));
    socket.close();
});`;

/** Prints every datagram it receives on a port, one line each. */
const UDP_RECEIVE = `
const socket = require("dgram").createSocket("udp4");
socket.on("message", (message) => console.log("got " + message.toString()));
socket.bind(Number(process.argv[1]), () => console.log("listening"));`;

/** A TCP server on a port that accepts and closes. */
const TCP_SERVE = `
require("net").createServer((socket) => socket.end()).listen(Number(process.argv[1]), () => console.log("listening"));`;

/** Connects to host:port (from a source address when given): prints connected, or the error code. */
const TCP_CONNECT = `
const [host, port, source] = process.argv.slice(1);
const socket = require("net").connect({ host, port: Number(port), timeout: 3000, ...(source ? { localAddress: source } : {}) });
socket.on("connect", () => { process.stdout.write("connected"); socket.destroy(); });
socket.on("timeout", () => { process.stdout.write("timeout"); socket.destroy(); });
socket.on("error", (error) => process.stdout.write(error.code));`;

/** One BGP session as a node sees it: a reset changes its counters and restarts its uptime. */
interface Session {
    state: string;
    upMs: number;
    established: number;
    dropped: number;
}

describe("lab: hosts that stay secure and keep working", function () {
    this.timeout(300_000);
    const labName = newLabName();
    let lab: Lab;
    let received: string[] = [];

    const wgAddress = (node: string) => lab.topology.wireguard.nodes.find((plan) => plan.name === node)!.address;
    const underlay = (node: string) => lab.nodes.find((candidate) => candidate.name === node)!.underlayIp;
    const vm = (name: string) => lab.vms.find((candidate) => candidate.name === name)!;

    /** The BGP sessions of `nodes` (default every node), by `<node> → <neighbour>`. */
    async function sessions(nodes = lab.nodes.map((node) => node.name)): Promise<Record<string, Session>> {
        const all: Record<string, Session> = {};
        for (const node of nodes) {
            const json = JSON.parse(await lab.vtysh(node, "show bgp neighbors json")) as Record<string, Record<string, number | string>>;
            for (const [neighbour, data] of Object.entries(json)) {
                all[`${node} → ${neighbour}`] = {
                    state: String(data.bgpState),
                    upMs: Number(data.bgpTimerUpMsec),
                    established: Number(data.connectionsEstablished),
                    dropped: Number(data.connectionsDropped),
                };
            }
        }
        return all;
    }

    /** Every session of `before` is still the same one: established, never dropped or re-established, older now. */
    function assertNoReset(before: Record<string, Session>, after: Record<string, Session>): void {
        for (const [name, session] of Object.entries(before)) {
            const now = after[name];
            assert.ok(now, `${name} still exists`);
            assert.equal(now.state, "Established", name);
            assert.deepEqual([now.established, now.dropped], [session.established, session.dropped], `${name}: not reset`);
            assert.ok(now.upMs > session.upMs, `${name}: uptime ${now.upMs} ms after ${session.upMs} ms`);
        }
    }

    /** Every node answers, with its sessions (the reflector one per host, each host one) established. */
    async function allEstablished(): Promise<boolean> {
        const all = await sessions().catch(() => ({}));
        return Object.keys(all).length === 2 * lab.hosts.length && Object.values(all).every((session) => session.state === "Established");
    }

    /** Injects VXLAN from the internet at `node`'s underlay address, to a VM's MAC and IP; resolves with the payload sent. */
    async function inject(node: string, target: string): Promise<string> {
        const payload = `INJECTED-${randomBytes(4).toString("hex")}`;
        const packet = vxlanPacket({
            vni: Number(lab.topology.network.VLAN_ID),
            dstMac: vm(target).mac,
            srcIp: "172.17.2.200",
            dstIp: vm(target).ip,
            dstPort: PAYLOAD_PORT,
            payload,
        });
        await lab.execOk("internet", [
            process.execPath,
            "-e",
            UDP_SEND,
            underlay(node),
            String(VNI_PORT),
            OUTSIDER,
            packet.toString("hex"),
        ]);
        return payload;
    }

    async function connect(from: string, host: string, port: number, source?: string): Promise<string> {
        return (await lab.execOk(from, [process.execPath, "-e", TCP_CONNECT, host, String(port), ...(source ? [source] : [])])).trim();
    }

    /** The packets the firewall of `node` rejected as VXLAN from outside wg0. */
    async function vxlanRejected(node: string): Promise<number> {
        const rules = await lab.execOk(node, ["iptables", "-L", "ONE-EDGE-INPUT", "-v", "-n", "-x"]);
        const line = rules.split("\n").find((text) => /REJECT/.test(text) && /!wg0/.test(text) && /udp dpt:8472/.test(text));
        assert.ok(line, `no VXLAN reject rule on ${node}:\n${rules}`);
        return Number(line.trim().split(/\s+/)[0]);
    }

    async function firewallRules(node: string): Promise<string> {
        return (await lab.execOk(node, ["iptables-save"]))
            .split("\n")
            .filter((line) => !line.startsWith("#"))
            .map((line) => line.replace(/\[\d+:\d+\]/g, "[0:0]"))
            .join("\n");
    }

    /** WireGuard's public state of a node: its key and port, its peers' keys, endpoints and allowed IPs. */
    async function wireguardState(node: string): Promise<string> {
        const [own, ...peers] = (await lab.execOk(node, ["wg", "show", "wg0", "dump"]))
            .split("\n")
            .filter(Boolean)
            .map((line) => line.split("\t"));
        return [own.slice(1, 3).join(" "), ...peers.map((fields) => [fields[0], fields[2], fields[3]].join(" ")).sort()].join("\n");
    }

    async function allVmsPing(): Promise<void> {
        for (const a of lab.vms) {
            for (const b of lab.vms.filter((other) => other.name !== a.name)) await lab.waitForPing(a.name, b.name, 30_000);
        }
    }

    before(async function () {
        skipUnlessLabCanRun(this);
        lab = await upLab(labName);
        await lab.execOk("internet", ["ip", "addr", "add", `${OUTSIDER}/32`, "dev", "lo"]);
        const receiver = await lab.startBackground("vm1", [process.execPath, "-e", UDP_RECEIVE, String(PAYLOAD_PORT)], /listening/);
        receiver.stdout!.on("data", (chunk: Buffer) =>
            received.push(
                ...chunk
                    .toString()
                    .split("\n")
                    .filter((line) => line.startsWith("got ")),
            ),
        );
    });

    after(async function () {
        await downLab(labName);
    });

    it("1. the firewall keeps the internet out of the overlay; BGP over wg0, VXLAN, migration and the peers' migration port still work", async function () {
        // Without a firewall the injection is real: the VM receives what an outsider sends at its host.
        const open = await inject("kvm1", "vm1");
        await waitUntil("the VM to receive the injected payload (no firewall yet)", async () => received.includes(`got ${open}`), 10_000);
        assert.equal(
            await connect("internet", underlay("kvm1"), 179, OUTSIDER),
            "connected",
            "without a firewall bgpd answers the internet",
        );

        const before = await sessions();
        for (const node of lab.nodes) await lab.applyFirewall(node.name);
        await new Promise((resolve) => setTimeout(resolve, 1100));

        received = [];
        const rejectedBefore = await vxlanRejected("kvm1");
        const blocked = await inject("kvm1", "vm1");
        await new Promise((resolve) => setTimeout(resolve, 3000));
        assert.deepEqual(received, [], "nothing injected reaches the VM");
        assert.equal(await vxlanRejected("kvm1"), rejectedBefore + 3, "the host's firewall rejected the three injected packets");
        console.log(`      injected ${open} before the firewall: received; ${blocked} after: rejected by kvm1's firewall`);

        for (const node of ["kvm1", "ingress"]) {
            assert.equal(
                await connect("internet", underlay(node), 179, OUTSIDER),
                "ECONNREFUSED",
                `BGP on ${node} is closed to the internet`,
            );
        }
        for (const port of [16509, 49152, 5901]) {
            assert.equal(await connect("internet", underlay("kvm2"), port, OUTSIDER), "ECONNREFUSED", `${port} is closed to the internet`);
        }

        assertNoReset(before, await sessions());
        assert.equal(Object.keys(before).length, 2 * lab.hosts.length, "the reflector's sessions and every host's");
        await allVmsPing();
        await lab.migrateVm("vm1", "kvm3");
        await allVmsPing();
        await lab.migrateVm("vm1", "kvm1");

        // QEMU's migration stream: from the same cluster's private range and over the overlay, not from elsewhere.
        const server = await lab.startBackground("kvm2", [process.execPath, "-e", TCP_SERVE, "49152"], /listening/);
        try {
            assert.equal(await connect("kvm1", underlay("kvm2"), 49152), "connected", "from a peer of the same cluster");
            assert.equal(await connect("kvm3", wgAddress("kvm2"), 49152), "connected", "from another cluster, over wg0");
            assert.equal(await connect("kvm3", underlay("kvm2"), 49152), "ECONNREFUSED", "from another cluster's public address");
            assert.equal(await connect("internet", underlay("kvm2"), 49152, OUTSIDER), "ECONNREFUSED", "from the internet");
        } finally {
            server.kill("SIGKILL");
        }
    });

    it("2. a rebooted KVM host gets its firewall, WireGuard and BGP sessions back from its boot alone", async function () {
        await lab.applyFirewall("kvm2", { bootUnit: true });
        await lab.writeWireGuardBootUnit("kvm2");
        await lab.migrateVm("vm2", "kvm1");
        const rules = await firewallRules("kvm2");
        const wireguard = await wireguardState("kvm2");
        const reflectorSession = `ingress → ${wgAddress("kvm2")}`;
        const established = (await sessions())[reflectorSession].established;

        await lab.powerOff("kvm2");
        assert.deepEqual(
            (await lab.nodeProcesses("kvm2")).map((p) => p.command),
            ["sleep"],
            "only the holder is left",
        );
        assert.doesNotMatch(await firewallRules("kvm2"), /ONE-EDGE-INPUT/, "no firewall");
        assert.notEqual((await lab.exec("kvm2", ["ip", "link", "show", "wg0"])).code, 0, "no wg0");
        await waitUntil(
            "the reflector to lose kvm2",
            async () => (await sessions(["ingress"]))[reflectorSession].state !== "Established",
            20_000,
        );

        const started = Date.now();
        assert.deepEqual(await lab.boot("kvm2"), ["opennebula-edge-firewall.service", "opennebula-edge-wireguard-wg0.service"]);
        assert.equal(await firewallRules("kvm2"), rules, "the same firewall");
        assert.equal(await wireguardState("kvm2"), wireguard, "the same WireGuard interface, key and peers");
        await waitUntil("every BGP session to be established again", allEstablished, 60_000);
        const back = await sessions();
        console.log(
            `      kvm2 rebooted: firewall and wg0 as before; BGP re-established ${Date.now() - started} ms after boot (reflector's session: ${established} → ${back[reflectorSession].established} establishments)`,
        );
        assert.equal(back[reflectorSession].established, established + 1, "the reflector's session to kvm2 is a new one");
        assert.ok(
            (await lab.nodeProcesses("kvm2")).some((p) => p.command === "bgpd"),
            "bgpd runs",
        );

        await lab.migrateVm("vm2", "kvm2");
        await allVmsPing();
        received = [];
        await lab.migrateVm("vm1", "kvm2");
        await inject("kvm2", "vm1");
        await new Promise((resolve) => setTimeout(resolve, 2000));
        assert.deepEqual(received, [], "the rebooted host still keeps injections out");
        await lab.migrateVm("vm1", "kvm1");
    });

    it("3. a fifth KVM host joins without resetting any BGP session", async function () {
        await waitUntil("every BGP session to be established", allEstablished, 60_000);
        const pids = async () =>
            Object.fromEntries(
                await Promise.all(
                    lab.nodes.map(
                        async (node) => [node.name, (await lab.nodeProcesses(node.name)).find((p) => p.command === "bgpd")?.pid] as const,
                    ),
                ),
            );
        const bgpdBefore = await pids();
        const before = await sessions();
        const node = await lab.addHost("ec2", { firewall: true });
        assert.equal(node.name, "kvm5");
        await new Promise((resolve) => setTimeout(resolve, 1100)); // bgpd's uptime has whole seconds
        const after = await sessions();
        assertNoReset(before, after);
        assert.deepEqual(
            Object.fromEntries(Object.entries(await pids()).filter(([name]) => name !== "kvm5")),
            bgpdBefore,
            "no bgpd was restarted",
        );
        assert.equal(after[`ingress → ${wgAddress("kvm5")}`].state, "Established");
        assert.equal(after[`kvm5 → ${wgAddress("ingress")}`].state, "Established");
        for (const [name, session] of Object.entries(before)) {
            console.log(
                `      ${name}: up ${(session.upMs / 1000).toFixed(1)} s → ${(after[name].upMs / 1000).toFixed(1)} s, established ${session.established} → ${after[name].established}, dropped ${session.dropped} → ${after[name].dropped}`,
            );
        }
        await lab.migrateVm("vm4", "kvm5");
        await allVmsPing();
    });

    it("4. a configuration bgpd cannot apply fails the step with FRR's message and leaves bgpd alone", async function () {
        const reflector = lab.topology.fabric.find((files) => files.role === "reflector")!;
        const pid = (await lab.nodeProcesses("ingress")).find((p) => p.command === "bgpd")!.pid;
        const running = await lab.vtysh("ingress", "show running-config");
        const file = await lab.execOk("ingress", ["cat", "/etc/frr/bgpd.conf"]);
        const before = await sessions();
        const neighbour = `neighbor ${wgAddress("kvm5")} peer-group fabric`;
        assert.ok(reflector.bgpdConf.includes(neighbour));
        const broken = {
            ...reflector,
            bgpdConf: reflector.bgpdConf.replace(neighbour, `neighbor ${wgAddress("kvm5")} peer-group nosuchgroup`),
        };
        const result = await lab.exec("ingress", [path.join(packageRoot(), "scripts", "host", "frr-apply.sh")], {
            env: { ...frrScriptEnvironment(broken), FRR_SERVICE: "direct" },
        });
        assert.notEqual(result.code, 0, "the step fails");
        assert.match(result.stderr, /Configure the peer-group first|Config Failed on config line/, `FRR's own message:\n${result.stderr}`);
        assert.equal((await lab.nodeProcesses("ingress")).find((p) => p.command === "bgpd")!.pid, pid, "bgpd was not restarted");
        assert.equal(await lab.vtysh("ingress", "show running-config"), running, "the running configuration is the one before");
        assert.equal(await lab.execOk("ingress", ["cat", "/etc/frr/bgpd.conf"]), file, "the file keeps the last applied configuration");
        await new Promise((resolve) => setTimeout(resolve, 1100));
        assertNoReset(before, await sessions());
    });
});
