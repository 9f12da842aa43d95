/**
 * XML-RPC wire codec for OpenNebula's `oned` (xmlrpc-c / Abyss).
 *
 * Requests are assembled as strings with XML escaping. Responses are parsed with fast-xml-parser
 * in order-preserving mode and then checked against the XML-RPC grammar, accepting the
 * non-standard `<i8>` that OpenNebula puts in every failure array.
 */
import { XMLValidator } from "fast-xml-parser";
import { XmlRpcProtocolError, errorName } from "./errors";
import { orderedXmlParser } from "./xml";

/** A value that XML-RPC can carry. Structs are plain objects; `<nil/>` decodes to `""`. */
export type XmlRpcValue = string | number | boolean | XmlRpcValue[] | { [k: string]: XmlRpcValue };

/** A decoded `<methodResponse>`: either the single returned value or a `<fault>`. */
export type MethodResponse = { kind: "value"; value: XmlRpcValue } | { kind: "fault"; faultCode: number; faultString: string };

/** A decoded `<methodCall>`. */
export interface MethodCall {
    method: string;
    params: XmlRpcValue[];
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const XML_DECLARATION = '<?xml version="1.0"?>\n';

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/**
 * Builds a `<methodCall>` document.
 *
 * Integers become `<int>` (a RangeError if outside the 32-bit range, which is all `<int>` carries),
 * other finite numbers `<double>`, strings `<string>` (escaped; `\r` as `&#13;` so XML parsers do
 * not normalise it away), booleans `<boolean>1|0</boolean>`, arrays `<array>` and plain objects
 * `<struct>`. Error messages name the parameter position but never echo the value, since the
 * first parameter is normally the session string.
 */
export function encodeMethodCall(method: string, params: XmlRpcValue[]): string {
    if (!/^[A-Za-z0-9_.:/]+$/.test(method)) {
        throw new TypeError(`XML-RPC method name must consist of letters, digits, '_', '.', ':' or '/' (got ${JSON.stringify(method)})`);
    }
    const encodedParams = params.map((p, i) => `<param><value>${encodeValue(p, `parameter ${i}`)}</value></param>`).join("");
    return `${XML_DECLARATION}<methodCall><methodName>${method}</methodName><params>${encodedParams}</params></methodCall>`;
}

/** Builds a successful `<methodResponse>` carrying `value` (for test servers). */
export function encodeMethodResponse(value: XmlRpcValue): string {
    return `${XML_DECLARATION}<methodResponse><params><param><value>${encodeValue(value, "response value")}</value></param></params></methodResponse>`;
}

/** Builds a `<methodResponse>` with a `<fault>` (for test servers). */
export function encodeFault(faultCode: number, faultString: string): string {
    const fault = encodeValue({ faultCode, faultString }, "fault");
    return `${XML_DECLARATION}<methodResponse><fault><value>${fault}</value></fault></methodResponse>`;
}

function encodeValue(value: XmlRpcValue, where: string): string {
    switch (typeof value) {
        case "string":
            return `<string>${escapeText(value, where)}</string>`;
        case "boolean":
            return `<boolean>${value ? 1 : 0}</boolean>`;
        case "number":
            return encodeNumber(value, where);
        case "object":
            if (Array.isArray(value)) {
                const items = value.map((v, i) => `<value>${encodeValue(v, `${where}[${i}]`)}</value>`);
                return `<array><data>${items.join("")}</data></array>`;
            }
            if (value !== null && isPlainObject(value)) {
                return encodeStruct(value, where);
            }
    }
    throw new TypeError(
        `${where} cannot be sent over XML-RPC: expected a string, number, boolean, array or plain object, got ${describeType(value)}`,
    );
}

function encodeNumber(value: number, where: string): string {
    if (!Number.isFinite(value)) {
        throw new RangeError(`${where} must be a finite number; XML-RPC cannot carry ${value}`);
    }
    if (!Number.isInteger(value)) {
        return `<double>${value}</double>`;
    }
    if (value < INT32_MIN || value > INT32_MAX) {
        throw new RangeError(`${where} is an integer outside the 32-bit range ${INT32_MIN}..${INT32_MAX} that XML-RPC <int> carries`);
    }
    return `<int>${value === 0 ? 0 : value}</int>`;
}

function encodeStruct(value: { [k: string]: XmlRpcValue }, where: string): string {
    const members = Object.entries(value).map(([name, v]) => {
        const memberWhere = `${where}.${name}`;
        return `<member><name>${escapeText(name, memberWhere)}</name><value>${encodeValue(v, memberWhere)}</value></member>`;
    });
    return `<struct>${members.join("")}</struct>`;
}

// Characters XML 1.0 cannot represent at all, not even as character references.
/* eslint-disable no-control-regex -- control characters are what it finds */
const NOT_XML_CHAR =
    /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/u;
/* eslint-enable no-control-regex */

function escapeText(text: string, where: string): string {
    const bad = NOT_XML_CHAR.exec(text);
    if (bad) {
        const codePoint = bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
        throw new RangeError(`${where} contains the character U+${codePoint}, which XML 1.0 cannot carry`);
    }
    return text.replace(/[&<>\r]/g, (c) => ESCAPES[c]);
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;" };

function isPlainObject(value: object): boolean {
    const proto: unknown = Object.getPrototypeOf(value);
    return proto === Object.prototype || proto === null;
}

function describeType(value: unknown): string {
    if (value === null) return "null";
    if (typeof value === "object") return value.constructor?.name ?? "object";
    return typeof value;
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/**
 * Decodes a `<methodResponse>` document.
 *
 * Accepts `<i4>`, `<int>`, `<i8>`, `<boolean>`, `<string>`, a bare `<value>text</value>` (a string),
 * `<double>`, `<array>`, `<struct>` and `<nil/>` (decoded as `""`). `<i8>` becomes a JS number, so
 * values beyond ±2^53 lose precision; OpenNebula only uses it for the RAFT log index.
 * A `<fault>` gives `kind: "fault"`. Anything malformed throws {@link XmlRpcProtocolError}.
 */
export function decodeMethodResponse(xml: string): MethodResponse {
    const root = singleChild(parseDocument(xml), "document");
    if (root.name !== "methodResponse") {
        throw new XmlRpcProtocolError(`expected <methodResponse> as the root element, found <${root.name}>`);
    }
    const body = singleChild(root.children, "<methodResponse>");
    if (body.name === "params") {
        const param = expectElement(singleChild(body.children, "<params>"), "param");
        return { kind: "value", value: decodeValueElement(singleChild(param.children, "<param>")) };
    }
    if (body.name === "fault") {
        return decodeFault(singleChild(body.children, "<fault>"));
    }
    throw new XmlRpcProtocolError(`expected <params> or <fault> in <methodResponse>, found <${body.name}>`);
}

/** Decodes a `<methodCall>` document (for test servers). Malformed input throws {@link XmlRpcProtocolError}. */
export function decodeMethodCall(xml: string): MethodCall {
    const root = singleChild(parseDocument(xml), "document");
    if (root.name !== "methodCall") {
        throw new XmlRpcProtocolError(`expected <methodCall> as the root element, found <${root.name}>`);
    }
    const parts = elementChildren(root.children, "<methodCall>");
    const methodName = parts.find((e) => e.name === "methodName");
    if (!methodName) {
        throw new XmlRpcProtocolError("<methodCall> has no <methodName>");
    }
    const paramsElement = parts.find((e) => e.name === "params");
    const params = paramsElement
        ? elementChildren(paramsElement.children, "<params>").map((p) =>
              decodeValueElement(singleChild(expectElement(p, "param").children, "<param>")),
          )
        : [];
    return { method: textOf(methodName.children, "<methodName>").trim(), params };
}

function decodeFault(valueElement: XmlElement): MethodResponse {
    const fault = decodeValueElement(valueElement);
    if (typeof fault !== "object" || Array.isArray(fault)) {
        throw new XmlRpcProtocolError("<fault> must hold a struct with faultCode and faultString");
    }
    const { faultCode, faultString } = fault;
    if (typeof faultCode !== "number" || typeof faultString !== "string") {
        throw new XmlRpcProtocolError("<fault> struct must have an integer faultCode and a string faultString");
    }
    return { kind: "fault", faultCode, faultString };
}

/** One node of fast-xml-parser's order-preserving output: `{ tag: children }` or `{ "#text": text }`. */
type OrderedNode = { [key: string]: OrderedNode[] | string | undefined };
/** An element, reduced to what the grammar checks need. */
interface XmlElement {
    name: string;
    children: OrderedNode[];
}

const TEXT = "#text";

/**
 * Entities are decoded in a single pass (so `&amp;lt;` stays `&lt;`): the five predefined XML
 * entities and numeric character references. DOCTYPE is refused before parsing, so no other
 * entities can be declared. (A plain scan: pool responses can hold a million references.)
 */
const entityDecoder = {
    setExternalEntities: (): void => undefined,
    addInputEntities: (): void => undefined,
    reset: (): void => undefined,
    setXmlVersion: (): void => undefined,
    decode: decodeReferences,
};

const NAMED_ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeReferences(text: string): string {
    let amp = text.indexOf("&");
    if (amp < 0) return text;
    let decoded = "";
    let copiedUpTo = 0;
    while (amp >= 0) {
        const semicolon = text.indexOf(";", amp);
        if (semicolon < 0 || semicolon - amp > 12) {
            throw new XmlRpcProtocolError(`unterminated entity reference ${JSON.stringify(text.slice(amp, amp + 12))}`);
        }
        decoded += text.slice(copiedUpTo, amp) + decodeReference(text.slice(amp + 1, semicolon));
        copiedUpTo = semicolon + 1;
        amp = text.indexOf("&", copiedUpTo);
    }
    return decoded + text.slice(copiedUpTo);
}

function decodeReference(name: string): string {
    const named = Object.hasOwn(NAMED_ENTITIES, name) ? NAMED_ENTITIES[name] : undefined;
    if (named !== undefined) return named;
    const codePoint = /^#x[0-9A-Fa-f]+$/.test(name)
        ? parseInt(name.slice(2), 16)
        : /^#[0-9]+$/.test(name)
          ? parseInt(name.slice(1), 10)
          : undefined;
    if (codePoint === undefined) {
        throw new XmlRpcProtocolError(`undefined entity &${name};`);
    }
    if (codePoint === 0 || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
        throw new XmlRpcProtocolError(`invalid character reference &${name};`);
    }
    return String.fromCodePoint(codePoint);
}

function parseDocument(xml: string): OrderedNode[] {
    if (typeof xml !== "string" || xml.trim() === "") {
        throw new XmlRpcProtocolError("empty response body; expected an XML-RPC document");
    }
    if (/<!DOCTYPE/i.test(xml)) {
        throw new XmlRpcProtocolError("XML-RPC documents must not contain a DOCTYPE");
    }
    const validation = XMLValidator.validate(xml);
    if (validation !== true) {
        const { msg, line, col } = validation.err;
        throw new XmlRpcProtocolError(`malformed XML at line ${line}, column ${col}: ${msg}`);
    }
    try {
        return orderedXmlParser({ entityDecoder }).parse(xml) as OrderedNode[];
    } catch (e) {
        if (errorName(e) === "XmlRpcProtocolError") throw e;
        throw new XmlRpcProtocolError(`malformed XML: ${e instanceof Error ? e.message : String(e)}`);
    }
}

function decodeValueElement(element: XmlElement): XmlRpcValue {
    expectElement(element, "value");
    if (element.children.every((node) => typeof node[TEXT] === "string")) {
        return textOf(element.children, "<value>"); // a bare <value>text</value> is a string
    }
    const typed = elementChildren(element.children, "<value>");
    if (typed.length > 1) {
        throw new XmlRpcProtocolError(`<value> must hold one typed element, found ${typed.length}`);
    }
    return decodeTyped(typed[0]);
}

function decodeTyped(element: XmlElement): XmlRpcValue {
    const where = `<${element.name}>`;
    switch (element.name) {
        case "string":
            return textOf(element.children, where);
        case "i4":
        case "int":
            return decodeInteger(textOf(element.children, where), where, true);
        case "i8":
            return decodeInteger(textOf(element.children, where), where, false);
        case "boolean":
            return decodeBoolean(textOf(element.children, where).trim());
        case "double":
            return decodeDouble(textOf(element.children, where).trim());
        case "nil":
            textOf(element.children, where);
            return "";
        case "array":
            return decodeArray(element);
        case "struct":
            return decodeStruct(element);
        default:
            throw new XmlRpcProtocolError(`unsupported XML-RPC value type <${element.name}>`);
    }
}

function decodeInteger(raw: string, where: string, int32: boolean): number {
    const text = raw.trim();
    if (!/^[+-]?\d+$/.test(text)) {
        throw new XmlRpcProtocolError(`${where} must hold an integer, found ${JSON.stringify(text.slice(0, 40))}`);
    }
    const value = Number(text);
    if (int32 && (value < INT32_MIN || value > INT32_MAX)) {
        throw new XmlRpcProtocolError(`${where} value ${text} is outside the 32-bit range`);
    }
    return value === 0 ? 0 : value;
}

function decodeBoolean(text: string): boolean {
    if (text === "1") return true;
    if (text === "0") return false;
    throw new XmlRpcProtocolError(`<boolean> must hold 0 or 1, found ${JSON.stringify(text.slice(0, 40))}`);
}

function decodeDouble(text: string): number {
    const value = Number(text);
    if (text === "" || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) || !Number.isFinite(value)) {
        throw new XmlRpcProtocolError(`<double> must hold a decimal number, found ${JSON.stringify(text.slice(0, 40))}`);
    }
    return value;
}

function decodeArray(element: XmlElement): XmlRpcValue[] {
    const data = expectElement(singleChild(element.children, "<array>"), "data");
    return elementChildren(data.children, "<data>").map(decodeValueElement);
}

function decodeStruct(element: XmlElement): { [k: string]: XmlRpcValue } {
    const entries = elementChildren(element.children, "<struct>").map((member): [string, XmlRpcValue] => {
        expectElement(member, "member");
        const parts = elementChildren(member.children, "<member>");
        const name = parts.find((p) => p.name === "name");
        const value = parts.find((p) => p.name === "value");
        if (parts.length !== 2 || !name || !value) {
            throw new XmlRpcProtocolError("<member> must hold exactly one <name> and one <value>");
        }
        return [textOf(name.children, "<name>"), decodeValueElement(value)];
    });
    // fromEntries defines own properties, so a member named "__proto__" cannot change the prototype.
    return Object.fromEntries(entries);
}

// ---------------------------------------------------------------------------------------------
// Helpers over fast-xml-parser's ordered output
// ---------------------------------------------------------------------------------------------

/** The element children of a node list; whitespace between elements is allowed, other text is not. */
function elementChildren(nodes: OrderedNode[], where: string): XmlElement[] {
    const elements: XmlElement[] = [];
    for (const node of nodes) {
        const text = node[TEXT];
        if (typeof text === "string") {
            if (text.trim() !== "") {
                throw new XmlRpcProtocolError(`unexpected text ${JSON.stringify(text.trim().slice(0, 40))} in ${where}`);
            }
            continue;
        }
        elements.push(toElement(node));
    }
    return elements;
}

/** The concatenated text (incl. CDATA) of a node list that must not contain elements. */
function textOf(nodes: OrderedNode[], where: string): string {
    let text = "";
    for (const node of nodes) {
        const part = node[TEXT];
        if (typeof part !== "string") {
            throw new XmlRpcProtocolError(`${where} must hold text only, found <${toElement(node).name}>`);
        }
        text += part;
    }
    return text;
}

function singleChild(nodes: OrderedNode[], where: string): XmlElement {
    const elements = elementChildren(nodes, where);
    if (elements.length !== 1) {
        throw new XmlRpcProtocolError(`${where} must hold exactly one element, found ${elements.length}`);
    }
    return elements[0];
}

function expectElement(element: XmlElement, name: string): XmlElement {
    if (element.name !== name) {
        throw new XmlRpcProtocolError(`expected <${name}>, found <${element.name}>`);
    }
    return element;
}

function toElement(node: OrderedNode): XmlElement {
    const name = Object.keys(node).find((k) => k !== ":@");
    const children = name === undefined ? undefined : node[name];
    if (name === undefined || !Array.isArray(children)) {
        throw new XmlRpcProtocolError("unexpected node in XML document");
    }
    return { name, children };
}
