/**
 * What a host's boot runs of the package: the `opennebula-edge-*` units the host scripts wrote
 * and enabled (linked from multi-user.target.wants), in the order their `After=` lines give among
 * themselves, each as its `ExecStart=` command lines. Pure: the caller reads the unit files and
 * runs the lines (in a network namespace, as test/host/reboot.test.ts and the lab's reboot do).
 */

/** An enabled unit of the package, as boot runs it. */
export interface BootUnit {
    /** `opennebula-edge-<name>.service`. */
    name: string;
    /** The units it starts after (`After=`). */
    after: string[];
    /** Its `ExecStart=` lines, each split into argv. */
    execStart: string[][];
}

/** The units' text, by file name, as boot would run them: only `opennebula-edge-*`, in After= order. */
export function bootOrder(units: Record<string, string>): BootUnit[] {
    const parsed = Object.entries(units)
        .filter(([name]) => name.startsWith("opennebula-edge-"))
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, text]): BootUnit => {
            const lines = text.split("\n");
            const after = lines.filter((line) => line.startsWith("After=")).flatMap((line) => line.slice(6).trim().split(/\s+/));
            const execStart = lines.filter((line) => line.startsWith("ExecStart=")).map((line) => line.slice(10).trim().split(/\s+/));
            return { name, after, execStart };
        });
    const names = parsed.map((unit) => unit.name);
    const ordered: BootUnit[] = [];
    while (ordered.length < parsed.length) {
        const next = parsed.find(
            (unit) =>
                !ordered.includes(unit) &&
                unit.after.every((dependency) => !names.includes(dependency) || ordered.some((done) => done.name === dependency)),
        );
        if (next === undefined) throw new Error(`the units' After= lines form a cycle: ${names.join(", ")}`);
        ordered.push(next);
    }
    return ordered;
}
