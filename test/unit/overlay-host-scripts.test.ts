/**
 * scripts/host/wireguard-up.sh and frr-apply.sh, run for real where that needs no root and no
 * network namespace: key handling, input checks, file writing and idempotence. The full
 * behaviour (interfaces, daemons) is proven by the lab tests.
 */
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderClientBgpdConf, renderDaemonsFile, renderZebraConf } from "../../components/overlay/frr-config";

const SCRIPTS = path.resolve(
    __dirname,
    "..",
    "..",
    fs.existsSync(path.resolve(__dirname, "..", "..", "scripts", "host")) ? "" : "..",
    "scripts",
    "host",
);
const WIREGUARD = path.join(SCRIPTS, "wireguard-up.sh");
const FRR = path.join(SCRIPTS, "frr-apply.sh");
const PRELUDE = path.join(SCRIPTS, "prelude.sh");

/** Runs a script the way env-loader.sh does: `bash -c "<prelude><script text>"`, values only in the environment, stdin /dev/null. */
function runScript(file: string, env: Record<string, string>) {
    const result = spawnSync("bash", ["-c", fs.readFileSync(PRELUDE, "utf8") + fs.readFileSync(file, "utf8"), "host-script"], {
        env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...env },
        stdio: ["ignore", "pipe", "pipe"],
        encoding: "utf8",
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function commandExists(command: string): boolean {
    return spawnSync("bash", ["-c", 'command -v "$1"', "probe", command]).status === 0;
}

describe("overlay host scripts", function () {
    let dir: string;

    beforeEach(function () {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "overlay-host-"));
    });

    afterEach(function () {
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("are bash scripts that load the strict prelude", function () {
        for (const file of [WIREGUARD, FRR]) {
            const text = fs.readFileSync(file, "utf8");
            assert.ok(text.startsWith("#!/usr/bin/env bash\n"), file);
            assert.match(text, /^declare -F die >\/dev\/null \|\| source "\$\(dirname "\$\{BASH_SOURCE\[0\]\}"\)\/prelude\.sh"$/m, file);
            assert.ok((fs.statSync(file).mode & 0o111) !== 0, `${file} is executable`);
        }
        assert.match(fs.readFileSync(PRELUDE, "utf8"), /^set -euo pipefail$/m);
    });

    it("are shellcheck clean", function () {
        this.timeout(30_000);
        if (!commandExists("shellcheck")) {
            this.skip();
        }
        execFileSync("shellcheck", ["--external-sources", WIREGUARD, FRR], { stdio: "pipe", cwd: SCRIPTS });
    });

    describe("wireguard-up.sh", function () {
        it("generates the private key on the host (0600) and prints only the public key, the same on every run", function () {
            if (!commandExists("wg")) {
                this.skip();
            }
            const env = { WG_KEY_ONLY: "1", WG_CONFIG_DIR: path.join(dir, "wireguard") };
            const first = runScript(WIREGUARD, env);
            assert.equal(first.code, 0, first.stderr);
            const keyFile = path.join(dir, "wireguard", "wg0.key");
            assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
            const privateKey = fs.readFileSync(keyFile, "utf8").trim();
            const publicKey = execFileSync("wg", ["pubkey"], { input: `${privateKey}\n`, encoding: "utf8" }).trim();
            assert.equal(first.stdout, `${publicKey}\n`);
            assert.ok(!first.stdout.includes(privateKey) && !first.stderr.includes(privateKey));
            const second = runScript(WIREGUARD, env);
            assert.equal(second.stdout, first.stdout, "the key is kept");
        });

        it("refuses a config that carries a PrivateKey, without echoing it", function () {
            const secret = "cGxlYXNlLWRvLW5vdC1wcmludC10aGlzLWtleS0wMDA=";
            const result = runScript(WIREGUARD, {
                WG_CONFIG: `[Interface]\nPrivateKey = ${secret}\n`,
                WG_ADDRESS: "192.168.0.2/24",
                WG_CONFIG_DIR: dir,
            });
            assert.notEqual(result.code, 0);
            assert.match(result.stderr, /WG_CONFIG must not contain PrivateKey/);
            assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret));
            assert.deepEqual(fs.readdirSync(dir), [], "nothing was written");
        });

        it("checks its inputs before touching anything, naming the variable", function () {
            const config = "[Interface]\nListenPort = 51820\n";
            const cases: [Record<string, string>, RegExp][] = [
                [{ WG_ADDRESS: "192.168.0.2/24" }, /WG_CONFIG is required/],
                [{ WG_CONFIG: config, WG_ADDRESS: "192.168.0.2" }, /WG_ADDRESS must look like/],
                [{ WG_CONFIG: config, WG_ADDRESS: "192.168.0.2/24", WG_MTU: "big" }, /WG_MTU/],
                [{ WG_CONFIG: config, WG_ADDRESS: "192.168.0.2/24", WG_INTERFACE: "wg0; reboot" }, /WG_INTERFACE/],
                [{ WG_CONFIG: config, WG_ADDRESS: "192.168.0.2/24", WG_IMPLEMENTATION: "bpf" }, /WG_IMPLEMENTATION/],
                [{ WG_CONFIG: "[Peer]\n", WG_ADDRESS: "192.168.0.2/24" }, /exactly one \[Interface\]/],
            ];
            for (const [env, message] of cases) {
                const result = runScript(WIREGUARD, { WG_CONFIG_DIR: dir, ...env });
                assert.notEqual(result.code, 0, JSON.stringify(env));
                assert.match(result.stderr, message);
            }
            assert.deepEqual(fs.readdirSync(dir), []);
        });
    });

    describe("frr-apply.sh", function () {
        const files = {
            FRR_BGPD_CONF: renderClientBgpdConf({ hostname: "kvm1", routerId: "192.168.0.2", reflectors: ["192.168.0.1"] }),
            FRR_ZEBRA_CONF: renderZebraConf({ hostname: "kvm1" }),
            FRR_DAEMONS: renderDaemonsFile(),
        };

        it("writes the three files, removes the integrated frr.conf, and changes nothing on a re-run", function () {
            if (!fs.existsSync("/usr/lib/frr/bgpd")) {
                console.log("      skipped: needs FRR's daemons (they check the files)");
                this.skip();
            }
            fs.writeFileSync(path.join(dir, "frr.conf"), "! packaged default\n");
            const env = { ...files, FRR_CONFIG_DIR: dir, FRR_SERVICE: "none", HOST_ROOT: path.join(dir, "root") };
            const first = runScript(FRR, env);
            assert.equal(first.code, 0, first.stderr);
            const written = first.stdout.split("\n").filter((line) => line.includes(dir) && !line.includes("/var/lib/"));
            assert.deepEqual(written, [
                `frr-apply.sh: wrote ${dir}/daemons`,
                `frr-apply.sh: removed ${dir}/frr.conf`,
                `frr-apply.sh: wrote ${dir}/zebra.conf`,
                `frr-apply.sh: wrote ${dir}/bgpd.conf`,
            ]);
            assert.equal(fs.readFileSync(path.join(dir, "bgpd.conf"), "utf8"), files.FRR_BGPD_CONF);
            assert.equal(fs.readFileSync(path.join(dir, "zebra.conf"), "utf8"), files.FRR_ZEBRA_CONF);
            assert.equal(fs.readFileSync(path.join(dir, "daemons"), "utf8"), files.FRR_DAEMONS);
            assert.equal(fs.statSync(path.join(dir, "bgpd.conf")).mode & 0o777, 0o640);
            assert.ok(!fs.existsSync(path.join(dir, "frr.conf")));

            assert.equal(runScript(FRR, env).stdout, "frr-apply.sh: unchanged\n");
            const changed = runScript(FRR, { ...env, FRR_BGPD_CONF: files.FRR_BGPD_CONF.replace("timers 3 9", "timers 10 30") });
            assert.equal(changed.stdout, `frr-apply.sh: wrote ${dir}/bgpd.conf\n`);
            assert.deepEqual(fs.readdirSync(dir).sort(), ["bgpd.conf", "daemons", "root", "zebra.conf"], "no candidate file is left");
        });

        it("requires every rendered file and a known service mode", function () {
            const missing = runScript(FRR, { FRR_ZEBRA_CONF: "x", FRR_DAEMONS: "y", FRR_CONFIG_DIR: dir, FRR_SERVICE: "none" });
            assert.notEqual(missing.code, 0);
            assert.match(missing.stderr, /FRR_BGPD_CONF is required/);
            const mode = runScript(FRR, { ...files, FRR_CONFIG_DIR: dir, FRR_SERVICE: "upstart" });
            assert.match(mode.stderr, /FRR_SERVICE must be systemd, direct or none/);
            assert.deepEqual(fs.readdirSync(dir), []);
        });
    });
});
