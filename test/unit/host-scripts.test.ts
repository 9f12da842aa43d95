/** components/edge/host-scripts.ts: environments, validation errors that name the field, portForward. */
import { strict as assert } from "assert";
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import {
    cloudFirewallRules,
    firewallScript,
    hostScriptSequence,
    oneadminKeyScript,
    opennebulaNodeScript,
    opennebulaRepoScript,
    portForward,
    publicForwardingScript,
    sysctlScript,
} from "../../components/edge/host-scripts";
import type { HostScript } from "../../components/remote/host-script";
import { hostScriptsDir, toStdin } from "../../components/remote/host-script";
import { ConfigError } from "../../components/validation";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpJgVSGsvRr0s0aGm2f6gX4b8I2XRvC7e0jGz5y7P1x oneadmin@front-end";

function assertScript(run: HostScript, name: string): void {
    assert.equal(run.name, name);
    assert.equal(run.script, fs.readFileSync(path.join(hostScriptsDir(), name), "utf8"));
    assert.ok(run.script.startsWith("#!/usr/bin/env bash\n"));
    for (const [key, value] of Object.entries(run.environment)) {
        assert.match(key, /^[A-Z_][A-Z0-9_]*$/);
        assert.equal(typeof value, "string", `${key} is a string`);
    }
}

describe("host-scripts", function () {
    describe("locating the scripts", function () {
        it("finds scripts/host from the sources (and, compiled, from dist)", function () {
            const dir = hostScriptsDir();
            assert.equal(path.basename(dir), "host");
            assert.equal(path.basename(path.dirname(dir)), "scripts");
            assert.ok(fs.existsSync(path.join(dir, "public-forwarding.sh")));
        });
    });

    describe("opennebulaRepoScript", function () {
        it("defaults to 6.10 and accepts 7.0", function () {
            const run = opennebulaRepoScript();
            assertScript(run, "opennebula-repo.sh");
            assert.deepEqual(run.environment, { ONE_VERSION: "6.10" });
            assert.deepEqual(opennebulaRepoScript({ version: "7.0" }).environment, { ONE_VERSION: "7.0" });
        });

        it("rejects other versions, naming the field", function () {
            assert.throws(
                () => opennebulaRepoScript({ version: "6.8" as never }),
                /^ConfigError: version: must be one of 6\.10, 7\.0 \(got "6\.8"\)$/,
            );
        });
    });

    describe("opennebulaNodeScript", function () {
        it("passes the hypervisor, and the nested option only when asked for", function () {
            assertScript(opennebulaNodeScript({ hypervisor: "qemu" }), "opennebula-node.sh");
            assert.deepEqual(opennebulaNodeScript({ hypervisor: "qemu" }).environment, { HYPERVISOR: "qemu" });
            assert.deepEqual(opennebulaNodeScript({ hypervisor: "kvm", kvmNested: true }).environment, {
                HYPERVISOR: "kvm",
                KVM_NESTED: "yes",
            });
            assert.deepEqual(opennebulaNodeScript({ hypervisor: "kvm", kvmNested: false }).environment, {
                HYPERVISOR: "kvm",
                KVM_NESTED: "no",
            });
        });

        it("rejects unknown hypervisors and nested outside kvm, naming the field", function () {
            assert.throws(
                () => opennebulaNodeScript({ hypervisor: "xen" as never }),
                /^ConfigError: hypervisor: must be one of kvm, qemu, lxc \(got "xen"\)$/,
            );
            assert.throws(
                () => opennebulaNodeScript({ hypervisor: "lxc", kvmNested: true }),
                /^ConfigError: kvmNested: applies only to hypervisor kvm \(got lxc\)$/,
            );
            assert.throws(
                () => opennebulaNodeScript({ hypervisor: "kvm", kvmNested: "yes" as never }),
                /^ConfigError: kvmNested: must be true or false/,
            );
        });
    });

    describe("oneadminKeyScript", function () {
        it("passes the key (trimmed) and hardens sshd by default", function () {
            const run = oneadminKeyScript({ publicKey: `  ${KEY}\n` });
            assertScript(run, "oneadmin-key.sh");
            assert.deepEqual(run.environment, { ONEADMIN_PUBKEY: KEY, SSHD_HARDEN: "yes" });
            assert.equal(oneadminKeyScript({ publicKey: KEY, hardenSshd: false }).environment.SSHD_HARDEN, "no");
        });

        it("rejects anything but one public key line, naming the field and not echoing the value", function () {
            for (const bad of [
                "",
                "AAAA",
                "ssh-dss AAAAB3 x",
                `${KEY}\n${KEY}`,
                "ssh-ed25519 not*base64",
                "-----BEGIN OPENSSH PRIVATE KEY-----",
            ]) {
                assert.throws(
                    () => oneadminKeyScript({ publicKey: bad }),
                    (error: Error) =>
                        error instanceof ConfigError &&
                        /^publicKey: must be one OpenSSH public key line/.test(error.message) &&
                        (bad === "" || !error.message.includes(bad)),
                    JSON.stringify(bad),
                );
            }
        });
    });

    describe("firewallScript", function () {
        const DEFAULTS = {
            FIREWALL_MODE: "strict",
            FIREWALL_WIREGUARD_PORT: "51820",
            FIREWALL_OVERLAY_INTERFACE: "wg0",
            FIREWALL_VXLAN_PORT: "8472",
            FIREWALL_VNC_PORTS: "5900:65535",
            FIREWALL_IPV6: "yes",
            BOOT_UNITS: "yes",
        };

        it("defaults: strict, WireGuard 51820, overlay on wg0, VXLAN 8472, VNC 5900-65535, nobody trusted, IPv6 on, boot unit", function () {
            const run = firewallScript();
            assertScript(run, "firewall.sh");
            assert.deepEqual(run.environment, DEFAULTS);
        });

        it("renders the allow-list, ports, ranges and protocols the way the script reads them", function () {
            const run = firewallScript({
                mode: "open",
                interface: "eth0",
                wireguardPort: 51821,
                overlayInterface: "wg1",
                vxlanPort: 4789,
                trustedSources: ["10.0.0.5/16", "192.168.0.9", "2001:db8::1/64", "10.0.0.0/16"],
                vncPorts: { port: 5900, toPort: 6900 },
                ipv6: false,
                bootUnit: false,
                extraPorts: [
                    { port: 80 },
                    { port: 4124, protocol: "udp" },
                    { port: 60000, toPort: 60100, protocol: "udp" },
                    { port: 443, toPort: 443 },
                ],
            });
            assert.deepEqual(run.environment, {
                FIREWALL_MODE: "open",
                FIREWALL_WIREGUARD_PORT: "51821",
                FIREWALL_OVERLAY_INTERFACE: "wg1",
                FIREWALL_VXLAN_PORT: "4789",
                FIREWALL_VNC_PORTS: "5900:6900",
                FIREWALL_IPV6: "no",
                BOOT_UNITS: "no",
                FIREWALL_INTERFACE: "eth0",
                FIREWALL_TRUSTED_SOURCES: "10.0.0.0/16 192.168.0.9/32 2001:db8::/64",
                FIREWALL_EXTRA_PORTS: "80/tcp 4124/udp 60000:60100/udp 443/tcp",
            });
        });

        it("rejects bad input, naming the field", function () {
            const cases: Array<[() => unknown, RegExp]> = [
                [() => firewallScript({ mode: "closed" as never }), /^ConfigError: mode: must be one of strict, open \(got "closed"\)$/],
                [() => firewallScript({ wireguardPort: 0 }), /^ConfigError: wireguardPort: must be an integer from 1 to 65535 \(got 0\)$/],
                [() => firewallScript({ vxlanPort: 70000 }), /^ConfigError: vxlanPort: must be an integer from 1 to 65535 \(got 70000\)$/],
                [() => firewallScript({ interface: "eth0 -j ACCEPT" }), /^ConfigError: interface: must be an interface name/],
                [() => firewallScript({ overlayInterface: "wg0 -j ACCEPT" }), /^ConfigError: overlayInterface: must be an interface name/],
                [
                    () => firewallScript({ trustedSources: ["10.0.0.0/8", "0.0.0.0/0 -j ACCEPT"] }),
                    /^ConfigError: trustedSources\[1\]: must be an IPv4 or IPv6 address or CIDR such as 10\.0\.0\.0\/16 \(got "0\.0\.0\.0\/0 -j ACCEPT"\)$/,
                ],
                [
                    () => firewallScript({ trustedSources: ["10.1"] }),
                    /^ConfigError: trustedSources\[0\]: must be an IPv4 or IPv6 address or CIDR/,
                ],
                [() => firewallScript({ trustedSources: ["10.0.0.0/33"] }), /^ConfigError: trustedSources\[0\]: must be/],
                [
                    () => firewallScript({ trustedSources: "10.0.0.0/8" as never }),
                    /^ConfigError: trustedSources: must be a list of IPv4\/IPv6 addresses or CIDRs/,
                ],
                [
                    () => firewallScript({ vncPorts: { port: 6000, toPort: 5900 } }),
                    /^ConfigError: vncPorts\.toPort: must not be below vncPorts\.port \(got 5900 < 6000\)$/,
                ],
                [
                    () => firewallScript({ extraPorts: [{ port: 80 }, { port: 70000 }] }),
                    /^ConfigError: extraPorts\[1\]\.port: must be an integer from 1 to 65535 \(got 70000\)$/,
                ],
                [
                    () => firewallScript({ extraPorts: [{ port: 90, toPort: 80 }] }),
                    /^ConfigError: extraPorts\[0\]\.toPort: must not be below extraPorts\[0\]\.port/,
                ],
                [
                    () => firewallScript({ extraPorts: [{ port: 53, protocol: "sctp" as never }] }),
                    /^ConfigError: extraPorts\[0\]\.protocol: must be one of tcp, udp \(got "sctp"\)$/,
                ],
                [() => firewallScript({ ipv6: "yes" as never }), /^ConfigError: ipv6: must be true or false/],
                [() => firewallScript({ bootUnit: "yes" as never }), /^ConfigError: bootUnit: must be true or false/],
            ];
            for (const [call, message] of cases) assert.throws(call, message);
        });
    });

    describe("cloudFirewallRules", function () {
        it("derives the restricted cloud firewall from the same allow-list: no VXLAN, no BGP (they travel inside WireGuard)", function () {
            const args = {
                wireguardPort: 51821,
                trustedSources: ["10.0.0.0/16", "198.51.100.7"],
                extraPorts: [{ port: 443 }],
                vncPorts: { port: 5900, toPort: 6900 },
            };
            const everyone = ["0.0.0.0/0", "::/0"];
            const trusted = ["10.0.0.0/16", "198.51.100.7/32"];
            assert.deepEqual(cloudFirewallRules(args), [
                { key: "ssh", protocol: "tcp", fromPort: 22, toPort: 22, sources: everyone, description: "SSH" },
                { key: "wireguard", protocol: "udp", fromPort: 51821, toPort: 51821, sources: everyone, description: "WireGuard" },
                { key: "icmp", protocol: "icmp", sources: everyone, description: "ICMP" },
                { key: "extra-port-0", protocol: "tcp", fromPort: 443, toPort: 443, sources: everyone, description: "extra port 443/tcp" },
                { key: "libvirt", protocol: "tcp", fromPort: 16509, toPort: 16509, sources: trusted, description: "libvirt" },
                { key: "libvirt-tls", protocol: "tcp", fromPort: 16514, toPort: 16514, sources: trusted, description: "libvirt TLS" },
                { key: "migration", protocol: "tcp", fromPort: 49152, toPort: 49215, sources: trusted, description: "live migration" },
                { key: "vnc", protocol: "tcp", fromPort: 5900, toPort: 6900, sources: trusted, description: "VNC consoles" },
            ]);
            // The host firewall renders the very same list.
            assert.equal(firewallScript(args).environment.FIREWALL_TRUSTED_SOURCES, trusted.join(" "));
        });

        it("opens nothing of libvirt, migration or VNC without an allow-list, and only IPv4 without IPv6", function () {
            const rules = cloudFirewallRules({ ipv6: false });
            assert.deepEqual(
                rules.map((rule) => rule.description),
                ["SSH", "WireGuard", "ICMP"],
            );
            assert.ok(rules.every((rule) => rule.sources.length === 1 && rule.sources[0] === "0.0.0.0/0"));
            assert.ok(!rules.some((rule) => rule.fromPort === 8472 || rule.fromPort === 179));
        });

        it("rejects bad input like firewallScript, naming the field", function () {
            assert.throws(
                () => cloudFirewallRules({ trustedSources: ["nope"] }),
                /^ConfigError: trustedSources\[0\]: must be an IPv4 or IPv6 address or CIDR/,
            );
            assert.throws(
                () => cloudFirewallRules({ wireguardPort: 65536 }),
                /^ConfigError: wireguardPort: must be an integer from 1 to 65535/,
            );
        });
    });

    describe("sysctlScript", function () {
        it("defaults to bridge netfilter on and proxy ARP off", function () {
            const run = sysctlScript();
            assertScript(run, "sysctl.sh");
            assert.deepEqual(run.environment, { SYSCTL_BRIDGE_NF: "yes", SYSCTL_PROXY_ARP: "no" });
            assert.deepEqual(sysctlScript({ bridgeNetfilter: false, proxyArp: true }).environment, {
                SYSCTL_BRIDGE_NF: "no",
                SYSCTL_PROXY_ARP: "yes",
            });
        });
    });

    describe("publicForwardingScript", function () {
        it("portforward: oneprovision's DigitalOcean defaults", function () {
            const run = publicForwardingScript({ model: "portforward", uplink: "eth0" });
            assertScript(run, "public-forwarding.sh");
            assert.deepEqual(run.environment, {
                PUBLIC_MODEL: "portforward",
                UPLINK: "eth0",
                BRIDGE: "br0",
                BOOT_UNITS: "yes",
                GATEWAY: "192.168.23.1",
                BASE_IP: "192.168.23.2",
                LEASES: "250",
                PORT_START: "9000",
                PORT_SIZE: "100",
            });
        });

        it("routed: public IPs, gateways defaulting to each /31 peer (also above 128.0.0.0)", function () {
            const run = publicForwardingScript({
                model: "routed",
                uplink: "enp1s0",
                bridge: "br1",
                publicIps: ["198.51.100.10", "198.51.100.13", "45.76.1.1"],
            });
            assert.deepEqual(run.environment, {
                PUBLIC_MODEL: "routed",
                UPLINK: "enp1s0",
                BRIDGE: "br1",
                BOOT_UNITS: "yes",
                GATEWAY: "198.51.100.11 198.51.100.12 45.76.1.0",
                PUBLIC_IPS: "198.51.100.10 198.51.100.13 45.76.1.1",
            });
            const explicit = publicForwardingScript({
                model: "routed",
                uplink: "eth0",
                publicIps: ["198.51.100.10"],
                gateways: ["169.254.0.1"],
            });
            assert.equal(explicit.environment.GATEWAY, "169.254.0.1");
        });

        it("nat: pairs, by host by default, by cloud for AWS", function () {
            const pairs = [
                { publicIp: "203.0.113.50", privateIp: "172.16.5.10" },
                { publicIp: "203.0.113.51", privateIp: "172.16.5.12" },
            ];
            assert.deepEqual(publicForwardingScript({ model: "nat", uplink: "eth0", pairs }).environment, {
                PUBLIC_MODEL: "nat",
                UPLINK: "eth0",
                BRIDGE: "br0",
                BOOT_UNITS: "yes",
                GATEWAY: "172.16.5.11 172.16.5.13",
                NAT_BY: "host",
                NAT_PAIRS: "203.0.113.50=172.16.5.10 203.0.113.51=172.16.5.12",
            });
            assert.equal(publicForwardingScript({ model: "nat", natBy: "cloud", uplink: "eth0", pairs }).environment.NAT_BY, "cloud");
        });

        it("rejects bad input, naming the field", function () {
            const cases: Array<[() => unknown, RegExp]> = [
                [
                    () => publicForwardingScript({ model: "elastic" } as never),
                    /^ConfigError: model: must be one of portforward, routed, nat \(got "elastic"\)$/,
                ],
                [
                    () => publicForwardingScript({ model: "routed", publicIps: ["198.51.100.10"] } as never),
                    /^ConfigError: uplink: must be an interface name .*\(got nothing\)$/,
                ],
                [
                    () => publicForwardingScript({ model: "routed", uplink: "br0", publicIps: ["198.51.100.10"] }),
                    /^ConfigError: bridge: must be another interface than uplink \(both br0\)$/,
                ],
                [
                    () => publicForwardingScript({ model: "routed", uplink: "eth0", publicIps: [] }),
                    /^ConfigError: publicIps: must be a non-empty list of IPv4 addresses/,
                ],
                [
                    () => publicForwardingScript({ model: "routed", uplink: "eth0", publicIps: ["198.51.100.10", "2001:db8::1"] }),
                    /^ConfigError: publicIps\[1\]: must be an IPv4 address such as 203\.0\.113\.10 \(got "2001:db8::1"\)$/,
                ],
                [
                    () => publicForwardingScript({ model: "routed", uplink: "eth0", publicIps: ["198.51.100.10", "198.51.100.10"] }),
                    /^ConfigError: publicIps\[1\]: duplicate address "198\.51\.100\.10" \(already used by publicIps\[0\]\)$/,
                ],
                [
                    () => publicForwardingScript({ model: "routed", uplink: "eth0", publicIps: ["198.51.100.10", "198.51.100.11"] }),
                    /^ConfigError: gateways: 198\.51\.100\.1[01] is also a VM address/,
                ],
                [
                    () => publicForwardingScript({ model: "portforward", uplink: "eth0", leases: 0 }),
                    /^ConfigError: leases: must be an integer from 1 to 1000 \(got 0\)$/,
                ],
                [
                    () => publicForwardingScript({ model: "portforward", uplink: "eth0", leases: 600 }),
                    /^ConfigError: portSize: portStart \+ leases \* portSize must stay within 65535/,
                ],
                [
                    () => publicForwardingScript({ model: "portforward", uplink: "eth0", baseIp: "192.168.23.256" }),
                    /^ConfigError: baseIp: must be an IPv4 address/,
                ],
                [
                    () => publicForwardingScript({ model: "portforward", uplink: "eth0", gateway: "192.168.23.2" }),
                    /^ConfigError: gateways: 192\.168\.23\.2 is also a VM address/,
                ],
                [
                    () => publicForwardingScript({ model: "nat", uplink: "eth0", pairs: [] }),
                    /^ConfigError: pairs: must be a non-empty list of \{ publicIp, privateIp \}/,
                ],
                [
                    () => publicForwardingScript({ model: "nat", uplink: "eth0", pairs: [{ publicIp: "203.0.113.5", privateIp: "x" }] }),
                    /^ConfigError: pairs\[0\]\.privateIp: must be an IPv4 address/,
                ],
                [
                    () =>
                        publicForwardingScript({
                            model: "nat",
                            uplink: "eth0",
                            pairs: [{ publicIp: "203.0.113.5", privateIp: "203.0.113.5" }],
                        }),
                    /^ConfigError: pairs\[0\]: maps 203\.0\.113\.5 to itself; use model "routed"$/,
                ],
                [
                    () =>
                        publicForwardingScript({
                            model: "nat",
                            natBy: "aws" as never,
                            uplink: "eth0",
                            pairs: [{ publicIp: "203.0.113.5", privateIp: "10.0.0.16" }],
                        }),
                    /^ConfigError: natBy: must be one of host, cloud \(got "aws"\)$/,
                ],
            ];
            for (const [call, message] of cases) assert.throws(call, message);
        });
    });

    describe("portForward (what `onevm port-forward` answers)", function () {
        it("answers the seed's examples", function () {
            assert.deepEqual(portForward({ hostPublicIp: "203.0.113.7", leaseIndex: 0, internalPort: 80 }), {
                host: "203.0.113.7",
                port: 9080,
            });
            assert.deepEqual(portForward({ hostPublicIp: "203.0.113.7", leaseIndex: 0, internalPort: 22 }), {
                host: "203.0.113.7",
                port: 9022,
            });
            assert.deepEqual(portForward({ hostPublicIp: "203.0.113.7", leaseIndex: 1, internalPort: 22 }), {
                host: "203.0.113.7",
                port: 9122,
            });
            assert.equal(portForward({ hostPublicIp: "203.0.113.7", leaseIndex: 249, internalPort: 100 }).port, 34000);
            assert.equal(
                portForward({ hostPublicIp: "203.0.113.7", leaseIndex: 2, internalPort: 5, portStart: 20000, portSize: 10 }).port,
                20025,
            );
        });

        it("agrees with the DNAT ranges of public-forwarding.sh for every lease and port", function () {
            fc.assert(
                fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 100 }), (leaseIndex, internalPort) => {
                    const { port } = portForward({ hostPublicIp: "203.0.113.7", leaseIndex, internalPort });
                    // The script forwards a..b of lease i, external a+k-1 to internal k.
                    const a = 9000 + leaseIndex * 100 + 1;
                    return port >= a && port <= a + 99 && port - a + 1 === internalPort;
                }),
            );
        });

        it("rejects ports outside the lease's range and bad addresses, naming the field", function () {
            assert.throws(
                () => portForward({ hostPublicIp: "203.0.113.7", leaseIndex: 0, internalPort: 0 }),
                /^Error: internalPort must be an integer from 1 to 100 \(got 0\)$/,
            );
            assert.throws(
                () => portForward({ hostPublicIp: "203.0.113.7", leaseIndex: 0, internalPort: 101 }),
                /^Error: internalPort must be an integer from 1 to 100 \(got 101\)$/,
            );
            assert.throws(
                () => portForward({ hostPublicIp: "203.0.113.7", leaseIndex: 0, internalPort: 443, portSize: 100 }),
                /internalPort must be an integer from 1 to 100/,
            );
            assert.throws(
                () => portForward({ hostPublicIp: "203.0.113.7", leaseIndex: -1, internalPort: 22 }),
                /^Error: leaseIndex must be an integer from 0 to/,
            );
            assert.throws(
                () => portForward({ hostPublicIp: "203.0.113.7", leaseIndex: 565, internalPort: 22 }),
                /^Error: leaseIndex must be an integer from 0 to 564 \(got 565\)$/,
            );
            assert.throws(
                () => portForward({ hostPublicIp: "droplet-1", leaseIndex: 0, internalPort: 22 }),
                /^Error: hostPublicIp must be an IPv4 address/,
            );
        });
    });

    describe("toStdin", function () {
        it("is the loader, one base64 line per variable (sorted), a separator, then the prelude once and the script", function () {
            const run: HostScript = { name: "x.sh", script: "#!/usr/bin/env bash\necho hi\n", environment: { B: "two words", A: "$(x)" } };
            const loader = fs.readFileSync(path.join(hostScriptsDir(), "env-loader.sh"), "utf8");
            const prelude = fs.readFileSync(path.join(hostScriptsDir(), "prelude.sh"), "utf8");
            const expected = `${loader}A=${Buffer.from("$(x)").toString("base64")}\nB=${Buffer.from("two words").toString("base64")}\n--\n${prelude}${run.script}`;
            assert.equal(toStdin(run), expected);
            assert.ok(!toStdin(run).includes("$(x)"), "values never appear as text");
        });
    });

    describe("hostScriptSequence", function () {
        it("lists the scripts in the order they must run", function () {
            const names = (forwarding: boolean) =>
                hostScriptSequence({
                    node: { hypervisor: "kvm" },
                    oneadminKey: { publicKey: KEY },
                    publicForwarding: forwarding ? { model: "portforward", uplink: "eth0" } : undefined,
                }).map((run) => run.name);
            assert.deepEqual(names(true), [
                "opennebula-repo.sh",
                "opennebula-node.sh",
                "oneadmin-key.sh",
                "sysctl.sh",
                "firewall.sh",
                "public-forwarding.sh",
            ]);
            assert.deepEqual(names(false), ["opennebula-repo.sh", "opennebula-node.sh", "oneadmin-key.sh", "sysctl.sh", "firewall.sh"]);
        });

        it("validates every part, naming the part and the field", function () {
            const valid = { node: { hypervisor: "kvm" as const }, oneadminKey: { publicKey: KEY } };
            assert.throws(
                () => hostScriptSequence({ ...valid, oneadminKey: { publicKey: "nope" } }),
                /^ConfigError: oneadminKey\.publicKey: must be one OpenSSH public key line/,
            );
            assert.throws(
                () => hostScriptSequence({ ...valid, node: { hypervisor: "xen" as never } }),
                /^ConfigError: node\.hypervisor: must be one of kvm, qemu, lxc \(got "xen"\)$/,
            );
            assert.throws(
                () => hostScriptSequence({ ...valid, repo: { version: "5.12" as never } }),
                /^ConfigError: repo\.version: must be one of 6\.10, 7\.0/,
            );
            assert.throws(
                () => hostScriptSequence({ ...valid, firewall: { mode: "x" as never } }),
                /^ConfigError: firewall\.mode: must be one of strict, open \(got "x"\)$/,
            );
            assert.throws(
                () =>
                    hostScriptSequence({
                        ...valid,
                        publicForwarding: { model: "nat", uplink: "eth0", pairs: [{ publicIp: "1.2.3.4", privateIp: "10.0.0.300" }] },
                    }),
                /^ConfigError: publicForwarding\.pairs\[0\]\.privateIp: must be an IPv4 address/,
            );
            assert.throws(
                () => hostScriptSequence({ node: { hypervisor: "kvm" } } as never),
                /^ConfigError: oneadminKey\.publicKey: must be one OpenSSH public key line/,
            );
        });
    });
});
