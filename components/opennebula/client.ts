/**
 * A small XML-RPC client for OpenNebula's `oned`: one keep-alive HTTP agent per client, a
 * per-call timeout, bounded retries with exponential backoff for transient failures, typed
 * errors, and a safe way to repeat non-idempotent calls ({@link OneClient.allocate}).
 *
 * The session string (`username:password`) is only ever written into request bodies; it is kept
 * in a private field and scrubbed from any server text that ends up in an error.
 */
import * as http from "http";
import * as https from "https";
import type { OneConnection } from "./connection";
import { validateConnection } from "./connection";
import type { TransportFailureDetails } from "./errors";
import {
    errorName,
    isOneError,
    isTransportError,
    OneFaultError,
    OneTransportError,
    XmlRpcProtocolError,
    oneErrorFromFailure,
    redactSecrets,
} from "./errors";
import type { MethodResponse, XmlRpcValue } from "./xmlrpc";
import { decodeMethodResponse, encodeMethodCall } from "./xmlrpc";

/** Tuning for {@link OneClient}. */
export interface OneClientOptions {
    /** Per-call timeout in ms, covering connect and the whole response. Default 30000. */
    timeoutMs?: number;
    /** Retries for transient failures (so at most `retries + 1` attempts). Default 4. */
    retries?: number;
    /** First backoff in ms, doubled each retry (with ±10% jitter, capped at 30 s). Default 250. */
    backoffMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_RETRIES = 4;
const DEFAULT_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 30_000;
const MAX_SOCKETS = 10;
/** Idle keep-alive sockets are closed before oned's Abyss server would drop them (15 s by default). */
const IDLE_SOCKET_TIMEOUT_MS = 10_000;

/** Methods that create something each time they run, so they must not be blindly repeated. */
const NON_IDEMPOTENT = /\.(allocate|instantiate|clone|add_ar|reserve|attachnic)$/;

/** Calls OpenNebula's XML-RPC API. Create one per endpoint and {@link OneClient.close} it when done. */
export class OneClient {
    /** The endpoint URL calls go to. */
    readonly endpoint: string;
    // Plain `private` members, not `#private` ones, all set in the constructor (no initializers):
    // Pulumi's function serializer carries neither ES private names nor field initializers into
    // the dynamic provider. The session lives in a closure so that inspecting a
    // client never shows it.
    private readonly url: URL;
    private readonly session: () => string;
    private readonly secrets: () => string[];
    private readonly agent: http.Agent;
    private readonly request: typeof http.request;
    private readonly timeoutMs: number;
    private readonly retries: number;
    private readonly backoffMs: number;
    private closed: boolean;

    /**
     * @param connection endpoint and credentials (see `resolveConnection`)
     * @param options    timeout, retries and backoff
     * @throws Error naming the invalid connection field or option
     */
    constructor(connection: OneConnection, options: OneClientOptions = {}) {
        const problems = [...validateConnection(connection), ...optionProblems(options)];
        if (problems.length > 0) {
            throw new Error(`Cannot create OneClient: ${problems.join("; ")}`);
        }
        this.endpoint = connection.endpoint;
        this.closed = false;
        this.url = new URL(connection.endpoint);
        const session = `${connection.username}:${connection.password}`;
        this.session = () => session;
        this.secrets = () => [session, connection.password];
        const secure = this.url.protocol === "https:";
        const agentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS, timeout: IDLE_SOCKET_TIMEOUT_MS };
        this.agent = secure ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
        this.request = secure ? https.request : http.request;
        this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        this.retries = options.retries ?? DEFAULT_RETRIES;
        this.backoffMs = options.backoffMs ?? DEFAULT_BACKOFF_MS;
    }

    /**
     * Calls `method` with the session prepended and returns element 1 of OpenNebula's success array.
     *
     * Transient failures (connection refused or reset, timeout, HTTP 5xx) are retried up to `retries`
     * times. For non-idempotent methods (`*.allocate`, `*.instantiate`, `*.clone`, `*.add_ar`,
     * `*.reserve`, `*.attachnic`) only failures that certainly did not reach the server are retried;
     * otherwise a {@link OneTransportError} with `mayHaveReachedServer` is thrown — use
     * {@link OneClient.allocate} for those methods.
     *
     * @throws OneError (a subclass per code), OneFaultError, OneTransportError, XmlRpcProtocolError
     */
    async call(method: string, ...params: XmlRpcValue[]): Promise<XmlRpcValue> {
        for (let attempt = 1; ; attempt++) {
            try {
                return await this.callOnce(method, params, attempt);
            } catch (e) {
                if (!isTransportError(e)) throw e;
                if (e.transient && e.mayHaveReachedServer && NON_IDEMPOTENT.test(method)) {
                    throw e.withAttempts(attempt, notRepeatedHint(method));
                }
                if (!e.transient || attempt > this.retries) throw e.withAttempts(attempt);
                await this.backoff(attempt);
            }
        }
    }

    /**
     * Calls a non-idempotent method that returns a new object id (allocate, instantiate, clone, …).
     *
     * A failure that may have reached the server is never blindly repeated: after the backoff,
     * `findExisting()` is asked whether the object was created after all; if it returns an id, that is
     * the result, otherwise the call is sent again (within the retry budget). Failures that certainly
     * did not reach the server (connection refused) are retried directly. If a repeated call fails with
     * an OpenNebula error (e.g. "NAME is already taken"), `findExisting()` is consulted once more.
     *
     * @param method       e.g. `one.cluster.allocate`
     * @param params       arguments after the session
     * @param findExisting looks the object up (e.g. by name); resolves to its id or undefined
     * @throws as {@link OneClient.call}; also XmlRpcProtocolError if the result is not an integer id
     */
    async allocate(method: string, params: XmlRpcValue[], findExisting: () => Promise<number | undefined>): Promise<number> {
        let mayHaveCreated = false;
        for (let attempt = 1; ; attempt++) {
            try {
                return expectId(method, await this.callOnce(method, params, attempt));
            } catch (e) {
                if (isOneError(e) && mayHaveCreated) {
                    const id = await findExisting();
                    if (id !== undefined) return id;
                    throw e;
                }
                if (!isTransportError(e)) throw e;
                if (!e.transient) throw e.withAttempts(attempt);
                if (e.mayHaveReachedServer) {
                    mayHaveCreated = true;
                    // Wait first: a call that timed out may still be running on the server.
                    await this.backoff(attempt);
                    const id = await findExisting();
                    if (id !== undefined) return id;
                    if (attempt > this.retries) throw e.withAttempts(attempt);
                } else {
                    if (attempt > this.retries) throw e.withAttempts(attempt);
                    await this.backoff(attempt);
                }
            }
        }
    }

    /** Closes the keep-alive connections. Later calls fail. */
    close(): void {
        this.closed = true;
        this.agent.destroy();
    }

    /** One request/response exchange, turned into a value or a typed error. */
    private async callOnce(method: string, params: XmlRpcValue[], attempt: number): Promise<XmlRpcValue> {
        if (this.closed) {
            throw new Error(`${method}: this OneClient for ${this.endpoint} has been closed`);
        }
        const body = encodeMethodCall(method, [this.session(), ...params]);
        const responseText = await this.post(method, body);
        return this.interpret(method, params, this.decode(method, responseText), attempt);
    }

    private decode(method: string, responseText: string): MethodResponse {
        try {
            return decodeMethodResponse(responseText);
        } catch (e) {
            if (errorName(e) !== "XmlRpcProtocolError") throw e;
            throw new XmlRpcProtocolError(this.redact((e as Error).message), method);
        }
    }

    private interpret(method: string, params: XmlRpcValue[], response: MethodResponse, attempt: number): XmlRpcValue {
        if (response.kind === "fault") {
            throw new OneFaultError(method, response.faultCode, this.redact(response.faultString), attempt);
        }
        const result = response.value;
        if (!Array.isArray(result) || result.length < 2 || typeof result[0] !== "boolean") {
            throw new XmlRpcProtocolError("expected OpenNebula's result array [success, value, code, …]", method);
        }
        if (result[0]) {
            return result[1];
        }
        const failure = result.map((v, i) => (i === 1 && typeof v === "string" ? this.redact(v) : v));
        throw oneErrorFromFailure(method, params, failure, attempt);
    }

    /** POSTs `body` and resolves to the response text of a 2xx answer; otherwise rejects with OneTransportError. */
    private post(method: string, body: string): Promise<string> {
        return new Promise<string>((resolve, reject) => {
            let connected = false;
            let settled = false;
            let timer: NodeJS.Timeout | undefined;
            const req = this.request(this.url, {
                method: "POST",
                agent: this.agent,
                headers: {
                    "Content-Type": "text/xml",
                    "Content-Length": Buffer.byteLength(body),
                    Accept: "text/xml",
                },
            });
            const failure = (details: Omit<TransportFailureDetails, "method" | "endpoint">): void => {
                if (settled) return;
                settled = true;
                clearTimeout(timer);
                req.destroy();
                reject(new OneTransportError({ ...details, method, endpoint: this.endpoint }));
            };
            timer = setTimeout(() => {
                failure({
                    reason: "timeout",
                    detail: `no complete response within ${this.timeoutMs} ms`,
                    transient: true,
                    mayHaveReachedServer: connected,
                });
            }, this.timeoutMs);
            req.on("socket", (socket) => {
                if (req.reusedSocket || !socket.connecting) connected = true;
                else socket.once("connect", () => (connected = true));
            });
            req.on("error", (err) => failure(this.classify(err, connected)));
            req.on("response", (res) => {
                const status = res.statusCode ?? 0;
                if (status < 200 || status > 299) {
                    res.resume();
                    failure(httpFailure(status, res.statusMessage));
                    return;
                }
                const chunks: Buffer[] = [];
                res.on("data", (chunk: Buffer) => chunks.push(chunk));
                res.on("error", (err) => failure(this.classify(err, true)));
                res.on("end", () => {
                    if (settled) return;
                    settled = true;
                    clearTimeout(timer);
                    resolve(Buffer.concat(chunks).toString("utf8"));
                });
            });
            req.end(body);
        });
    }

    private classify(err: Error, connected: boolean): Omit<TransportFailureDetails, "method" | "endpoint"> {
        const code = (err as NodeJS.ErrnoException).code;
        const detail = this.redact(err.message);
        if (code === "ECONNREFUSED") {
            return { reason: "refused", detail, transient: true, mayHaveReachedServer: false, cause: err };
        }
        if (code === "ECONNRESET" || code === "EPIPE" || /socket hang up|aborted/.test(err.message)) {
            return { reason: "reset", detail, transient: true, mayHaveReachedServer: connected, cause: err };
        }
        if (code === "ETIMEDOUT") {
            return { reason: "timeout", detail, transient: true, mayHaveReachedServer: connected, cause: err };
        }
        return { reason: "other", detail, transient: false, mayHaveReachedServer: connected, cause: err };
    }

    private backoff(attempt: number): Promise<void> {
        const base = Math.min(this.backoffMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
        const jittered = base * (0.9 + Math.random() * 0.2);
        return new Promise((resolve) => setTimeout(resolve, jittered));
    }

    private redact(text: string): string {
        return redactSecrets(text, this.secrets());
    }
}

function httpFailure(status: number, statusMessage: string | undefined): Omit<TransportFailureDetails, "method" | "endpoint"> {
    return {
        reason: "http",
        httpStatus: status,
        detail: `HTTP ${status}${statusMessage ? ` ${statusMessage}` : ""}`,
        transient: status >= 500,
        mayHaveReachedServer: true,
    };
}

function expectId(method: string, value: XmlRpcValue): number {
    if (typeof value !== "number" || !Number.isInteger(value)) {
        throw new XmlRpcProtocolError(`expected the new object's integer id, got ${typeof value}`, method);
    }
    return value;
}

function notRepeatedHint(method: string): string {
    return `${method} is not idempotent and may have reached the server, so it was not repeated; use OneClient.allocate() with a lookup for it`;
}

function optionProblems(options: OneClientOptions): string[] {
    const problems: string[] = [];
    const { timeoutMs, retries, backoffMs } = options;
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
        problems.push(`options.timeoutMs must be a positive number of milliseconds (default ${DEFAULT_TIMEOUT_MS})`);
    }
    if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) {
        problems.push(`options.retries must be a non-negative integer (default ${DEFAULT_RETRIES})`);
    }
    if (backoffMs !== undefined && !(Number.isFinite(backoffMs) && backoffMs >= 0)) {
        problems.push(`options.backoffMs must be a non-negative number of milliseconds (default ${DEFAULT_BACKOFF_MS})`);
    }
    return problems;
}
