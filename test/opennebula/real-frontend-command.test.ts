// The README's command for a real front-end (`npm run test:opennebula`) must run the OpenNebula
// CRUD suite and nothing else: a bare `npx mocha <file>` merges .mocharc.json's spec and would run
// every suite, the root-only lab included. Its mocha part is run here with --dry-run.
import * as assert from "assert";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { promisify } from "util";
import { programDirectory } from "../engine/provider-host";

const execFile = promisify(childProcess.execFile);

describe("The README's command for a real OpenNebula front-end", function () {
    this.timeout(60_000);

    it("is an npm script that builds, then runs mocha without .mocharc.json on the CRUD suite only", async function () {
        const root = programDirectory();
        const script: string = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8")).scripts["test:opennebula"];
        assert.ok(
            fs.readFileSync(path.join(root, "README.md"), "utf8").includes("npm run test:opennebula"),
            "the README gives this command",
        );
        const [build, run] = script.split("&&").map((part) => part.trim());
        assert.match(build, /^npm run build\b/);
        assert.match(run, /^mocha --no-config /, "mocha ignores .mocharc.json, whose spec would add every suite");
        const args = run.split(/\s+/).slice(1);
        const { stdout } = await execFile(path.join(root, "node_modules", ".bin", "mocha"), [...args, "--dry-run", "--reporter", "json"], {
            cwd: root,
            maxBuffer: 16 * 1024 * 1024,
        });
        const report = JSON.parse(stdout) as { tests: { file: string; fullTitle: string }[] };
        const files = [...new Set(report.tests.map((t) => path.relative(root, t.file)))];
        assert.deepStrictEqual(files, [path.join("dist", "test", "opennebula", "crud.test.js")]);
        assert.ok(report.tests.length >= 10, `the CRUD suite's tests are selected (${report.tests.length})`);
    });
});
