/**
 * The lab's wireguard-go: `scripts/setup.sh` installs Debian trixie's wireguard-go (TUN offloads)
 * as the lab's own program (scripts/lab/install-wireguard-go.sh), and a lab built with its
 * defaults runs that program, with its offloads on; another program can be chosen and is then the
 * one running. wireguard-up.sh refuses a WG_USERSPACE_PROGRAM that is neither a name nor a path.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { existsSync, promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { packageRoot } from "../../scripts/lab/environment";
import type { Lab } from "../../scripts/lab/lab";
import {
    LAB_WIREGUARD_GO,
    WIREGUARD_GO_VARIABLE,
    chooseWireguardGo,
    describeWireguardGo,
    formatWireGuardInUse,
} from "../../scripts/lab/wireguard-go";
import { downLab, newLabName, skipUnlessLabCanRun, upLab } from "./lab-support";

const INSTALLER = path.join(packageRoot(), "scripts", "lab", "install-wireguard-go.sh");
/** The first wireguard-go release with TUN offloads. */
const FIRST_WITH_OFFLOADS = "0.0.20230223";

/** True when dotted version `a` ≥ `b` (wireguard-go versions are 0.0.YYYYMMDD). */
function versionAtLeast(a: string, b: string): boolean {
    const [x, y] = [a, b].map((v) => v.split(".").map(Number));
    for (let i = 0; i < Math.max(x.length, y.length); i += 1) {
        if ((x[i] ?? 0) !== (y[i] ?? 0)) {
            return (x[i] ?? 0) > (y[i] ?? 0);
        }
    }
    return true;
}

function skipUnlessInstalled(context: Mocha.Context): void {
    if (!existsSync(LAB_WIREGUARD_GO)) {
        console.log(`    (skipped: no ${LAB_WIREGUARD_GO}; scripts/setup.sh installs it)`);
        context.skip();
    }
}

describe("lab: the wireguard-go setup.sh installs", function () {
    this.timeout(300_000);

    before(function () {
        skipUnlessLabCanRun(this);
        skipUnlessInstalled(this);
    });

    it("is a wireguard-go with TUN offloads from Debian, and installing again changes nothing", async function () {
        const before = await fs.stat(LAB_WIREGUARD_GO);
        const again = spawnSync("bash", [INSTALLER], { encoding: "utf8", timeout: 120_000 });
        assert.equal(again.status, 0, again.stderr);
        assert.match(again.stdout, /nothing to do/);
        assert.equal((await fs.stat(LAB_WIREGUARD_GO)).mtimeMs, before.mtimeMs, "the program was not rewritten");
        const program = await describeWireguardGo(LAB_WIREGUARD_GO);
        assert.ok(versionAtLeast(program.version, FIRST_WITH_OFFLOADS), `version ${program.version} ≥ ${FIRST_WITH_OFFLOADS}`);
        assert.match(program.debianVersion ?? "", /^0\.0\.\d{8}-/);
    });

    it("is the lab's default choice, unless another is named", function () {
        assert.equal(chooseWireguardGo(undefined, {}), LAB_WIREGUARD_GO);
        assert.equal(chooseWireguardGo(undefined, { [WIREGUARD_GO_VARIABLE]: "/opt/wg/wireguard-go" }), "/opt/wg/wireguard-go");
        assert.equal(chooseWireguardGo("/usr/bin/wireguard-go", {}), "/usr/bin/wireguard-go");
        assert.equal(chooseWireguardGo(undefined, {}, "/nonexistent/wireguard-go"), "wireguard-go");
        assert.throws(() => chooseWireguardGo("wireguard-go; reboot", {}), /wireguardGo .*must be a program name or an absolute path/);
    });

    describe("a lab built with the defaults", function () {
        const name = newLabName();
        let lab: Lab;

        before(async function () {
            if (process.env[WIREGUARD_GO_VARIABLE] !== undefined) {
                console.log(`    (skipped: ${WIREGUARD_GO_VARIABLE} chooses another wireguard-go)`);
                this.skip();
            }
            lab = await upLab(name, { clusters: 1, hostsPerCluster: 2, startBgp: false });
            if ((await lab.wireguardInUse(lab.hosts[0].name)).implementation === "kernel") {
                console.log("    (skipped: this kernel has the WireGuard module, which wireguard-up.sh takes over wireguard-go)");
                this.skip();
            }
        });

        after(async function () {
            await downLab(name);
        });

        it("runs it on every node, with TUN offloads on, and carries traffic over it", async function () {
            const installed = await describeWireguardGo(LAB_WIREGUARD_GO);
            for (const node of lab.nodes) {
                const inUse = await lab.wireguardInUse(node.name);
                assert.equal(inUse.implementation, "wireguard-go", node.name);
                assert.equal(inUse.program?.path, LAB_WIREGUARD_GO, `${node.name} runs ${inUse.program?.path}`);
                assert.equal(await fs.realpath(`/proc/${inUse.pid}/exe`), await fs.realpath(LAB_WIREGUARD_GO));
                assert.deepEqual(inUse.program, installed);
                assert.equal(inUse.offloads, true, `${node.name}: ${formatWireGuardInUse(inUse)}`);
            }
            const [a, b] = lab.hosts;
            const address = lab.topology.wireguard.nodes.find((node) => node.name === b.name)?.address;
            assert.ok(address);
            await lab.execOk(a.name, ["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "2", address]);
        });

        it("switches to another wireguard-go and back, and says which runs", async function () {
            const distribution = spawnSync("sh", ["-c", "command -v wireguard-go"], { encoding: "utf8" }).stdout.trim();
            if (distribution === "" || (await fs.realpath(distribution)) === (await fs.realpath(LAB_WIREGUARD_GO))) {
                console.log("      (skipped: no other wireguard-go on PATH to switch to)");
                this.skip();
            }
            await lab.switchWireguardGo(distribution);
            const other = await lab.wireguardInUse(lab.hosts[0].name);
            assert.equal(await fs.realpath(other.program?.path ?? ""), await fs.realpath(distribution));
            assert.equal(other.offloads, versionAtLeast(other.program?.version ?? "0", FIRST_WITH_OFFLOADS), formatWireGuardInUse(other));
            await lab.switchWireguardGo(LAB_WIREGUARD_GO);
            assert.equal((await lab.wireguardInUse(lab.hosts[0].name)).program?.path, LAB_WIREGUARD_GO);
        });
    });
});

describe("wireguard-up.sh: WG_USERSPACE_PROGRAM", function () {
    it("refuses a value that is neither a program name nor an absolute path, before touching anything", async function () {
        const dir = await fs.mkdtemp(path.join(os.tmpdir(), "wg-program-"));
        try {
            const script = path.join(packageRoot(), "scripts", "host", "wireguard-up.sh");
            const env = {
                ...process.env,
                WG_CONFIG: "[Interface]\nListenPort = 51820\n",
                WG_ADDRESS: "192.168.0.2/24",
                WG_CONFIG_DIR: path.join(dir, "wg"),
                WG_USERSPACE_PROGRAM: "wireguard-go;reboot",
            };
            const result = spawnSync("bash", [script], { env, encoding: "utf8" });
            assert.equal(result.status, 1);
            assert.match(result.stderr, /WG_USERSPACE_PROGRAM must be a program name or an absolute path/);
            assert.equal(existsSync(path.join(dir, "wg")), false, "nothing was written");
        } finally {
            await fs.rm(dir, { recursive: true, force: true });
        }
    });
});
