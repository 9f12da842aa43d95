import { strict as assert } from "assert";
import fc from "fast-check";
import type { XmlElement } from "../../components/opennebula/xml";
import { child, childInt, childText, children, describeNonXmlChar, escapeXmlText, idList, parseXml } from "../../components/opennebula/xml";

const VNET_XML =
    "<VNET><ID>3</ID><NAME><![CDATA[pub]]></NAME><CLUSTERS><ID>100</ID><ID>101</ID></CLUSTERS>" +
    "<PARENT_NETWORK_ID><![CDATA[]]></PARENT_NETWORK_ID><VROUTERS/>" +
    "<TEMPLATE><DNS><![CDATA[1.1.1.1]]></DNS><AR><IP><![CDATA[10.0.0.2]]></IP></AR></TEMPLATE>" +
    "<AR_POOL><AR><AR_ID><![CDATA[0]]></AR_ID></AR><AR><AR_ID><![CDATA[1]]></AR_ID></AR></AR_POOL></VNET>";

/** Strings of any code points, including ones XML cannot carry. */
const anyString = fc.oneof(
    fc.string({ unit: "binary", maxLength: 20 }),
    fc.string({
        unit: fc.constantFrom("a", "&", "<", ">", "]]>", "\r", "\r\n", "\n", " ", "\u0001", "\uD800", "\uFFFE", "😀"),
        maxLength: 10,
    }),
);

describe("xml: parseXml", () => {
    it("reads a realistic OpenNebula VNET in document order", () => {
        const vnet = parseXml(VNET_XML);
        assert.equal(vnet.name, "VNET");
        assert.deepEqual(
            vnet.children.map((c) => c.name),
            ["ID", "NAME", "CLUSTERS", "PARENT_NETWORK_ID", "VROUTERS", "TEMPLATE", "AR_POOL"],
        );
        assert.equal(childText(vnet, "NAME"), "pub");
        const template = child(vnet, "TEMPLATE")!;
        assert.deepEqual(
            template.children.map((c) => [c.name, c.text]),
            [
                ["DNS", "1.1.1.1"],
                ["AR", ""],
            ],
        );
        assert.equal(childText(child(template, "AR")!, "IP"), "10.0.0.2");
        const ars = children(child(vnet, "AR_POOL")!, "AR");
        assert.deepEqual(
            ars.map((ar) => childText(ar, "AR_ID")),
            ["0", "1"],
        );
    });

    it("keeps numeric-looking text as strings and whitespace inside CDATA and text", () => {
        const el = parseXml("<X><A><![CDATA[ 007 ]]></A><B>  0x10\t</B><C><![CDATA[\n]]></C><D>1e3</D></X>");
        assert.deepEqual(
            el.children.map((c) => c.text),
            [" 007 ", "  0x10\t", "\n", "1e3"],
        );
        for (const c of el.children) assert.equal(typeof c.text, "string");
    });

    it("joins text and CDATA pieces and leaves entities inside CDATA alone", () => {
        const el = parseXml("<A>x&amp;<![CDATA[&amp;<b>]]>&lt;y&#13;&#x41;</A>");
        assert.equal(el.text, "x&&amp;<b><y\rA");
        assert.deepEqual(el.children, []);
    });

    it("normalises literal line ends but keeps a carriage return written as &#13;", () => {
        assert.equal(parseXml("<A>a\r\nb\rc&#13;d</A>").text, "a\nb\nc\rd");
    });

    it("skips the declaration, comments and processing instructions", () => {
        const el = parseXml('<?xml version="1.0" encoding="UTF-8"?>\n<!-- c --><A><?pi x?><B>1</B><!-- d --></A>\n');
        assert.equal(el.name, "A");
        assert.deepEqual(
            el.children.map((c) => [c.name, c.text]),
            [["B", "1"]],
        );
    });

    it("keeps empty elements, written either way", () => {
        const el = parseXml("<A><B/><C></C><D><![CDATA[]]></D></A>");
        assert.deepEqual(
            el.children,
            ["B", "C", "D"].map((name): XmlElement => ({ name, text: "", children: [] })),
        );
    });

    const malformed: [string, string, RegExp][] = [
        ["an unclosed element", "<A><B>1</B>", /Malformed XML/],
        ["mismatched tags", "<A><B></A></B>", /line 1, column \d+: .*closing tag/],
        ["two roots", "<A/><B/>", /one root element, found 2/],
        ["an empty document", "", /Malformed XML/],
        ["plain text", "A = 1", /Malformed XML/],
        ["a bare ampersand", "<A>a & b</A>", /Malformed XML/],
        ["an unknown entity", "<A>&nbsp;</A>", /unknown entity "&nbsp;"/],
        ["a DOCTYPE entity", '<!DOCTYPE A [<!ENTITY e "EVIL">]><A>&e;</A>', /DOCTYPE entity declarations are not accepted/],
        ["a reference to a forbidden character", "<A>&#1;</A>", /"&#1;" is not an XML 1.0 character/],
        ["a reference beyond Unicode", "<A>&#x110000;</A>", /not an XML 1.0 character/],
        ["a raw control character", "<A>\u0001</A>", /character U\+0001 at position 3 is not allowed/],
        ["a name starting with a digit", "<1A>x</1A>", /Malformed XML/],
    ];
    for (const [what, xml, message] of malformed) {
        it(`rejects ${what} with a clear error`, () => {
            assert.throws(() => parseXml(xml), message);
        });
    }
});

describe("xml: accessors", () => {
    const vnet = parseXml(VNET_XML);

    it("child/children/childText return undefined or [] for missing names", () => {
        assert.equal(child(vnet, "LOCK"), undefined);
        assert.deepEqual(children(vnet, "LOCK"), []);
        assert.equal(childText(vnet, "LOCK"), undefined);
        assert.equal(child(vnet, "ID")!.text, "3");
    });

    it("childInt reads integers, treats missing and empty as undefined, rejects the rest", () => {
        assert.equal(childInt(vnet, "ID"), 3);
        assert.equal(childInt(vnet, "LOCK"), undefined);
        assert.equal(childInt(vnet, "PARENT_NETWORK_ID"), undefined);
        assert.equal(childInt(parseXml("<A><B> -1 </B></A>"), "B"), -1);
        for (const bad of ["abc", "1.5", "1e3", "0x10", "99999999999999999999"]) {
            assert.throws(() => childInt(parseXml(`<A><B>${bad}</B></A>`), "B"), new RegExp(`<A><B> must be an integer, got "${bad}"`));
        }
    });

    it("idList reads ID lists, empty or missing lists give []", () => {
        assert.deepEqual(idList(vnet, "CLUSTERS"), [100, 101]);
        assert.deepEqual(idList(vnet, "VROUTERS"), []);
        assert.deepEqual(idList(vnet, "HOSTS"), []);
        assert.throws(
            () => idList(parseXml("<C><HOSTS><ID>1</ID><ID>x</ID></HOSTS></C>"), "HOSTS"),
            /<C><HOSTS><ID> must be an integer, got "x"/,
        );
    });
});

describe("xml: escapeXmlText and describeNonXmlChar", () => {
    it("escapes markup, quotes and carriage returns", () => {
        assert.equal(escapeXmlText(`a&b<c>d"e'f\rg]]>`), "a&amp;b&lt;c&gt;d&quot;e&apos;f&#13;g]]&gt;");
    });

    it("describes the first character XML 1.0 cannot carry", () => {
        assert.equal(describeNonXmlChar("ok\t\n\r é 😀 \uFFFD"), undefined);
        assert.equal(describeNonXmlChar("ab\u0000"), "character U+0000 at position 2");
        assert.equal(describeNonXmlChar("a\uDC00b"), "character U+DC00 at position 1");
        assert.equal(describeNonXmlChar("\uFFFF"), "character U+FFFF at position 0");
    });

    it("property: escaped text of any XML-carriable string parses back exactly; other strings are flagged", () => {
        fc.assert(
            fc.property(anyString, (s) => {
                if (describeNonXmlChar(s) !== undefined) {
                    assert.throws(() => parseXml(`<A>${escapeXmlText(s)}</A>`), /Malformed XML/);
                } else {
                    assert.equal(parseXml(`<A>${escapeXmlText(s)}</A>`).text, s);
                }
            }),
            { numRuns: 500 },
        );
    });
});
