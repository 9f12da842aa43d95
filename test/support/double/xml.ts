/**
 * Small builders for the XML documents oned returns from `info` calls. Core string fields and
 * template values are CDATA-wrapped (`one_util::escape_xml`); integers are plain text.
 */

/** `<![CDATA[value]]>`, splitting any `]]>` inside the value so the result stays well-formed. */
export function cdata(value: string): string {
    return `<![CDATA[${value.split("]]>").join("]]]]><![CDATA[>")}]]>`;
}

/** `<name>` + already-rendered content + `</name>`. */
export function element(name: string, content: string | number): string {
    return `<${name}>${content}</${name}>`;
}

/** `<name>` with the value in CDATA. */
export function textElement(name: string, value: string): string {
    return element(name, cdata(value));
}

/** `<name/>` when `value` is empty, else CDATA — how the VNET XML writes PHYDEV, VLAN_ID, … */
export function optionalTextElement(name: string, value: string): string {
    return value === "" ? `<${name}/>` : textElement(name, value);
}

/** An ID collection (`<HOSTS><ID>1</ID>…</HOSTS>`), ascending like `std::set`; `<HOSTS/>` when empty. */
export function idCollection(name: string, ids: Iterable<number>): string {
    const sorted = [...ids].sort((a, b) => a - b);
    return sorted.length === 0 ? `<${name}/>` : element(name, sorted.map((id) => element("ID", id)).join(""));
}

/** A list of already-rendered elements inside `<name>`; `<name/>` when empty. */
export function wrapAll(name: string, items: string[]): string {
    return items.length === 0 ? `<${name}/>` : element(name, items.join(""));
}

/** Owner/group/other × use/manage/admin bits, as `PERMISSIONS` lists them. */
export interface Permissions {
    owner: [number, number, number];
    group: [number, number, number];
    other: [number, number, number];
}

/** The rights oneadmin's default umask 177 leaves: owner use+manage. */
export const OWNER_USE_MANAGE: Permissions = { owner: [1, 1, 0], group: [0, 0, 0], other: [0, 0, 0] };

/** `<PERMISSIONS>` with the nine 0/1 fields. */
export function permissionsXml(p: Permissions): string {
    const part = (prefix: string, bits: [number, number, number]) =>
        element(`${prefix}_U`, bits[0]) + element(`${prefix}_M`, bits[1]) + element(`${prefix}_A`, bits[2]);
    return element("PERMISSIONS", part("OWNER", p.owner) + part("GROUP", p.group) + part("OTHER", p.other));
}

/** UID/GID/UNAME/GNAME of objects owned by oneadmin. */
export function ownerXml(): string {
    return element("UID", 0) + element("GID", 0) + element("UNAME", "oneadmin") + element("GNAME", "oneadmin");
}
