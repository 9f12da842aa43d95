/**
 * `npm run lab` (scripts/lab/launch.cjs → dist/scripts/lab/cli.js): it builds only when a source
 * is newer than dist/, so `--help`, `status` and `exec` run without tsc when dist/ is current;
 * `up` on a lab that is up says so and leaves it alone.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { promises as fs, statSync } from "fs";
import * as os from "os";
import * as path from "path";
import { packageRoot } from "../../scripts/lab/environment";
import { Lab } from "../../scripts/lab/lab";
import { LAB_STATE_ROOT } from "../../scripts/lab/naming";
import { downLab, newLabName, skipUnlessLabCanRun, upLab } from "./lab-support";

const root = packageRoot();
const LAUNCHER = path.join("scripts", "lab", "launch.cjs");

/** The launcher's own staleness check (plain JavaScript, loaded as it is). */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a file outside the build, loaded by path
const { staleness } = require(path.join(root, LAUNCHER)) as { staleness: (projectRoot?: string) => string | undefined };

interface Launched {
    code: number | null;
    stdout: string;
    stderr: string;
    elapsedMs: number;
}

/** Runs `node <projectRoot>/scripts/lab/launch.cjs <args>` as `npm run lab -- <args>` would. */
function launch(args: string[], projectRoot = root): Launched {
    const started = Date.now();
    const result = spawnSync(process.execPath, [path.join(projectRoot, LAUNCHER), ...args], {
        cwd: projectRoot,
        encoding: "utf8",
        timeout: 180_000,
    });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr, elapsedMs: Date.now() - started };
}

/** Modification times of a few dist/ files tsc rewrites on every build. */
function distTimes(): number[] {
    return ["dist/scripts/lab/cli.js", "dist/scripts/lab/lab.js", "dist/components/index.js"].map(
        (file) => statSync(path.join(root, file)).mtimeMs,
    );
}

/** Skips the suite when dist/ is out of date (then the CLI would rightly build first). */
function skipUnlessDistIsCurrent(context: Mocha.Context): void {
    const reason = staleness(root);
    if (reason !== undefined) {
        console.log(`    (skipped: dist/ is not current here: ${reason}; build first)`);
        context.skip();
    }
}

/** Runs the CLI and asserts tsc did not run: no build message, dist/ untouched. */
function launchWithoutBuild(args: string[]): Launched {
    const before = distTimes();
    const result = launch(args);
    assert.doesNotMatch(result.stderr, /building/, result.stderr);
    assert.deepEqual(distTimes(), before, "tsc rewrote dist/");
    console.log(`      npm run lab -- ${args.join(" ")}: ${result.elapsedMs} ms without npm`);
    return result;
}

describe("lab CLI: no rebuild when dist/ is current", function () {
    this.timeout(120_000);

    before(function () {
        skipUnlessDistIsCurrent(this);
    });

    it("--help and help print the commands and options, without tsc", function () {
        for (const args of [["--help"], ["help"], ["-h"]]) {
            const result = launchWithoutBuild(args);
            assert.equal(result.code, 0, result.stderr);
            for (const expected of [
                "up (default)",
                "down",
                "status",
                "exec <target> <cmd…>",
                "--name <name>",
                "--topology mesh|hub",
                "--clusters <n>",
                "--hosts <n>",
                "--vni <n>",
                "--no-bgp",
                "--keep",
            ]) {
                assert.ok(result.stdout.includes(expected), `${args[0]} lists ${expected}`);
            }
            assert.match(result.stdout, /Default for this\s+checkout: lab[0-9a-f]{6}/);
        }
    });

    it("rejects an unknown option and a bad name, naming them", function () {
        const unknown = launch(["status", "--frobnicate"]);
        assert.equal(unknown.code, 1);
        assert.match(unknown.stderr, /unknown option "--frobnicate"/);
        const badName = launch(["status", "--name", "My-Lab"]);
        assert.equal(badName.code, 1);
        assert.match(badName.stderr, /--name: a lab name is 1 to 12 lowercase letters or digits/);
    });
});

describe("lab CLI: status, exec and up on a lab that is up", function () {
    this.timeout(120_000);
    const labName = newLabName();
    let lab: Lab;

    before(async function () {
        skipUnlessLabCanRun(this);
        skipUnlessDistIsCurrent(this);
        lab = await upLab(labName, { clusters: 1, hostsPerCluster: 1, startBgp: false });
    });

    after(async function () {
        await downLab(labName);
    });

    it("status shows the lab, without tsc", function () {
        const result = launchWithoutBuild(["status", "--name", labName]);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, new RegExp(`^lab "${labName}", state in ${LAB_STATE_ROOT}/${labName}$`, "m"));
        assert.match(result.stdout, /^ingress +up +.*sleep:\d+/m);
        assert.match(result.stdout, /^kvm1 +up +.*wireguard-go:\d+/m);
        assert.match(result.stdout, /^kvm1 .*\n {9}wg0: (kernel WireGuard|wireguard-go \S+ \(\/\S+.*\), TUN offloads (on|off))$/m);
        assert.match(result.stdout, /^vm1 +172\.17\.2\.2 02:00:ac:11:02:02 on kvm1$/m);
    });

    it("status of a lab that is not up says so and lists the labs there are", function () {
        const absent = newLabName();
        const result = launchWithoutBuild(["status", "--name", absent]);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, new RegExp(`no lab named "${absent}" is up`));
        assert.match(result.stdout, new RegExp(`labs on this machine: .*\\b${labName}\\b`));
    });

    it("exec runs a command in a node and passes its output and exit code, without tsc", function () {
        const result = launchWithoutBuild(["exec", "--name", labName, "kvm1", "ip", "-o", "addr", "show", "dev", "wg0"]);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /inet 192\.168\.0\.2\/24/);
        const failing = launchWithoutBuild(["exec", "--name", labName, "vm1", "sh", "-c", "exit 7"]);
        assert.equal(failing.code, 7);
    });

    it("up on the lab that is up refuses, saying so, and leaves it untouched", async function () {
        const before = await Lab.leftovers(labName);
        const result = launchWithoutBuild(["up", "--name", labName]);
        assert.equal(result.code, 1);
        assert.match(result.stderr, new RegExp(`the lab "${labName}" is already up; it was left as it is`));
        assert.match(result.stderr, new RegExp(`npm run lab -- down --name ${labName}`));
        assert.deepEqual(await Lab.leftovers(labName), before);
        assert.equal((await lab.execOk("kvm1", ["cat", "/proc/self/comm"])).trim(), "cat", "the lab still answers");
    });
});

/** What the fixture's CLI uses of Node.js. */
const FIXTURE_DECLARATIONS = "declare const process: { argv: string[] };\ndeclare const console: { log(...values: unknown[]): void };\n";

describe("lab CLI launcher: builds exactly when dist/ is out of date", function () {
    this.timeout(120_000);
    let project: string;
    const source = () => path.join(project, "scripts", "lab", "cli.ts");
    const output = () => path.join(project, "dist", "scripts", "lab", "cli.js");

    before(async function () {
        project = await fs.mkdtemp(path.join(os.tmpdir(), "lab-launch-"));
        await fs.mkdir(path.join(project, "scripts", "lab"), { recursive: true });
        await fs.copyFile(path.join(root, LAUNCHER), path.join(project, LAUNCHER));
        await fs.symlink(path.join(root, "node_modules"), path.join(project, "node_modules"));
        await fs.writeFile(path.join(project, "package.json"), JSON.stringify({ name: "fixture", private: true }));
        // No @types/node, so each tsc run of the fixture stays short.
        const compilerOptions = {
            target: "ES2022",
            lib: ["ES2022"],
            module: "commonjs",
            outDir: "dist",
            rootDir: ".",
            types: [],
            strict: true,
        };
        await fs.writeFile(path.join(project, "tsconfig.json"), JSON.stringify({ compilerOptions, include: ["scripts/**/*.ts"] }));
        await fs.writeFile(source(), `${FIXTURE_DECLARATIONS}console.log(\`cli \${process.argv.slice(2).join(" ")}\`);\n`);
    });

    after(async function () {
        await fs.rm(project, { recursive: true, force: true });
    });

    it("builds a missing dist/, then not again until a source is newer, then again", async function () {
        assert.equal(staleness(project), "dist/scripts/lab/cli.js is missing");
        const first = launch(["status", "--name", "x"], project);
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stderr, /dist\/ is out of date \(dist\/scripts\/lab\/cli\.js is missing\); building with tsc/);
        assert.equal(first.stdout, "cli status --name x\n");
        assert.equal(staleness(project), undefined);

        const built = statSync(output()).mtimeMs;
        const second = launch(["exec", "kvm1", "true"], project);
        assert.equal(second.code, 0, second.stderr);
        assert.equal(second.stderr, "", "no build, no message");
        assert.equal(second.stdout, "cli exec kvm1 true\n");
        assert.equal(statSync(output()).mtimeMs, built, "tsc did not run");

        const later = new Date(Date.now() + 5_000);
        await fs.utimes(source(), later, later);
        assert.equal(staleness(project), "scripts/lab/cli.ts is newer than dist/scripts/lab/cli.js");
        const third = launch(["--help"], project);
        assert.match(third.stderr, /building with tsc/);
        assert.equal(third.stdout, "cli --help\n");
        assert.ok(statSync(output()).mtimeMs > built, "tsc ran");
    });

    it("stops, without running the CLI, when the build fails", async function () {
        await fs.writeFile(source(), `${FIXTURE_DECLARATIONS}const answer: number = "not a number";\nconsole.log("ran", answer);\n`);
        const later = new Date(Date.now() + 10_000);
        await fs.utimes(source(), later, later);
        const result = launch(["status"], project);
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /TS2322/);
        assert.match(result.stderr, /lab: the build failed/);
        assert.doesNotMatch(result.stdout, /ran/);
    });
});
