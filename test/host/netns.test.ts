/**
 * firewall.sh, sysctl.sh and public-forwarding.sh run for real inside fresh network namespaces:
 * each run twice must leave identical state, and the firewall must actually accept and reject.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { firewallScript, publicForwardingScript, sysctlScript } from "../../components/edge/host-scripts";
import { Lab, connect, exec, mustRunScript, netnsSkipReason, rules, run, runScript, snapshot } from "./netns";

const HOST_IP = "198.51.100.2";

describe("host scripts in network namespaces", function () {
    this.timeout(120_000);
    let lab: Lab;
    let host: string;
    let client: string;

    before(function () {
        const reason = netnsSkipReason();
        if (reason !== undefined) {
            console.log(`      skipped: host script namespace tests ${reason}`);
            this.skip();
        }
    });

    beforeEach(function () {
        lab = new Lab();
        host = lab.namespace("fwhost");
        client = lab.namespace("fwcli");
        lab.link({ ns: client, dev: "hstfwc0", address: "198.51.100.1/24" }, { ns: host, dev: "hstfwup0", address: `${HOST_IP}/24` });
    });

    afterEach(function () {
        lab?.destroy();
    });

    describe("firewall.sh", function () {
        it("strict: twice gives identical rules; listed ports are accepted and the rest rejected", async function () {
            const script = firewallScript({ mode: "strict", extraPorts: [{ port: 8080 }, { port: 4124, protocol: "udp" }] });
            mustRunScript(host, script);
            const first = snapshot(host);
            mustRunScript(host, script);
            assert.equal(snapshot(host), first);

            const filter = rules(host);
            assert.match(filter, /^-A INPUT -j ONE-EDGE-INPUT$/m);
            assert.equal(filter.match(/-j ONE-EDGE-INPUT$/gm)?.length, 1, "exactly one jump to the chain");
            for (const expected of [
                "-A ONE-EDGE-INPUT ! -i wg0 -p tcp -m tcp --dport 179 -j REJECT",
                "-A ONE-EDGE-INPUT ! -i wg0 -p udp -m udp --dport 8472 -j REJECT",
                "-A ONE-EDGE-INPUT -i wg0 -p tcp -m conntrack --ctstate NEW -m tcp --dport 179 -j ACCEPT",
                "-A ONE-EDGE-INPUT -i wg0 -p udp -m conntrack --ctstate NEW -m udp --dport 8472 -j ACCEPT",
                "--dport 22 ",
                "--dport 51820 ",
                "--dport 8080 ",
                "-p udp -m conntrack --ctstate NEW -m udp --dport 4124 ",
                "-A ONE-EDGE-INPUT -p tcp -m multiport --dports 16509,16514,49152:49215,5900:65535 -j REJECT --reject-with tcp-reset",
            ]) {
                assert.ok(filter.includes(expected), `rules contain ${expected}`);
            }
            assert.doesNotMatch(filter, /-s \S+ -p tcp -m multiport/, "no trusted source: libvirt, migration and VNC closed to all");
            assert.match(filter, /^-A ONE-EDGE-INPUT -j REJECT --reject-with icmp-port-unreachable$/m);

            await lab.serve(host, [22, 8080, 5000, 16509], "edge-host");
            assert.match(connect(client, HOST_IP, 22), /^edge-host .*:22 from 198\.51\.100\.1$/);
            assert.match(connect(client, HOST_IP, 8080), /^edge-host .*:8080 /);
            assert.equal(connect(client, HOST_IP, 5000), "ERR ECONNREFUSED", "an unlisted port is rejected");
            assert.equal(connect(client, HOST_IP, 16509), "ERR ECONNREFUSED", "libvirt is not open without an allow-list");
        });

        it("open: the same accept list without the final reject, so unlisted ports answer", async function () {
            mustRunScript(host, firewallScript({ mode: "open" }));
            const first = snapshot(host);
            mustRunScript(host, firewallScript({ mode: "open" }));
            assert.equal(snapshot(host), first);
            assert.doesNotMatch(rules(host), /^-A ONE-EDGE-INPUT -j REJECT/m, "no final reject");

            await lab.serve(host, [5000], "edge-host");
            assert.match(connect(client, HOST_IP, 5000), /^edge-host .*:5000 from 198\.51\.100\.1$/);
        });

        it("switching modes rebuilds the chain instead of adding to it", function () {
            mustRunScript(host, firewallScript({ mode: "strict", extraPorts: [{ port: 8080 }] }));
            mustRunScript(host, firewallScript({ mode: "open" }));
            const filter = rules(host);
            assert.doesNotMatch(filter, /^-A ONE-EDGE-INPUT -j REJECT/m);
            assert.doesNotMatch(filter, /--dport 8080 /);
            assert.equal(filter.match(/--dport 22 /g)?.length, 1);
        });

        it("removes oneprovision's icmp-host-prohibited rejects and sets FORWARD to ACCEPT", async function () {
            // What oneprovision's strict iptables role left on AWS hosts.
            for (const chain of ["INPUT", "FORWARD"]) {
                exec(host, ["iptables", "-A", chain, "-i", "hstfwup0", "-j", "REJECT", "--reject-with", "icmp-host-prohibited"]);
            }
            exec(host, ["iptables", "-P", "FORWARD", "DROP"]);
            const output = mustRunScript(host, firewallScript({ mode: "open", trustedSources: ["198.51.100.1"] }));
            assert.match(output, /removing rule \d+ of INPUT \(icmp-host-prohibited/);
            assert.match(output, /removing rule \d+ of FORWARD \(icmp-host-prohibited/);
            const filter = rules(host);
            assert.doesNotMatch(filter, /icmp-host-prohibited/);
            assert.match(filter, /^:FORWARD ACCEPT/m);

            await lab.serve(host, [49152], "edge-host");
            assert.match(connect(client, HOST_IP, 49152), /^edge-host /, "live-migration ports reachable from an allow-listed peer");
        });

        it("applies the same chain to IPv6", function () {
            mustRunScript(host, firewallScript({ mode: "strict" }));
            const v6 = rules(host, "ip6tables-save");
            assert.match(v6, /^-A INPUT -j ONE-EDGE-INPUT$/m);
            assert.match(v6, /^-A ONE-EDGE-INPUT -p ipv6-icmp -j ACCEPT$/m);
            assert.match(v6, /^-A ONE-EDGE-INPUT -j REJECT --reject-with icmp6-port-unreachable$/m);
        });

        it("rejects bad input with an error naming the variable, before touching any rule", function () {
            const before = rules(host);
            const cases: Array<[Record<string, string>, RegExp]> = [
                [{ FIREWALL_MODE: "paranoid" }, /FIREWALL_MODE must be strict or open \(got 'paranoid'\)/],
                [{ FIREWALL_EXTRA_PORTS: "70000/tcp" }, /FIREWALL_EXTRA_PORTS: '70000\/tcp' is not a port/],
                [{ FIREWALL_EXTRA_PORTS: "53/sctp" }, /FIREWALL_EXTRA_PORTS: protocol must be tcp or udp/],
                [{ FIREWALL_WIREGUARD_PORT: "0" }, /FIREWALL_WIREGUARD_PORT must be a port number/],
                [{ FIREWALL_INTERFACE: "eth0; reboot" }, /FIREWALL_INTERFACE must be an interface name/],
                [{ FIREWALL_OVERLAY_INTERFACE: "wg0 -j ACCEPT" }, /FIREWALL_OVERLAY_INTERFACE must be an interface name/],
                [{ FIREWALL_VXLAN_PORT: "84720" }, /FIREWALL_VXLAN_PORT must be a port number/],
                [
                    { FIREWALL_TRUSTED_SOURCES: "10.0.0.0/8 0.0.0.0/0 -j ACCEPT" },
                    /FIREWALL_TRUSTED_SOURCES: '-j' is not an IPv4 or IPv6 address or CIDR/,
                ],
                [{ FIREWALL_TRUSTED_SOURCES: "10.0.0.0/33" }, /FIREWALL_TRUSTED_SOURCES: '10\.0\.0\.0\/33' is not/],
                [{ FIREWALL_VNC_PORTS: "6000:5900" }, /FIREWALL_VNC_PORTS: range '6000:5900' ends before it starts/],
                [{ ACTION: "destroy" }, /ACTION must be one of create delete \(got 'destroy'\)/],
                [{ BOOT_UNITS: "maybe" }, /BOOT_UNITS must be yes or no/],
            ];
            for (const [environment, message] of cases) {
                const result = runScript(host, firewallScript(), environment);
                assert.notEqual(result.status, 0);
                assert.match(result.stderr, message);
                assert.doesNotMatch(result.stderr, /^\+ /m, `no command ran for ${JSON.stringify(environment)}`);
            }
            assert.equal(rules(host), before);
        });
    });

    describe("sysctl.sh", function () {
        it("twice gives identical values and files; values are applied in the namespace", function () {
            const root = lab.tempDir();
            const script = sysctlScript();
            const firstOutput = mustRunScript(host, script, { HOST_ROOT: root });
            assert.match(firstOutput, /net\.ipv4\.ip_forward 0 -> 1/);
            const first = snapshot(host);
            const file = path.join(root, "etc/sysctl.d/60-opennebula-edge.conf");
            const firstFile = fs.readFileSync(file, "utf8");

            const secondOutput = mustRunScript(host, script, { HOST_ROOT: root });
            assert.equal(secondOutput, "", "a re-run changes and reports nothing");
            assert.equal(snapshot(host), first);
            assert.equal(fs.readFileSync(file, "utf8"), firstFile);

            assert.match(first, /^net\.ipv4\.ip_forward=1$/m);
            assert.match(first, /^net\.bridge\.bridge-nf-call-iptables=1$/m);
            assert.match(first, /^net\.ipv4\.conf\.all\.proxy_arp=0$/m);
            assert.match(firstFile, /^net\.ipv4\.ip_forward = 1$/m);
            assert.match(firstFile, /^net\.bridge\.bridge-nf-call-ip6tables = 1$/m);
            assert.equal(
                fs.readFileSync(path.join(root, "etc/modules-load.d/opennebula-edge.conf"), "utf8").split("\n")[1],
                "br_netfilter",
            );
        });

        it("follows changed inputs (proxy ARP on, then off again)", function () {
            const root = lab.tempDir();
            mustRunScript(host, sysctlScript({ proxyArp: true }), { HOST_ROOT: root });
            assert.match(snapshot(host), /^net\.ipv4\.conf\.all\.proxy_arp=1$/m);
            mustRunScript(host, sysctlScript({ proxyArp: false }), { HOST_ROOT: root });
            assert.match(snapshot(host), /^net\.ipv4\.conf\.all\.proxy_arp=0$/m);
            assert.match(fs.readFileSync(path.join(root, "etc/sysctl.d/60-opennebula-edge.conf"), "utf8"), /proxy_arp = 0/);
        });

        it("rejects bad input with an error naming the variable", function () {
            const result = runScript(host, sysctlScript(), { SYSCTL_BRIDGE_NF: "maybe", HOST_ROOT: lab.tempDir() });
            assert.notEqual(result.status, 0);
            assert.match(result.stderr, /SYSCTL_BRIDGE_NF must be yes or no \(got 'maybe'\)/);
        });
    });

    describe("public-forwarding.sh", function () {
        function prepare(): void {
            mustRunScript(host, sysctlScript(), { HOST_ROOT: lab.tempDir() });
        }

        it("twice gives identical routes, proxy entries and nat rules", function () {
            prepare();
            const script = publicForwardingScript({ model: "portforward", uplink: "hstfwup0", bridge: "hstfwbr0", leases: 3 });
            assert.match(mustRunScript(host, script), /created bridge hstfwbr0/);
            const first = snapshot(host);
            assert.doesNotMatch(mustRunScript(host, script), /created bridge/);
            assert.equal(snapshot(host), first);

            for (const ip of ["192.168.23.2", "192.168.23.3", "192.168.23.4"]) {
                assert.match(first, new RegExp(`^${ip.replace(/\./g, "\\.")} dev hstfwbr0 proto 233 scope link$`, "m"));
            }
            assert.match(first, /^192\.168\.23\.1 dev hstfwbr0 proxy proto 233$/m);
            assert.match(first, /--dport 9101:9200 -j DNAT --to-destination 192\.168\.23\.3:1-100\/9101$/m);
            assert.match(
                first,
                /^-A ONE-EDGE-POSTROUTING -o hstfwup0 -m iprange --src-range 192\.168\.23\.2-192\.168\.23\.4 -j MASQUERADE$/m,
            );
            assert.equal(first.match(/^-A PREROUTING -j ONE-EDGE-PREROUTING$/gm)?.length, 1);
        });

        it("removes what changed inputs no longer ask for, and leaves untagged entries alone", function () {
            prepare();
            // Someone else's proxy entry and route: not ours to remove.
            run("ip", ["-n", host, "neigh", "add", "proxy", "198.51.100.200", "dev", "hstfwup0"]);
            run("ip", ["-n", host, "route", "add", "10.99.0.0/24", "dev", "hstfwup0"]);

            mustRunScript(host, publicForwardingScript({ model: "portforward", uplink: "hstfwup0", bridge: "hstfwbr0", leases: 2 }));
            mustRunScript(
                host,
                publicForwardingScript({
                    model: "routed",
                    uplink: "hstfwup0",
                    bridge: "hstfwbr0",
                    publicIps: ["198.51.100.10", "198.51.100.12"],
                }),
            );
            let state = snapshot(host);
            assert.doesNotMatch(state, /192\.168\.23\./, "portforward routes, gateway and rules are gone");
            assert.doesNotMatch(state, /DNAT|MASQUERADE/);
            assert.match(state, /^198\.51\.100\.12 dev hstfwup0 proxy proto 233$/m);

            const output = mustRunScript(
                host,
                publicForwardingScript({ model: "routed", uplink: "hstfwup0", bridge: "hstfwbr0", publicIps: ["198.51.100.10"] }),
            );
            assert.match(output, /removed stale route 198\.51\.100\.12 dev hstfwbr0/);
            state = snapshot(host);
            assert.doesNotMatch(state, /198\.51\.100\.1[23] /, "the dropped address and its gateway are gone");
            assert.match(state, /^198\.51\.100\.10 dev hstfwbr0 proto 233 scope link$/m);
            assert.match(state, /^198\.51\.100\.11 dev hstfwbr0 proxy proto 233$/m);
            assert.match(state, /^198\.51\.100\.200 dev hstfwup0 proxy$/m, "untagged proxy entry kept");
            assert.match(state, /^10\.99\.0\.0\/24 dev hstfwup0 /m, "untagged route kept");
        });

        it("rejects bad input with an error naming the variable, before changing anything", function () {
            prepare();
            const before = snapshot(host);
            const base = publicForwardingScript({ model: "routed", uplink: "hstfwup0", bridge: "hstfwbr0", publicIps: ["198.51.100.10"] });
            const cases: Array<[Record<string, string>, RegExp]> = [
                [{ PUBLIC_MODEL: "elastic" }, /PUBLIC_MODEL must be one of portforward, routed, nat \(got 'elastic'\)/],
                [{ UPLINK: "" }, /UPLINK is required/],
                [{ UPLINK: "hstnosuch0" }, /UPLINK interface 'hstnosuch0' does not exist/],
                [{ GATEWAY: "" }, /GATEWAY is required/],
                [{ PUBLIC_IPS: "198.51.100.300" }, /PUBLIC_IPS: '198\.51\.100\.300' is not an IPv4 address/],
                [{ GATEWAY: "198.51.100.10" }, /GATEWAY 198\.51\.100\.10 is also a VM address/],
                [{ PUBLIC_MODEL: "nat", NAT_PAIRS: "203.0.113.5" }, /NAT_PAIRS: '203\.0\.113\.5' is not PUBLIC=PRIVATE/],
                [{ PUBLIC_MODEL: "nat", NAT_PAIRS: "203.0.113.5=10.0.0.16", NAT_BY: "aws" }, /NAT_BY must be host or cloud/],
                [{ PUBLIC_MODEL: "portforward", BASE_IP: "192.168.23.2", LEASES: "0" }, /LEASES must be a number of leases from 1 to 1000/],
                [
                    { PUBLIC_MODEL: "portforward", BASE_IP: "192.168.23.2", LEASES: "600" },
                    /PORT_START \+ LEASES \* PORT_SIZE must stay within 65535/,
                ],
            ];
            for (const [environment, message] of cases) {
                const result = runScript(host, base, environment);
                assert.notEqual(result.status, 0, JSON.stringify(environment));
                assert.match(result.stderr, message);
            }
            assert.equal(snapshot(host), before);
        });

        it("refuses to run without IP forwarding", function () {
            const result = runScript(
                host,
                publicForwardingScript({ model: "routed", uplink: "hstfwup0", bridge: "hstfwbr0", publicIps: ["198.51.100.10"] }),
            );
            assert.notEqual(result.status, 0);
            assert.match(result.stderr, /net\.ipv4\.ip_forward is 0; run sysctl\.sh/);
        });
    });
});
