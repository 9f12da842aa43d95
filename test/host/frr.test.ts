/**
 * frr-apply.sh on a real FRR: two namespaces (a route reflector and a client), each with its own
 * FRR started by the script itself (FRR_SERVICE=direct) in the namespace's private mount namespace
 * (/etc/frr, /run/frr and /var/log/frr are its own). A configuration change is applied without
 * restarting bgpd, so the existing session keeps its uptime; a configuration bgpd refuses fails
 * the script with FRR's message and leaves the running configuration as it was; a retry fails
 * again instead of reporting "unchanged"; delete puts the host back as it was.
 */
import { strict as assert } from "assert";
import type { HostScript } from "../../components/remote/host-script";
import { readHostScript } from "../../components/remote/host-script";
import { renderClientBgpdConf, renderDaemonsFile, renderReflectorBgpdConf, renderZebraConf } from "../../components/overlay/frr-config";
import { Lab, files, hasCommand, mustExec, mustRunScript, netnsSkipReason, runScript } from "./netns";

const REFLECTOR = "10.9.0.1";
const CLIENT = "10.9.0.2";

function frrApply(hostname: string, bgpdConf: string, extra: Record<string, string> = {}): HostScript {
    return {
        name: "frr-apply.sh",
        script: readHostScript("frr-apply.sh"),
        environment: {
            FRR_BGPD_CONF: bgpdConf,
            FRR_ZEBRA_CONF: renderZebraConf({ hostname, log: "stdout" }),
            FRR_DAEMONS: renderDaemonsFile(),
            FRR_SERVICE: "direct",
            ...extra,
        },
    };
}

function reflectorConf(clients: string[]): string {
    return renderReflectorBgpdConf({ hostname: "rr", routerId: REFLECTOR, clients, log: "stdout" });
}

interface Neighbor {
    state: string;
    /** How long the session has been up. */
    upMs: number;
    /** Sessions established and dropped so far: a reset raises both. */
    established: number;
    dropped: number;
}

function neighbor(ns: string, address: string): Neighbor {
    const json = JSON.parse(mustExec(ns, ["vtysh", "-c", `show bgp neighbors ${address} json`]))[address];
    return {
        state: json?.bgpState,
        upMs: json?.bgpTimerUpMsec,
        established: json?.connectionsEstablished,
        dropped: json?.connectionsDropped,
    };
}

/** The session is the same one: not re-established, not dropped, and its uptime kept growing. */
function assertSameSession(now: Neighbor, before: Neighbor, message: string): void {
    assert.equal(now.state, "Established", message);
    assert.deepEqual([now.established, now.dropped], [before.established, before.dropped], `${message}: no reset`);
    assert.ok(now.upMs > before.upMs, `${message}: uptime ${now.upMs} ms after ${before.upMs} ms`);
}

async function waitForEstablished(ns: string, address: string): Promise<Neighbor> {
    for (let attempt = 0; attempt < 150; attempt++) {
        const state = neighbor(ns, address);
        if (state.state === "Established") return state;
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${ns}: no session with ${address} after 30 s (${JSON.stringify(neighbor(ns, address))})`);
}

function replaceOrThrow(text: string, from: string, to: string): string {
    if (!text.includes(from)) throw new Error(`the rendered configuration has no "${from}"`);
    return text.replace(from, to);
}

function runningConfig(ns: string): string {
    return mustExec(ns, ["vtysh", "-c", "show running-config"]);
}

function pidOf(ns: string, daemon: string): string {
    return mustExec(ns, ["cat", `/run/frr/${daemon}.pid`]).trim();
}

describe("frr-apply.sh on a real FRR (namespaces)", function () {
    this.timeout(180_000);
    let lab: Lab;
    let rr: string;
    let client: string;

    before(function () {
        const reason =
            netnsSkipReason() ??
            (["vtysh", "/usr/lib/frr/bgpd", "/usr/lib/frr/zebra", "/usr/lib/frr/frr-reload.py"].find((tool) => !hasCommand(tool)) ===
            undefined
                ? undefined
                : "needs FRR (frr and frr-pythontools: vtysh, bgpd, zebra, frr-reload.py)");
        if (reason !== undefined) {
            console.log(`      skipped: FRR namespace tests ${reason}`);
            this.skip();
        }
        lab = new Lab();
        rr = lab.namespace("frrrr");
        client = lab.namespace("frrcli");
        lab.link({ ns: rr, dev: "wg0", address: `${REFLECTOR}/24` }, { ns: client, dev: "wg0", address: `${CLIENT}/24` });
    });

    after(function () {
        lab?.destroy();
    });

    it("adds a neighbour without resetting the existing session; the daemons keep running", async function () {
        const before = files(rr, ["/etc/frr"]);
        mustRunScript(
            client,
            frrApply("kvm1", renderClientBgpdConf({ hostname: "kvm1", routerId: CLIENT, reflectors: [REFLECTOR], log: "stdout" })),
        );
        const first = mustRunScript(rr, frrApply("rr", reflectorConf([CLIENT])));
        assert.match(first, /wrote \/etc\/frr\/bgpd\.conf\n.*started zebra bgpd/s, "the daemons start with the checked files");
        const up = await waitForEstablished(rr, CLIENT);
        const pids = [pidOf(rr, "zebra"), pidOf(rr, "bgpd")];

        const second = mustRunScript(rr, frrApply("rr", reflectorConf([CLIENT, "10.9.0.3"])));
        assert.match(second, /applied bgpd without restarting it/);
        assert.match(runningConfig(rr), /neighbor 10\.9\.0\.3 peer-group fabric/, "the new neighbour runs");
        assertSameSession(neighbor(rr, CLIENT), up, "the existing session");
        console.log(`      session uptime before the change ${up.upMs} ms, after ${neighbor(rr, CLIENT).upMs} ms`);
        assert.deepEqual([pidOf(rr, "zebra"), pidOf(rr, "bgpd")], pids, "no daemon was restarted");

        assert.match(mustRunScript(rr, frrApply("rr", reflectorConf([CLIENT, "10.9.0.3"]))), /unchanged/, "a re-run changes nothing");
        assert.notEqual(files(rr, ["/etc/frr"]), before);
    });

    it("a configuration bgpd refuses fails with FRR's message, keeps the running one, and a retry does not say unchanged", async function () {
        const good = reflectorConf([CLIENT, "10.9.0.3"]);
        mustRunScript(rr, frrApply("rr", good));
        const running = runningConfig(rr);
        const up = await waitForEstablished(rr, CLIENT);
        const file = mustExec(rr, ["cat", "/etc/frr/bgpd.conf"]);

        // Refused by bgpd's own parser: no such command.
        const syntax = runScript(
            rr,
            frrApply("rr", replaceOrThrow(good, " neighbor fabric remote-as 65000", " neighbor fabric remote-az 65000")),
        );
        assert.notEqual(syntax.status, 0);
        assert.match(syntax.stderr, /bgpd refuses the new configuration/);
        assert.match(syntax.stderr, /(Config Failed|No such command) on config line \d+: +neighbor fabric remote-az 65000/);

        // Valid commands bgpd cannot apply: a neighbour in a peer-group that does not exist.
        const broken = replaceOrThrow(good, "neighbor 10.9.0.3 peer-group fabric", "neighbor 10.9.0.3 peer-group nosuchgroup");
        for (const attempt of ["first", "retry"]) {
            const result = runScript(rr, frrApply("rr", broken));
            assert.notEqual(result.status, 0, `${attempt} fails`);
            assert.doesNotMatch(result.stdout, /unchanged/, `${attempt} does not report unchanged`);
            assert.match(
                result.stderr,
                /Configure the peer-group first|Config Failed on config line/,
                `${attempt}: FRR's own message\n${result.stderr}`,
            );
        }
        assert.equal(runningConfig(rr), running, "the running configuration is the one before");
        assert.equal(mustExec(rr, ["cat", "/etc/frr/bgpd.conf"]), file, "the file keeps the last applied configuration");
        // bgpTimerUpMsec counts whole seconds: let one pass, so a kept session shows a longer uptime.
        await new Promise((resolve) => setTimeout(resolve, 1100));
        assertSameSession(neighbor(rr, CLIENT), up, "the session during the failed attempts");
        assert.match(mustRunScript(rr, frrApply("rr", good)), /unchanged/);
    });

    it("picks up a change made behind its back: the check compares with what runs, not with the file", function () {
        const good = reflectorConf([CLIENT, "10.9.0.3"]);
        mustExec(rr, ["vtysh", "-c", "configure terminal", "-c", "router bgp 65000", "-c", "no neighbor 10.9.0.3"]);
        assert.match(mustRunScript(rr, frrApply("rr", good)), /applied bgpd/);
        assert.match(runningConfig(rr), /neighbor 10\.9\.0\.3 peer-group fabric/);
    });

    it("checks a daemon's file with the daemon only when it changed (a re-run or a start with the same files starts no check)", function () {
        const good = reflectorConf([CLIENT, "10.9.0.3"]);
        mustRunScript(rr, frrApply("rr", good));
        // FRR_SBIN_DIR of wrappers that log each call and run the real program.
        const sbin = mustExec(rr, ["mktemp", "-d"]).trim();
        const log = `${sbin}/calls.log`;
        for (const program of ["zebra", "bgpd", "frr-reload.py"]) {
            const wrapper = `#!/bin/sh\necho "${program} $*" >> ${log}\nexec /usr/lib/frr/${program} "$@"\n`;
            mustExec(rr, ["sh", "-c", 'cat > "$1" && chmod +x "$1"', "sh", `${sbin}/${program}`], { input: wrapper });
        }
        const checks = () =>
            mustExec(rr, ["sh", "-c", `grep -E '^(zebra|bgpd) .*-C' ${log} | cut -d' ' -f1 || true`])
                .trim()
                .split("\n")
                .filter(Boolean);
        try {
            assert.match(mustRunScript(rr, frrApply("rr", good, { FRR_SBIN_DIR: sbin })), /unchanged/);
            assert.deepEqual(checks(), [], "unchanged files: no daemon ran a check");
            mustRunScript(rr, frrApply("rr", reflectorConf([CLIENT]), { FRR_SBIN_DIR: sbin }));
            assert.deepEqual(checks(), ["bgpd"], "only the changed bgpd.conf was checked");
            assert.doesNotMatch(runningConfig(rr), /neighbor 10\.9\.0\.3 /);
        } finally {
            mustExec(rr, ["rm", "-rf", sbin]);
        }
    });

    it("delete stops the daemons it started and leaves /etc/frr as before", function () {
        const host = lab.namespace("frrdel");
        const before = files(host, ["/etc/frr"]);
        mustRunScript(host, frrApply("del", reflectorConf([CLIENT])));
        assert.ok(pidOf(host, "bgpd"));
        mustRunScript(host, frrApply("del", reflectorConf([CLIENT])), { ACTION: "delete" });
        assert.equal(files(host, ["/etc/frr"]), before);
        assert.equal(mustExec(host, ["sh", "-c", "pgrep -x bgpd -n --ns $$ || true"]).trim(), "", "bgpd is gone");
        assert.equal(files(host, ["/var/lib/opennebula-edge", "/run/frr/opennebula-edge"]), "", "nothing remembered is left");
    });
});
