/**
 * `npm run lab` starts here. Plain JavaScript, so it runs without a build: it compares every
 * source tsc compiles (as tsconfig.json lists them) with its output in dist/, runs tsc only when
 * one is missing or older, then hands over to dist/scripts/lab/cli.js in this process.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");

const ROOT = path.resolve(__dirname, "..", "..");
const CLI = path.join("dist", "scripts", "lab", "cli.js");

/**
 * Why dist/ is out of date for the project at `root` (a source newer than its output, a missing
 * output, tsconfig.json newer than an output), or undefined when it is current.
 */
function staleness(root = ROOT) {
    const ts = require(require.resolve("typescript", { paths: [root] }));
    const configFile = path.join(root, "tsconfig.json");
    const host = {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
            throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
        },
    };
    const config = ts.getParsedCommandLineOfConfigFile(configFile, {}, host);
    const configTime = modified(configFile);
    const relative = (file) => path.relative(root, file);
    for (const source of config.fileNames.filter((file) => !file.endsWith(".d.ts"))) {
        const output = ts.getOutputFileNames(config, source, !ts.sys.useCaseSensitiveFileNames).find((file) => file.endsWith(".js"));
        if (output === undefined) {
            continue;
        }
        const built = modified(output);
        if (built === undefined) {
            return `${relative(output)} is missing`;
        }
        if (built < modified(source)) {
            return `${relative(source)} is newer than ${relative(output)}`;
        }
        if (built < configTime) {
            return `tsconfig.json is newer than ${relative(output)}`;
        }
    }
    return undefined;
}

function modified(file) {
    try {
        return fs.statSync(file).mtimeMs;
    } catch {
        return undefined;
    }
}

function main() {
    const reason = staleness();
    if (reason !== undefined) {
        console.error(`lab: dist/ is out of date (${reason}); building with tsc`);
        const tsc = require.resolve("typescript/bin/tsc", { paths: [ROOT] });
        const build = spawnSync(process.execPath, [tsc, "-p", path.join(ROOT, "tsconfig.json")], { stdio: ["ignore", 2, 2] });
        if (build.status !== 0) {
            console.error("lab: the build failed");
            process.exitCode = build.status ?? 1;
            return;
        }
    }
    require(path.join(ROOT, CLI));
}

if (require.main === module) {
    main();
}

module.exports = { staleness };
