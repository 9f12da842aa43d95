/**
 * An object's template as oned keeps it: a multimap of attributes (single values or flat vectors),
 * rendered sorted by name (oned stores them in a `std::multimap`, vector keys in a `std::map`) with
 * CDATA-wrapped values. Parsing is delegated to the package's template codec.
 */
import type { Template as ParsedTemplate } from "../../../components/opennebula/template";
import { parseTemplate, TemplateError } from "../../../components/opennebula/template";
import { cdata } from "./xml";

/** A flat vector attribute: sub-key → value. */
export type Vector = Record<string, string>;
/** One attribute value: a string or a vector. */
export type AttributeValue = string | Vector;

interface Attribute {
    name: string;
    value: AttributeValue;
}

/** Thrown when a template text cannot be parsed; the message is oned's ("Parse error: …"). */
export class TemplateParseError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "TemplateParseError";
    }
}

/** A mutable OpenNebula template. */
export class OneTemplate {
    private attributes: Attribute[] = [];

    /**
     * Parses attribute syntax or XML (names upper-cased by the codec).
     * @throws TemplateParseError with a message starting "Parse error: ".
     */
    static parse(text: string): OneTemplate {
        let parsed: ParsedTemplate;
        try {
            parsed = parseTemplate(text);
        } catch (err) {
            if (!(err instanceof TemplateError)) throw err;
            throw new TemplateParseError(err.message.startsWith("Parse error") ? err.message : `Parse error: ${err.message}`);
        }
        const template = new OneTemplate();
        for (const [name, value] of Object.entries(parsed)) {
            for (const item of Array.isArray(value) ? value : [value]) template.add(name, item);
        }
        return template;
    }

    /** A template holding the given single-valued attributes, in order. */
    static of(values: Record<string, string>): OneTemplate {
        const template = new OneTemplate();
        for (const [name, value] of Object.entries(values)) template.add(name, value);
        return template;
    }

    /** A deep copy. */
    clone(): OneTemplate {
        const copy = new OneTemplate();
        for (const a of this.attributes) copy.add(a.name, a.value);
        return copy;
    }

    /** True when the template has no attributes. */
    get isEmpty(): boolean {
        return this.attributes.length === 0;
    }

    /** The first single (non-vector) value called `name`, like `Template::get(name, string&)`; undefined when there is none. */
    get(name: string): string | undefined {
        const found = this.attributes.find((a) => a.name === name && typeof a.value === "string");
        return found?.value as string | undefined;
    }

    /** `get` with "" for a missing attribute, as oned's `get_template_attribute` fills its output. */
    getOrEmpty(name: string): string {
        return this.get(name) ?? "";
    }

    /** oned's boolean reading: true only for "YES" in any case. */
    getBoolean(name: string): boolean {
        return this.getOrEmpty(name).toUpperCase() === "YES";
    }

    /** Copies of every vector called `name`, in order. */
    vectors(name: string): Vector[] {
        return this.attributes.filter((a) => a.name === name && typeof a.value !== "string").map((a) => ({ ...(a.value as Vector) }));
    }

    /** Appends an attribute (a repeated name is allowed). */
    add(name: string, value: AttributeValue): void {
        this.attributes.push({ name, value: typeof value === "string" ? value : { ...value } });
    }

    /** Removes every attribute called `name` and adds this one. */
    replace(name: string, value: AttributeValue): void {
        this.remove(name);
        this.add(name, value);
    }

    /** Removes every attribute called `name`; returns the first single value it had ("" when none), like `erase_template_attribute`. */
    erase(name: string): string {
        const value = this.getOrEmpty(name);
        this.remove(name);
        return value;
    }

    /** Removes every attribute called `name`; returns all their values (single and vector) in order. */
    take(name: string): AttributeValue[] {
        const taken = this.attributes.filter((a) => a.name === name).map((a) => (typeof a.value === "string" ? a.value : { ...a.value }));
        this.attributes = this.attributes.filter((a) => a.name !== name);
        return taken;
    }

    /** Whether any value holds `]]>`, which oned cannot write inside the CDATA of its XML. */
    get holdsCdataEnd(): boolean {
        return this.attributes.some((a) =>
            (typeof a.value === "string" ? [a.value] : Object.values(a.value)).some((v) => v.includes("]]>")),
        );
    }

    /** Whether any attribute (single or vector) is called `name`. */
    has(name: string): boolean {
        return this.attributes.some((a) => a.name === name);
    }

    /** Removes every attribute called `name`; returns the vectors among them. */
    remove(name: string): Vector[] {
        const removed = this.vectors(name);
        this.attributes = this.attributes.filter((a) => a.name !== name);
        return removed;
    }

    /**
     * `Template::merge`: for every name in `other`, drop all attributes with that name here, then add
     * `other`'s values — except empty vectors, which only delete.
     */
    merge(other: OneTemplate): void {
        for (const a of other.attributes) this.remove(a.name);
        for (const a of other.attributes) {
            if (typeof a.value !== "string" && Object.keys(a.value).length === 0) continue;
            this.add(a.name, a.value);
        }
    }

    /** The template as oned renders it: attributes sorted by name (stable), vector keys sorted, values in CDATA. */
    toXml(root = "TEMPLATE"): string {
        const sorted = [...this.attributes].sort((a, b) => compareNames(a.name, b.name));
        return `<${root}>${sorted.map(attributeXml).join("")}</${root}>`;
    }
}

function attributeXml(a: Attribute): string {
    return `<${a.name}>${typeof a.value === "string" ? cdata(a.value) : vectorXml(a.value)}</${a.name}>`;
}

/** A vector's sub-elements, sorted by key; empty keys are skipped as `VectorAttribute::to_xml` does. */
export function vectorXml(vector: Vector): string {
    return Object.keys(vector)
        .filter((k) => k !== "")
        .sort(compareNames)
        .map((k) => `<${k}>${cdata(vector[k])}</${k}>`)
        .join("");
}

/** Byte-wise comparison, as `std::string`'s `operator<` orders map keys. */
function compareNames(a: string, b: string): number {
    return a < b ? -1 : a > b ? 1 : 0;
}
