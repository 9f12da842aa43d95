/**
 * OpenNebula template codec: normalizes caller input, renders OpenNebula's attribute syntax and the
 * XML form, and parses both back the way OpenNebula does.
 *
 * The attribute-syntax parser mirrors OpenNebula's flex lexer and bison grammar
 * (src/parsers/template_parser.l, template_syntax.y) rule by rule, including flex's longest-match
 * choice, so the renderers can be proven never to produce text that OpenNebula reads differently.
 */
import type { XmlElement } from "./xml";
import { describeNonXmlChar, escapeXmlText, parseXml } from "./xml";

/** A vector attribute: flat sub-key → value map (OpenNebula vectors do not nest). */
export type TemplateVector = { [key: string]: string };
/** One value of an attribute: a string (single attribute) or a vector. */
export type TemplateValue = string | TemplateVector;
/** A parsed/normalized template: names upper-cased; a name that occurs more than once maps to an array in document order; a name that occurs once maps to its single value (not an array). */
export interface Template {
    [name: string]: TemplateValue | TemplateValue[];
}
/** What callers may pass: any-case names, numbers/booleans converted to strings (booleans as "YES"/"NO"), undefined values dropped. An array means a repeated attribute. */
export type TemplateInputScalar = string | number | boolean;
/** A scalar, or a vector of scalars (undefined sub-values are dropped). */
export type TemplateInputValue = TemplateInputScalar | { [key: string]: TemplateInputScalar | undefined };
/** A template as callers write it; see {@link normalizeTemplate}. */
export interface TemplateInput {
    [name: string]: TemplateInputValue | TemplateInputValue[] | undefined;
}

/** A template that cannot be normalized, rendered or parsed. The message names the attribute and what is allowed. */
export class TemplateError extends Error {
    /** The (upper-cased) attribute concerned, when there is one. */
    readonly attribute?: string;

    // `message` and `name` are set explicitly so that the class survives Pulumi's function serializer.
    constructor(message: string, attribute?: string) {
        super(message);
        this.message = message;
        this.name = "TemplateError";
        this.attribute = attribute;
    }
}

const NAME = /^[A-Za-z0-9_]+$/;

// ---------------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------------

/**
 * Normalizes caller input: names checked against `[A-Za-z0-9_]+` and upper-cased (vector sub-keys
 * too), numbers and booleans turned into strings (`true` → "YES", `false` → "NO"), undefined values
 * and sub-values dropped, an array of values becomes a repeated attribute (an empty array drops the
 * attribute). A {@link Template} passes through unchanged.
 * @throws TemplateError for a bad name, a name given twice in different case, or a value that is
 *   not a string, finite number, boolean or flat vector of those.
 */
export function normalizeTemplate(input: TemplateInput): Template {
    if (!isPlainObject(input)) throw new TemplateError("a template must be an object mapping attribute names to values");
    const template: Template = {};
    const spelling = new Map<string, string>();
    for (const [rawName, raw] of Object.entries(input)) {
        if (raw === undefined) continue;
        const name = checkName(rawName, rawName, "attribute name");
        if (spelling.has(name)) {
            throw new TemplateError(
                `attribute ${name} is given twice ("${spelling.get(name)}" and "${rawName}"); names are case-insensitive`,
                name,
            );
        }
        spelling.set(name, rawName);
        const values = (Array.isArray(raw) ? raw : [raw]).filter((v) => v !== undefined).map((v) => normalizeValue(v, name));
        if (values.length > 0) template[name] = values.length === 1 ? values[0] : values;
    }
    return template;
}

function normalizeValue(value: unknown, attribute: string): TemplateValue {
    return isPlainObject(value) ? normalizeVector(value, attribute) : scalarString(value, attribute, attribute);
}

function normalizeVector(raw: Record<string, unknown>, attribute: string): TemplateVector {
    const vector: TemplateVector = {};
    for (const [rawKey, value] of Object.entries(raw)) {
        if (value === undefined) continue;
        const key = checkName(rawKey, attribute, `key of vector ${attribute}`);
        if (Object.hasOwn(vector, key))
            throw new TemplateError(`vector ${attribute} has key ${key} twice; keys are case-insensitive`, attribute);
        vector[key] = scalarString(value, `${attribute}/${key}`, attribute);
    }
    return vector;
}

function scalarString(value: unknown, where: string, attribute: string): string {
    if (typeof value === "string") return value;
    if (typeof value === "boolean") return value ? "YES" : "NO";
    if (typeof value === "number" && Number.isFinite(value)) return String(value);
    const got = typeof value === "number" ? String(value) : value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
    throw new TemplateError(
        `${where} must be a string, a finite number, a boolean or a vector of those (vectors cannot nest), got ${got}`,
        attribute,
    );
}

function checkName(name: string, attribute: string, what: string): string {
    if (!NAME.test(name))
        throw new TemplateError(`${what} "${name}" is not allowed: names may contain only letters, digits and "_"`, attribute);
    return name.toUpperCase();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

/**
 * Renders OpenNebula attribute syntax: `NAME = "value"` per line, vectors as
 * `NAME = [\n  KEY = "v",\n  KEY2 = "w"\n]`, an empty vector as `NAME = [ ]`. Values are always
 * quoted; `"` is written as `\"` (the only escape OpenNebula knows).
 * @throws TemplateError for input {@link normalizeTemplate} rejects, and for values this syntax
 *   cannot carry: ending in a backslash (the closing quote would read as escaped), containing
 *   `]]>` (OpenNebula's lexer aborts), or containing characters XML 1.0 cannot carry.
 */
export function renderTemplate(input: TemplateInput): string {
    let text = "";
    for (const [name, value] of attributeList(normalizeTemplate(input))) {
        if (typeof value === "string") text += `${name} = ${quote(value, name)}\n`;
        else if (Object.keys(value).length === 0) text += `${name} = [ ]\n`;
        else {
            const pairs = Object.entries(value).map(([key, v]) => `  ${key} = ${quote(v, name, key)}`);
            text += `${name} = [\n${pairs.join(",\n")}\n]\n`;
        }
    }
    return text;
}

function quote(value: string, attribute: string, key?: string): string {
    const what = key === undefined ? attribute : `${attribute}/${key}`;
    const badChar = describeNonXmlChar(value);
    if (badChar)
        throw new TemplateError(
            `the value of ${what} contains ${badChar}, which OpenNebula cannot store (only XML 1.0 characters)`,
            attribute,
        );
    const problem = value.endsWith("\\")
        ? "ends with a backslash (the closing quote would read as escaped)"
        : value.includes("]]>")
          ? 'contains "]]>" (OpenNebula\'s lexer aborts on it)'
          : undefined;
    if (problem) {
        throw new TemplateError(
            `the value of ${what} ${problem}, so it cannot be written in attribute syntax; the XML form (renderTemplateXml) is used on the wire`,
            attribute,
        );
    }
    return `"${value.replace(/"/g, '\\"')}"`;
}

/**
 * Renders the XML form sent on the wire: `<TEMPLATE><NAME>value</NAME><VEC><KEY>v</KEY></VEC></TEMPLATE>`.
 * Carries every string XML 1.0 can carry.
 * @throws TemplateError for input {@link normalizeTemplate} rejects, for characters XML 1.0 cannot
 *   carry, for names starting with a digit (not XML names) and for empty vectors (OpenNebula
 *   ignores an element without content; send `NAME = [ ]` in attribute syntax instead).
 */
export function renderTemplateXml(input: TemplateInput): string {
    let xml = "<TEMPLATE>";
    for (const [name, value] of attributeList(normalizeTemplate(input))) {
        checkXmlName(name, name);
        if (typeof value === "string") {
            xml += `<${name}>${xmlContent(value, name)}</${name}>`;
            continue;
        }
        const pairs = Object.entries(value);
        if (pairs.length === 0) {
            throw new TemplateError(
                `vector ${name} is empty; OpenNebula ignores empty elements in the XML form, so send it in attribute syntax ("${name} = [ ]")`,
                name,
            );
        }
        const inner = pairs.map(([key, v]) => `<${checkXmlName(key, name)}>${xmlContent(v, name, key)}</${key}>`);
        xml += `<${name}>${inner.join("")}</${name}>`;
    }
    return `${xml}</TEMPLATE>`;
}

/**
 * OpenNebula reads an element as a value only when its content is exactly one text or CDATA node,
 * and drops elements without content. Escaped text is always one node (libxml2 merges character
 * references into it), so no CDATA splitting is needed; "" is written as an empty CDATA section,
 * which is also how OpenNebula writes it.
 */
function xmlContent(value: string, attribute: string, key?: string): string {
    const badChar = describeNonXmlChar(value);
    if (badChar) {
        const what = key === undefined ? attribute : `${attribute}/${key}`;
        throw new TemplateError(`the value of ${what} contains ${badChar}, which XML 1.0 cannot carry`, attribute);
    }
    return value === "" ? "<![CDATA[]]>" : escapeXmlText(value);
}

function checkXmlName(name: string, attribute: string): string {
    if (/^[0-9]/.test(name)) {
        throw new TemplateError(
            `name ${name} starts with a digit, which XML does not allow; such attributes can only be sent in attribute syntax`,
            attribute,
        );
    }
    return name;
}

/** The template as (name, value) pairs, repeated names in order. */
function attributeList(template: Template): [string, TemplateValue][] {
    return Object.entries(template).flatMap(([name, values]) => asList(values).map((v): [string, TemplateValue] => [name, v]));
}

function asList(values: TemplateValue | TemplateValue[]): TemplateValue[] {
    return Array.isArray(values) ? values : [values];
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/**
 * Parses a template the way OpenNebula does: XML when the first non-blank character is `<`,
 * attribute syntax otherwise (comments, bare and quoted values, vectors, `NAME =` as an empty
 * value; a repeated vector key keeps its first value).
 * @throws TemplateError with line and column on a syntax error, or the XML parser's reason.
 */
export function parseTemplate(text: string): Template {
    if (/^[ \t\r\n]*</.test(text)) {
        let root: XmlElement;
        try {
            root = parseXml(text);
        } catch (err) {
            throw new TemplateError(`XML template: ${(err as Error).message}`);
        }
        return templateFromXmlElement(root);
    }
    return new AttributeSyntaxParser(text).parse();
}

/**
 * Reads an already parsed `<TEMPLATE>` element: a child with element children is a vector (a
 * repeated key keeps its last value, as OpenNebula's XML reader does), any other child a single
 * attribute with its text. Names are upper-cased.
 */
export function templateFromXmlElement(el: XmlElement): Template {
    const template: Template = {};
    for (const attr of el.children) {
        const value: TemplateValue = attr.children.length > 0 ? vectorFromXml(attr) : attr.text;
        addValue(template, attr.name.toUpperCase(), value);
    }
    return template;
}

function vectorFromXml(el: XmlElement): TemplateVector {
    const vector: TemplateVector = {};
    for (const sub of el.children) vector[sub.name.toUpperCase()] = sub.text;
    return vector;
}

function addValue(template: Template, name: string, value: TemplateValue): void {
    if (!Object.hasOwn(template, name)) template[name] = value;
    else template[name] = [...asList(template[name]), value];
}

type TokenType = "VARIABLE" | "EQUAL" | "EQUAL_EMPTY" | "COMMA" | "OBRACKET" | "CBRACKET" | "STRING" | "CCDATA" | "END";
interface Token {
    type: TokenType;
    text: string;
    start: number;
}
type LexState = "INITIAL" | "VALUE";
interface LexRule {
    type: TokenType | "SKIP";
    length: (text: string, at: number) => number;
    next?: LexState;
    quoted?: true;
}

function pattern(source: string): (text: string, at: number) => number {
    const re = new RegExp(source, "y");
    return (text, at) => {
        re.lastIndex = at;
        return re.exec(text)?.[0].length ?? 0;
    };
}

/** Longest match of flex's `"([^"]|\\")*"`: the string may run on past a quote only when a backslash precedes it. */
function quotedLength(text: string, at: number): number {
    if (text[at] !== '"') return 0;
    let end = -1;
    for (let i = text.indexOf('"', at + 1); i >= 0; i = text.indexOf('"', i + 1)) {
        end = i;
        if (text[i - 1] !== "\\") break;
    }
    return end < 0 ? 0 : end - at + 1;
}

/** template_parser.l, rule for rule and in its order (order breaks ties between equally long matches). */
const LEX_RULES: Record<LexState, LexRule[]> = {
    INITIAL: [
        { type: "SKIP", length: pattern("[ \\t]*#[^\\n]*\\n") }, // comment
        { type: "SKIP", length: pattern("[ \\t\\n]+") },
        { type: "VARIABLE", length: pattern("[A-Za-z0-9_]+") },
        { type: "EQUAL", length: pattern("[ \\t]*=[ \\t]*"), next: "VALUE" },
        { type: "EQUAL_EMPTY", length: pattern("[ \\t]*=[ \\t]*\\n") },
        { type: "COMMA", length: pattern("[ \\t\\n]*,[ \\t\\n]*") },
        { type: "CBRACKET", length: pattern("[ \\t\\n]*\\][ \\t\\n]*") },
    ],
    VALUE: [
        { type: "OBRACKET", length: pattern("[ \\t]*\\[[ \\t\\n]*"), next: "INITIAL" },
        { type: "CCDATA", length: pattern("[^\\n]*\\]\\]>[^\\n]*"), next: "INITIAL" },
        { type: "STRING", length: quotedLength, next: "INITIAL", quoted: true },
        { type: "STRING", length: pattern("[^=# \\t\\n,\\[\\]]+"), next: "INITIAL" },
    ],
};

/** Splits attribute syntax into tokens with flex's semantics: longest match wins, ties go to the earlier rule. */
function lex(text: string): Token[] {
    const tokens: Token[] = [];
    let state: LexState = "INITIAL";
    let at = 0;
    while (at < text.length) {
        let best: LexRule | undefined;
        let bestLength = 0;
        for (const rule of LEX_RULES[state]) {
            const length = rule.length(text, at);
            if (length > bestLength) [best, bestLength] = [rule, length];
        }
        if (!best) {
            at++; // flex's default rule: a character no rule matches is echoed and skipped
            continue;
        }
        if (best.type !== "SKIP") {
            const matched = text.slice(at, at + bestLength);
            tokens.push({ type: best.type, text: best.quoted ? matched.slice(1, -1) : matched, start: at });
        }
        state = best.next ?? state;
        at += bestLength;
    }
    tokens.push({ type: "END", text: "", start: text.length });
    return tokens;
}

/** template_syntax.y's unescape: each `\"` becomes `"`, left to right. */
function unescape(value: string): string {
    return value.replace(/\\"/g, '"');
}

/** template_syntax.y as recursive descent; accepts exactly the same token sequences. */
class AttributeSyntaxParser {
    private readonly tokens: Token[];
    // Set in the constructor, not by an initializer: the parser runs inside serialized providers,
    // and Pulumi's function serializer drops field initializers.
    private next: number;

    constructor(private readonly text: string) {
        this.tokens = lex(text);
        this.next = 0;
    }

    parse(): Template {
        const template: Template = {};
        while (this.peek().type !== "END") {
            const name = this.expect("VARIABLE", "an attribute name").text.toUpperCase();
            const equal = this.take();
            if (equal.type === "EQUAL_EMPTY") addValue(template, name, "");
            else if (equal.type !== "EQUAL")
                this.fail(equal, '"=" after an attribute name'); // the "name" may be a stray piece of a value
            else if (this.peek().type === "OBRACKET") {
                this.take();
                addValue(template, name, this.vector(name));
            } else addValue(template, name, this.value(name));
        }
        return template;
    }

    private vector(attribute: string): TemplateVector {
        const vector: TemplateVector = {};
        if (this.peek().type === "CBRACKET") {
            this.take();
            return vector;
        }
        for (;;) {
            const key = this.expect("VARIABLE", `a key of vector ${attribute}`, attribute).text.toUpperCase();
            this.expect("EQUAL", `"=" and a value after ${attribute}/${key}`, attribute);
            const value = this.value(attribute, `${attribute}/${key}`);
            if (!Object.hasOwn(vector, key)) vector[key] = value; // std::map::insert keeps the first
            const separator = this.take();
            if (separator.type === "CBRACKET") return vector;
            if (separator.type !== "COMMA") this.fail(separator, `"," or "]" in vector ${attribute}`, attribute);
        }
    }

    private value(attribute: string, what = attribute): string {
        const token = this.take();
        if (token.type === "STRING") return unescape(token.text);
        if (token.type === "CCDATA")
            this.fail(token, `a value of ${what} without "]]>" on its line (OpenNebula's lexer aborts on it)`, attribute);
        return this.fail(token, `a value of ${what}`, attribute);
    }

    private peek(): Token {
        return this.tokens[this.next];
    }

    private take(): Token {
        return this.tokens[Math.min(this.next++, this.tokens.length - 1)];
    }

    private expect(type: TokenType, expected: string, attribute?: string): Token {
        const token = this.take();
        return token.type === type ? token : this.fail(token, expected, attribute);
    }

    private fail(token: Token, expected: string, attribute?: string): never {
        const before = this.text.slice(0, token.start);
        const line = before.split("\n").length;
        const column = token.start - before.lastIndexOf("\n");
        throw new TemplateError(
            `template syntax error at line ${line}, column ${column}: expected ${expected}, found ${describeToken(token)}`,
            attribute,
        );
    }
}

/** Token descriptions for errors; token text is never quoted, since it may be a piece of a secret value. */
function describeToken(token: Token): string {
    switch (token.type) {
        case "VARIABLE":
            return "a name";
        case "EQUAL":
            return '"="';
        case "EQUAL_EMPTY":
            return '"=" at the end of a line';
        case "COMMA":
            return '","';
        case "OBRACKET":
            return '"["';
        case "CBRACKET":
            return '"]"';
        case "STRING":
            return "a value";
        case "CCDATA":
            return 'a line containing "]]>"';
        case "END":
            return "the end of the template";
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

/** Whether two templates hold the same attributes: the order of repeated values matters, the order of names and of vector keys does not. */
export function templatesEqual(a: Template, b: Template): boolean {
    const names = Object.keys(a);
    return (
        names.length === Object.keys(b).length &&
        names.every((name) => Object.hasOwn(b, name) && valuesEqual(asList(a[name]), asList(b[name])))
    );
}

function valuesEqual(a: TemplateValue[], b: TemplateValue[]): boolean {
    return a.length === b.length && a.every((value, i) => valueEqual(value, b[i]));
}

function valueEqual(a: TemplateValue, b: TemplateValue): boolean {
    if (typeof a === "string" || typeof b === "string") return a === b;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && a[key] === b[key]);
}

/** The attributes of `t` named in `names` (any case), copied, e.g. to compare only the attributes a resource manages. */
export function pickAttributes(t: Template, names: string[]): Template {
    const picked: Template = {};
    for (const name of names.map((n) => n.toUpperCase())) {
        if (Object.hasOwn(t, name)) picked[name] = structuredClone(t[name]);
    }
    return picked;
}
