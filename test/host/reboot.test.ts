/**
 * What a host script sets survives a reboot, with no `pulumi up`. An edge host ("host": sysctls,
 * strict firewall, routed public forwarding, WireGuard) and a hub ("hub": WireGuard with IPv4
 * forwarding) are configured by the package's scripts, which also write their boot units (to the
 * real paths, inside each namespace's private /etc). Then both "reboot": every process the scripts
 * started is killed and the runtime state is flushed (iptables, routes, proxy entries, the links the
 * scripts created, sysctls back to a fresh kernel's); then exactly what boot runs is run: the
 * sysctl.d file (systemd-sysctl) and the ExecStart lines of the enabled opennebula-edge units, in
 * their After= order. The state must equal the state before, and a client on the "internet" must
 * reach the VM again.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import { firewallScript, publicForwardingScript, sysctlScript } from "../../components/edge/host-scripts";
import type { HostScript } from "../../components/remote/host-script";
import { readHostScript } from "../../components/remote/host-script";
import type { BootUnit } from "../../scripts/lab/boot";
import { bootOrder } from "../../scripts/lab/boot";
import { Lab, connect, exec, files, killProcesses, must, mustExec, mustRunScript, netnsSkipReason, hasCommand, snapshot } from "./netns";

const UNIT_DIR = "/etc/systemd/system";
const VM_IP = "198.51.100.10";

function wireguardUp(environment: Record<string, string>): HostScript {
    return { name: "wireguard-up.sh", script: readHostScript("wireguard-up.sh"), environment: { BOOT_UNITS: "yes", ...environment } };
}

function wireguardConfig(peerKey: string, peerAddress: string, endpoint: string): string {
    return `[Interface]\nListenPort = 51820\n\n[Peer]\nPublicKey = ${peerKey}\nAllowedIPs = ${peerAddress}/32\nEndpoint = ${endpoint}:51820\n`;
}

/** The unit files enabled in `ns`, in an order that respects their After= lines among themselves. */
function enabledUnits(ns: string): BootUnit[] {
    const names = mustExec(ns, ["sh", "-c", `ls ${UNIT_DIR}/multi-user.target.wants | grep '^opennebula-edge-' || true`])
        .split("\n")
        .filter(Boolean);
    return bootOrder(Object.fromEntries(names.map((name) => [name, mustExec(ns, ["cat", `${UNIT_DIR}/${name}`])])));
}

/** A fresh kernel's state: no processes, no rules, no routes or proxy entries of ours, no links the scripts made. */
function powerOff(ns: string, links: string[]): void {
    killProcesses(ns);
    for (const tool of ["iptables", "ip6tables"]) {
        // Only the tables that exist: a fresh kernel has none loaded.
        const tables = mustExec(ns, [`${tool}-save`])
            .split("\n")
            .filter((line) => line.startsWith("*"))
            .map((line) => line.slice(1));
        for (const table of tables) {
            mustExec(ns, [tool, "-t", table, "-F"]);
            mustExec(ns, [tool, "-t", table, "-X"]);
        }
        if (tables.includes("filter")) mustExec(ns, [tool, "-P", "FORWARD", "ACCEPT"]);
    }
    for (const link of links) exec(ns, ["ip", "link", "del", link]);
    mustExec(ns, ["ip", "route", "flush", "proto", "233"]);
    mustExec(ns, ["ip", "neigh", "flush", "proxy"]);
    for (const key of ["net.ipv4.ip_forward=0", "net.ipv4.conf.all.proxy_arp=0"]) mustExec(ns, ["sysctl", "-q", "-w", key]);
}

/** What systemd would run at boot: systemd-sysctl, then our units' ExecStart lines. */
function boot(ns: string): string[] {
    mustExec(ns, ["sh", "-c", 'for file in /etc/sysctl.d/*.conf; do [ -e "$file" ] && sysctl -q -p "$file"; done; true']);
    const ran: string[] = [];
    for (const unit of enabledUnits(ns)) {
        for (const argv of unit.execStart) mustExec(ns, argv, { timeout: 60_000 });
        ran.push(unit.name);
    }
    return ran;
}

function wireguardState(ns: string): string {
    // Keys, port, peers, endpoints and allowed IPs; not the handshake time and counters.
    return mustExec(ns, ["wg", "show", "wg0", "dump"])
        .split("\n")
        .filter(Boolean)
        .map((line) => {
            const fields = line.split("\t");
            return fields.length === 4 ? fields.slice(1, 3).join(" ") : [fields[0], fields[2], fields[3]].join(" ");
        })
        .join("\n");
}

async function reachable(ns: string, address: string): Promise<boolean> {
    for (let attempt = 0; attempt < 20; attempt++) {
        if (exec(ns, ["ping", "-c1", "-W1", address]).status === 0) return true;
    }
    return false;
}

describe("boot units bring a rebooted host back (namespaces)", function () {
    this.timeout(240_000);
    let lab: Lab;

    before(function () {
        const reason =
            netnsSkipReason() ??
            (["wg", "wireguard-go", "ping"].every(hasCommand) ? undefined : "needs wireguard-tools, wireguard-go and ping");
        if (reason !== undefined) {
            console.log(`      skipped: reboot test ${reason}`);
            this.skip();
        }
        lab = new Lab();
    });

    after(function () {
        lab?.destroy();
    });

    it("firewall, public forwarding, WireGuard and the hub's forwarding come back; the VM is reachable again", async function () {
        const client = lab.namespace("rbcli");
        const host = lab.namespace("rbhost");
        const hub = lab.namespace("rbhub");
        const vm = lab.namespace("rbvm");
        lab.link({ ns: client, dev: "cli0", address: "198.51.100.1/24" }, { ns: host, dev: "up0", address: "198.51.100.2/24" });
        must("ip", ["-n", host, "route", "add", "default", "via", "198.51.100.1"]);
        lab.link({ ns: hub, dev: "under0", address: "10.200.0.1/24" }, { ns: host, dev: "under0", address: "10.200.0.2/24" });

        mustRunScript(host, sysctlScript({ bridgeNetfilter: false }));
        mustRunScript(host, firewallScript({ trustedSources: ["10.200.0.0/24", "192.168.0.0/24"] }));
        mustRunScript(host, publicForwardingScript({ model: "routed", uplink: "up0", publicIps: [VM_IP] }));
        const hostKey = mustRunScript(host, wireguardUp({ WG_KEY_ONLY: "1" })).trim();
        const hubKey = mustRunScript(hub, wireguardUp({ WG_KEY_ONLY: "1" })).trim();
        const configured = mustRunScript(
            host,
            wireguardUp({ WG_ADDRESS: "192.168.0.2/24", WG_CONFIG: wireguardConfig(hubKey, "192.168.0.1", "10.200.0.1") }),
        );
        assert.equal(configured, `${hostKey}\n`, "stdout carries only the public key, as the components and the lab read it");
        mustRunScript(
            hub,
            wireguardUp({
                WG_ADDRESS: "192.168.0.1/24",
                WG_IP_FORWARD: "1",
                WG_CONFIG: wireguardConfig(hostKey, "192.168.0.2", "10.200.0.2"),
            }),
        );

        const attachVm = () => {
            must("ip", ["-n", host, "link", "set", "vmport", "master", "br0"]);
        };
        lab.link({ ns: host, dev: "vmport" }, { ns: vm, dev: "eth0", address: `${VM_IP}/31` });
        attachVm();
        must("ip", ["-n", vm, "route", "add", "default", "via", "198.51.100.11"]);
        await lab.serve(vm, [22], "vm");
        assert.equal(connect(client, VM_IP, 22), `vm ${VM_IP}:22 from 198.51.100.1`);
        assert.ok(await reachable(host, "192.168.0.1"), "WireGuard works before the reboot");

        // Nothing secret where it should not be: the key and the full config are root-only; the replay has no key.
        const privateKey = mustExec(host, ["cat", "/etc/wireguard/wg0.key"]).trim();
        const written = files(host, ["/etc/wireguard", "/etc/opennebula-edge", UNIT_DIR]);
        assert.match(written, /^600 root \/etc\/wireguard\/wg0\.key /m);
        assert.match(written, /^600 root \/etc\/wireguard\/wg0\.conf /m);
        for (const unit of ["firewall", "public-forwarding", "wireguard-wg0"]) {
            assert.match(written, new RegExp(`^700 root /etc/opennebula-edge/boot/${unit}\\.sh `, "m"));
            assert.match(written, new RegExp(`^644 root ${UNIT_DIR}/opennebula-edge-${unit}\\.service `, "m"));
            assert.match(
                written,
                new RegExp(
                    `^777 root ${UNIT_DIR}/multi-user\\.target\\.wants/opennebula-edge-${unit}\\.service -> ${UNIT_DIR}/opennebula-edge-${unit}\\.service$`,
                    "m",
                ),
            );
        }
        assert.ok(
            !mustExec(host, ["cat", "/etc/opennebula-edge/boot/wireguard-wg0.sh"]).includes(privateKey),
            "the replay holds no private key",
        );

        const hostBefore = snapshot(host);
        const hubBefore = snapshot(hub);
        const wireguardBefore = [wireguardState(host), wireguardState(hub)];

        powerOff(host, ["br0", "wg0"]);
        powerOff(hub, ["wg0"]);
        assert.notEqual(snapshot(host), hostBefore, "the reboot did flush the host");
        assert.match(connect(client, VM_IP, 22), /^ERR /, "the VM is unreachable while the host is down");

        assert.deepEqual(boot(host), [
            "opennebula-edge-firewall.service",
            "opennebula-edge-public-forwarding.service",
            "opennebula-edge-wireguard-wg0.service",
        ]);
        assert.deepEqual(boot(hub), ["opennebula-edge-wireguard-wg0.service"]);
        // OpenNebula puts the VM's port back on the bridge when it resumes the VM.
        attachVm();

        assert.equal(snapshot(host), hostBefore, "the host's rules, routes, proxy entries, links and sysctls are back");
        assert.equal(snapshot(hub), hubBefore, "the hub's forwarding is back");
        assert.deepEqual([wireguardState(host), wireguardState(hub)], wireguardBefore);
        assert.equal(connect(client, VM_IP, 22), `vm ${VM_IP}:22 from 198.51.100.1`, "the VM is reachable from the internet again");
        assert.ok(await reachable(host, "192.168.0.1"), "WireGuard works after the reboot");
        assert.match(connect(client, "198.51.100.2", 16509), /^ERR /, "and the firewall is back");
    });

    it("on a running systemd, a new or changed unit is followed by one daemon-reload; an unchanged one by none", function () {
        const host = lab.namespace("rbsd");
        const stubs = lab.tempDir();
        const calls = `${stubs}/calls`;
        fs.writeFileSync(`${stubs}/systemctl`, `#!/bin/sh\necho "$*" >> "${calls}"\n`, { mode: 0o755 });
        mustExec(host, ["mkdir", "-p", "/run/systemd/system"]);
        const environment = { PATH: `${stubs}:${process.env.PATH}` };
        const recorded = () => (fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : "");
        mustRunScript(host, firewallScript(), environment);
        assert.equal(recorded(), "daemon-reload\n");
        mustRunScript(host, firewallScript(), environment);
        assert.equal(recorded(), "daemon-reload\n", "nothing changed, nothing reloaded");
        mustRunScript(host, firewallScript({ extraPorts: [{ port: 443 }] }), environment);
        assert.equal(recorded(), "daemon-reload\n", "new inputs change the replay, not the unit: no reload needed");
        mustRunScript(host, firewallScript(), { ...environment, ACTION: "delete" });
        assert.equal(recorded(), "daemon-reload\ndaemon-reload\n", "removing the unit reloads");
    });
});
