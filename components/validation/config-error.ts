/**
 * The one error every component, renderer and program throws for a bad argument: the argument's
 * path and what is allowed. Thrown before anything is created.
 */

/** An invalid argument. `field` is its path, e.g. `hosts.kvm-a.publicIps` or `mappings[1].privateIp`. */
export class ConfigError extends Error {
    /** The path of the argument that holds the bad value. */
    readonly field: string;
    /** What is wrong and what is allowed, without the path. */
    readonly problem: string;

    constructor(field: string, problem: string) {
        super(`${field}: ${problem}`);
        this.name = "ConfigError";
        this.field = field;
        this.problem = problem;
    }
}

/** A short, safe rendering of a bad value for an error message (never called with secrets). */
export function describe(value: unknown): string {
    if (typeof value === "string") return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
    if (value === undefined) return "nothing";
    if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
    return Array.isArray(value) ? "a list" : "an object";
}

/**
 * Runs `check`, renaming the field of any {@link ConfigError} it throws with `rename` — to put a
 * nested check's fields under the caller's argument (`prefix`), or to say them in the caller's words.
 */
export function withFieldPrefix<T>(prefix: string | ((field: string) => string), check: () => T): T {
    try {
        return check();
    } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        throw new ConfigError(typeof prefix === "string" ? `${prefix}${error.field}` : prefix(error.field), error.problem);
    }
}

/** `["hosts", "kvm-a", "publicIps"]` → `hosts.kvm-a.publicIps`; `["targets", 0, "key"]` → `targets[0].key`. */
export function fieldPath(path: readonly PropertyKey[]): string {
    return path.map((part, i) => (typeof part === "number" ? `[${part}]` : `${i === 0 ? "" : "."}${String(part)}`)).join("");
}
