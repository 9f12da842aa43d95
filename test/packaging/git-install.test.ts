import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { compileAndRunExample, gitSnapshotOfWorkingTree, install, newProject, run } from "./consumer";

describe("Packaging: installed from git, as `npm install git+https://…` does", function () {
    this.timeout(900_000);
    let snapshot: string;
    let project: string;

    before(function () {
        snapshot = gitSnapshotOfWorkingTree();
        project = newProject("poe-git-consumer-");
        install(project, `git+file://${snapshot}`);
    });

    after(() => {
        for (const dir of [project, snapshot]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("builds the JavaScript on install (`prepare`) although the repository holds none", function () {
        assert.ok(!fs.existsSync(path.join(snapshot, "dist")), "the repository has no build output");
        const installed = path.join(project, "node_modules/pulumi-opennebula-edge");
        assert.ok(fs.existsSync(path.join(installed, "dist/components/index.js")));
        assert.ok(fs.existsSync(path.join(installed, "dist/components/clouds/aws.d.ts")));
        assert.ok(!fs.existsSync(path.join(installed, "dist/test")), "tests are not installed");
        const root = run(
            process.execPath,
            ["-e", 'process.stdout.write(Object.keys(require("pulumi-opennebula-edge")).join(","))'],
            project,
        );
        assert.match(root, /EdgeCluster/);
    });

    it("runs the example program under Pulumi's mocks", function () {
        const { registered, exports } = compileAndRunExample(project);
        assert.deepStrictEqual(registered.map((r) => r.name).sort(), ["edge", "kvm-1", "public", "system"]);
        assert.strictEqual(typeof exports.networkId, "number");
    });
});
