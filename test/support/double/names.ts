/**
 * Name rules: `PoolObjectSQL::name_is_valid` for every object, plus the hostname check that
 * `HostPool::allocate` gained in 6.10.1.
 */

/** `PoolObjectSQL::INVALID_NAME_CHARS`. */
const INVALID_NAME_CHARS = "&|:\\\";/'#{}$<>\t\n\v\f\r";

/** The error `name_is_valid` reports for `name`, or undefined when the name is fine. */
export function nameError(name: string): string | undefined {
    if (name === "") return "Invalid NAME, it cannot be empty";
    const bad = [...name].find((c) => INVALID_NAME_CHARS.includes(c));
    if (bad !== undefined) return `Invalid NAME, char '${bad}' is not allowed`;
    if (name.length > 128) return "Invalid NAME, max length is 128 chars";
    return undefined;
}

/** The error 6.10.1+'s `hostname_is_valid` reports for `name`, or undefined when it is a valid hostname. */
export function hostnameError(name: string): string | undefined {
    if (name.length < 2 || name.length > 63) {
        return "Invalid HOSTNAME, HOSTNAME length should be greater than 1, but smaller than 64 characters";
    }
    const first = name[0];
    if (first === "-" || first === "." || first === "_") return `Invalid HOSTNAME, first character can't be '${first}'`;
    const bad = [...name].find((c) => !/[A-Za-z0-9._-]/.test(c));
    if (bad !== undefined) return `Invalid HOSTNAME, '${bad}' is invalid character for a HOSTNAME`;
    const last = name[name.length - 1];
    if (last === "-" || last === "." || last === "_") return `Invalid HOSTNAME, last character can't be '${last}'`;
    return undefined;
}

/** True when `version` (e.g. "6.10.0", "7.0.1") is at least `major.minor.patch`. */
export function versionAtLeast(version: string, major: number, minor: number, patch: number): boolean {
    const [a = 0, b = 0, c = 0] = version.split(".").map((p) => parseInt(p, 10) || 0);
    if (a !== major) return a > major;
    if (b !== minor) return b > minor;
    return c >= patch;
}
