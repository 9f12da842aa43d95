/**
 * Where OpenNebula's XML-RPC endpoint is and which credentials to use, resolved the way
 * OpenNebula's own CLI does: `ONE_XMLRPC` for the endpoint and the `ONE_AUTH` file
 * (a single line `user:password`) for the credentials.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** How to reach OpenNebula's XML-RPC endpoint. */
export interface OneConnection {
    /** XML-RPC endpoint URL, e.g. `http://frontend:2633/RPC2`. */
    endpoint: string;
    /** OpenNebula user name, e.g. `oneadmin`. */
    username: string;
    /** The user's password (or a login token). Secret: never logged or echoed. */
    password: string;
}

/** Endpoint used when neither an explicit endpoint nor `ONE_XMLRPC` is given. */
export const DEFAULT_ENDPOINT = "http://localhost:2633/RPC2";
/** The credentials file OpenNebula's CLI falls back to after `~/.one/one_auth`. */
export const SYSTEM_AUTH_FILE = "/var/lib/one/.one/one_auth";

const ENDPOINT_EXAMPLE = "http://frontend:2633/RPC2";

/**
 * Resolves a connection.
 *
 * - `endpoint`: `explicit.endpoint`, else `$ONE_XMLRPC`, else `http://localhost:2633/RPC2`.
 * - credentials: `explicit.username` and `explicit.password` (both or neither), else the file named
 *   by `$ONE_AUTH`, else `<home>/.one/one_auth`, else `/var/lib/one/.one/one_auth`. The file holds a
 *   single line `user:password`; trailing whitespace is dropped and the line is split at the first
 *   colon, so the password may contain colons.
 *
 * Unlike the Ruby CLI, a `$ONE_AUTH` naming a missing file is an error rather than a silent
 * fall-back to the default files, so the wrong identity is never used by accident.
 *
 * Throws an Error naming the variable or file and what is expected; the password is never echoed.
 *
 * @param explicit        values that win over the environment
 * @param env             environment to read (default `process.env`)
 * @param home            home directory (default `$HOME` from `env`, else `os.homedir()`)
 * @param systemAuthFile  last-resort credentials file (default `/var/lib/one/.one/one_auth`)
 */
export function resolveConnection(
    explicit: Partial<OneConnection> | undefined,
    env: NodeJS.ProcessEnv = process.env,
    home: string = env.HOME || os.homedir(),
    systemAuthFile: string = SYSTEM_AUTH_FILE,
): OneConnection {
    const endpoint = explicit?.endpoint ?? nonEmpty(env.ONE_XMLRPC) ?? DEFAULT_ENDPOINT;
    const { username, password, file } = resolveCredentials(explicit, env, home, systemAuthFile);
    const connection: OneConnection = { endpoint, username, password };
    const problems = validateConnection(connection);
    if (problems.length > 0) {
        const sources = [
            explicit?.endpoint === undefined && nonEmpty(env.ONE_XMLRPC) !== undefined ? "endpoint from ONE_XMLRPC" : "",
            file !== undefined ? `credentials from ${file}` : "",
        ].filter((x) => x !== "");
        const origin = sources.length > 0 ? ` (${sources.join(", ")})` : "";
        throw new Error(`Invalid OpenNebula connection${origin}: ${problems.join("; ")}`);
    }
    return connection;
}

/**
 * Lists the problems with a connection, each naming the field (`<field>.endpoint`, …) and what is
 * allowed. An empty list means the connection is usable. Never includes the password.
 *
 * @param c     the connection to check
 * @param field how to name the connection in messages (default `connection`)
 */
export function validateConnection(c: Partial<OneConnection>, field = "connection"): string[] {
    return [
        ...endpointProblems(c.endpoint, `${field}.endpoint`),
        ...usernameProblems(c.username, `${field}.username`),
        ...passwordProblems(c.password, `${field}.password`),
    ];
}

function endpointProblems(endpoint: unknown, name: string): string[] {
    const expected = `an http(s) URL such as ${ENDPOINT_EXAMPLE}`;
    if (typeof endpoint !== "string" || endpoint.trim() === "") {
        return [`${name} is required: ${expected}`];
    }
    let url: URL;
    try {
        url = new URL(endpoint);
    } catch {
        return [`${name} must be ${expected} (got ${JSON.stringify(endpoint)})`];
    }
    if (url.username || url.password) {
        return [`${name} must not contain credentials; give them as username and password instead`];
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
        return [`${name} must be ${expected} (got protocol ${JSON.stringify(url.protocol)})`];
    }
    return [];
}

function usernameProblems(username: unknown, name: string): string[] {
    if (typeof username !== "string" || username === "") {
        return [`${name} is required: the OpenNebula user name, e.g. oneadmin`];
    }
    if (username.includes(":")) {
        return [`${name} must not contain ':' (the session string is username:password)`];
    }
    if (/\s/.test(username)) {
        return [`${name} must not contain whitespace`];
    }
    return [];
}

function passwordProblems(password: unknown, name: string): string[] {
    if (typeof password !== "string" || password === "") {
        return [`${name} is required: the OpenNebula user's password or login token`];
    }
    if (/[\r\n]/.test(password)) {
        return [`${name} must be a single line`];
    }
    return [];
}

function resolveCredentials(
    explicit: Partial<OneConnection> | undefined,
    env: NodeJS.ProcessEnv,
    home: string,
    systemAuthFile: string,
): Credentials {
    const username = explicit?.username;
    const password = explicit?.password;
    if (username !== undefined && password !== undefined) {
        return { username, password };
    }
    if (username !== undefined || password !== undefined) {
        throw new Error(
            "Invalid OpenNebula connection: give both connection.username and connection.password, " +
                "or neither to read them from the ONE_AUTH file",
        );
    }
    const file = findAuthFile(env, home, systemAuthFile);
    return { ...readAuthFile(file), file };
}

interface Credentials {
    username: string;
    password: string;
    /** The auth file they came from, if any. */
    file?: string;
}

function findAuthFile(env: NodeJS.ProcessEnv, home: string, systemAuthFile: string): string {
    const fromEnv = nonEmpty(env.ONE_AUTH);
    if (fromEnv !== undefined) {
        if (!isFile(fromEnv)) {
            throw new Error(
                `ONE_AUTH names ${fromEnv}, which does not exist or is not a file; it must name a file holding a single line username:password`,
            );
        }
        return fromEnv;
    }
    const candidates = [path.join(home, ".one", "one_auth"), systemAuthFile];
    const found = candidates.find(isFile);
    if (found === undefined) {
        throw new Error(
            `No OpenNebula credentials: set ONE_AUTH to a file holding a single line username:password, ` +
                `or create ${candidates.join(" or ")}, or give connection.username and connection.password`,
        );
    }
    return found;
}

/** Reads `user:password` from an auth file; errors name the file but never show its content. */
function readAuthFile(file: string): Pick<OneConnection, "username" | "password"> {
    let content: string;
    try {
        content = fs.readFileSync(file, "utf8");
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? "read error";
        throw new Error(`Cannot read OpenNebula credentials file ${file} (${code})`);
    }
    const line = content.trimEnd();
    const expected = "a single line username:password";
    if (line === "") {
        throw new Error(`OpenNebula credentials file ${file} is empty; it must hold ${expected}`);
    }
    if (/[\r\n]/.test(line)) {
        throw new Error(`OpenNebula credentials file ${file} has more than one line; it must hold ${expected}`);
    }
    const colon = line.indexOf(":");
    if (colon <= 0 || colon === line.length - 1) {
        throw new Error(`OpenNebula credentials file ${file} is malformed; it must hold ${expected} (both parts non-empty)`);
    }
    return { username: line.slice(0, colon), password: line.slice(colon + 1) };
}

function isFile(file: string): boolean {
    try {
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

function nonEmpty(value: string | undefined): string | undefined {
    return value === undefined || value === "" ? undefined : value;
}
