/**
 * The harness of the bad-input tables: set a value at a path (`overlay.subnet`,
 * `edgeClusters[0].hosts`, `mappings[1].privateIp`), run a program under mocks counting every
 * resource it registers, and collect what each case led to — for the tables' assertions and for
 * a report (`BAD_INPUTS_REPORT=<file>` appends one Markdown row per case).
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";

/** Stands for "remove this key". */
export const DELETE = Symbol("delete");

/** `a.b[0].c` → `["a", "b", 0, "c"]`. */
export function pathParts(path: string): (string | number)[] {
    return path.split(".").flatMap((part) => {
        const [name, ...indexes] = part.split("[");
        return [...(name === "" ? [] : [name]), ...indexes.map((index) => Number(index.slice(0, -1)))];
    });
}

/** Sets (or, with {@link DELETE}, removes) the value at `path` inside `target`, creating objects on the way. */
export function setPath(target: Record<string, any>, path: string, value: unknown): void {
    const parts = pathParts(path);
    let node: any = target;
    for (const [i, part] of parts.slice(0, -1).entries()) {
        if (node[part] === undefined || node[part] === null || typeof node[part] !== "object")
            node[part] = typeof parts[i + 1] === "number" ? [] : {};
        node = node[part];
    }
    const last = parts[parts.length - 1];
    if (value === DELETE) delete node[last];
    else node[last] = value;
}

/** What a case led to. */
export interface Outcome {
    /** The error it threw, if any. */
    error?: unknown;
    /** How many resources were registered while it ran (the component itself included). */
    registered: string[];
}

/**
 * Runs `program` under mocks that answer nothing special; `prepare` runs first and what it
 * registers (providers, a mesh …) is not counted. Returns the error and what was registered after.
 */
export async function runCounting<T>(prepare: () => T, program: (prepared: T) => unknown): Promise<Outcome> {
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
            call: (args) => args.inputs,
        },
        "project",
        "stack",
        false,
    );
    const registered: string[] = [];
    let counting = false;
    let error: unknown;
    try {
        await pulumi.runtime.runInPulumiStack(async () => {
            pulumi.runtime.registerStackTransformation((args) => {
                if (counting) registered.push(`${args.type}::${args.name}`);
                return undefined;
            });
            const prepared = prepare();
            counting = true;
            await program(prepared);
        });
    } catch (caught) {
        error = caught;
    }
    return { error, registered };
}

/** Appends one row to the report file named by `BAD_INPUTS_REPORT`, when set. */
export function report(table: string, input: string, named: string, registered: number): void {
    const file = process.env.BAD_INPUTS_REPORT;
    if (file) fs.appendFileSync(file, `| ${table} | ${input.replace(/\|/g, "\\|")} | ${named.replace(/\|/g, "\\|")} | ${registered} |\n`);
}

/** A value in a row, short: what the case sets. */
export function show(value: unknown): string {
    if (value === DELETE) return "(removed)";
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}…` : text;
}
