import * as assert from "assert";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OneDouble } from "../support/one-double";
import { PROVIDER_CASES, runSerializedProvider } from "./providers";

const repo = path.resolve(__dirname, "../../..");

function run(command: string, args: string[], cwd: string): string {
    const result = childProcess.spawnSync(command, args, { cwd, encoding: "utf8", timeout: 300_000 });
    assert.strictEqual(result.status, 0, `${command} ${args.join(" ")} failed:\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
}

/** A program a user would write, type-checked with the tsconfig of Pulumi's TypeScript template. */
const EXAMPLE_PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import { opennebula } from "pulumi-opennebula-edge";
import { Cluster, Datastore, Host, VirtualNetwork } from "pulumi-opennebula-edge/opennebula";

const config = new pulumi.Config("one");
const connection = { endpoint: config.require("endpoint"), username: "oneadmin", password: config.requireSecret("password") };
const cluster = new Cluster("edge", { connection });
const host = new Host("kvm-1", { name: "10.0.0.4", clusterId: cluster.oneId, connection });
new Datastore("system", { type: "SYSTEM_DS", tmMad: "ssh", clusterIds: [cluster.oneId], template: { REPLICA_HOST: host.name }, connection });
const net: opennebula.VirtualNetwork = new VirtualNetwork("public", {
    vnMad: "bridge", template: { BRIDGE: "br0" }, addressRanges: [{ TYPE: "IP4", IP: "10.0.1.2", SIZE: 4 }], connection,
});
export const networkId: pulumi.Output<number> = net.oneId;
`;

const PULUMI_TEMPLATE_TSCONFIG = {
    compilerOptions: {
        strict: true, outDir: "bin", target: "es2020", module: "commonjs", moduleResolution: "node", sourceMap: true,
        experimentalDecorators: true, pretty: true, noFallthroughCasesInSwitch: true, noImplicitReturns: true,
        forceConsistentCasingInFileNames: true,
    },
    files: ["index.ts"],
};

describe("Packaging: the npm tarball installed into a fresh project", function () {
    this.timeout(600_000);
    let project: string;
    let double: OneDouble;

    before(async function () {
        project = fs.mkdtempSync(path.join(os.tmpdir(), "poe-consumer-"));
        const tarball = run("npm", ["pack", "--silent", "--pack-destination", project], repo).trim().split("\n").pop()!;
        const pulumiVersion = JSON.parse(fs.readFileSync(path.join(repo, "node_modules/@pulumi/pulumi/package.json"), "utf8")).version;
        const nodeTypes = JSON.parse(fs.readFileSync(path.join(repo, "node_modules/@types/node/package.json"), "utf8")).version;
        const commandVersion = JSON.parse(fs.readFileSync(path.join(repo, "node_modules/@pulumi/command/package.json"), "utf8")).version;
        fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", private: true }));
        run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--ignore-scripts",
            path.join(project, tarball), `@pulumi/pulumi@${pulumiVersion}`, `@pulumi/command@${commandVersion}`, `@types/node@${nodeTypes}`], project);
        double = await OneDouble.start({ vnetCreateMs: 20, vnetDeleteMs: 20, hostMonitorMs: 20 });
    });

    after(async () => {
        await double?.stop();
        if (project) fs.rmSync(project, { recursive: true, force: true });
    });

    it("ships compiled code, declarations and host scripts, and no tests or sources", function () {
        const installed = path.join(project, "node_modules/pulumi-opennebula-edge");
        assert.ok(fs.existsSync(path.join(installed, "dist/components/index.js")));
        assert.ok(fs.existsSync(path.join(installed, "dist/components/opennebula/index.d.ts")));
        assert.ok(!fs.existsSync(path.join(installed, "dist/test")), "tests are not published");
        assert.ok(!fs.existsSync(path.join(installed, "components")), "TypeScript sources are not published");
        const script = run(process.execPath, ["-e", 'process.stdout.write(require("pulumi-opennebula-edge/remote").readHostScript("firewall.sh"))'], project);
        assert.match(script, /^#!\/usr\/bin\/env bash/, "the installed package finds its host scripts");
        const root = run(process.execPath, ["-e", 'const p = require("pulumi-opennebula-edge"); process.stdout.write(Object.keys(p).sort().join(","))'], project);
        assert.match(root, /EdgeCluster.*opennebula.*overlay/, "the root loads with no cloud SDK installed");
        assert.ok(!fs.existsSync(path.join(project, "node_modules/@pulumi/aws")), "no cloud SDK was pulled in");
    });

    it("type-checks an example program with Pulumi's default tsconfig, through the root and a subpath", function () {
        fs.writeFileSync(path.join(project, "index.ts"), EXAMPLE_PROGRAM);
        fs.writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify(PULUMI_TEMPLATE_TSCONFIG));
        run(process.execPath, [path.join(repo, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", "tsconfig.json"], project);
    });

    it("runs every provider serialized from the installed copy, loading the package by name", async function () {
        const serializer = `
            const fs = require("fs");
            const pulumi = require("@pulumi/pulumi");
            const providers = require("pulumi-opennebula-edge/opennebula");
            const [name, out] = process.argv.slice(2);
            pulumi.runtime.serializeFunction(() => providers[name], { allowSecrets: true })
                .then((sf) => fs.writeFileSync(out, sf.text))
                .catch((err) => { console.error(err); process.exit(1); });`;
        fs.writeFileSync(path.join(project, "serialize.js"), serializer);
        const connection = { endpoint: double.endpoint, username: double.username, password: double.password };
        for (const { label, exportName, inputs } of PROVIDER_CASES) {
            const file = path.join(project, `${label}.provider.js`);
            run(process.execPath, ["serialize.js", exportName, file], project);
            assert.match(fs.readFileSync(file, "utf8"), /require\("pulumi-opennebula-edge/, `${label}: the package is loaded by name, not inlined`);
            const result = await runSerializedProvider(file, project, { ...inputs(`pkg-${label.toLowerCase()}`), connection });
            assert.strictEqual(result.goneAfterDelete, true, `${label} ran its whole lifecycle`);
        }
        assert.deepStrictEqual(double.objects().filter((o) => !o.builtin), []);
    });
});
