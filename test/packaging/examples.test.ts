/**
 * The examples and the README, as a user meets them: the packed tarball installed into a fresh
 * project with the cloud SDKs; every example (`examples/<scenario>/`), every TypeScript block of the
 * README and a program importing every subpath type-checked together with the `tsconfig.json` of
 * `pulumi new typescript` (no `esModuleInterop`, no `skipLibCheck`); then every example run under
 * the package's own mocks (`pulumi-opennebula-edge/testing`), the user's unit test of the AWS
 * example run with node's test runner, and the Automation API example run up to the `pulumi` CLI
 * it needs (which this machine does not have).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { PULUMI_TEMPLATE_TSCONFIG, REPO, gitSnapshotOfWorkingTree, install, newProject, run } from "./consumer";
import type { ReadmeBlock } from "./readme";
import { repositoryReadmeBlocks } from "./readme";
import * as childProcess from "child_process";

const EXAMPLES_DIR = path.join(REPO, "examples");
const CLOUD_SDKS = ["@pulumi/tls", "@pulumi/aws", "@pulumi/digitalocean", "@ediri/vultr", "@pulumiverse/scaleway"];
const ONEADMIN_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOneAdminKeyForTests oneadmin@frontend";

/** Every subpath a user may import, in one program. */
const ALL_SUBPATHS = `
import * as root from "pulumi-opennebula-edge";
import * as opennebula from "pulumi-opennebula-edge/opennebula";
import * as edge from "pulumi-opennebula-edge/edge";
import * as overlay from "pulumi-opennebula-edge/overlay";
import * as router from "pulumi-opennebula-edge/router";
import * as remote from "pulumi-opennebula-edge/remote";
import * as validation from "pulumi-opennebula-edge/validation";
import * as base from "pulumi-opennebula-edge/clouds/base";
import * as aws from "pulumi-opennebula-edge/clouds/aws";
import * as digitalocean from "pulumi-opennebula-edge/clouds/digitalocean";
import * as vultr from "pulumi-opennebula-edge/clouds/vultr";
import * as scaleway from "pulumi-opennebula-edge/clouds/scaleway";
import * as testing from "pulumi-opennebula-edge/testing";
import * as automation from "pulumi-opennebula-edge/automation";
const settings: aws.AwsSettings = { region: "eu-west-2", hosts: { "kvm-a": { publicIps: 1 } } };
export const used = [root, opennebula, edge, overlay, router, remote, validation, base, aws, digitalocean, vultr, scaleway, testing, automation, settings];
`;

/** Runs a compiled example under EdgeMocks and prints what it registered and exported. */
const MOCK_RUNNER = `
const pulumi = require("@pulumi/pulumi");
const { EdgeMocks } = require("pulumi-opennebula-edge/testing");
const [file, project] = process.argv.slice(2);
const fail = (error) => { console.error(error && error.stack || error); process.exit(1); };
process.on("unhandledRejection", fail);
setTimeout(() => fail(new Error("the program's outputs never resolved")), 60000).unref();
pulumi.runtime.setAllConfig({
    [project + ":oneEndpoint"]: "http://frontend:2633/RPC2",
    [project + ":onePassword"]: "not-a-real-password",
    [project + ":oneadminPublicKey"]: ${JSON.stringify(ONEADMIN_KEY)},
    [project + ":ingressIp"]: "13.58.199.98",
    "one:endpoint": "http://frontend:2633/RPC2",
    "one:password": "not-a-real-password",
}, [project + ":onePassword", "one:password"]);
const mocks = new EdgeMocks();
pulumi.runtime.setMocks(mocks, project, "dev", false).then(() => {
    const program = require(file);
    const names = Object.keys(program);
    return Promise.all(names.map((name) => new Promise((resolve) => pulumi.output(program[name]).apply(resolve)))).then((values) => {
        // The last line: the program's own warnings may come before it.
        process.stdout.write("\\n" + JSON.stringify({
            registered: mocks.resources.map((r) => ({ type: r.type, name: r.name })),
            exports: Object.fromEntries(names.map((name, i) => [name, values[i]])),
        }));
    });
}).catch(fail);
`;

interface Run {
    registered: { type: string; name: string }[];
    exports: Record<string, any>;
}

/** What each example must build and export under mocks. */
const EXPECTED: Record<string, (run: Run) => void> = {
    aws: ({ exports, registered }) => {
        assert.deepStrictEqual(Object.keys(exports.hosts), ["kvm-a", "kvm-b"]);
        assert.deepStrictEqual(Object.values(exports.publicIpHosts), ["kvm-a", "kvm-a"]);
        assert.match(exports.sshPrivateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----/);
        assert.strictEqual(registered.filter((r) => r.type === "aws:ec2/eip:Eip").length, 2);
    },
    digitalocean: ({ exports }) => {
        assert.deepStrictEqual(Object.keys(exports.hostAddresses), ["host-0", "host-1"]);
        assert.deepStrictEqual(exports.firstVmSsh, { host: exports.hostAddresses["host-0"], port: 9022 });
    },
    vultr: ({ exports }) => {
        assert.strictEqual(exports.vmPublicIps.length, 2);
        assert.deepStrictEqual(Object.values(exports.publicIpHosts), ["host-0", "host-1"]);
    },
    scaleway: ({ exports }) => {
        assert.deepStrictEqual(Object.keys(exports.hosts), ["kvm-a"]);
        assert.deepStrictEqual(Object.values(exports.publicIpHosts), ["kvm-a", "kvm-a"]);
    },
    "multi-edge": ({ exports }) => {
        assert.deepStrictEqual(Object.keys(exports.londonHosts), ["kvm-a", "kvm-b"]);
        assert.deepStrictEqual(Object.keys(exports.californiaHosts), ["host-0"]);
        assert.strictEqual(Object.keys(exports.publicIpHosts).length, 3);
    },
    "overlay-router": ({ exports, registered }) => {
        assert.deepStrictEqual(Object.keys(exports.overlayAddresses).sort(), ["ingress", "london-host-0", "ncalifornia-host-0"]);
        assert.deepStrictEqual(Object.values(exports.routerMapping), ["172.17.2.10"]);
        assert.ok(registered.some((r) => r.type === "pulumi-nodejs:dynamic/opennebula-edge:VirtualRouter"));
        assert.strictEqual(registered.filter((r) => r.type === "tls:index/privateKey:PrivateKey").length, 1, "one key for every machine");
    },
    "marketplace-vm": ({ exports }) => {
        assert.strictEqual(exports.vmSsh.port, 9022);
        assert.match(exports.vmSsh.host, /^203\.0\.113\./);
    },
    opennebula: ({ exports }) => {
        assert.strictEqual(typeof exports.networkId, "number");
    },
};

/** The examples that run under mocks (the Automation API example drives the CLI instead). */
const PROGRAMS = Object.keys(EXPECTED);

describe("Examples and README: type-checked against the packed tarball with Pulumi's template tsconfig, and run", function () {
    this.timeout(900_000);
    let snapshot: string;
    let project: string;
    let blocks: ReadmeBlock[];

    before(function () {
        snapshot = gitSnapshotOfWorkingTree();
        fs.symlinkSync(path.join(REPO, "node_modules"), path.join(snapshot, "node_modules"));
        project = newProject("poe-examples-");
        const tarball = run("npm", ["pack", "--silent", "--pack-destination", project], snapshot).trim().split("\n").pop()!;
        install(project, path.join(project, tarball), CLOUD_SDKS);
        blocks = repositoryReadmeBlocks();
        // The files a user would have: each example as it is, each README TypeScript block, one program importing every subpath.
        const files: string[] = [];
        for (const example of fs.readdirSync(EXAMPLES_DIR)) {
            for (const file of fs.readdirSync(path.join(EXAMPLES_DIR, example)).filter((f) => f.endsWith(".ts"))) {
                fs.mkdirSync(path.join(project, "examples", example), { recursive: true });
                fs.copyFileSync(path.join(EXAMPLES_DIR, example, file), path.join(project, "examples", example, file));
                files.push(`examples/${example}/${file}`);
            }
        }
        // A block that quotes an example is that file (asserted below), type-checked as it; any other is checked on its own.
        blocks
            .filter((block) => block.language === "ts" && block.example === undefined)
            .forEach((block, i) => {
                fs.mkdirSync(path.join(project, "readme"), { recursive: true });
                fs.writeFileSync(path.join(project, "readme", `block-${i}.ts`), block.text);
                files.push(`readme/block-${i}.ts`);
            });
        fs.writeFileSync(path.join(project, "all-subpaths.ts"), ALL_SUBPATHS);
        files.push("all-subpaths.ts");
        fs.writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify({ ...PULUMI_TEMPLATE_TSCONFIG, files }));
    });

    after(() => {
        for (const dir of [project, snapshot]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("every example is a small Pulumi project on the package, with the template's tsconfig", function () {
        const examples = fs.readdirSync(EXAMPLES_DIR).sort();
        assert.deepStrictEqual(examples, [...PROGRAMS, "automation"].sort());
        for (const example of examples) {
            const dir = path.join(EXAMPLES_DIR, example);
            const manifest = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
            assert.ok(manifest.dependencies["pulumi-opennebula-edge"], `${example} depends on the package`);
            assert.deepStrictEqual(
                JSON.parse(fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8")).compilerOptions,
                PULUMI_TEMPLATE_TSCONFIG.compilerOptions,
                `${example}: Pulumi's template tsconfig`,
            );
            if (example === "automation") continue;
            const pulumiYaml = parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"));
            assert.strictEqual(pulumiYaml.name, `opennebula-edge-${example}`);
            assert.strictEqual(pulumiYaml.runtime.name, "nodejs");
        }
    });

    it("every README block that claims to be an example is that file, byte for byte", function () {
        const claimed = blocks.filter((block) => block.example !== undefined);
        assert.ok(claimed.length >= 8, `the README quotes the examples (${claimed.length})`);
        for (const block of claimed) {
            const file = path.join(REPO, block.example!);
            assert.ok(fs.existsSync(file), `README line ${block.line}: ${block.example} exists`);
            assert.strictEqual(block.text, fs.readFileSync(file, "utf8"), `README line ${block.line} differs from ${block.example}`);
        }
        for (const block of blocks.filter((b) => b.language === "ts" && b.example === undefined)) {
            assert.fail(
                `README line ${block.line}: a TypeScript block that is not an example file (mark it <!-- example: … --> and make it one)`,
            );
        }
    });

    it("type-checks every example, every README TypeScript block and every subpath with Pulumi's template tsconfig (no esModuleInterop, no skipLibCheck)", function () {
        const options = PULUMI_TEMPLATE_TSCONFIG.compilerOptions as Record<string, unknown>;
        assert.strictEqual(options.esModuleInterop, undefined);
        assert.strictEqual(options.skipLibCheck, undefined);
        run(process.execPath, [path.join(REPO, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], project);
        assert.ok(fs.existsSync(path.join(project, "bin/examples/aws/index.js")));
    });

    for (const example of PROGRAMS) {
        it(`runs examples/${example} under the package's mocks`, function () {
            fs.writeFileSync(path.join(project, "run-mocks.js"), MOCK_RUNNER);
            const name = parse(fs.readFileSync(path.join(EXAMPLES_DIR, example, "Pulumi.yaml"), "utf8")).name;
            const result: Run = JSON.parse(
                run(process.execPath, ["run-mocks.js", `./bin/examples/${example}/index.js`, name], project)
                    .trim()
                    .split("\n")
                    .pop()!,
            );
            for (const [key, value] of Object.entries(result.exports))
                assert.notStrictEqual(value, undefined, `${example}: ${key} resolves`);
            EXPECTED[example](result);
        });
    }

    it("runs the user's unit test of the AWS example (node --test, the package's mocks)", function () {
        const output = run(process.execPath, ["--test", "bin/examples/aws/index.test.js"], project);
        assert.match(output, /# pass 1/);
        assert.match(output, /# fail 0/);
    });

    it("runs the Automation API example up to the pulumi CLI it drives, after checking its options", function () {
        const env = {
            ...process.env,
            PATH: path.dirname(process.execPath),
            PULUMI_CONFIG_PASSPHRASE: "test-passphrase",
            ONE_PASSWORD: "not-a-real-password",
        };
        const result = childProcess.spawnSync(process.execPath, ["bin/examples/automation/index.js"], {
            cwd: project,
            env,
            encoding: "utf8",
            timeout: 120_000,
        });
        assert.strictEqual(result.status, 1, result.stdout + result.stderr);
        // With no pulumi CLI on PATH, the first thing it cannot do is start it: its options passed.
        assert.match(result.stderr, /drives the pulumi CLI, which is not on PATH/);
    });
});
