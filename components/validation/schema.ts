/**
 * zod building blocks for arguments that are also stack configuration (a cloud's settings), and
 * the one translation of zod's issues into words — so a component and the stack program say the
 * same thing about the same bad value.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { interfaceName, linuxUserName, sshPrivateKeyText, sshPublicKeyLine } from "./checks";
import { ConfigError, fieldPath } from "./config-error";
import { ipv4, ipv4Cidr } from "./ipv4";

/** Whether `A` and `B` have the same keys and each is assignable to the other. */
type SameArguments<A, B> = [keyof A] extends [keyof B]
    ? [keyof B] extends [keyof A]
        ? [A] extends [B]
            ? [B] extends [A]
                ? true
                : false
            : false
        : false
    : false;

/**
 * `schema`, checked at compile time to accept exactly `Args`, the documented TypeScript interface
 * of a component's settings: a setting added to one and not the other, or typed differently, does
 * not compile. The interface is what the published declarations show (they never name zod,
 * whose declarations Pulumi's template tsconfig cannot check); the schema is what validates.
 *
 * ```ts
 * const awsSettings = schemaOf<AwsSettings>()(z.object({ … }));
 * ```
 */
export function schemaOf<Args>() {
    return <Schema extends z.ZodType>(
        schema: Schema & (SameArguments<z.input<Schema>, Args> extends true ? unknown : { "the schema's input differs from": Args }),
    ): Schema => schema;
}

/** An integer from `min` to `max`. */
export const integerSchema = (min: number, max: number) => {
    const message = `must be an integer from ${min} to ${max}`;
    return z.number({ error: message }).int(message).min(min, message).max(max, message);
};

/** A TCP/UDP port. */
export const portSchema = integerSchema(1, 65535);

/**
 * `schema`, further checked by one of the shared checks: its {@link ConfigError} becomes the
 * issue, so the schema and the check say the same thing in the same words.
 */
export function checkedBy<T extends z.ZodType>(schema: T, check: (value: z.output<T>) => unknown): T {
    return schema.superRefine((value, ctx) => {
        try {
            check(value);
        } catch (error) {
            if (!(error instanceof ConfigError)) throw error;
            ctx.addIssue({ code: "custom", message: error.problem, continue: false });
        }
    }) as T;
}

/** A dotted-quad IPv4 address. */
export const ipv4Schema = checkedBy(z.string({ error: "must be an IPv4 address such as 203.0.113.10" }), (value) => ipv4("", value));

/** An IPv4 subnet such as `10.0.0.0/16` (no host bits set), with a prefix length from `minPrefix` to `maxPrefix`. */
export const cidrSchema = (minPrefix = 0, maxPrefix = 32) =>
    checkedBy(z.string({ error: "must be an IPv4 CIDR such as 10.0.0.0/16" }), (value) => ipv4Cidr("", value, minPrefix, maxPrefix));

/** A Linux user name. */
export const linuxUserSchema = checkedBy(z.string(), (value) => linuxUserName("", value));

/** A Linux network interface name. */
export const interfaceNameSchema = checkedBy(z.string(), (value) => interfaceName("", value));

/** One OpenSSH public key line. */
export const sshPublicKeySchema = checkedBy(z.string().trim(), (value) => sshPublicKeyLine("", value));

/** A PEM private key (a secret: its value never appears in an error). */
export const sshPrivateKeySchema = checkedBy(z.string(), (value) => sshPrivateKeyText("", value));

/** Non-empty text; `what` names it in the error. */
export const textSchema = (what: string) => z.string({ error: `must be ${what}` }).min(1, `must be ${what}`);

/**
 * A value that may also be a Pulumi Output or promise: a plain value is checked by `schema`; an
 * Output passes (the cloud checks it when it resolves). Stack configuration is always plain.
 */
export function inputSchema<T extends z.ZodType>(schema: T) {
    const pending = z.custom<pulumi.OutputInstance<z.output<T>> | Promise<z.output<T>>>(
        (value) => pulumi.Output.isInstance(value) || value instanceof Promise,
    );
    return z.union([schema, pending]);
}

/**
 * Checks `value` with `schema` and returns the result (defaults applied).
 *
 * @throws ConfigError naming the first bad field, with `prefix` before it.
 */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown, prefix = ""): z.output<T> {
    const result = schema.safeParse(value, { reportInput: true });
    if (result.success) return result.data;
    const issue = result.error.issues[0];
    const field = issue.code === "unrecognized_keys" ? fieldPath([...issue.path, issue.keys[0]]) : fieldPath(issue.path);
    throw new ConfigError(`${prefix}${field}` || "args", issueProblem(issue));
}

/**
 * A zod issue in words: what is allowed, and what was given (unless `hideInput`, for secrets, the
 * input is a structure, or the message says it already). Messages written in the schemas are
 * kept; zod's own are reworded.
 */
export function issueProblem(issue: z.core.$ZodIssue, hideInput = false): string {
    const input = (issue as { input?: unknown }).input;
    const said = issue.message.includes("(got ");
    const got = hideInput || said || input === undefined || typeof input === "object" ? "" : ` (got ${JSON.stringify(input)})`;
    if (!/^(Invalid|Too (small|big)|Unrecognized)/.test(issue.message)) return `${issue.message}${got}`;
    switch (issue.code) {
        case "invalid_value":
            if (input === undefined) return `is required: one of ${issue.values.map(String).join(", ")}`;
            return `must be one of ${issue.values.map(String).join(", ")}${got}`;
        case "invalid_union": {
            const options = (issue as { options?: unknown[] }).options;
            const value = (input as Record<string, unknown> | undefined)?.[(issue as { discriminator?: string }).discriminator ?? ""];
            return options ? `must be one of ${options.join(", ")} (got ${JSON.stringify(value)})` : issue.message;
        }
        case "invalid_type":
            if (input === undefined) return "is required";
            return `must be ${article(issue.expected)}${got}`;
        case "unrecognized_keys":
            return "is not a known key";
        case "too_small":
        case "too_big":
            return `${rangeProblem(issue.code, issue.origin, Number(issue.code === "too_small" ? issue.minimum : issue.maximum))}${got}`;
        default:
            return `${issue.message}${got}`;
    }
}

/** "must be at least 1", "must list at most 5 items", "must have at least 1 character". */
function rangeProblem(code: "too_small" | "too_big", origin: string, limit: number): string {
    const bound = code === "too_small" ? "at least" : "at most";
    if (origin === "array") return `must list ${bound} ${limit} item${limit === 1 ? "" : "s"}`;
    if (origin === "string") return `must have ${bound} ${limit} character${limit === 1 ? "" : "s"}`;
    return `must be ${bound} ${limit}`;
}

function article(expected: string): string {
    if (expected === "int") return "an integer";
    if (expected === "array") return "a list";
    if (expected === "object" || expected === "record") return "a map of keys";
    return `a ${expected}`;
}
