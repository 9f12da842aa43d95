/**
 * firewall.sh protects the overlay, proven with real packets. Five namespaces around one host:
 * "internet" (on the host's public interface pub0), a cluster peer on the private network
 * (priv0, allow-listed), an overlay peer behind a veth named wg0 (the overlay interface as the
 * firewall sees it), and a VM on the bridge of an OpenNebula-style VXLAN device (`wg0.2`, VNI 2,
 * no `dev`, so its socket listens on every address, as OpenNebula creates it).
 */
import { strict as assert } from "assert";
import type { FirewallScriptArgs } from "../../components/edge/host-scripts";
import { firewallScript } from "../../components/edge/host-scripts";
import { Lab, connect, must, mustExec, mustRunScript, netnsSkipReason, rules } from "./netns";
import { UdpListener, portMatrix, probeUdp, sendUdp, serveUdp, vxlanPacket } from "./probes";

const PUBLIC = "203.0.113.10";
const PRIVATE = "10.0.0.10";
const OVERLAY = "192.168.0.10";
const VM_MAC = "02:00:ac:11:02:0a";
const VM_IP = "172.17.2.10";
const WIREGUARD_PORT = 51821;
const FIREWALL: FirewallScriptArgs = {
    mode: "strict",
    wireguardPort: WIREGUARD_PORT,
    trustedSources: ["10.0.0.0/24", "192.168.0.0/24"],
};

interface Hosts {
    host: string;
    internet: string;
    peer: string;
    overlay: string;
}

function unique(lines: string[]): string[] {
    return [...new Set(lines)];
}

/** A port outside every protected range (VNC starts at 5900). */
const OTHER = 5000;

function topology(lab: Lab): Hosts {
    const hosts = {
        host: lab.namespace("fwhost"),
        internet: lab.namespace("fwinet"),
        peer: lab.namespace("fwpeer"),
        overlay: lab.namespace("fwovl"),
    };
    lab.link({ ns: hosts.internet, dev: "inet0", address: "203.0.113.1/24" }, { ns: hosts.host, dev: "pub0", address: `${PUBLIC}/24` });
    lab.link({ ns: hosts.peer, dev: "priv0", address: "10.0.0.2/24" }, { ns: hosts.host, dev: "priv0", address: `${PRIVATE}/24` });
    lab.link({ ns: hosts.overlay, dev: "wg0", address: "192.168.0.2/24" }, { ns: hosts.host, dev: "wg0", address: `${OVERLAY}/24` });
    return hosts;
}

describe("firewall.sh protects the overlay (namespaces)", function () {
    this.timeout(120_000);
    let lab: Lab;

    before(function () {
        const reason = netnsSkipReason();
        if (reason !== undefined) {
            console.log(`      skipped: firewall namespace tests ${reason}`);
            this.skip();
        }
    });

    beforeEach(function () {
        lab = new Lab();
    });

    afterEach(function () {
        lab?.destroy();
    });

    it("a VXLAN frame sent from the Internet to the public address never reaches the VM; over wg0 it does", async function () {
        const hosts = topology(lab);
        const vm = lab.namespace("fwvm");
        // What OpenNebula's vxlan driver creates in EVPN mode: <PHYDEV>.<VLAN_ID>, local = wg0's address.
        for (const argv of [
            ["link", "add", "name", "onebr.2", "type", "bridge"],
            ["link", "set", "onebr.2", "up"],
            ["link", "add", "wg0.2", "type", "vxlan", "id", "2", "local", OVERLAY, "nolearning"],
            ["link", "set", "wg0.2", "master", "onebr.2", "up"],
        ])
            must("ip", ["-n", hosts.host, ...argv]);
        lab.link({ ns: hosts.host, dev: "one-1-0" }, { ns: vm, dev: "eth0", address: `${VM_IP}/24` });
        must("ip", ["-n", hosts.host, "link", "set", "one-1-0", "master", "onebr.2"]);
        must("ip", ["-n", vm, "link", "set", "eth0", "address", VM_MAC]);
        const listener = await UdpListener.start(lab, vm, 9999);
        const frame = (payload: string) =>
            vxlanPacket({ vni: 2, dstMac: VM_MAC, srcIp: "172.17.2.99", dstIp: VM_IP, dstPort: 9999, payload });

        // Without the firewall (what the old one allowed: 8472/udp from anywhere) the frame gets through.
        sendUdp(hosts.internet, PUBLIC, 8472, frame("before the firewall"));
        assert.deepEqual(
            unique(await listener.received()),
            ["before the firewall"],
            "the probe reaches the VM while 8472 is open: the test can see an injection",
        );

        mustRunScript(hosts.host, firewallScript(FIREWALL));
        sendUdp(hosts.internet, PUBLIC, 8472, frame("from the internet"));
        sendUdp(hosts.internet, PUBLIC, 4789, frame("to the IANA port"));
        sendUdp(hosts.peer, PRIVATE, 8472, frame("from the private network"));
        sendUdp(hosts.overlay, OVERLAY, 8472, frame("over wg0"));
        assert.deepEqual(
            unique(await listener.received()),
            ["before the firewall", "over wg0"],
            "only the frame that came in on wg0 reached the VM",
        );

        const vxlanRule = rules(hosts.host)
            .split("\n")
            .find((line) => line.includes("! -i wg0 -p udp -m udp --dport 8472"));
        assert.equal(vxlanRule, "-A ONE-EDGE-INPUT ! -i wg0 -p udp -m udp --dport 8472 -j REJECT --reject-with icmp-port-unreachable");
        // The INPUT rule is what stops it: the rejected frames were counted there, before the VXLAN socket.
        const counted = mustExec(hosts.host, ["iptables", "-nvx", "-L", "ONE-EDGE-INPUT"])
            .split("\n")
            .find((line) => /!wg0 .*udp dpt:8472/.test(line));
        assert.ok(
            counted !== undefined && Number(counted.trim().split(/\s+/)[0]) >= 6,
            `the VXLAN reject rule counted the injected frames: ${counted}`,
        );
    });

    it("BGP, libvirt, migration and VNC: refused from the Internet, accepted from wg0 / the allow-list; WireGuard on its configured port", async function () {
        const hosts = topology(lab);
        mustRunScript(hosts.host, firewallScript(FIREWALL));
        await lab.serve(hosts.host, [22, 179, 16509, 16514, 49152, 49215, 5900, 65535, OTHER], "host");
        await serveUdp(lab, hosts.host, [8472, WIREGUARD_PORT, 51820], "host");

        for (const port of [179, 16509, 16514, 49152, 49215, 5900, 65535, OTHER]) {
            assert.match(connect(hosts.internet, PUBLIC, port), /^ERR (ECONNREFUSED|ECONNRESET)$/, `${port}/tcp from the Internet`);
        }
        assert.match(connect(hosts.internet, PUBLIC, 22), /^host .*:22 from 203\.0\.113\.1$/);
        assert.match(
            probeUdp(hosts.internet, PUBLIC, WIREGUARD_PORT),
            /^host 51821 from 203\.0\.113\.1$/,
            "WireGuard on the configured port",
        );
        assert.equal(
            probeUdp(hosts.internet, PUBLIC, 51820),
            "ERR ECONNREFUSED",
            "the default port is not opened when another is configured",
        );
        assert.equal(probeUdp(hosts.internet, PUBLIC, 8472), "ERR ECONNREFUSED");

        for (const port of [16509, 16514, 49152, 49215, 5900, 65535]) {
            assert.match(
                connect(hosts.peer, PRIVATE, port),
                new RegExp(`^host .*:${port} from 10\\.0\\.0\\.2$`),
                `${port}/tcp from the allow-listed peer`,
            );
        }
        assert.match(connect(hosts.peer, PRIVATE, 179), /^ERR (ECONNREFUSED|ECONNRESET)$/, "BGP only on wg0, even from a trusted peer");
        assert.equal(probeUdp(hosts.peer, PRIVATE, 8472), "ERR ECONNREFUSED", "VXLAN only on wg0, even from a trusted peer");
        assert.equal(connect(hosts.peer, PRIVATE, OTHER), "ERR ECONNREFUSED", "strict: other ports closed to trusted peers too");

        assert.match(connect(hosts.overlay, OVERLAY, 179), /^host .*:179 from 192\.168\.0\.2$/, "BGP over wg0");
        assert.match(probeUdp(hosts.overlay, OVERLAY, 8472), /^host 8472 from 192\.168\.0\.2$/, "VXLAN over wg0");
        assert.match(connect(hosts.overlay, OVERLAY, 49152), /^host /, "migration over the overlay (its subnet is allow-listed)");
    });

    it("open mode closes only the protected ports", async function () {
        const hosts = topology(lab);
        mustRunScript(hosts.host, firewallScript({ ...FIREWALL, mode: "open" }));
        await lab.serve(hosts.host, [179, 16509, OTHER], "host");
        assert.match(connect(hosts.internet, PUBLIC, OTHER), /^host /, "an unlisted port answers in open mode");
        assert.match(connect(hosts.internet, PUBLIC, 179), /^ERR (ECONNREFUSED|ECONNRESET)$/);
        assert.match(connect(hosts.internet, PUBLIC, 16509), /^ERR (ECONNREFUSED|ECONNRESET)$/);
        assert.match(connect(hosts.peer, PRIVATE, 16509), /^host /);
    });

    it("an extra port inside the VNC range stays open to everyone", async function () {
        const hosts = topology(lab);
        mustRunScript(hosts.host, firewallScript({ ...FIREWALL, extraPorts: [{ port: 8080 }] }));
        await lab.serve(hosts.host, [8080, 8081], "host");
        assert.match(connect(hosts.internet, PUBLIC, 8080), /^host /);
        assert.match(connect(hosts.internet, PUBLIC, 8081), /^ERR (ECONNREFUSED|ECONNRESET)$/);
    });

    it("port × interface: what the host answers from the Internet, an allow-listed private peer, and wg0", async function () {
        const hosts = topology(lab);
        mustRunScript(hosts.host, firewallScript({ ...FIREWALL, wireguardPort: 51820 }));
        const matrix = await portMatrix(lab, hosts.host, MATRIX_PORTS, [
            { label: "public", ns: hosts.internet, target: PUBLIC },
            { label: "private (allow-listed)", ns: hosts.peer, target: PRIVATE },
            { label: "wg0", ns: hosts.overlay, target: OVERLAY },
        ]);
        console.log(["      port        public   private  wg0", ...matrix.map((line) => `      ${line}`)].join("\n"));
        assert.deepEqual(matrix, [
            "22/tcp open open open",
            "179/tcp refused refused open",
            "8472/udp refused refused open",
            "51820/udp open open open",
            "16509/tcp refused open open",
            "16514/tcp refused open open",
            "49152/tcp refused open open",
            "49215/tcp refused open open",
            "5900/tcp refused open open",
            "5000/tcp refused refused refused",
        ]);
    });
});

/** The ports of the before/after table. */
const MATRIX_PORTS = [
    { port: 22, protocol: "tcp" as const },
    { port: 179, protocol: "tcp" as const },
    { port: 8472, protocol: "udp" as const },
    { port: 51820, protocol: "udp" as const },
    { port: 16509, protocol: "tcp" as const },
    { port: 16514, protocol: "tcp" as const },
    { port: 49152, protocol: "tcp" as const },
    { port: 49215, protocol: "tcp" as const },
    { port: 5900, protocol: "tcp" as const },
    { port: OTHER, protocol: "tcp" as const },
];
