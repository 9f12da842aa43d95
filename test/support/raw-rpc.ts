/**
 * A minimal raw XML-RPC client for testing the OpenNebula double over HTTP, written without the
 * package's client on purpose so that a bug in one cannot hide a bug in the other.
 */
import * as assert from "assert";
import * as http from "http";
import { XMLParser } from "fast-xml-parser";
import type { OneDouble } from "./one-double";

/** One typed request parameter. */
export type Param = { int: number } | { string: string } | { boolean: boolean } | { i8: number };
/** An `<int>` parameter. */
export const int = (n: number): Param => ({ int: n });
/** A `<string>` parameter. */
export const str = (s: string): Param => ({ string: s });
/** A `<boolean>` parameter. */
export const bool = (b: boolean): Param => ({ boolean: b });

/** What came back over HTTP. */
export interface RawResponse {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: string;
    reusedSocket: boolean;
}

function escapeXml(s: string): string {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A `<methodCall>` body. */
export function callXml(method: string, params: Param[]): string {
    const values = params.map((p) => {
        if ("int" in p) return `<int>${p.int}</int>`;
        if ("i8" in p) return `<i8>${p.i8}</i8>`;
        if ("boolean" in p) return `<boolean>${p.boolean ? 1 : 0}</boolean>`;
        return `<string>${escapeXml(p.string)}</string>`;
    });
    const body = values.map((v) => `<param><value>${v}</value></param>`).join("");
    return `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${body}</params></methodCall>`;
}

/** POSTs `body` to `url` (a fresh connection unless an agent is given). */
export function post(
    url: string,
    body: string,
    options: { method?: string; headers?: http.OutgoingHttpHeaders; agent?: http.Agent } = {},
): Promise<RawResponse> {
    return new Promise((resolve, reject) => {
        const req = http.request(
            url,
            {
                method: options.method ?? "POST",
                headers: { "Content-Type": "text/xml", "Content-Length": Buffer.byteLength(body), ...options.headers },
                agent: options.agent ?? false,
            },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () =>
                    resolve({
                        status: res.statusCode ?? 0,
                        headers: res.headers,
                        body: Buffer.concat(chunks).toString("utf8"),
                        reusedSocket: req.reusedSocket,
                    }),
                );
            },
        );
        req.on("error", reject);
        req.end(body);
    });
}

/** One element of the response array: its XML-RPC type and text. */
export interface Value {
    type: string;
    text: string;
}
/** A decoded response: a fault or the array's values. */
export type Decoded = { fault: { code: number; message: string } } | { values: Value[] };

const responseParser = new XMLParser({ parseTagValue: false, trimValues: false, isArray: (name) => name === "value" || name === "member" });

/** Decodes a `<methodResponse>`. */
export function decode(body: string): Decoded {
    const doc = responseParser.parse(body).methodResponse;
    if (doc.fault) {
        const members = doc.fault.value[0].struct.member as { name: string; value: Record<string, string>[] }[];
        const field = (name: string) => Object.values(members.find((m) => m.name === name)!.value[0])[0];
        return { fault: { code: Number(field("faultCode")), message: field("faultString") } };
    }
    const items = doc.params.param.value[0].array.data.value as Record<string, string>[];
    return { values: items.map((item) => ({ type: Object.keys(item)[0], text: String(Object.values(item)[0]) })) };
}

/** An OpenNebula failure array. */
export interface Failure {
    message: string;
    code: number;
    objectId: number;
}

/** ID collections, AR pools, leases and NIC/DISK vectors always parse as arrays; everything else as single values. */
const COLLECTIONS = ["HOSTS", "DATASTORES", "VNETS", "CLUSTERS", "VMS", "IMAGES", "VROUTERS"];
const ALWAYS_ARRAYS: Record<string, string[]> = {
    AR: ["AR_POOL"],
    LEASE: ["LEASES"],
    NIC: ["TEMPLATE"],
    NIC_ALIAS: ["TEMPLATE"],
    DISK: ["TEMPLATE"],
};

function parserFor(poolItems: boolean): XMLParser {
    return new XMLParser({
        parseTagValue: false,
        isArray: (name, jPath) => {
            const path = String(jPath).split(".");
            const parent = path.slice(-2, -1)[0];
            if (poolItems && path.length === 2 && parent.endsWith("_POOL")) return true;
            return (name === "ID" && COLLECTIONS.includes(parent)) || (ALWAYS_ARRAYS[name] ?? []).includes(parent);
        },
    });
}

/** Parses an `info` document (see {@link Raw.info} for which elements are arrays). */
export const infoParser = parserFor(false);
const poolParser = parserFor(true);

/** A raw client bound to one double. */
export class Raw {
    constructor(readonly one: OneDouble) {}

    /** The session parameter. */
    get session(): Param {
        return str(`${this.one.username}:${this.one.password}`);
    }

    /** Sends a call; HTTP must be 200. */
    async send(method: string, ...params: Param[]): Promise<Decoded> {
        const res = await post(this.one.endpoint, callXml(method, [this.session, ...params]));
        assert.strictEqual(res.status, 200, res.body);
        return decode(res.body);
    }

    /** A successful call's result (element 1); fails the test on a failure array or fault. */
    async ok(method: string, ...params: Param[]): Promise<string> {
        const d = await this.send(method, ...params);
        if ("fault" in d) assert.fail(`${method}: fault ${d.fault.code} ${d.fault.message}`);
        assert.strictEqual(d.values[0].text, "1", `${method} failed: ${d.values[1].text}`);
        return d.values[1].text;
    }

    /** A successful call's result as a number (an ID). */
    async id(method: string, ...params: Param[]): Promise<number> {
        return Number(await this.ok(method, ...params));
    }

    /** A failure array; fails the test on success or a fault. */
    async fail(method: string, ...params: Param[]): Promise<Failure> {
        const d = await this.send(method, ...params);
        if ("fault" in d) assert.fail(`${method}: fault ${d.fault.code} ${d.fault.message}`);
        assert.strictEqual(d.values[0].text, "0", `${method} unexpectedly succeeded`);
        return { message: d.values[1].text, code: Number(d.values[2].text), objectId: Number(d.values[3].text) };
    }

    /** An XML-RPC fault; fails the test otherwise. */
    async fault(method: string, ...params: Param[]): Promise<{ code: number; message: string }> {
        const d = await this.send(method, ...params);
        if (!("fault" in d)) assert.fail(`${method}: expected a fault, got ${JSON.stringify(d.values)}`);
        return d.fault;
    }

    /** Whether `one.<kind>.info` finds the object. */
    async exists(kind: string, id: number): Promise<boolean> {
        const d = await this.send(`one.${kind}.info`, int(id));
        return "values" in d && d.values[0].text === "1";
    }

    /**
     * `one.<kind>.info` parsed into a plain object (CDATA becomes text). ID collections, AR_POOL/AR,
     * LEASES/LEASE and TEMPLATE/NIC, NIC_ALIAS, DISK are always arrays.
     */
    async info(kind: string, id: number): Promise<any> {
        return infoParser.parse(await this.ok(`one.${kind}.info`, int(id)));
    }

    /** A pool call parsed like {@link info}, with the pool's items always an array (under `items`). */
    async pool(method: string, ...params: Param[]): Promise<any[]> {
        const doc = poolParser.parse(await this.ok(method, ...params));
        const root = Object.values(doc)[0];
        return root === "" ? [] : (Object.values(root as object)[0] as any[]);
    }
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 10 ms until it is true; fails the test after `timeoutMs`. */
export async function waitFor(probe: () => Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await probe())) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
        await sleep(10);
    }
}
