/**
 * Time per call through Pulumi's provider host: every resource type's lifecycle (Check, Create,
 * Read, Diff, Update, Delete) run `rounds` times against the test double, and the median time of
 * each RPC method per type, as the engine's client sees it (request sent → answer decoded).
 *
 * usage (after `npm run build`): node dist/test/engine/host-timing.js [rounds=5] [version=6.10.5]
 */
import { TYPE_CASES, makePrerequisites, removePrerequisites } from "./cases";
import { only, register } from "./registrations";
import { startEngineTarget } from "./target";

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main(): Promise<void> {
    const rounds = Number(process.argv[2] ?? 5);
    const version = process.argv[3] ?? "6.10.5";
    const t = await startEngineTarget(version);
    const rows: string[] = [];
    const configure = t.host.times.configure?.[0] ?? NaN;
    try {
        const p = await makePrerequisites(t.client, "timing");
        const startup = Date.now();
        for (const c of TYPE_CASES) {
            for (const key of Object.keys(t.host.times)) delete t.host.times[key];
            for (let round = 0; round < rounds; round++) {
                const name = `${c.type.toLowerCase()}-timing-${round}`;
                const args = c.minimal(p, name);
                const reg = only(await register(() => c.construct(name, args)), c.type);
                await t.engine.up(reg);
                await t.engine.refresh(reg.urn);
                const changed = only(await register(() => c.construct(name, c.inPlace(p, args, t.connection as never))), c.type);
                await t.engine.up(changed);
                await t.engine.diffUnchanged(reg.urn, changed);
                await t.engine.destroy(reg.urn);
            }
            const cells = ["check", "diff", "create", "read", "update", "delete"].map((m) =>
                t.host.times[m] ? median(t.host.times[m]).toFixed(1) : "-",
            );
            rows.push(`| ${c.type} | ${cells.join(" | ")} |`);
        }
        await removePrerequisites(t.client, p);
        console.log(
            `OpenNebula ${version} double, ${rounds} lifecycles per type, median ms per call (${((Date.now() - startup) / 1000).toFixed(1)} s):`,
        );
        console.log("| type | Check | Diff | Create | Read | Update | Delete |");
        console.log("|---|---:|---:|---:|---:|---:|---:|");
        for (const row of rows) console.log(row);
        console.log(`Configure (once per host): ${configure.toFixed(1)} ms`);
    } finally {
        await t.stop();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
