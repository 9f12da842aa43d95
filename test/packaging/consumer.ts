/**
 * A fresh consumer project for the packaging tests: the package installed the way a user installs
 * it (from a tarball or from git), next to the Pulumi packages it peers with, in a temp directory.
 */
import * as assert from "assert";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** The repository root (tests run from `dist/test/packaging`). */
export const REPO = path.resolve(__dirname, "../../..");

/** Runs a command to completion and fails the test, with its output, unless it exits 0. */
export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
    const result = childProcess.spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 600_000 });
    assert.strictEqual(result.status, 0, `${command} ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
}

/** The version of `pkg` this repository is tested with. */
export function installedVersion(pkg: string): string {
    return JSON.parse(fs.readFileSync(path.join(REPO, "node_modules", pkg, "package.json"), "utf8")).version;
}

/** A new, empty project directory with a package.json, under the system temp directory. */
export function newProject(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true }));
    return dir;
}

/**
 * Installs `spec` (a tarball path or a `git+file://` URL) into `project`, with the versions of
 * `@pulumi/pulumi`, `@pulumi/command`, `@types/node` and the packages in `more` this repository is
 * tested with. Without `more`, no cloud SDK is installed: the package must load without them.
 */
export function install(project: string, spec: string, more: string[] = []): void {
    run(
        "npm",
        [
            "install",
            "--no-audit",
            "--no-fund",
            "--prefer-offline",
            spec,
            ...["@pulumi/pulumi", "@pulumi/command", "@types/node", ...more].map((pkg) => `${pkg}@${installedVersion(pkg)}`),
        ],
        project,
    );
}

/**
 * A copy of the working tree as git would hand it out (tracked files plus new files that are not
 * ignored, so neither `dist/` nor `node_modules/`), committed in a new repository.
 * Returns the repository's directory.
 */
export function gitSnapshotOfWorkingTree(): string {
    const snapshot = fs.mkdtempSync(path.join(os.tmpdir(), "poe-git-"));
    const files = run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], REPO).split("\0").filter(Boolean);
    for (const file of files) {
        const from = path.join(REPO, file);
        if (!fs.existsSync(from)) continue; // deleted in the working tree, not yet in the index
        fs.mkdirSync(path.dirname(path.join(snapshot, file)), { recursive: true });
        fs.copyFileSync(from, path.join(snapshot, file));
        fs.chmodSync(path.join(snapshot, file), fs.statSync(from).mode);
    }
    const git = (...args: string[]) => run("git", ["-c", "user.name=test", "-c", "user.email=test@example.invalid", ...args], snapshot);
    git("init", "-q");
    git("add", "-A");
    git("commit", "-q", "-m", "snapshot");
    return snapshot;
}

/** A program a user would write, type-checked with the tsconfig of Pulumi's TypeScript template. */
export const EXAMPLE_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { opennebula } from "pulumi-opennebula-edge";
import { Cluster, Datastore, Host, VirtualNetwork } from "pulumi-opennebula-edge/opennebula";

const config = new pulumi.Config("one");
const connection = { endpoint: config.require("endpoint"), username: "oneadmin", password: config.requireSecret("password") };
const cluster = new Cluster("edge", { connection });
const host = new Host("kvm-1", { name: "10.0.0.4", clusterId: cluster.oneId, connection });
const system = new Datastore("system", { type: "SYSTEM_DS", tmMad: "ssh", clusterIds: [cluster.oneId], template: { REPLICA_HOST: host.name }, connection });
const net: opennebula.VirtualNetwork = new VirtualNetwork("public", {
    vnMad: "bridge", template: { BRIDGE: "br0" }, addressRanges: [{ TYPE: "IP4", IP: "10.0.1.2", SIZE: 4 }], connection,
});
export const networkId: pulumi.Output<number> = net.oneId;
// Every resource is exported, so the run waits for each to be registered.
export const hostId: pulumi.Output<number> = host.oneId;
export const systemDatastoreId: pulumi.Output<number> = system.oneId;
`;

/** tsconfig.json of `pulumi new typescript`. */
export const PULUMI_TEMPLATE_TSCONFIG = {
    compilerOptions: {
        strict: true,
        outDir: "bin",
        target: "es2020",
        module: "commonjs",
        moduleResolution: "node",
        sourceMap: true,
        experimentalDecorators: true,
        pretty: true,
        noFallthroughCasesInSwitch: true,
        noImplicitReturns: true,
        forceConsistentCasingInFileNames: true,
    },
    files: ["index.ts"],
};

/**
 * Runs a compiled program of the consumer project (`bin/index.js`) under Pulumi's standard mocks,
 * the way a user's unit test would, and returns what it registered (type, name and the size of the
 * serialized provider it carries, `__provider`) and its exports.
 */
const MOCK_RUNNER = `
const pulumi = require("@pulumi/pulumi");
const registered = [];
pulumi.runtime.setMocks({
    newResource: (args) => {
        registered.push({ type: args.type, name: args.name, providerBytes: Buffer.byteLength(String(args.inputs.__provider ?? "")) });
        return { id: args.name + "-id", state: { ...args.inputs, oneId: registered.length } };
    },
    call: (args) => args.inputs,
}, "consumer", "dev", false);
const program = require("./bin/index.js");
const names = Object.keys(program);
Promise.all(names.map((name) => new Promise((resolve) => pulumi.output(program[name]).apply(resolve))))
    .then((values) => process.stdout.write(JSON.stringify({ registered, exports: Object.fromEntries(names.map((n, i) => [n, values[i]])) })))
    .catch((err) => { console.error(err); process.exit(1); });
`;

/** Type-checks and compiles {@link EXAMPLE_PROGRAM} in `project`, then runs it under mocks. */
export function compileAndRunExample(project: string): {
    registered: { type: string; name: string; providerBytes: number }[];
    exports: Record<string, unknown>;
} {
    fs.writeFileSync(path.join(project, "index.ts"), EXAMPLE_PROGRAM);
    fs.writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify(PULUMI_TEMPLATE_TSCONFIG));
    run(process.execPath, [path.join(REPO, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], project);
    fs.writeFileSync(path.join(project, "run-mocks.js"), MOCK_RUNNER);
    const config = JSON.stringify({ "one:endpoint": "http://frontend:2633/RPC2", "one:password": "not-used" });
    return JSON.parse(run(process.execPath, ["run-mocks.js"], project, { ...process.env, PULUMI_CONFIG: config }));
}
