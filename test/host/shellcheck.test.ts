/**
 * Every host script is shellcheck clean (with the prelude it is run with) and written in the one
 * dialect: the shared helpers live in prelude.sh only, every script loads it the same way, names
 * itself, and indents by two spaces.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { hostScriptsDir } from "../../components/remote/host-script";

const scriptsDir = hostScriptsDir();
const scripts = fs
    .readdirSync(scriptsDir)
    .filter((name) => name.endsWith(".sh"))
    .sort();
/** The loader and the prelude are not host scripts themselves. */
const hostScripts = scripts.filter((name) => name !== "env-loader.sh" && name !== "prelude.sh");
const read = (name: string) => fs.readFileSync(path.join(scriptsDir, name), "utf8");
/** The helpers every script gets from the prelude. */
const PRELUDE_HELPERS = ["say", "warn", "die", "fail", "run", "apt_get", "install_tools", "write_if_changed", "remove_file", "temp_file"];
const LOADS_PRELUDE = [
    "# shellcheck source-path=SCRIPTDIR source=prelude.sh disable=SC1091",
    'declare -F die >/dev/null || source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"',
].join("\n");

describe("scripts/host/*.sh", function () {
    it("finds the host scripts", function () {
        for (const name of [
            "env-loader.sh",
            "prelude.sh",
            "firewall.sh",
            "oneadmin-key.sh",
            "opennebula-node.sh",
            "opennebula-repo.sh",
            "public-forwarding.sh",
            "sysctl.sh",
        ]) {
            assert.ok(scripts.includes(name), `${name} is in ${scriptsDir}`);
        }
    });

    it("the prelude is strict bash, also inside $(...)", function () {
        const prelude = read("prelude.sh");
        assert.match(prelude, /^set -euo pipefail$/m);
        assert.match(prelude, /^shopt -s inherit_errexit$/m);
        assert.match(prelude, /^shopt -s lastpipe$/m);
        assert.match(prelude, /^trap on_exit EXIT$/m);
    });

    for (const name of scripts) {
        it(`${name} is bash, indented by two spaces`, function () {
            const text = read(name);
            assert.ok(text.startsWith("#!/usr/bin/env bash\n"), "starts with #!/usr/bin/env bash");
            const odd = text.split("\n").findIndex((line) => /^( {2})* \S/.test(line) && !line.trimStart().startsWith("#"));
            assert.equal(odd, -1, `line ${odd + 1} is not indented by a multiple of two spaces`);
            assert.doesNotMatch(text, /^\t/m, "no tabs");
        });

        it(`${name} is shellcheck clean`, function () {
            const result = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "--external-sources", name], {
                cwd: scriptsDir,
                encoding: "utf8",
            });
            if (result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT") {
                console.log("      skipped: shellcheck is not installed");
                this.skip();
            }
            assert.equal(result.status, 0, result.stdout + result.stderr);
        });
    }

    for (const name of hostScripts) {
        it(`${name} loads the prelude, names itself, and defines none of its helpers`, function () {
            const text = read(name);
            assert.ok(text.includes(`${LOADS_PRELUDE}\nscript_name ${name}\n`), "loads the prelude, then script_name <file name>");
            for (const helper of PRELUDE_HELPERS) {
                assert.doesNotMatch(text, new RegExp(`^${helper}\\(\\) \\{`, "m"), `${helper} comes from the prelude`);
            }
            assert.doesNotMatch(text, /^set -euo pipefail$/m, "strict mode comes from the prelude");
        });

        it(`${name} run straight from scripts/host loads the prelude beside it`, function () {
            const result = spawnSync("bash", [path.join(scriptsDir, name)], {
                env: { PATH: process.env.PATH, ACTION: "no-such-action" },
                encoding: "utf8",
            });
            assert.equal(result.status, 1, result.stderr);
            assert.match(result.stderr, new RegExp(`^${name.replace(".", "\\.")}: ACTION must be one of `, "m"));
        });
    }
});
