/**
 * The server side of XML-RPC as oned's xmlrpc-c speaks it: decode a `<methodCall>` into typed
 * values (the type tag matters — xmlrpc-c rejects `<string>` where it wants `<int>`), and encode
 * `<methodResponse>` arrays and `<fault>`s.
 */
import { XMLBuilder, XMLParser, XMLValidator } from "fast-xml-parser";

/** A decoded request parameter, keeping its XML-RPC type. */
export type RpcValue =
    | { type: "int"; value: number }
    | { type: "i8"; value: bigint }
    | { type: "boolean"; value: boolean }
    | { type: "string"; value: string }
    | { type: "double"; value: number }
    | { type: "nil" }
    | { type: "base64"; value: string }
    | { type: "dateTime.iso8601"; value: string }
    | { type: "array"; items: RpcValue[] }
    | { type: "struct"; members: Map<string, RpcValue> };

/** A decoded `<methodCall>`. */
export interface MethodCall {
    method: string;
    params: RpcValue[];
}

/** The request body is not a well-formed XML-RPC call. */
export class WireError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "WireError";
    }
}

/** One node of fast-xml-parser's `preserveOrder` output. */
type Node = Record<string, unknown>;

const TEXT = "#text";

const parser = new XMLParser({
    preserveOrder: true,
    ignoreAttributes: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    parseTagValue: false,
    trimValues: false, // string values keep their whitespace
    processEntities: true,
    htmlEntities: false,
});

/**
 * Decodes a request body.
 * @throws WireError when the body is not XML or not a `<methodCall>` with a method name and valid values.
 */
export function decodeMethodCall(body: string): MethodCall {
    const valid = XMLValidator.validate(body);
    if (valid !== true) throw new WireError(`XML parse error at line ${valid.err.line}: ${valid.err.msg}`);
    const roots = elementsOf(parser.parse(body) as Node[]);
    const call = roots.find((n) => tagOf(n) === "methodCall");
    if (!call || roots.length !== 1) throw new WireError("Call XML is not a <methodCall> element");
    const parts = elementsOf(childrenOf(call));
    const nameNode = parts.find((n) => tagOf(n) === "methodName");
    if (!nameNode) throw new WireError("<methodCall> has no <methodName>");
    const method = textOf(nameNode).trim();
    if (method === "") throw new WireError("<methodName> is empty");
    const paramsNode = parts.find((n) => tagOf(n) === "params");
    const params = paramsNode ? elementsOf(childrenOf(paramsNode)).map(decodeParam) : [];
    return { method, params };
}

function decodeParam(param: Node): RpcValue {
    if (tagOf(param) !== "param") throw new WireError(`unexpected <${tagOf(param)}> inside <params>`);
    const value = elementsOf(childrenOf(param)).find((n) => tagOf(n) === "value");
    if (!value) throw new WireError("<param> has no <value>");
    return decodeValue(value);
}

function decodeValue(value: Node): RpcValue {
    const typed = elementsOf(childrenOf(value));
    if (typed.length === 0) return { type: "string", value: textOf(value) }; // untyped value = string
    if (typed.length > 1) throw new WireError("<value> has more than one child element");
    const node = typed[0];
    const tag = tagOf(node);
    const text = textOf(node);
    switch (tag) {
        case "int":
        case "i4":
            return { type: "int", value: parseInt32(text) };
        case "i8":
            return { type: "i8", value: parseInt64(text) };
        case "boolean":
            return { type: "boolean", value: parseBoolean(text) };
        case "string":
            return { type: "string", value: text };
        case "double":
            return { type: "double", value: parseDouble(text) };
        case "nil":
            return { type: "nil" };
        case "base64":
        case "dateTime.iso8601":
            return { type: tag, value: text.trim() };
        case "array":
            return { type: "array", items: decodeArray(node) };
        case "struct":
            return { type: "struct", members: decodeStruct(node) };
        default:
            throw new WireError(`unknown value type <${tag}>`);
    }
}

function decodeArray(array: Node): RpcValue[] {
    const data = elementsOf(childrenOf(array)).find((n) => tagOf(n) === "data");
    if (!data) throw new WireError("<array> has no <data>");
    return elementsOf(childrenOf(data)).map((v) => {
        if (tagOf(v) !== "value") throw new WireError(`unexpected <${tagOf(v)}> inside <data>`);
        return decodeValue(v);
    });
}

function decodeStruct(struct: Node): Map<string, RpcValue> {
    const members = new Map<string, RpcValue>();
    for (const member of elementsOf(childrenOf(struct))) {
        const parts = elementsOf(childrenOf(member));
        const name = parts.find((n) => tagOf(n) === "name");
        const value = parts.find((n) => tagOf(n) === "value");
        if (tagOf(member) !== "member" || !name || !value) throw new WireError("<struct> member needs <name> and <value>");
        members.set(textOf(name), decodeValue(value));
    }
    return members;
}

function parseInt32(text: string): number {
    const t = text.trim();
    if (!/^[+-]?\d+$/.test(t)) throw new WireError(`"${t}" is not a valid <int>`);
    const n = Number(t);
    if (n < -2147483648 || n > 2147483647) throw new WireError(`"${t}" does not fit a 32-bit <int>`);
    return n;
}

function parseInt64(text: string): bigint {
    const t = text.trim();
    if (!/^[+-]?\d+$/.test(t)) throw new WireError(`"${t}" is not a valid <i8>`);
    return BigInt(t);
}

function parseBoolean(text: string): boolean {
    const t = text.trim();
    if (t === "1") return true;
    if (t === "0") return false;
    throw new WireError(`"${t}" is not a valid <boolean> (0 or 1)`);
}

function parseDouble(text: string): number {
    const n = Number(text.trim());
    if (text.trim() === "" || Number.isNaN(n)) throw new WireError(`"${text.trim()}" is not a valid <double>`);
    return n;
}

function tagOf(node: Node): string {
    return Object.keys(node).find((k) => k !== ":@") ?? "";
}

function childrenOf(node: Node): Node[] {
    const value = node[tagOf(node)];
    return Array.isArray(value) ? (value as Node[]) : [];
}

/** Element children only: whitespace between elements is not data. */
function elementsOf(nodes: Node[]): Node[] {
    return nodes.filter((n) => tagOf(n) !== TEXT);
}

function textOf(node: Node): string {
    return childrenOf(node)
        .filter((n) => tagOf(n) === TEXT)
        .map((n) => String(n[TEXT]))
        .join("");
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** A value the double puts into a response; numbers are 32-bit ints (`<i4>`). */
export type ResponseValue = boolean | string | number | { i8: number };

const builder = new XMLBuilder({ suppressEmptyNode: false, processEntities: true });

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\r\n';

/** `[true, result, 0]` — what `Request::success_response` sends. */
export function encodeSuccess(result: string | number | boolean): string {
    return encodeArray([true, result, 0]);
}

/** `[false, message, code, objectId, <i8>0</i8>]` — what `Request::failure_response` sends. */
export function encodeFailure(message: string, code: number, objectId: number): string {
    return encodeArray([false, message, code, objectId, { i8: 0 }]);
}

/** An XML-RPC `<fault>` struct. */
export function encodeFault(faultCode: number, faultString: string): string {
    const members = [
        { name: "faultCode", value: { i4: faultCode } },
        { name: "faultString", value: { string: faultString } },
    ];
    return DECLARATION + builder.build({ methodResponse: { fault: { value: { struct: { member: members } } } } });
}

function encodeArray(values: ResponseValue[]): string {
    const data = { value: values.map(encodeValue) };
    return DECLARATION + builder.build({ methodResponse: { params: { param: { value: { array: { data } } } } } });
}

function encodeValue(value: ResponseValue): Record<string, unknown> {
    if (typeof value === "boolean") return { boolean: value ? 1 : 0 };
    if (typeof value === "string") return { string: value };
    if (typeof value === "number") {
        if (!Number.isInteger(value)) throw new Error(`response value ${value} is not an integer`);
        return { i4: value };
    }
    return { i8: value.i8 };
}
