// Runs one dynamic provider the way Pulumi's dynamic-provider host does: the provider arrives as the
// text that `serializeFunction` produced, is loaded with require-from-string in a fresh node process,
// and `handler()` returns it. Then it goes through check → create → read → delete.
//
// usage: node run-provider.js <serialized-provider-file> <project-dir>   (inputs as JSON in PROVIDER_INPUTS)
import * as fs from "fs";
import * as path from "path";
import { createRequire } from "module";

async function main(): Promise<void> {
    const [providerFile, projectDir] = process.argv.slice(2);
    const requireFromProject = createRequire(path.join(path.resolve(projectDir), "package.json"));
    const requireFromString = requireFromProject("require-from-string");
    const provider = requireFromString(fs.readFileSync(providerFile, "utf8")).handler();
    const news = JSON.parse(process.env.PROVIDER_INPUTS ?? "{}");

    const checked = await provider.check({}, news);
    if (process.env.PROVIDER_EXPECT_CHECK_FAILURES) {
        process.stdout.write(JSON.stringify({ failures: checked.failures }));
        return;
    }
    if (checked.failures?.length) throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
    if (process.env.PROVIDER_EXPECT_CREATE_ERROR) {
        // Report how a failed create reaches the engine: the engine reads `message` and expects an Error.
        const error = await provider.create(checked.inputs).then(
            () => undefined,
            (err: unknown) => err,
        );
        process.stdout.write(
            JSON.stringify({
                isError: error instanceof Error,
                message: (error as Error | undefined)?.message,
                name: (error as Error | undefined)?.name,
            }),
        );
        return;
    }
    const created = await provider.create(checked.inputs);
    const read = await provider.read(created.id, created.outs);
    await provider.delete(created.id, read.props);
    const afterDelete = await provider.read(created.id, read.props);
    process.stdout.write(JSON.stringify({ id: created.id, outs: created.outs, read: read.props, goneAfterDelete: afterDelete.id === "" }));
}

main().catch((err) => {
    process.stderr.write(String(err?.stack ?? err));
    process.exit(1);
});
