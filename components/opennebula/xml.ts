/**
 * Reading OpenNebula XML: a small, order-preserving element tree over fast-xml-parser, plus the
 * few accessors the client needs, and text escaping for building XML strings.
 */
import type { X2jOptions } from "fast-xml-parser";
import { XMLParser, XMLValidator } from "fast-xml-parser";

/** A generic, order-preserving XML element (OpenNebula responses are CDATA-heavy and repeat names). */
export interface XmlElement {
    /** Element name, as written. */
    name: string;
    /** The element's own character data: its text and CDATA pieces joined, entities decoded, nothing trimmed. */
    text: string;
    /** Child elements in document order. */
    children: XmlElement[];
}

const TEXT = "#text";
const CDATA = "#cdata";

/** Characters XML 1.0 cannot carry at all (not even as character references). */
const NON_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** The five entities XML predefines; nothing else is expanded. */
const PREDEFINED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/**
 * Entity handling for fast-xml-parser: predefined entities and character references only.
 * DOCTYPE-declared and unknown entities are errors rather than silently expanded or kept.
 */
const strictEntityDecoder = {
    reset(): void {},
    setXmlVersion(): void {},
    setExternalEntities(): void {},
    addInputEntities(entities: Record<string, string>): void {
        if (Object.keys(entities).length > 0) throw new Error("DOCTYPE entity declarations are not accepted");
    },
    decode(text: string): string {
        return text.replace(/&([^&;]*);/g, (_ref, body: string) => decodeReference(body));
    },
};

function decodeReference(body: string): string {
    if (Object.prototype.hasOwnProperty.call(PREDEFINED_ENTITIES, body)) return PREDEFINED_ENTITIES[body];
    const match = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(body);
    if (!match) throw new Error(`unknown entity "&${body};" (only &amp; &lt; &gt; &quot; &apos; and character references are allowed)`);
    const codePoint = match[1] !== undefined ? parseInt(match[1], 16) : parseInt(match[2], 10);
    if (codePoint > 0x10ffff || NON_XML_CHAR.test(String.fromCodePoint(codePoint))) {
        throw new Error(`character reference "&${body};" is not an XML 1.0 character`);
    }
    return String.fromCodePoint(codePoint);
}

// A new parser per document, never a module-level instance: the dynamic providers are serialized
// with everything they reference, and a live third-party object cannot be serialized.
/**
 * fast-xml-parser as both readers use it (OpenNebula's documents here, XML-RPC in xmlrpc.ts): order
 * preserved, no attributes, declarations or processing instructions, values neither typed ("007"
 * stays "007") nor trimmed (whitespace inside text and CDATA is data); entities by `entityDecoder`.
 */
export function orderedXmlParser(options: Pick<X2jOptions, "cdataPropName" | "entityDecoder">): XMLParser {
    return new XMLParser({
        preserveOrder: true,
        ignoreAttributes: true,
        ignoreDeclaration: true,
        ignorePiTags: true,
        parseTagValue: false,
        trimValues: false,
        ...options,
    });
}

/** One node of fast-xml-parser's preserveOrder output: `{ NAME: [...] }`, `{ "#text": s }` or `{ "#cdata": [{ "#text": s }] }`. */
type OrderedNode = Record<string, unknown>;

/**
 * Parses an XML document and returns its root element.
 * @throws Error saying where and why when the XML is malformed, has several roots, declares entities,
 *   or contains characters XML 1.0 forbids.
 */
export function parseXml(xml: string): XmlElement {
    const check = XMLValidator.validate(xml);
    if (check !== true) {
        throw new Error(`Malformed XML at line ${check.err.line}, column ${check.err.col}: ${check.err.msg}`);
    }
    const badChar = describeNonXmlChar(xml);
    if (badChar) throw new Error(`Malformed XML: ${badChar} is not allowed in XML 1.0`);
    let nodes: OrderedNode[];
    try {
        nodes = orderedXmlParser({ cdataPropName: CDATA, entityDecoder: strictEntityDecoder }).parse(xml) as OrderedNode[];
    } catch (err) {
        throw new Error(`Malformed XML: ${(err as Error).message}`);
    }
    const roots = nodes.filter(isElementNode);
    if (roots.length !== 1) throw new Error(`Malformed XML: expected one root element, found ${roots.length}`);
    return toElement(roots[0]);
}

function isElementNode(node: OrderedNode): boolean {
    return !(TEXT in node) && !(CDATA in node) && !Object.keys(node)[0].startsWith("?");
}

function toElement(node: OrderedNode): XmlElement {
    const name = Object.keys(node)[0];
    const element: XmlElement = { name, text: "", children: [] };
    for (const part of node[name] as OrderedNode[]) {
        if (TEXT in part) element.text += String(part[TEXT]);
        else if (CDATA in part) element.text += (part[CDATA] as OrderedNode[]).map((t) => String(t[TEXT] ?? "")).join("");
        else if (isElementNode(part)) element.children.push(toElement(part));
    }
    return element;
}

/** The first child element called `name`, if any. */
export function child(el: XmlElement, name: string): XmlElement | undefined {
    return el.children.find((c) => c.name === name);
}

/** All child elements called `name`, in document order. */
export function children(el: XmlElement, name: string): XmlElement[] {
    return el.children.filter((c) => c.name === name);
}

/** The text of the first child element called `name`, or undefined when there is no such child. */
export function childText(el: XmlElement, name: string): string | undefined {
    return child(el, name)?.text;
}

/**
 * The integer in the first child element called `name`.
 * Returns undefined when the child is missing or empty (OpenNebula writes unset numbers, such as a
 * vnet's `PARENT_NETWORK_ID`, as empty CDATA).
 * @throws Error naming the element when its text is present but not an integer.
 */
export function childInt(el: XmlElement, name: string): number | undefined {
    const text = childText(el, name);
    if (text === undefined || text.trim() === "") return undefined;
    return parseInteger(text, `<${el.name}><${name}>`);
}

/**
 * The integers of the `<ID>` children of child `name`, e.g. `idList(cluster, "HOSTS")` for
 * `<HOSTS><ID>1</ID><ID>2</ID></HOSTS>`. Missing or empty (`<HOSTS/>`) gives `[]`.
 * @throws Error naming the element when an ID is not an integer.
 */
export function idList(el: XmlElement, name: string): number[] {
    const list = child(el, name);
    if (!list) return [];
    return children(list, "ID").map((id) => parseInteger(id.text, `<${el.name}><${name}><ID>`));
}

function parseInteger(text: string, where: string): number {
    const trimmed = text.trim();
    const value = Number(trimmed);
    if (!/^-?[0-9]+$/.test(trimmed) || !Number.isSafeInteger(value)) {
        throw new Error(`${where} must be an integer, got "${text}"`);
    }
    return value;
}

/**
 * Escapes text for use inside an XML element or attribute: `&`, `<`, `>`, `"`, `'`, and `\r` as
 * `&#13;` (a literal carriage return would be turned into `\n` by any XML parser).
 * It does not check for characters XML 1.0 cannot carry; see {@link describeNonXmlChar}.
 */
export function escapeXmlText(s: string): string {
    return s.replace(/[&<>"'\r]/g, (c) => XML_ESCAPES[c]);
}

const XML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;", "\r": "&#13;" };

/**
 * Describes the first character XML 1.0 cannot carry in any form (most C0 controls, lone
 * surrogates, U+FFFE, U+FFFF), e.g. `character U+0001 at position 3`; undefined when there is none.
 */
export function describeNonXmlChar(s: string): string | undefined {
    const match = NON_XML_CHAR.exec(s);
    if (!match) return undefined;
    const code = match[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
    return `character U+${code} at position ${match.index}`;
}
