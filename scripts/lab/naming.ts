/**
 * How a lab run is named, and every name derived from it. Several labs share one machine, so
 * everything a run creates outside its own namespaces carries its name: the namespaces
 * (`<name>-inet`, `<name>-kvm1`…), the state directory (`/run/oneedge-lab/<name>`), the mount
 * sources of its nodes (`<name>-frr`…) and the `ONEEDGE_LAB=<name>` variable in the environment
 * of every process it starts. A name has no `-`, so `<name>-` never prefixes another run's names.
 */
import { createHash, randomBytes } from "node:crypto";
import { realpathSync } from "node:fs";
import * as path from "node:path";
import { packageRoot } from "./environment";

/** Lowercase letters and digits, starting with a letter, at most 12 characters. */
export const LAB_NAME_PATTERN = /^[a-z][a-z0-9]{0,11}$/;

/** Where the state directories of all labs live (root-only, like the namespaces in /run/netns). */
export const LAB_STATE_ROOT = "/run/oneedge-lab";

/** Environment variable set to the run's name in every process the lab starts. */
export const LAB_RUN_VARIABLE = "ONEEDGE_LAB";

/** Throws unless `name` is a valid lab name; returns it. */
export function validateLabName(name: string, field = "name"): string {
    if (!LAB_NAME_PATTERN.test(name)) {
        throw new Error(`${field}: a lab name is 1 to 12 lowercase letters or digits starting with a letter, got "${name}"`);
    }
    return name;
}

/**
 * The CLI's default name: `lab` and 6 hex digits of the checkout's real path, so every command
 * from one checkout finds the same lab and two checkouts never share one.
 */
export function defaultLabName(checkout = packageRoot()): string {
    return `lab${createHash("sha256").update(realpathSync(checkout)).digest("hex").slice(0, 6)}`;
}

/** A fresh name for one test or benchmark run: `prefix` and 6 random hex digits. */
export function randomLabName(prefix = "t"): string {
    return validateLabName(`${prefix}${randomBytes(3).toString("hex")}`, "prefix");
}

/** The state directory of a lab. */
export function labStateDir(name: string): string {
    return path.join(LAB_STATE_ROOT, validateLabName(name));
}

/** The network namespace of one part (`inet`, `ingress`, `kvm1`, `vm1`…) of a lab. */
export function labNamespace(name: string, part: string): string {
    return `${name}-${part}`;
}

/** True when `namespace` belongs to the lab `name` (`<name>-…`). */
export function isLabNamespace(name: string, namespace: string): boolean {
    return namespace.startsWith(`${name}-`);
}
