import { strict as assert } from "assert";
import * as http from "http";
import type { AddressInfo } from "net";
import { inspect } from "util";
import type { OneClientOptions } from "../../components/opennebula/client";
import { OneClient } from "../../components/opennebula/client";
import {
    OneActionError,
    OneAllocateError,
    OneApiError,
    OneAuthenticationError,
    OneAuthorizationError,
    OneError,
    OneFaultError,
    OneInternalError,
    OneLockedError,
    OneNotFoundError,
    OneReplicationError,
    OneTransportError,
    XmlRpcProtocolError,
    objectKindOf,
    oneErrorFromFailure,
    redactSecrets,
} from "../../components/opennebula/errors";
import type { MethodCall, XmlRpcValue } from "../../components/opennebula/xmlrpc";
import { decodeMethodCall, encodeFault, encodeMethodResponse } from "../../components/opennebula/xmlrpc";

const USERNAME = "oneadmin";
const PASSWORD = "s3cr&t:<Pw>";
const SESSION = `${USERNAME}:${PASSWORD}`;
/** Small backoffs keep the retry tests fast. */
const FAST: OneClientOptions = { retries: 4, backoffMs: 5, timeoutMs: 2000 };

type Handler = (call: MethodCall, req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

/** A tiny XML-RPC server on 127.0.0.1 that records every call and answers through `handler`. */
class TinyServer {
    readonly calls: MethodCall[] = [];
    connections = 0;
    closedConnections = 0;
    port = 0;
    handler: Handler = (_call, _req, res) => reply(res, [true, "", 0]);
    private server?: http.Server;

    async listen(port = 0): Promise<this> {
        const server = http.createServer((req, res) => void this.handle(req, res));
        server.on("connection", (socket) => {
            this.connections++;
            socket.on("close", () => this.closedConnections++);
        });
        await new Promise<void>((resolve, reject) => {
            server.once("error", reject);
            server.listen(port, "127.0.0.1", () => resolve());
        });
        this.server = server;
        this.port = (server.address() as AddressInfo).port;
        return this;
    }

    get endpoint(): string {
        return `http://127.0.0.1:${this.port}/RPC2`;
    }

    callsOf(method: string): MethodCall[] {
        return this.calls.filter((c) => c.method === method);
    }

    async close(): Promise<void> {
        const server = this.server;
        this.server = undefined;
        if (!server) return;
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const call = decodeMethodCall(Buffer.concat(chunks).toString("utf8"));
        this.calls.push(call);
        await this.handler(call, req, res);
    }
}

function reply(res: http.ServerResponse, value: XmlRpcValue): void {
    res.writeHead(200, { "Content-Type": "text/xml; charset=utf-8" });
    res.end(encodeMethodResponse(value));
}

function failure(res: http.ServerResponse, method: string, text: string, code: number, objectId = -1): void {
    reply(res, [false, `[${method}] ${text}`, code, objectId, 0]);
}

/** Drops the connection after the request was read, without answering. */
function dropConnection(req: http.IncomingMessage): void {
    req.socket.destroy();
}

function delay(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A port nothing listens on (just released by the OS). */
async function freePort(): Promise<number> {
    const probe = await new TinyServer().listen();
    const port = probe.port;
    await probe.close();
    return port;
}

/** Asserts that neither the password nor the session string appears anywhere in the error. */
function assertNoSecret(e: unknown): void {
    const everything = `${String(e)}\n${(e as Error).stack ?? ""}\n${inspect(e, { depth: 10, showHidden: true })}`;
    assert.ok(!everything.includes(PASSWORD), `error leaks the password: ${everything}`);
    assert.ok(!everything.includes(SESSION), "error leaks the session string");
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
    try {
        await promise;
    } catch (e) {
        assert.ok(e instanceof Error, `expected an Error, got ${String(e)}`);
        assertNoSecret(e);
        return e;
    }
    assert.fail("expected the promise to reject");
}

describe("OpenNebula errors", () => {
    it("builds the subclass for each error code, with method, object and server text", () => {
        const cases: Array<[number, new (...args: never[]) => OneError, string]> = [
            [256, OneAuthenticationError, "AUTHENTICATION"],
            [512, OneAuthorizationError, "AUTHORIZATION"],
            [1024, OneNotFoundError, "NO_EXISTS"],
            [2048, OneActionError, "ACTION"],
            [4096, OneApiError, "XML_RPC_API"],
            [8192, OneInternalError, "INTERNAL"],
            [16384, OneAllocateError, "ALLOCATE"],
            [32768, OneLockedError, "LOCKED"],
            [65536, OneReplicationError, "REPLICATION"],
        ];
        for (const [code, Subclass, label] of cases) {
            const e = oneErrorFromFailure("one.cluster.info", [999], [false, "[one.cluster.info] Server text.", code, 999, 0]);
            assert.ok(e instanceof Subclass && e instanceof OneError && e instanceof Error, `code ${code}`);
            assert.equal(e.name, Subclass.name);
            assert.equal(e.message, `[one.cluster.info] ${label} (${code}) on cluster 999: Server text.`);
            assert.deepStrictEqual(
                [e.code, e.method, e.objectId, e.serverMessage, e.failedObjectId],
                [code, "one.cluster.info", 999, "Server text.", 999],
            );
        }
    });

    it("uses the base class for unknown codes and tolerates 3- and 4-element arrays", () => {
        const unknown = oneErrorFromFailure("one.host.info", [3], [false, "[one.host.info] odd", 7]);
        assert.equal(unknown.constructor, OneError);
        assert.equal(unknown.message, "[one.host.info] ERROR (7) on host 3: odd");
        assert.equal(unknown.failedObjectId, -1);
        const four = oneErrorFromFailure("one.vn.delete", [4], [false, "[one.vn.delete] busy", 2048, 4]);
        assert.ok(four instanceof OneActionError);
        assert.equal(four.failedObjectId, 4);
    });

    it("names the object kind from the method and the id only when params[0] is a number", () => {
        const kinds: Array<[string, string]> = [
            ["one.cluster.addhost", "cluster"],
            ["one.vn.add_ar", "virtual network"],
            ["one.vntemplate.instantiate", "virtual network template"],
            ["one.host.status", "host"],
            ["one.datastore.enable", "datastore"],
            ["one.vrouter.attachnic", "virtual router"],
            ["one.image.persistent", "image"],
            ["one.template.clone", "VM template"],
            ["one.marketapp.enable", "marketplace app"],
            ["one.vm.info", "virtual machine"],
        ];
        for (const [method, kind] of kinds) {
            assert.equal(objectKindOf(method), kind);
            assert.match(
                oneErrorFromFailure(method, [12, "x"], [false, `[${method}] t`, 2048, -1, 0]).message,
                new RegExp(`^\\[${method.replace(/\./g, "\\.")}\\] ACTION \\(2048\\) on ${kind} 12: t$`),
            );
        }
        const allocate = oneErrorFromFailure(
            "one.cluster.allocate",
            ["edge"],
            [false, "[one.cluster.allocate] NAME is already taken by CLUSTER 100.", 8192, -1, 0],
        );
        assert.equal(allocate.message, "[one.cluster.allocate] INTERNAL (8192): NAME is already taken by CLUSTER 100.");
        assert.equal(allocate.objectId, undefined);
        const pool = oneErrorFromFailure("one.vnpool.info", [-2, -1, -1], [false, "[one.vnpool.info] Incorrect filter_flag.", 4096, -1, 0]);
        assert.equal(pool.message, "[one.vnpool.info] XML_RPC_API (4096): Incorrect filter_flag.");
        assert.equal(objectKindOf("one.user.info"), undefined);
        assert.equal(objectKindOf("one.constructor.info"), undefined);
    });

    it("mentions the attempt count when the call was sent more than once", () => {
        const e = oneErrorFromFailure("one.cluster.info", [1], [false, "[one.cluster.info] x", 1024, 1, 0], 3);
        assert.equal(e.attempts, 3);
        assert.match(e.message, /\(after 3 attempts\)$/);
    });

    it("redacts secrets, longest first", () => {
        assert.equal(redactSecrets("a oneadmin:pw b pw c", ["pw", "oneadmin:pw", ""]), "a *** b *** c");
    });
});

describe("OneClient", function () {
    this.timeout(10_000);
    let server: TinyServer;
    let client: OneClient | undefined;

    beforeEach(async () => {
        server = await new TinyServer().listen();
    });
    afterEach(async () => {
        client?.close();
        client = undefined;
        await server.close();
    });

    function connect(options: OneClientOptions = FAST, endpoint = server.endpoint): OneClient {
        client = new OneClient({ endpoint, username: USERNAME, password: PASSWORD }, options);
        return client;
    }

    describe("successful calls", () => {
        it("sends the session first and returns element 1 of the success array", async () => {
            server.handler = (call, req, res) => {
                assert.equal(req.method, "POST");
                assert.equal(req.url, "/RPC2");
                assert.match(req.headers["content-type"] ?? "", /^text\/xml/);
                reply(res, [true, `<CLUSTER><ID>${String(call.params[1])}</ID></CLUSTER>`, 0]);
            };
            const result = await connect().call("one.cluster.info", 100, false);
            assert.equal(result, "<CLUSTER><ID>100</ID></CLUSTER>");
            assert.deepStrictEqual(server.calls, [{ method: "one.cluster.info", params: [SESSION, 100, false] }]);
        });

        it("returns integer, boolean and string results as they are", async () => {
            const results: XmlRpcValue[] = [101, true, "6.10.0"];
            server.handler = (_call, _req, res) => reply(res, [true, results[server.calls.length - 1], 0]);
            const c = connect();
            assert.equal(await c.call("one.cluster.allocate", "edge"), 101);
            assert.equal(await c.call("one.cluster.update", 101, "X=1", 1), true);
            assert.equal(await c.call("one.system.version"), "6.10.0");
        });

        it("reuses one keep-alive connection and closes it on close()", async () => {
            const c = connect();
            await c.call("one.system.version");
            await c.call("one.system.version");
            await c.call("one.system.version");
            assert.equal(server.connections, 1);
            c.close();
            for (let i = 0; i < 100 && server.closedConnections < 1; i++) await delay(5);
            assert.equal(server.closedConnections, 1);
            const e = await rejection(c.call("one.system.version"));
            assert.match(e.message, /has been closed/);
        });

        it("exposes the endpoint but keeps the password out of inspection", () => {
            const c = connect();
            assert.equal(c.endpoint, server.endpoint);
            const shown = inspect(c, { showHidden: true, depth: 5 }) + JSON.stringify(c);
            assert.ok(!shown.includes(PASSWORD));
        });

        it("rejects invalid connections and options with messages naming the field", () => {
            assert.throws(
                () => new OneClient({ endpoint: "ftp://x", username: USERNAME, password: PASSWORD }),
                (e: Error) => /connection\.endpoint must be an http\(s\) URL/.test(e.message) && !e.message.includes(PASSWORD),
            );
            assert.throws(
                () => new OneClient({ endpoint: server.endpoint, username: USERNAME, password: "" }),
                /connection\.password is required/,
            );
            assert.throws(() => connect({ retries: -1 }), /options\.retries must be a non-negative integer/);
            assert.throws(() => connect({ timeoutMs: 0 }), /options\.timeoutMs must be a positive number/);
            assert.throws(() => connect({ backoffMs: NaN }), /options\.backoffMs must be a non-negative number/);
        });
    });

    describe("OpenNebula failures", () => {
        const codes: Array<[number, new (...args: never[]) => OneError]> = [
            [256, OneAuthenticationError],
            [512, OneAuthorizationError],
            [1024, OneNotFoundError],
            [2048, OneActionError],
            [4096, OneApiError],
            [8192, OneInternalError],
            [16384, OneAllocateError],
            [32768, OneLockedError],
            [65536, OneReplicationError],
        ];
        for (const [code, Subclass] of codes) {
            it(`throws ${Subclass.name} for code ${code}, without retrying`, async () => {
                server.handler = (call, _req, res) => failure(res, call.method, `Server says ${code}.`, code, 999);
                const e = await rejection(connect().call("one.cluster.info", 999));
                assert.ok(e instanceof Subclass);
                assert.match(
                    e.message,
                    new RegExp(`^\\[one\\.cluster\\.info\\] [A-Z_]+ \\(${code}\\) on cluster 999: Server says ${code}\\.$`),
                );
                assert.equal(e.serverMessage, `Server says ${code}.`);
                assert.equal(e.failedObjectId, 999);
                assert.equal(server.calls.length, 1);
            });
        }

        it("words the not-found error as in the reference example", async () => {
            server.handler = (_call, _req, res) => failure(res, "one.cluster.info", "Error getting cluster [999].", 1024, 999);
            const e = await rejection(connect().call("one.cluster.info", 999));
            assert.equal(e.message, "[one.cluster.info] NO_EXISTS (1024) on cluster 999: Error getting cluster [999].");
        });

        it("scrubs the password when the server echoes it in its message", async () => {
            server.handler = (call, _req, res) =>
                failure(res, call.method, `User ${String(call.params[0])} couldn't be authenticated, password ${PASSWORD}.`, 256);
            const e = await rejection(connect().call("one.user.info", -1));
            assert.ok(e instanceof OneAuthenticationError);
            assert.match(e.message, /User \*\*\* couldn't be authenticated, password \*\*\*\./);
        });

        it("throws OneFaultError for an XML-RPC fault, without retrying", async () => {
            server.handler = (call, _req, res) => {
                res.writeHead(200, { "Content-Type": "text/xml" });
                res.end(encodeFault(-506, `Method '${call.method}' not defined`));
            };
            const e = await rejection(connect().call("one.foo.bar", 1));
            assert.ok(e instanceof OneFaultError);
            assert.equal(e.faultCode, -506);
            assert.equal(e.faultString, "Method 'one.foo.bar' not defined");
            assert.equal(e.message, "[one.foo.bar] XML-RPC fault -506: Method 'one.foo.bar' not defined");
            assert.equal(server.calls.length, 1);
        });

        it("throws XmlRpcProtocolError naming the method for an unreadable response", async () => {
            server.handler = (_call, _req, res) => {
                res.writeHead(200, { "Content-Type": "text/html" });
                res.end("<html><body>proxy says hi</body></html>");
            };
            const e = await rejection(connect().call("one.cluster.info", 1));
            assert.ok(e instanceof XmlRpcProtocolError);
            assert.match(e.message, /^\[one\.cluster\.info\] invalid XML-RPC response: expected <methodResponse>/);
            assert.equal(server.calls.length, 1);
        });

        it("throws XmlRpcProtocolError when the result is not OpenNebula's array", async () => {
            server.handler = (_call, _req, res) => reply(res, "just a string");
            const e = await rejection(connect().call("one.cluster.info", 1));
            assert.ok(e instanceof XmlRpcProtocolError);
            assert.match(e.message, /OpenNebula's result array/);
        });
    });

    describe("retries", () => {
        it("retries a refused connection until a server that started late answers", async () => {
            const port = await freePort();
            const c = connect({ retries: 6, backoffMs: 20, timeoutMs: 2000 }, `http://127.0.0.1:${port}/RPC2`);
            const started = Date.now();
            const pending = c.call("one.system.version");
            await delay(60);
            const late = await new TinyServer().listen(port);
            try {
                late.handler = (_call, _req, res) => reply(res, [true, "6.10.0", 0]);
                assert.equal(await pending, "6.10.0");
                assert.equal(late.calls.length, 1);
                assert.ok(Date.now() - started >= 60);
            } finally {
                await late.close();
            }
        });

        it("retries after the server was closed and reopened on the same port", async () => {
            server.handler = (_call, _req, res) => reply(res, [true, "6.10.0", 0]);
            const c = connect({ retries: 6, backoffMs: 20, timeoutMs: 2000 });
            assert.equal(await c.call("one.system.version"), "6.10.0");
            const port = server.port;
            await server.close();
            const pending = c.call("one.system.version");
            await delay(60);
            server = await new TinyServer().listen(port);
            server.handler = (_call, _req, res) => reply(res, [true, "6.10.1", 0]);
            assert.equal(await pending, "6.10.1");
            assert.equal(server.calls.length, 1);
        });

        it("gives up on refused connections after retries + 1 attempts, saying so", async () => {
            const port = await freePort();
            const c = connect({ retries: 2, backoffMs: 5, timeoutMs: 2000 }, `http://127.0.0.1:${port}/RPC2`);
            const e = await rejection(c.call("one.cluster.info", 5));
            assert.ok(e instanceof OneTransportError);
            assert.equal(e.reason, "refused");
            assert.equal(e.transient, true);
            assert.equal(e.mayHaveReachedServer, false);
            assert.equal(e.attempts, 3);
            assert.match(
                e.message,
                new RegExp(
                    `^\\[one\\.cluster\\.info\\] transport failure \\(refused\\) to http://127\\.0\\.0\\.1:${port}/RPC2: .*ECONNREFUSED.* \\(after 3 attempts\\)$`,
                ),
            );
        });

        it("retries when the connection is dropped (socket hang up) and when it is reset", async () => {
            server.handler = (_call, req, res) => {
                const n = server.calls.length;
                if (n === 1) dropConnection(req);
                else if (n === 2) req.socket.resetAndDestroy();
                else reply(res, [true, "<HOST/>", 0]);
            };
            assert.equal(await connect().call("one.host.info", 3), "<HOST/>");
            assert.equal(server.calls.length, 3);
        });

        it("retries HTTP 5xx, and gives up after the retry budget", async () => {
            server.handler = (_call, _req, res) => {
                if (server.calls.length < 3) {
                    res.writeHead(503, "Service Unavailable");
                    res.end();
                } else reply(res, [true, "ok", 0]);
            };
            assert.equal(await connect().call("one.vn.info", 1), "ok");
            assert.equal(server.calls.length, 3);

            server.handler = (_call, _req, res) => {
                res.writeHead(500, "Internal Server Error");
                res.end("boom");
            };
            const e = await rejection(connect({ retries: 2, backoffMs: 5 }).call("one.vn.info", 1));
            assert.ok(e instanceof OneTransportError);
            assert.deepStrictEqual([e.reason, e.httpStatus, e.transient, e.attempts], ["http", 500, true, 3]);
            assert.match(
                e.message,
                /^\[one\.vn\.info\] transport failure \(http\) to .*: HTTP 500 Internal Server Error \(after 3 attempts\)$/,
            );
            assert.equal(server.calls.length, 3 + 3);
        });

        it("does not retry HTTP 4xx", async () => {
            server.handler = (_call, _req, res) => {
                res.writeHead(403, "Forbidden");
                res.end();
            };
            const e = await rejection(connect().call("one.vn.info", 1));
            assert.ok(e instanceof OneTransportError);
            assert.deepStrictEqual([e.reason, e.httpStatus, e.transient, e.attempts], ["http", 403, false, 1]);
            assert.equal(server.calls.length, 1);
        });

        it("does not retry not-found (1024) or internal (8192) errors", async () => {
            server.handler = (call, _req, res) =>
                call.method === "one.vn.info"
                    ? failure(res, call.method, "Error getting virtual network [7].", 1024, 7)
                    : failure(res, call.method, "NAME is already taken by NET 3.", 8192);
            const c = connect();
            assert.ok((await rejection(c.call("one.vn.info", 7))) instanceof OneNotFoundError);
            assert.ok((await rejection(c.call("one.vn.rename", 7, "x"))) instanceof OneInternalError);
            assert.equal(server.calls.length, 2);
        });

        it("retries a call that timed out", async () => {
            server.handler = (_call, _req, res) => {
                if (server.calls.length > 1) reply(res, [true, "late but fine", 0]);
                // the first request is left unanswered
            };
            const c = connect({ retries: 2, backoffMs: 5, timeoutMs: 300 });
            assert.equal(await c.call("one.datastore.info", 100), "late but fine");
            assert.equal(server.calls.length, 2);
        });

        it("honours the per-call timeout, also while the body is still arriving", async () => {
            server.handler = (_call, _req, res) => {
                res.writeHead(200, { "Content-Type": "text/xml" });
                res.write('<?xml version="1.0"?><methodResponse>'); // and then nothing more
            };
            const c = connect({ retries: 0, backoffMs: 5, timeoutMs: 200 });
            const started = Date.now();
            const e = await rejection(c.call("one.datastore.info", 100));
            const elapsed = Date.now() - started;
            assert.ok(e instanceof OneTransportError);
            assert.deepStrictEqual([e.reason, e.transient, e.mayHaveReachedServer], ["timeout", true, true]);
            assert.match(e.message, /no complete response within 200 ms/);
            assert.ok(elapsed >= 190 && elapsed < 1500, `took ${elapsed} ms`);
            assert.equal(server.calls.length, 1);
        });

        it("does not repeat a non-idempotent method through call() once it may have reached the server", async () => {
            server.handler = (_call, req) => dropConnection(req);
            const e = await rejection(connect().call("one.cluster.allocate", "edge"));
            assert.ok(e instanceof OneTransportError);
            assert.equal(e.reason, "reset");
            assert.equal(e.mayHaveReachedServer, true);
            assert.match(e.message, /one\.cluster\.allocate is not idempotent .* use OneClient\.allocate\(\)/);
            assert.equal(server.calls.length, 1);
        });

        it("still retries a refused non-idempotent call through call()", async () => {
            const port = await freePort();
            const c = connect({ retries: 6, backoffMs: 20, timeoutMs: 2000 }, `http://127.0.0.1:${port}/RPC2`);
            const pending = c.call("one.vn.add_ar", 3, 'AR = [ TYPE = "IP4", IP = "10.0.0.2", SIZE = "5" ]');
            await delay(60);
            const late = await new TinyServer().listen(port);
            try {
                late.handler = (_call, _req, res) => reply(res, [true, 3, 0]);
                assert.equal(await pending, 3);
                assert.equal(late.calls.length, 1);
            } finally {
                await late.close();
            }
        });
    });

    describe("allocate()", () => {
        /** A server holding clusters by name; `onAllocate` decides what happens to each allocate. */
        function clusterServer(
            onAllocate: (n: number, create: () => number, req: http.IncomingMessage, res: http.ServerResponse) => void,
        ): Map<string, number> {
            const clusters = new Map<string, number>();
            let allocates = 0;
            server.handler = (call, req, res) => {
                if (call.method === "one.clusterpool.info") {
                    const items = [...clusters].map(([name, id]) => `<CLUSTER><ID>${id}</ID><NAME>${name}</NAME></CLUSTER>`);
                    reply(res, [true, `<CLUSTER_POOL>${items.join("")}</CLUSTER_POOL>`, 0]);
                    return;
                }
                const name = String(call.params[1]);
                const create = (): number => {
                    const id = 100 + clusters.size;
                    clusters.set(name, id);
                    return id;
                };
                onAllocate(++allocates, create, req, res);
            };
            return clusters;
        }

        /** Looks a cluster up by name through the pool, as a resource would. */
        function finder(c: OneClient, name: string): { find: () => Promise<number | undefined>; calls: () => number } {
            let calls = 0;
            return {
                calls: () => calls,
                find: async () => {
                    calls++;
                    const pool = String(await c.call("one.clusterpool.info"));
                    const match = new RegExp(`<ID>(\\d+)</ID><NAME>${name}</NAME>`).exec(pool);
                    return match ? Number(match[1]) : undefined;
                },
            };
        }

        it("returns the new id on success without consulting findExisting", async () => {
            clusterServer((_n, create, _req, res) => reply(res, [true, create(), 0]));
            const c = connect();
            const lookup = finder(c, "edge");
            assert.equal(await c.allocate("one.cluster.allocate", ["edge"], lookup.find), 100);
            assert.equal(lookup.calls(), 0);
        });

        it("finds the object when the server created it but dropped the connection, and does not send it twice", async () => {
            const clusters = clusterServer((_n, create, req) => {
                create();
                dropConnection(req);
            });
            const c = connect();
            const lookup = finder(c, "edge");
            assert.equal(await c.allocate("one.cluster.allocate", ["edge"], lookup.find), 100);
            assert.equal(server.callsOf("one.cluster.allocate").length, 1);
            assert.equal(lookup.calls(), 1);
            assert.deepStrictEqual([...clusters], [["edge", 100]]);
        });

        it("sends the allocate again when the dropped one created nothing", async () => {
            const clusters = clusterServer((n, create, req, res) => {
                if (n === 1) dropConnection(req);
                else reply(res, [true, create(), 0]);
            });
            const c = connect();
            const lookup = finder(c, "edge");
            assert.equal(await c.allocate("one.cluster.allocate", ["edge"], lookup.find), 100);
            assert.equal(server.callsOf("one.cluster.allocate").length, 2);
            assert.equal(lookup.calls(), 1);
            assert.equal(clusters.size, 1);
        });

        it("finds the object when a timed-out allocate completes only after the retry collides with it", async () => {
            let finishFirst = (): void => undefined;
            const clusters = clusterServer((n, create, _req, res) => {
                if (n === 1) {
                    finishFirst = () => void create(); // still "running" on the server; never answered
                } else {
                    finishFirst();
                    failure(res, "one.cluster.allocate", "NAME is already taken by CLUSTER 100.", 8192);
                }
            });
            const c = connect({ retries: 4, backoffMs: 5, timeoutMs: 300 });
            const lookup = finder(c, "edge");
            assert.equal(await c.allocate("one.cluster.allocate", ["edge"], lookup.find), 100);
            assert.equal(server.callsOf("one.cluster.allocate").length, 2);
            assert.equal(lookup.calls(), 2);
            assert.equal(clusters.size, 1);
        });

        it("retries a refused allocate directly, without consulting findExisting", async () => {
            const port = await freePort();
            const c = connect({ retries: 6, backoffMs: 20, timeoutMs: 2000 }, `http://127.0.0.1:${port}/RPC2`);
            let lookups = 0;
            const pending = c.allocate("one.cluster.allocate", ["edge"], async () => {
                lookups++;
                return undefined;
            });
            await delay(60);
            const late = await new TinyServer().listen(port);
            try {
                late.handler = (_call, _req, res) => reply(res, [true, 100, 0]);
                assert.equal(await pending, 100);
                assert.equal(late.calls.length, 1);
                assert.equal(lookups, 0);
            } finally {
                await late.close();
            }
        });

        it("gives up after retries + 1 attempts when every attempt is dropped and nothing is found", async () => {
            clusterServer((_n, _create, req) => dropConnection(req));
            const c = connect({ retries: 2, backoffMs: 5, timeoutMs: 2000 });
            const lookup = finder(c, "edge");
            const e = await rejection(c.allocate("one.cluster.allocate", ["edge"], lookup.find));
            assert.ok(e instanceof OneTransportError);
            assert.equal(e.attempts, 3);
            assert.match(e.message, /\(after 3 attempts\)/);
            assert.equal(server.callsOf("one.cluster.allocate").length, 3);
            assert.equal(lookup.calls(), 3);
        });

        it("throws an OpenNebula error on the first attempt without consulting findExisting", async () => {
            clusterServer((_n, _create, _req, res) => failure(res, "one.cluster.allocate", "NAME is already taken by CLUSTER 100.", 8192));
            let lookups = 0;
            const e = await rejection(
                connect().allocate("one.cluster.allocate", ["edge"], async () => {
                    lookups++;
                    return 100;
                }),
            );
            assert.ok(e instanceof OneInternalError);
            assert.equal(e.message, "[one.cluster.allocate] INTERNAL (8192): NAME is already taken by CLUSTER 100.");
            assert.equal(lookups, 0);
            assert.equal(server.calls.length, 1);
        });

        it("rejects a result that is not an integer id", async () => {
            server.handler = (_call, _req, res) => reply(res, [true, "100", 0]);
            const e = await rejection(connect().allocate("one.cluster.allocate", ["edge"], async () => undefined));
            assert.ok(e instanceof XmlRpcProtocolError);
            assert.match(e.message, /integer id/);
        });
    });
});
