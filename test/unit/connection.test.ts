import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DEFAULT_ENDPOINT, resolveConnection, validateConnection } from "../../components/opennebula/connection";

const SECRET = "Sup3r-secret:with:colons";

describe("OpenNebula connection", () => {
    let dir: string;
    let home: string;
    /** Stands in for /var/lib/one/.one/one_auth so the tests never read the machine's real file. */
    let systemAuthFile: string;

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "one-connection-"));
        home = path.join(dir, "home");
        fs.mkdirSync(path.join(home, ".one"), { recursive: true });
        systemAuthFile = path.join(dir, "var-lib-one", "one_auth");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    function writeFile(file: string, content: string): string {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, content, { mode: 0o600 });
        return file;
    }

    const homeAuth = (): string => path.join(home, ".one", "one_auth");

    /** Runs resolveConnection and returns its error message, asserting it does not leak the secret. */
    function resolveError(...args: Parameters<typeof resolveConnection>): string {
        try {
            resolveConnection(...args);
        } catch (e) {
            const message = (e as Error).message;
            assert.ok(!message.includes(SECRET), `message leaks the password: ${message}`);
            assert.ok(!message.includes("Sup3r"), `message leaks part of the password: ${message}`);
            return message;
        }
        return assert.fail("expected resolveConnection to throw");
    }

    describe("resolveConnection", () => {
        it("reads ONE_XMLRPC and the file named by ONE_AUTH", () => {
            const file = writeFile(path.join(dir, "auth"), `oneadmin:${SECRET}\n`);
            const env = { ONE_XMLRPC: "http://frontend:2633/RPC2", ONE_AUTH: file };
            assert.deepStrictEqual(resolveConnection(undefined, env, home, systemAuthFile), {
                endpoint: "http://frontend:2633/RPC2",
                username: "oneadmin",
                password: SECRET,
            });
        });

        it("defaults to http://localhost:2633/RPC2 and ~/.one/one_auth", () => {
            writeFile(homeAuth(), "alice:pw\r\n");
            assert.deepStrictEqual(resolveConnection(undefined, {}, home, systemAuthFile), {
                endpoint: DEFAULT_ENDPOINT,
                username: "alice",
                password: "pw",
            });
            assert.equal(DEFAULT_ENDPOINT, "http://localhost:2633/RPC2");
        });

        it("treats empty ONE_XMLRPC and ONE_AUTH as unset", () => {
            writeFile(homeAuth(), "alice:pw");
            const c = resolveConnection(undefined, { ONE_XMLRPC: "", ONE_AUTH: "" }, home, systemAuthFile);
            assert.deepStrictEqual(c, { endpoint: DEFAULT_ENDPOINT, username: "alice", password: "pw" });
        });

        it("falls back to the system file after ~/.one/one_auth", () => {
            writeFile(systemAuthFile, "oneadmin:from-system\n");
            assert.equal(resolveConnection(undefined, {}, home, systemAuthFile).password, "from-system");
            writeFile(homeAuth(), "oneadmin:from-home\n");
            assert.equal(resolveConnection(undefined, {}, home, systemAuthFile).password, "from-home");
        });

        it("uses HOME from the given environment when no home is passed", () => {
            writeFile(homeAuth(), "bob:pw");
            assert.equal(resolveConnection(undefined, { HOME: home }, undefined, systemAuthFile).username, "bob");
        });

        it("splits at the first colon only and keeps leading spaces of the password", () => {
            writeFile(homeAuth(), "oneadmin: a:b:c \n\n");
            assert.equal(resolveConnection(undefined, {}, home, systemAuthFile).password, " a:b:c");
        });

        it("lets explicit values win over the environment and files", () => {
            writeFile(homeAuth(), "fromfile:pw");
            const env = { ONE_XMLRPC: "http://env:2633/RPC2", ONE_AUTH: path.join(dir, "does-not-exist") };
            const c = resolveConnection(
                { endpoint: "https://explicit/RPC2", username: "carol", password: SECRET },
                env,
                home,
                systemAuthFile,
            );
            assert.deepStrictEqual(c, { endpoint: "https://explicit/RPC2", username: "carol", password: SECRET });
            const endpointOnly = resolveConnection(
                { endpoint: "http://explicit:2633/RPC2" },
                { ONE_XMLRPC: "http://env/RPC2" },
                home,
                systemAuthFile,
            );
            assert.deepStrictEqual(endpointOnly, { endpoint: "http://explicit:2633/RPC2", username: "fromfile", password: "pw" });
        });

        it("refuses a username without a password (and vice versa)", () => {
            writeFile(homeAuth(), "fromfile:pw");
            assert.match(
                resolveError({ username: "carol" }, {}, home, systemAuthFile),
                /give both connection\.username and connection\.password/,
            );
            assert.match(
                resolveError({ password: SECRET }, {}, home, systemAuthFile),
                /give both connection\.username and connection\.password/,
            );
        });

        it("names ONE_AUTH and the path when that file is missing", () => {
            writeFile(homeAuth(), "fromfile:pw"); // not used as a silent fall-back
            const missing = path.join(dir, "missing_auth");
            const message = resolveError(undefined, { ONE_AUTH: missing }, home, systemAuthFile);
            assert.match(message, /ONE_AUTH names .*missing_auth, which does not exist/);
            assert.match(message, /single line username:password/);
        });

        it("names every place it looked when no credentials file exists", () => {
            const message = resolveError(undefined, {}, home, systemAuthFile);
            assert.match(message, /No OpenNebula credentials: set ONE_AUTH/);
            assert.ok(message.includes(homeAuth()), message);
            assert.ok(message.includes(systemAuthFile), message);
            assert.match(message, /connection\.username and connection\.password/);
        });

        const malformed: Array<[string, string, RegExp]> = [
            ["empty", "\n", /is empty; it must hold a single line username:password/],
            ["without a colon", `${SECRET.replace(/:/g, "")}\n`, /is malformed/],
            ["with an empty password", "oneadmin:\n", /is malformed/],
            ["with an empty username", `:${SECRET}\n`, /is malformed/],
            ["with several lines", `oneadmin:${SECRET}\nsecond:line\n`, /has more than one line/],
        ];
        for (const [what, content, message] of malformed) {
            it(`rejects a credentials file ${what}, naming the file without showing its content`, () => {
                const file = writeFile(path.join(dir, "auth"), content);
                const error = resolveError(undefined, { ONE_AUTH: file }, home, systemAuthFile);
                assert.match(error, message);
                assert.ok(error.includes(file), error);
            });
        }

        it("rejects a directory given as ONE_AUTH", () => {
            assert.match(resolveError(undefined, { ONE_AUTH: dir }, home, systemAuthFile), /not a file/);
        });

        it("rejects a bad ONE_XMLRPC, saying where it came from", () => {
            writeFile(homeAuth(), `oneadmin:${SECRET}`);
            const message = resolveError(undefined, { ONE_XMLRPC: "frontend:2633" }, home, systemAuthFile);
            assert.match(message, /endpoint from ONE_XMLRPC/);
            assert.match(message, /connection\.endpoint must be an http\(s\) URL such as http:\/\/frontend:2633\/RPC2/);
        });

        it("rejects a username from the file that cannot form a session", () => {
            const file = writeFile(path.join(dir, "auth"), `one admin:${SECRET}`);
            const message = resolveError(undefined, { ONE_AUTH: file }, home, systemAuthFile);
            assert.match(message, /credentials from .*auth/);
            assert.match(message, /connection\.username must not contain whitespace/);
        });
    });

    describe("validateConnection", () => {
        const good = { endpoint: "http://frontend:2633/RPC2", username: "oneadmin", password: SECRET };

        it("accepts http and https endpoints", () => {
            assert.deepStrictEqual(validateConnection(good), []);
            assert.deepStrictEqual(validateConnection({ ...good, endpoint: "https://one.example.com/RPC2" }), []);
        });

        it("lists every problem, naming the field and what is allowed", () => {
            assert.deepStrictEqual(validateConnection({}, "opennebula"), [
                "opennebula.endpoint is required: an http(s) URL such as http://frontend:2633/RPC2",
                "opennebula.username is required: the OpenNebula user name, e.g. oneadmin",
                "opennebula.password is required: the OpenNebula user's password or login token",
            ]);
        });

        it("rejects non-http URLs, URLs with credentials and unparsable endpoints", () => {
            assert.deepStrictEqual(validateConnection({ ...good, endpoint: "ftp://frontend/RPC2" }), [
                'connection.endpoint must be an http(s) URL such as http://frontend:2633/RPC2 (got protocol "ftp:")',
            ]);
            assert.deepStrictEqual(validateConnection({ ...good, endpoint: "not a url" }), [
                'connection.endpoint must be an http(s) URL such as http://frontend:2633/RPC2 (got "not a url")',
            ]);
            const withCredentials = validateConnection({
                ...good,
                endpoint: `http://oneadmin:${encodeURIComponent(SECRET)}@frontend/RPC2`,
            });
            assert.deepStrictEqual(withCredentials, [
                "connection.endpoint must not contain credentials; give them as username and password instead",
            ]);
        });

        it("rejects usernames with ':' and passwords with line breaks, never echoing the password", () => {
            const problems = validateConnection({ ...good, username: "a:b", password: `${SECRET}\n` });
            assert.deepStrictEqual(problems, [
                "connection.username must not contain ':' (the session string is username:password)",
                "connection.password must be a single line",
            ]);
        });
    });
});
