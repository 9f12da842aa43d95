/**
 * Every host script that changes a host has an undo: create, then delete (ACTION=delete, same
 * standard input as the create, as `remote.Command` sends it), leaves the host as it was before:
 * iptables, routes, proxy entries, links, addresses, the sysctls the scripts set, and the files
 * they wrote (the namespace's own /etc and /var). Updates remove exactly what is no longer asked for.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    firewallScript,
    oneadminKeyScript,
    opennebulaRepoScript,
    publicForwardingScript,
    sysctlScript,
} from "../../components/edge/host-scripts";
import type { HostScript } from "../../components/remote/host-script";
import { readHostScript } from "../../components/remote/host-script";
import { Lab, files, hasCommand, must, mustExec, mustRunScript, netnsSkipReason, run, snapshot } from "./netns";

const WATCHED = [
    "/etc/systemd/system",
    "/etc/opennebula-edge",
    "/etc/sysctl.d",
    "/etc/modules-load.d",
    "/etc/wireguard",
    "/var/lib/opennebula-edge",
];
const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHpJgVSGsvRr0s0aGm2f6gX4b8I2XRvC7e0jGz5y7P1x oneadmin@front-end";

function state(ns: string): string {
    return `${snapshot(ns)}\n## files\n${files(ns, WATCHED)}`;
}

function wireguardUp(environment: Record<string, string>): HostScript {
    return { name: "wireguard-up.sh", script: readHostScript("wireguard-up.sh"), environment: { BOOT_UNITS: "yes", ...environment } };
}

/** Runs `script` as its delete: the same input plus ACTION=delete. */
function undo(ns: string, script: HostScript): string {
    return mustRunScript(ns, script, { ACTION: "delete" });
}

describe("delete undoes create (namespaces)", function () {
    this.timeout(180_000);
    let lab: Lab;
    let host: string;

    before(function () {
        const reason = netnsSkipReason();
        if (reason !== undefined) {
            console.log(`      skipped: delete tests ${reason}`);
            this.skip();
        }
    });

    beforeEach(function () {
        lab = new Lab();
        host = lab.namespace("delhost");
        const client = lab.namespace("delcli");
        lab.link({ ns: client, dev: "cli0", address: "198.51.100.1/24" }, { ns: host, dev: "up0", address: "198.51.100.2/24" });
    });

    afterEach(function () {
        lab?.destroy();
    });

    it("sysctl, firewall, public forwarding and WireGuard: create then delete leaves the host as before", function () {
        if (!hasCommand("wg") || !hasCommand("wireguard-go")) this.skip();
        // A FORWARD policy of DROP before: the firewall sets ACCEPT and must put DROP back.
        mustExec(host, ["iptables", "-P", "FORWARD", "DROP"]);
        const before = state(host);

        const scripts: HostScript[] = [
            sysctlScript({ bridgeNetfilter: false, proxyArp: true }),
            firewallScript({ trustedSources: ["10.0.0.0/8"], extraPorts: [{ port: 8080 }] }),
            publicForwardingScript({ model: "routed", uplink: "up0", publicIps: ["198.51.100.10", "198.51.100.12"] }),
            wireguardUp({ WG_KEY_ONLY: "1" }),
            wireguardUp({ WG_ADDRESS: "192.168.0.2/24", WG_IP_FORWARD: "1", WG_CONFIG: "[Interface]\nListenPort = 51820\n" }),
        ];
        for (const script of scripts) mustRunScript(host, script);
        const created = state(host);
        assert.notEqual(created, before);
        for (const expected of [
            "-A INPUT -j ONE-EDGE-INPUT",
            "198.51.100.10 dev br0 proto 233",
            "wg0",
            "opennebula-edge-firewall.service",
            "/etc/wireguard/wg0.key",
        ]) {
            assert.ok(created.includes(expected), `created: ${expected}`);
        }

        for (const script of [...scripts].reverse()) undo(host, script);
        assert.equal(state(host), before);
        // A second delete finds nothing to do and succeeds.
        for (const script of [...scripts].reverse()) undo(host, script);
        assert.equal(state(host), before);
    });

    it("public forwarding update: one NAT pair fewer removes exactly that pair's routes, proxy entries and rules", function () {
        mustRunScript(host, sysctlScript({ bridgeNetfilter: false }));
        const pairs = [
            { publicIp: "203.0.113.50", privateIp: "172.16.5.10" },
            { publicIp: "203.0.113.51", privateIp: "172.16.5.12" },
        ];
        mustRunScript(host, publicForwardingScript({ model: "nat", uplink: "up0", pairs }));
        const two = snapshot(host).split("\n");
        mustRunScript(host, publicForwardingScript({ model: "nat", uplink: "up0", pairs: [pairs[0]] }));
        const one = snapshot(host).split("\n");
        const removed = two.filter((line) => !one.includes(line));
        assert.deepEqual(
            one.filter((line) => !two.includes(line)),
            [],
            "nothing added",
        );
        assert.deepEqual(removed.sort(), [
            "-A ONE-EDGE-POSTROUTING -s 172.16.5.12/32 -o up0 -j SNAT --to-source 203.0.113.51",
            "-A ONE-EDGE-PREROUTING -d 203.0.113.51/32 -j DNAT --to-destination 172.16.5.12",
            "172.16.5.12 dev br0 proto 233 scope link",
            "172.16.5.13 dev br0 proxy proto 233",
            "203.0.113.51 dev br0 proto 233 scope link",
            "203.0.113.51 dev up0 proxy proto 233",
        ]);
    });

    it("a bridge with a port still on it is kept by delete, and said so", function () {
        mustRunScript(host, sysctlScript({ bridgeNetfilter: false }));
        const script = publicForwardingScript({ model: "routed", uplink: "up0", publicIps: ["198.51.100.10"] });
        mustRunScript(host, script);
        const vm = lab.namespace("delvm");
        lab.link({ ns: host, dev: "vmport" }, { ns: vm, dev: "eth0" });
        must("ip", ["-n", host, "link", "set", "vmport", "master", "br0"]);
        assert.match(undo(host, script), /kept bridge br0: ports are still attached to it/);
        assert.equal(run("ip", ["-n", host, "route", "show", "proto", "233"]).stdout, "", "the routes are gone all the same");
    });

    it("oneadmin-key.sh and opennebula-repo.sh: delete removes what create added, and only that", function () {
        const root = lab.tempDir();
        const write = (file: string, content: string, mode = 0o644) => {
            fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
            fs.writeFileSync(path.join(root, file), content, { mode });
        };
        write("etc/os-release", 'ID=ubuntu\nVERSION_ID="24.04"\n');
        write("etc/ssh/sshd_config", "Port 22\n");
        write("etc/apt/keyrings/opennebula.gpg", "someone else's keyring");
        const other = KEY.replace("AAAAC3NzaC1lZDI1NTE5AAAAIHpJ", "AAAAC3NzaC1lZDI1NTE5AAAAIOTH").replace("oneadmin@front-end", "other");
        write("var/lib/one/.ssh/authorized_keys", `${other}\n`, 0o600);
        const listing = () => must("sh", ["-c", `cd "${root}" && find . -type f -printf '%p %m ' -exec sha256sum {} \\; | sort`]);
        const before = listing();

        const scripts = [oneadminKeyScript({ publicKey: KEY }), opennebulaRepoScript({ version: "7.0" })];
        for (const script of scripts) mustRunScript(host, script, { HOST_ROOT: root });
        assert.notEqual(listing(), before);
        assert.equal(fs.readFileSync(path.join(root, "var/lib/one/.ssh/authorized_keys"), "utf8"), `${other}\n${KEY}\n`);
        for (const script of [...scripts].reverse()) mustRunScript(host, script, { HOST_ROOT: root, ACTION: "delete" });
        assert.equal(listing(), before, "the keyring that was there before is kept, the key line and sshd block are gone");
    });
});
