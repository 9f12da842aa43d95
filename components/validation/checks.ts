/**
 * The checks every component shares. Each returns the checked value or throws a
 * {@link ConfigError} naming the field and what is allowed.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, describe } from "./config-error";

/**
 * True for a value given directly in the program — not omitted, not an Output, not a promise —
 * which can be checked now. Values that are not known yet are checked when they resolve (by the
 * renderers), or by the cloud.
 */
export function isKnown<T>(value: pulumi.Input<T> | undefined | null): value is T {
    return value !== undefined && value !== null && !pulumi.Output.isInstance(value) && !(value instanceof Promise);
}

/** Fails when `value` is missing or empty; `what` says what to give. */
export function required<T>(field: string, value: T | undefined | null | "", what?: string): T {
    if (value === undefined || value === null || value === "")
        throw new ConfigError(field, what === undefined ? "is required" : `is required: ${what}`);
    return value;
}

/** Fails unless `value` is one of `allowed`. */
export function oneOf<T extends string | number>(field: string, value: unknown, allowed: readonly T[]): T {
    if (!(allowed as readonly unknown[]).includes(value)) {
        throw new ConfigError(field, `must be one of ${allowed.join(", ")} (got ${describe(value)})`);
    }
    return value as T;
}

/** Fails unless `value` is an integer from `min` to `max`. */
export function integerIn(field: string, value: unknown, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        throw new ConfigError(field, `must be an integer from ${min} to ${max} (got ${describe(value)})`);
    }
    return value;
}

/** Fails unless `value` is true or false; `fallback` when omitted. */
export function booleanOr(field: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") throw new ConfigError(field, `must be true or false (got ${describe(value)})`);
    return value;
}

/** Fails on the first value that appears twice; `fieldOf(i)` names the i-th entry, `what` the kind of value. Undefined entries are skipped. */
export function unique(values: readonly (string | undefined)[], fieldOf: (index: number) => string, what: string): void {
    const seen = new Map<string, number>();
    values.forEach((value, index) => {
        if (value === undefined) return;
        const first = seen.get(value);
        if (first !== undefined)
            throw new ConfigError(fieldOf(index), `duplicate ${what} ${JSON.stringify(value)} (already used by ${fieldOf(first)})`);
        seen.set(value, index);
    });
}

/** Linux network interface names: 1 to 15 letters, digits, `_`, `.`, `@`, `-`. */
export const INTERFACE_NAME = /^[A-Za-z0-9_.@-]{1,15}$/;

/** Fails unless `value` is a Linux interface name. */
export function interfaceName(field: string, value: unknown): string {
    if (typeof value !== "string" || !INTERFACE_NAME.test(value)) {
        throw new ConfigError(field, `must be an interface name of 1 to 15 letters, digits, "_", ".", "@", "-" (got ${describe(value)})`);
    }
    return value;
}

/** Linux user names: a lower-case letter or `_`, then up to 31 lower-case letters, digits, `_` or `-`. */
export const LINUX_USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** Fails unless `value` is a Linux user name. */
export function linuxUserName(field: string, value: unknown): string {
    if (typeof value !== "string" || !LINUX_USER_NAME.test(value)) {
        throw new ConfigError(
            field,
            `must be a Linux user name: a lower-case letter or "_", then up to 31 lower-case letters, digits, "_" or "-" (got ${describe(value)})`,
        );
    }
    return value;
}

/** The OpenSSH public key types a host's `authorized_keys` takes (what `oneadmin-key.sh` accepts). */
export const SSH_KEY_TYPES = [
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
] as const;

/** One OpenSSH public key line: `TYPE BASE64 [COMMENT]`, TYPE one of {@link SSH_KEY_TYPES}. */
export const SSH_PUBLIC_KEY =
    /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( [^\r\n]*)?$/;

/** What a bad OpenSSH public key line is told. */
export const SSH_PUBLIC_KEY_PROBLEM = `must be one OpenSSH public key line "TYPE BASE64 [COMMENT]" whose key data names TYPE, one of ${SSH_KEY_TYPES.join(", ")}`;

/**
 * Fails unless `value` is one OpenSSH public key line whose base64 key data starts with its own
 * type name, as every OpenSSH key does (so `ssh-ed25519 AAAA` or a pasted fingerprint is refused).
 */
export function sshPublicKeyLine(field: string, value: unknown): string {
    const line = typeof value === "string" ? value.trim() : "";
    const match = SSH_PUBLIC_KEY.exec(line);
    if (match === null) throw new ConfigError(field, SSH_PUBLIC_KEY_PROBLEM);
    const blob = Buffer.from(line.split(" ")[1], "base64");
    const typeLength = blob.length >= 4 ? blob.readUInt32BE(0) : -1;
    if (typeLength !== match[1].length || blob.subarray(4, 4 + typeLength).toString("latin1") !== match[1]) {
        throw new ConfigError(field, `${SSH_PUBLIC_KEY_PROBLEM}: the key data does not start with ${match[1]}`);
    }
    return line;
}

/** A PEM private key: OpenSSH's own format, or PKCS#1/PKCS#8/SEC1. */
const PRIVATE_KEY_PEM = /^-----BEGIN (OPENSSH |RSA |EC |)PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END \1PRIVATE KEY-----\s*$/;

/** What a bad private key is told (never the value: it is a secret). */
export const SSH_PRIVATE_KEY_PROBLEM =
    "must be a private key in PEM form (-----BEGIN OPENSSH PRIVATE KEY----- …, as ssh-keygen writes it; RSA/EC/PKCS#8 PEM also work); its value is not shown";

/** Fails unless `value` looks like a PEM private key. The error never shows the value. */
export function sshPrivateKeyText(field: string, value: unknown): string {
    if (typeof value !== "string" || !PRIVATE_KEY_PEM.test(value.trim())) throw new ConfigError(field, SSH_PRIVATE_KEY_PROBLEM);
    return value;
}
