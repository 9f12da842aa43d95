/** The error type every overlay renderer and check throws for bad input. */

/** An invalid overlay argument. `field` is the argument path, e.g. `hosts[2].name`. */
export class OverlayConfigError extends Error {
    /** The argument path that holds the bad value. */
    readonly field: string;

    constructor(field: string, problem: string) {
        super(`${field}: ${problem}`);
        this.name = "OverlayConfigError";
        this.field = field;
    }
}

/** A short, safe rendering of a bad value for error messages (never called with secrets). */
export function describe(value: unknown): string {
    if (typeof value === "string") {
        return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
    }
    if (value === undefined) {
        return "nothing";
    }
    if (typeof value === "number" || typeof value === "boolean" || value === null) {
        return String(value);
    }
    return Array.isArray(value) ? "an array" : typeof value;
}

/** Throws unless `value` is an integer within `[min, max]`. */
export function assertIntegerInRange(value: unknown, field: string, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        throw new OverlayConfigError(field, `must be an integer from ${min} to ${max}, got ${describe(value)}`);
    }
    return value;
}

/** Node names become FRR hostnames, config comments and lab namespace suffixes. */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** Throws unless `value` is a node name: 1–63 letters, digits, `.`, `_`, `-`, starting with a letter or digit. */
export function assertNodeName(value: unknown, field: string): string {
    if (typeof value !== "string" || !NODE_NAME.test(value)) {
        throw new OverlayConfigError(
            field,
            `must be 1-63 letters, digits, ".", "_" or "-" starting with a letter or digit, got ${describe(value)}`,
        );
    }
    return value;
}

/** Throws on the first value that appears twice; `field(i)` names the i-th entry. */
export function assertUnique(values: readonly string[], field: (index: number) => string, what: string): void {
    const seen = new Map<string, number>();
    values.forEach((value, index) => {
        const first = seen.get(value);
        if (first !== undefined) {
            throw new OverlayConfigError(field(index), `duplicate ${what} ${JSON.stringify(value)} (already used by ${field(first)})`);
        }
        seen.set(value, index);
    });
}
