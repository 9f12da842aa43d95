/**
 * Public reachability proven for real, one cloud model at a time. Three namespaces (named per run,
 * see netns.ts): "cli" (a client outside), "host" (the edge host, uplink hstup0) and "vm" (a VM on
 * the host's bridge). The host is configured only by the package's own scripts and environment
 * builders (sysctl.sh, a strict firewall.sh, public-forwarding.sh run twice); the client must
 * reach the VM through the host's public address the way it would on that cloud, and the VM's
 * own connections must reach the client from the address that cloud would show.
 */
import { strict as assert } from "assert";
import type { PublicForwardingArgs } from "../../components/edge/host-scripts";
import { firewallScript, portForward, publicForwardingScript, sysctlScript } from "../../components/edge/host-scripts";
import { Lab, connect, must, mustRunScript, netnsSkipReason, nsName, snapshot } from "./netns";

const CLIENT = nsName("cli");
const HOST = nsName("host");
const VM = nsName("vm");
const UPLINK = "hstup0";
const BRIDGE = "hstbr0";
/** Port of the client's own server, for connections the VM opens. */
const CLIENT_PORT = 7000;

interface Topology {
    /** Client and host uplink addresses (CIDR). */
    client: string;
    host: string;
    /** Routes the client has towards the cloud (e.g. the flexible IP routed to the server). */
    clientRoutes?: string[][];
    /** The VM's addresses (CIDR) and default gateway. */
    vmAddresses: string[];
    vmGateway: string;
    forwarding: PublicForwardingArgs;
}

/** Builds the three namespaces and configures the host; returns the host's forwarding state. */
async function build(lab: Lab, topology: Topology): Promise<string> {
    lab.namespace(CLIENT);
    lab.namespace(HOST);
    lab.namespace(VM);
    lab.link({ ns: CLIENT, dev: "hstcli0", address: topology.client }, { ns: HOST, dev: UPLINK, address: topology.host });
    // The client plays the cloud network, so it is also the host's default gateway.
    must("ip", ["-n", HOST, "route", "add", "default", "via", topology.client.split("/")[0]]);
    for (const route of topology.clientRoutes ?? []) must("ip", ["-n", CLIENT, "route", "add", ...route]);

    mustRunScript(HOST, sysctlScript(), { HOST_ROOT: lab.tempDir() });
    mustRunScript(HOST, firewallScript({ mode: "strict" }));
    const forwarding = publicForwardingScript(topology.forwarding);
    mustRunScript(HOST, forwarding);

    // The VM's NIC joins the bridge that public-forwarding.sh created.
    lab.link({ ns: HOST, dev: "hstvmport0", address: undefined }, { ns: VM, dev: "hstvm0", address: undefined });
    must("ip", ["-n", HOST, "link", "set", "hstvmport0", "master", BRIDGE]);
    for (const address of topology.vmAddresses) must("ip", ["-n", VM, "addr", "add", address, "dev", "hstvm0"]);
    must("ip", ["-n", VM, "route", "add", "default", "via", topology.vmGateway, "dev", "hstvm0"]);

    const first = snapshot(HOST);
    mustRunScript(HOST, forwarding);
    assert.equal(snapshot(HOST), first, "a second run leaves the host exactly as the first");

    await lab.serve(VM, [22, 80], "hstvm");
    await lab.serve(CLIENT, [CLIENT_PORT], "hstcli");
    return first;
}

/** The address the client sees when the VM connects to it. */
function sourceSeenByClient(clientAddress: string): string {
    const answer = connect(VM, clientAddress, CLIENT_PORT);
    const match = /^hstcli \S+ from (\S+)$/.exec(answer);
    assert.ok(match, `the VM reaches the client (got ${answer})`);
    return match[1];
}

describe("public forwarding per cloud model (namespaces cli, host, vm)", function () {
    this.timeout(120_000);
    let lab: Lab;

    before(function () {
        const reason = netnsSkipReason();
        if (reason !== undefined) {
            console.log(`      skipped: forwarding tests ${reason}`);
            this.skip();
        }
    });

    beforeEach(function () {
        lab = new Lab();
    });

    afterEach(function () {
        lab?.destroy();
    });

    it("portforward (DigitalOcean): host:9022 reaches lease 0's port 22, lease 1's port 80 at 9180; the VM leaves masqueraded", async function () {
        const hostIp = "198.51.100.2";
        await build(lab, {
            client: "198.51.100.1/24",
            host: `${hostIp}/24`,
            // One VM namespace holds leases 0 and 1, to check the port arithmetic of both.
            vmAddresses: ["192.168.23.2/24", "192.168.23.3/24"],
            vmGateway: "192.168.23.1",
            forwarding: { model: "portforward", uplink: UPLINK, bridge: BRIDGE, leases: 4 },
        });

        const ssh = portForward({ hostPublicIp: hostIp, leaseIndex: 0, internalPort: 22 });
        assert.deepEqual(ssh, { host: hostIp, port: 9022 });
        assert.equal(connect(CLIENT, ssh.host, ssh.port), "hstvm 192.168.23.2:22 from 198.51.100.1");

        const web = portForward({ hostPublicIp: hostIp, leaseIndex: 1, internalPort: 80 });
        assert.equal(web.port, 9180);
        assert.equal(connect(CLIENT, web.host, web.port), "hstvm 192.168.23.3:80 from 198.51.100.1");

        assert.equal(
            connect(CLIENT, hostIp, 9000),
            "ERR ECONNREFUSED",
            "below lease 0's range: not forwarded, rejected by the strict firewall",
        );
        assert.equal(sourceSeenByClient("198.51.100.1"), hostIp, "outbound traffic is masqueraded behind the host");
    });

    it("routed (Vultr): the client reaches the VM's own public IP through the host, and sees it as the VM's source", async function () {
        const state = await build(lab, {
            client: "198.51.100.1/24",
            host: "198.51.100.2/24",
            vmAddresses: ["198.51.100.10/31"],
            vmGateway: "198.51.100.11",
            forwarding: { model: "routed", uplink: UPLINK, bridge: BRIDGE, publicIps: ["198.51.100.10"] },
        });
        assert.doesNotMatch(state, /DNAT|SNAT|MASQUERADE/, "routed needs no NAT");

        assert.equal(connect(CLIENT, "198.51.100.10", 22), "hstvm 198.51.100.10:22 from 198.51.100.1");
        // The client learnt the VM's address from the host's proxy ARP answer on the uplink.
        const hostMac = must("ip", ["-n", HOST, "-br", "link", "show", UPLINK]).split(/\s+/)[2];
        assert.match(must("ip", ["-n", CLIENT, "neigh", "show", "198.51.100.10"]), new RegExp(`lladdr ${hostMac}`));
        assert.equal(sourceSeenByClient("198.51.100.1"), "198.51.100.10");
    });

    it("nat by host (Scaleway): the flexible IP is DNATed to the VM's private IP; the VM's traffic leaves with the flexible IP", async function () {
        const state = await build(lab, {
            client: "198.51.100.1/24",
            host: "198.51.100.2/24",
            // The cloud routes the flexible IP to the server.
            clientRoutes: [["203.0.113.0/24", "via", "198.51.100.2"]],
            vmAddresses: ["172.16.5.10/31"],
            vmGateway: "172.16.5.11",
            forwarding: {
                model: "nat",
                natBy: "host",
                uplink: UPLINK,
                bridge: BRIDGE,
                pairs: [{ publicIp: "203.0.113.50", privateIp: "172.16.5.10" }],
            },
        });
        assert.match(state, /^-A ONE-EDGE-PREROUTING -d 203\.0\.113\.50\/32 -j DNAT --to-destination 172\.16\.5\.10$/m);
        assert.match(state, /^-A ONE-EDGE-POSTROUTING -s 172\.16\.5\.10\/32 -o hstup0 -j SNAT --to-source 203\.0\.113\.50$/m);

        assert.equal(connect(CLIENT, "203.0.113.50", 22), "hstvm 172.16.5.10:22 from 198.51.100.1");
        assert.equal(sourceSeenByClient("198.51.100.1"), "203.0.113.50");
    });

    it("nat by cloud (AWS): the secondary private IP delivered to the uplink reaches the VM, which answers from it", async function () {
        // The client stands for the VPC router after AWS translated the Elastic IP 1:1.
        const state = await build(lab, {
            client: "10.0.0.1/16",
            host: "10.0.0.4/16",
            vmAddresses: ["10.0.0.16/31"],
            vmGateway: "10.0.0.17",
            forwarding: {
                model: "nat",
                natBy: "cloud",
                uplink: UPLINK,
                bridge: BRIDGE,
                pairs: [{ publicIp: "198.51.100.77", privateIp: "10.0.0.16" }],
            },
        });
        assert.doesNotMatch(state, /DNAT|SNAT|MASQUERADE/, "the cloud does the translation");
        assert.match(state, /^10\.0\.0\.16 dev hstup0 proxy proto 233$/m);

        assert.equal(connect(CLIENT, "10.0.0.16", 22), "hstvm 10.0.0.16:22 from 10.0.0.1");
        assert.equal(sourceSeenByClient("10.0.0.1"), "10.0.0.16", "the source AWS maps back to the Elastic IP");
    });
});
