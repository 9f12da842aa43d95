/**
 * scripts/host/wireguard-install.sh and frr-install.sh, the install steps of the overlay
 * components, run for real where that needs no root and no network: an installed host installs
 * nothing, bad input is refused, a host without apt says what to do. (The packages themselves
 * are installed by `.ci/run` for the lab, which proves the daemons work.)
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { readHostScript } from "../../components/remote/host-script";

/** Runs a host script the way env-loader.sh does (`bash -c "<prelude><script>"`, values in the environment, stdin /dev/null). */
function runScript(name: string, env: Record<string, string>) {
    const result = spawnSync("/bin/bash", ["-c", readHostScript("prelude.sh") + readHostScript(name), "host-script"], {
        env,
        stdio: ["ignore", "pipe", "pipe"],
        encoding: "utf8",
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A directory of stub executables that only print their name. */
function stubs(dir: string, names: string[]): string {
    fs.mkdirSync(dir, { recursive: true });
    for (const name of names) {
        fs.writeFileSync(path.join(dir, name), `#!/bin/sh\necho "${name} was run" >&2\nexit 99\n`, { mode: 0o755 });
    }
    return dir;
}

describe("overlay install scripts", function () {
    let dir: string;

    beforeEach(function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "overlay-install-"));
    });

    afterEach(function () {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    describe("wireguard-install.sh", function () {
        it("installs nothing (and runs no apt-get) when wg and ip are there", function () {
            const bin = stubs(path.join(dir, "bin"), ["wg", "ip", "apt-get"]);
            const result = runScript("wireguard-install.sh", { PATH: bin });
            assert.equal(result.code, 0, result.stderr);
            assert.equal(result.stdout, "wireguard-install.sh: WireGuard tools already installed\n");
            assert.equal(result.stderr, "", "no stub was run");
        });

        it("wants wireguard-go too for userspace WireGuard, and says what is missing when there is no apt-get", function () {
            const bin = stubs(path.join(dir, "bin"), ["wg", "ip"]);
            const result = runScript("wireguard-install.sh", { PATH: bin, WG_INSTALL_USERSPACE: "1" });
            assert.equal(result.code, 1);
            assert.match(
                result.stderr,
                /^wireguard-install\.sh: missing wireguard-go and no apt-get to install them; install them first$/m,
            );
            const none = runScript("wireguard-install.sh", { PATH: path.join(dir, "empty") });
            assert.match(none.stderr, /missing wireguard-tools iproute2 and no apt-get/);
        });

        it("refuses a bad WG_INSTALL_USERSPACE", function () {
            const result = runScript("wireguard-install.sh", { PATH: dir, WG_INSTALL_USERSPACE: "yes" });
            assert.equal(result.code, 1);
            assert.match(result.stderr, /WG_INSTALL_USERSPACE must be 0 or 1 \(got 'yes'\)/);
        });
    });

    describe("frr-install.sh", function () {
        it("installs nothing (and runs no apt-get) when zebra, bgpd and frr-reload.py are there", function () {
            const sbin = stubs(path.join(dir, "frr"), ["zebra", "bgpd", "frr-reload.py"]);
            const bin = stubs(path.join(dir, "bin"), ["apt-get", "curl"]);
            const result = runScript("frr-install.sh", { PATH: bin, FRR_SBIN_DIR: sbin, FRR_SOURCE: "frrouting" });
            assert.equal(result.code, 0, result.stderr);
            assert.equal(result.stdout, `frr-install.sh: FRR already installed (${sbin}/bgpd, ${sbin}/frr-reload.py)\n`);
            assert.equal(result.stderr, "");
        });

        it("says what to do on a host without FRR and without apt-get", function () {
            const result = runScript("frr-install.sh", { PATH: path.join(dir, "empty"), FRR_SBIN_DIR: path.join(dir, "none") });
            assert.equal(result.code, 1);
            assert.match(
                result.stderr,
                /FRR is not installed and there is no apt-get to install it; install frr and frr-pythontools first/,
            );
        });

        it("refuses an unknown source or a channel that is no channel, before anything else", function () {
            const sbin = stubs(path.join(dir, "frr"), ["zebra", "bgpd"]);
            const source = runScript("frr-install.sh", { PATH: dir, FRR_SBIN_DIR: sbin, FRR_SOURCE: "ppa" });
            assert.equal(source.code, 1);
            assert.match(source.stderr, /FRR_SOURCE must be distribution or frrouting \(got 'ppa'\)/);
            const channel = runScript("frr-install.sh", { PATH: dir, FRR_SBIN_DIR: sbin, FRR_CHANNEL: "frr-stable main" });
            assert.equal(channel.code, 1);
            assert.match(channel.stderr, /FRR_CHANNEL must be frr-stable or a release line/);
        });
    });
});
