import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { OneDouble } from "../support/one-double";
import {
    EXAMPLE_PROGRAM,
    PULUMI_TEMPLATE_TSCONFIG,
    REPO,
    compileAndRunExample,
    gitSnapshotOfWorkingTree,
    install,
    newProject,
    run,
} from "./consumer";
import { PROVIDER_CASES, runSerializedProvider } from "./providers";

describe("Packaging: the npm tarball installed into a fresh project", function () {
    this.timeout(600_000);
    let snapshot: string;
    let project: string;
    let double: OneDouble;

    before(async function () {
        // Packed from a checkout that was never built: `prepare` must produce the JavaScript.
        snapshot = gitSnapshotOfWorkingTree();
        fs.symlinkSync(path.join(REPO, "node_modules"), path.join(snapshot, "node_modules"));
        project = newProject("poe-consumer-");
        const tarball = run("npm", ["pack", "--silent", "--pack-destination", project], snapshot).trim().split("\n").pop()!;
        install(project, path.join(project, tarball));
        double = await OneDouble.start({ vnetCreateMs: 20, vnetDeleteMs: 20, hostMonitorMs: 20 });
    });

    after(async () => {
        await double?.stop();
        for (const dir of [project, snapshot]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("ships compiled code, declarations and host scripts, and no tests or sources", function () {
        const installed = path.join(project, "node_modules/pulumi-opennebula-edge");
        assert.ok(fs.existsSync(path.join(installed, "dist/components/index.js")));
        assert.ok(fs.existsSync(path.join(installed, "dist/components/opennebula/index.d.ts")));
        assert.ok(!fs.existsSync(path.join(installed, "dist/test")), "tests are not published");
        assert.ok(!fs.existsSync(path.join(installed, "components")), "TypeScript sources are not published");
        const script = run(
            process.execPath,
            ["-e", 'process.stdout.write(require("pulumi-opennebula-edge/remote").readHostScript("firewall.sh"))'],
            project,
        );
        assert.match(script, /^#!\/usr\/bin\/env bash/, "the installed package finds its host scripts");
        const root = run(
            process.execPath,
            ["-e", 'const p = require("pulumi-opennebula-edge"); process.stdout.write(Object.keys(p).sort().join(","))'],
            project,
        );
        assert.match(root, /EdgeCluster.*opennebula.*overlay/, "the root loads with no cloud SDK installed");
        assert.ok(!fs.existsSync(path.join(project, "node_modules/@pulumi/aws")), "no cloud SDK was pulled in");
    });

    it("type-checks an example program with Pulumi's default tsconfig, through the root and a subpath", function () {
        fs.writeFileSync(path.join(project, "index.ts"), EXAMPLE_PROGRAM);
        fs.writeFileSync(path.join(project, "tsconfig.json"), JSON.stringify(PULUMI_TEMPLATE_TSCONFIG));
        run(process.execPath, [path.join(REPO, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", "tsconfig.json"], project);
    });

    it("ships the license and states the Node.js version @pulumi/pulumi needs", function () {
        const installed = path.join(project, "node_modules/pulumi-opennebula-edge");
        assert.match(fs.readFileSync(path.join(installed, "LICENSE"), "utf8"), /Apache License\s+Version 2\.0/);
        const manifest = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
        const pulumiEngines = JSON.parse(fs.readFileSync(path.join(project, "node_modules/@pulumi/pulumi/package.json"), "utf8")).engines
            .node;
        assert.strictEqual(manifest.license, "Apache-2.0");
        assert.strictEqual(manifest.engines.node, pulumiEngines, "the package asks for the Node.js that @pulumi/pulumi asks for");
    });

    it("runs the example program under Pulumi's mocks from the installed copy", function () {
        const { registered, exports } = compileAndRunExample(project);
        assert.deepStrictEqual(registered.map((r) => r.name).sort(), ["edge", "kvm-1", "public", "system"]);
        assert.ok(
            registered.every((r) => r.type.startsWith("pulumi-nodejs:dynamic/opennebula-edge:")),
            JSON.stringify(registered),
        );
        assert.strictEqual(typeof exports.networkId, "number");
        // What every OpenNebula object of an installed consumer carries in state: the small stand-in
        // that loads the package by name (issue target: at most 16 KB).
        console.log(
            `      __provider per object: ${registered.map((r) => `${r.name} ${(r.providerBytes / 1024).toFixed(1)} KB`).join(", ")}`,
        );
        for (const r of registered)
            assert.ok(r.providerBytes > 0 && r.providerBytes <= 16 * 1024, `${r.name}: ${r.providerBytes} bytes of __provider`);
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
            assert.match(
                fs.readFileSync(file, "utf8"),
                /require\("pulumi-opennebula-edge/,
                `${label}: the package is loaded by name, not inlined`,
            );
            const result = await runSerializedProvider(file, project, { ...inputs(`pkg-${label.toLowerCase()}`), connection });
            assert.strictEqual(result.goneAfterDelete, true, `${label} ran its whole lifecycle`);
        }
        assert.deepStrictEqual(
            double.objects().filter((o) => !o.builtin),
            [],
        );
    });
});
