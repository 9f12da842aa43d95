/** Every host script is shellcheck clean and follows the house rules for scripts run over SSH. */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { hostScriptsDir } from "../../components/edge/host-scripts";

const scriptsDir = hostScriptsDir();
const scripts = fs.readdirSync(scriptsDir).filter((name) => name.endsWith(".sh")).sort();

describe("scripts/host/*.sh", function () {
    it("finds the host scripts", function () {
        for (const name of ["env-loader.sh", "firewall.sh", "oneadmin-key.sh", "opennebula-node.sh", "opennebula-repo.sh", "public-forwarding.sh", "sysctl.sh"]) {
            assert.ok(scripts.includes(name), `${name} is in ${scriptsDir}`);
        }
    });

    for (const name of scripts) {
        it(`${name} is strict bash`, function () {
            const text = fs.readFileSync(path.join(scriptsDir, name), "utf8");
            assert.ok(text.startsWith("#!/usr/bin/env bash\n"), "starts with #!/usr/bin/env bash");
            assert.match(text, /^\s*set -euo pipefail$/m);
        });

        it(`${name} is shellcheck clean`, function () {
            const result = spawnSync("shellcheck", ["--shell=bash", "--severity=style", path.join(scriptsDir, name)], { encoding: "utf8" });
            if (result.error && (result.error as NodeJS.ErrnoException).code === "ENOENT") {
                console.log("      skipped: shellcheck is not installed");
                this.skip();
            }
            assert.equal(result.status, 0, result.stdout + result.stderr);
        });
    }
});
