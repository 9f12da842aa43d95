import { strict as assert } from "assert";
import fc from "fast-check";
import type { Template, TemplateInput } from "../../components/opennebula/template";
import {
    TemplateError,
    normalizeTemplate,
    parseTemplate,
    pickAttributes,
    renderTemplate,
    renderTemplateXml,
    templateFromXmlElement,
    templatesEqual,
} from "../../components/opennebula/template";
import { describeNonXmlChar, parseXml } from "../../components/opennebula/xml";

/** Asserts that `fn` throws a TemplateError about `attribute` whose message matches `message`. */
function assertTemplateError(fn: () => unknown, message: RegExp, attribute?: string): void {
    assert.throws(fn, (err: unknown) => {
        assert.ok(err instanceof TemplateError, `expected a TemplateError, got ${String(err)}`);
        assert.match(err.message, message);
        assert.equal(err.attribute, attribute);
        return true;
    });
}

// ---------------------------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------------------------

/** Pieces that break naive template writers: quotes, escapes, line ends, syntax characters, CDATA ends. */
const HOSTILE_PIECES = [
    '"',
    "\\",
    '\\"',
    "\n",
    "\r",
    "\r\n",
    "\t",
    " ",
    "]",
    "[",
    "=",
    ",",
    "#",
    "$",
    "{",
    "}",
    "]]>",
    "]]",
    ">",
    "<",
    "&",
    "'",
    "é",
    "😀",
    "a",
    "Z",
    "0",
    'EVIL = "1"',
    '\nX = [ Y = "z" ]\n',
    "<![CDATA[",
    "&amp;",
    "&#13;",
];
/** Characters neither form can carry. */
const NON_XML_PIECES = ["\u0000", "\u0001", "\u000B", "\u001F", "\uD800", "\uDFFF", "\uFFFE", "\uFFFF"];

const hostileString = fc.array(fc.constantFrom(...HOSTILE_PIECES), { maxLength: 8 }).map((pieces) => pieces.join(""));
const xmlValue = fc.oneof(hostileString, fc.string({ unit: "grapheme", maxLength: 12 })).filter((v) => describeNonXmlChar(v) === undefined);
const anyValue = fc.oneof(
    hostileString,
    fc.string({ unit: "binary", maxLength: 12 }),
    fc.array(fc.constantFrom(...HOSTILE_PIECES, ...NON_XML_PIECES), { maxLength: 6 }).map((pieces) => pieces.join("")),
);
/** Any OpenNebula name, in any case. */
const anyName = fc.stringMatching(/^[A-Za-z0-9_]{1,6}$/);
/** Names that are also XML element names. */
const xmlName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,5}$/);

/** Templates as callers write them: names unique up to case, repeated attributes as arrays. */
function templateArb(name: fc.Arbitrary<string>, value: fc.Arbitrary<string>, minVectorKeys: number): fc.Arbitrary<TemplateInput> {
    const vector = fc
        .uniqueArray(fc.tuple(name, value), { selector: ([key]) => key.toUpperCase(), minLength: minVectorKeys, maxLength: 4 })
        .map((pairs) => Object.fromEntries(pairs));
    const one = fc.oneof(value, vector);
    const attribute = fc.oneof(one, fc.array(one, { minLength: 2, maxLength: 3 }));
    return fc
        .uniqueArray(fc.tuple(name, attribute), { selector: ([n]) => n.toUpperCase(), maxLength: 5 })
        .map((pairs) => Object.fromEntries(pairs) as TemplateInput);
}

/** Every string value in a normalized template, with its attribute. */
function valuesOf(template: Template): [string, string][] {
    return Object.entries(template).flatMap(([name, values]) =>
        (Array.isArray(values) ? values : [values]).flatMap((v): [string, string][] =>
            typeof v === "string" ? [[name, v]] : Object.values(v).map((s): [string, string] => [name, s]),
        ),
    );
}

function attributeSyntaxCannotCarry(value: string): boolean {
    return value.endsWith("\\") || value.includes("]]>") || describeNonXmlChar(value) !== undefined;
}

// ---------------------------------------------------------------------------------------------
// Injection-proofness
// ---------------------------------------------------------------------------------------------

describe("template: injection-proofness (properties)", () => {
    it("renderTemplateXml → parseTemplate round-trips every XML-representable template exactly", () => {
        fc.assert(
            fc.property(templateArb(xmlName, xmlValue, 1), (input) => {
                const parsed = parseTemplate(renderTemplateXml(input));
                assert.deepStrictEqual(parsed, normalizeTemplate(input));
                assert.ok(templatesEqual(parsed, normalizeTemplate(input)));
            }),
            { numRuns: 400 },
        );
    });

    it("renderTemplateXml rejects characters XML cannot carry, naming the attribute", () => {
        fc.assert(
            fc.property(xmlName, xmlValue, fc.constantFrom(...NON_XML_PIECES), xmlValue, (name, before, bad, after) => {
                const attribute = name.toUpperCase();
                assertTemplateError(
                    () => renderTemplateXml({ [name]: before + bad + after }),
                    new RegExp(`value of ${attribute} contains character U\\+`),
                    attribute,
                );
                assertTemplateError(
                    () => renderTemplateXml({ [name]: { k: before + bad + after } }),
                    new RegExp(`value of ${attribute}/K contains`),
                    attribute,
                );
            }),
        );
    });

    it("renderTemplate → parseTemplate round-trips every value it accepts and throws for exactly the rest", () => {
        fc.assert(
            fc.property(templateArb(anyName, anyValue, 0), (input) => {
                const normalized = normalizeTemplate(input);
                const cannot = valuesOf(normalized).find(([, v]) => attributeSyntaxCannotCarry(v));
                if (cannot) {
                    assert.throws(
                        () => renderTemplate(input),
                        (err: unknown) => err instanceof TemplateError && normalized[err.attribute!] !== undefined,
                    );
                } else {
                    assert.deepStrictEqual(parseTemplate(renderTemplate(input)), normalized);
                }
            }),
            { numRuns: 600 },
        );
    });

    it("a hostile value never creates, ends or changes another attribute, in either form", () => {
        fc.assert(
            fc.property(hostileString, hostileString, (hostile, hostileKey) => {
                const input = { A: hostile, B: "safe", C: { K: hostileKey, L: "safe too" }, D: [hostile, "x"] };
                const expected = { A: hostile, B: "safe", C: { K: hostileKey, L: "safe too" }, D: [hostile, "x"] };
                assert.deepStrictEqual(parseTemplate(renderTemplateXml(input)), expected);
                if (attributeSyntaxCannotCarry(hostile) || attributeSyntaxCannotCarry(hostileKey)) {
                    assert.throws(() => renderTemplate(input), TemplateError);
                } else {
                    assert.deepStrictEqual(parseTemplate(renderTemplate(input)), expected);
                }
            }),
            { numRuns: 400 },
        );
    });
});

describe("template: injection-proofness (examples)", () => {
    const attacks = [
        'x"\nEVIL = "1',
        'a]\nB=[C="d"',
        '"',
        '\\"',
        'x\\" y',
        '",\n  EVIL = "1',
        '\n]\nEVIL = [ K = "v" ]\n',
        "# not a comment",
        "A = B",
        "line1\nline2\r\n",
    ];
    for (const attack of attacks) {
        it(`keeps ${JSON.stringify(attack)} inside its attribute`, () => {
            const input = { NAME: attack, V: { K: attack, L: "1" }, LAST: "z" };
            const expected = { NAME: attack, V: { K: attack, L: "1" }, LAST: "z" };
            assert.deepStrictEqual(parseTemplate(renderTemplate(input)), expected);
            assert.deepStrictEqual(parseTemplate(renderTemplateXml(input)), expected);
        });
    }

    it("refuses a value ending in a backslash, which OpenNebula would read as an escaped closing quote", () => {
        // Naive quoting of { A: "x\\", B: " C=D " }, and what OpenNebula makes of it: B's text becomes attribute C.
        const naive = 'A = "x\\"\nB = " C=D "\n';
        assert.deepStrictEqual(parseTemplate(naive), { A: 'x"\nB = ', C: "D" });
        assertTemplateError(
            () => renderTemplate({ a: "x\\", evil: "1" }),
            /value of A ends with a backslash.*XML form \(renderTemplateXml\) is used on the wire/,
            "A",
        );
        assertTemplateError(() => renderTemplate({ v: { path: "C:\\" } }), /value of V\/PATH ends with a backslash/, "V");
        assert.deepStrictEqual(parseTemplate(renderTemplateXml({ a: "x\\", evil: "1" })), { A: "x\\", EVIL: "1" });
    });

    it('refuses a value containing "]]>", on which OpenNebula\'s lexer aborts', () => {
        assert.throws(() => parseTemplate('A = "x]]>y"\n'), /A without "\]\]>" on its line/);
        assertTemplateError(() => renderTemplate({ a: "]]>" }), /value of A contains "\]\]>".*XML form/, "A");
        assertTemplateError(() => renderTemplate({ v: { k: "a\n]]>" } }), /value of V\/K contains "\]\]>"/, "V");
        assert.deepStrictEqual(parseTemplate(renderTemplateXml({ a: "]]>", b: "x]]]]>>" })), { A: "]]>", B: "x]]]]>>" });
    });

    it("refuses characters OpenNebula cannot store, in attribute syntax too", () => {
        assertTemplateError(() => renderTemplate({ a: "x\u0000y" }), /value of A contains character U\+0000 at position 1/, "A");
        assertTemplateError(() => renderTemplate({ a: "\uD800" }), /U\+D800/, "A");
    });
});

// ---------------------------------------------------------------------------------------------
// Normalization
// ---------------------------------------------------------------------------------------------

describe("template: normalizeTemplate", () => {
    it("upper-cases names and keys, converts numbers and booleans, drops undefined", () => {
        const input: TemplateInput = {
            name: "vnet",
            Guest_MTU: 1370,
            flag: true,
            off: false,
            gone: undefined,
            ar: [{ type: "IP4", ip: "10.0.0.2", size: 10, mac: undefined }, { type: "ETHER" }],
            empty_vec: {},
            nothing: [],
        };
        assert.deepStrictEqual(normalizeTemplate(input), {
            NAME: "vnet",
            GUEST_MTU: "1370",
            FLAG: "YES",
            OFF: "NO",
            AR: [{ TYPE: "IP4", IP: "10.0.0.2", SIZE: "10" }, { TYPE: "ETHER" }],
            EMPTY_VEC: {},
        });
    });

    it("gives a single value, not an array, for a one-element array", () => {
        assert.deepStrictEqual(normalizeTemplate({ dns: ["1.1.1.1"] }), { DNS: "1.1.1.1" });
    });

    it("passes a normalized template through unchanged", () => {
        const template: Template = { A: "1", AR: [{ IP: "x" }, { IP: "y" }], E: {} };
        assert.deepStrictEqual(normalizeTemplate(template), template);
    });

    it("rejects bad names, naming them and what is allowed", () => {
        assertTemplateError(
            () => normalizeTemplate({ "a-b": "1" }),
            /attribute name "a-b" is not allowed: names may contain only letters, digits and "_"/,
            "a-b",
        );
        assertTemplateError(() => normalizeTemplate({ "": "1" }), /attribute name "" is not allowed/, "");
        assertTemplateError(() => normalizeTemplate({ é: "1" }), /attribute name "é"/, "é");
        assertTemplateError(() => normalizeTemplate({ ar: { "i p": "1" } }), /key of vector AR "i p" is not allowed/, "AR");
    });

    it("rejects a name given twice in different case", () => {
        assertTemplateError(() => normalizeTemplate({ dns: "1", DNS: "2" }), /attribute DNS is given twice \("dns" and "DNS"\)/, "DNS");
        assertTemplateError(() => normalizeTemplate({ ar: { ip: "1", IP: "2" } }), /vector AR has key IP twice/, "AR");
    });

    it("rejects values that are not scalars or flat vectors, without echoing them", () => {
        const bad = (value: unknown): TemplateInput => ({ v: value }) as unknown as TemplateInput;
        assertTemplateError(
            () => normalizeTemplate(bad(null)),
            /V must be a string, a finite number, a boolean or a vector of those.*got null/,
            "V",
        );
        assertTemplateError(() => normalizeTemplate(bad(NaN)), /got NaN/, "V");
        assertTemplateError(() => normalizeTemplate(bad({ k: { nested: "x" } })), /V\/K must be .*vectors cannot nest.*got object/, "V");
        assertTemplateError(() => normalizeTemplate(bad({ k: ["x"] })), /V\/K must be .*got an array/, "V");
        assertTemplateError(() => normalizeTemplate(bad([["x"]])), /V must be .*got an array/, "V");
        assertTemplateError(() => normalizeTemplate(null as unknown as TemplateInput), /a template must be an object/);
    });
});

// ---------------------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------------------

describe("template: renderTemplate", () => {
    it("writes quoted scalars, vectors, repeated vectors and empty vectors", () => {
        const text = renderTemplate({
            name: "pub",
            ar: [{ type: "IP4", size: 2 }, { type: "ETHER" }],
            quote: 'say "hi"',
            e: {},
            blank: "",
        });
        assert.equal(
            text,
            'NAME = "pub"\n' +
                'AR = [\n  TYPE = "IP4",\n  SIZE = "2"\n]\n' +
                'AR = [\n  TYPE = "ETHER"\n]\n' +
                'QUOTE = "say \\"hi\\""\n' +
                "E = [ ]\n" +
                'BLANK = ""\n',
        );
    });

    it("renders an empty template as empty text", () => {
        assert.equal(renderTemplate({}), "");
        assert.deepStrictEqual(parseTemplate(""), {});
    });
});

describe("template: renderTemplateXml", () => {
    it("writes escaped text, an empty CDATA section for empty values, and nothing else", () => {
        const xml = renderTemplateXml({ name: "a&b<c>", cr: "x\r\ny", empty: "", ar: [{ ip: "10.0.0.2", gw: "" }, { ip: "]]>" }] });
        assert.equal(
            xml,
            "<TEMPLATE><NAME>a&amp;b&lt;c&gt;</NAME><CR>x&#13;\ny</CR><EMPTY><![CDATA[]]></EMPTY>" +
                "<AR><IP>10.0.0.2</IP><GW><![CDATA[]]></GW></AR><AR><IP>]]&gt;</IP></AR></TEMPLATE>",
        );
        assert.deepStrictEqual(parseTemplate(xml), {
            NAME: "a&b<c>",
            CR: "x\r\ny",
            EMPTY: "",
            AR: [{ IP: "10.0.0.2", GW: "" }, { IP: "]]>" }],
        });
    });

    it("property: content is always a single text node (no CDATA besides the empty one), as OpenNebula requires", () => {
        fc.assert(
            fc.property(templateArb(xmlName, xmlValue, 1), (input) => {
                assert.doesNotMatch(renderTemplateXml(input).replace(/<!\[CDATA\[\]\]>/g, ""), /<!\[CDATA\[/);
            }),
        );
    });

    it("rejects names starting with a digit and empty vectors, which the XML form cannot carry", () => {
        assertTemplateError(() => renderTemplateXml({ "1st": "x" }), /name 1ST starts with a digit.*attribute syntax/, "1ST");
        assertTemplateError(() => renderTemplateXml({ v: { "2k": "x" } }), /name 2K starts with a digit/, "V");
        assertTemplateError(() => renderTemplateXml({ e: {} }), /vector E is empty.*"E = \[ \]"/, "E");
        assert.equal(renderTemplate({ "1st": "x" }), '1ST = "x"\n');
    });
});

// ---------------------------------------------------------------------------------------------
// Parsing attribute syntax like OpenNebula's lexer and grammar
// ---------------------------------------------------------------------------------------------

describe("template: parseTemplate (attribute syntax)", () => {
    const accepted: [string, string, Template][] = [
        ["comments at line start, indented and after a value", '# head\nA = "1"\n  # indented\nB = 2 # trailing\n', { A: "1", B: "2" }],
        ["blank lines and tabs around =", '\n\nA\t=\t"1"\n\n', { A: "1" }],
        ["names upper-cased, values verbatim", 'name = "Mixed Case"\n', { NAME: "Mixed Case" }],
        ["an empty value as NAME = then newline", 'A =\nB = ""\nC = "x"\n', { A: "", B: "", C: "x" }],
        ["a bare token, cut at a blank", "A = bare-token_1.2/3\n", { A: "bare-token_1.2/3" }],
        ["a bare token with quotes in it, longer than the quoted match", 'A = "x"y\n', { A: '"x"y' }],
        ["a bare token that swallows a trailing ;", 'A = "x";\n', { A: '"x";' }],
        ["a quoted value spanning lines with syntax characters", 'A = "l1, [x] = #y\nl2"\nB = 1\n', { A: "l1, [x] = #y\nl2", B: "1" }],
        ['\\" as the only escape, other backslashes literal', 'A = "a\\b \\" c\\\\n"\n', { A: 'a\\b " c\\\\n' }],
        ["unescape left to right", 'A = "\\\\""\n', { A: '\\"' }],
        ['"]]>" on a later line of a quoted value', 'A = "x\n]]>"\n', { A: "x\n]]>" }],
        ["vectors with newlines around commas and brackets", 'V = [\n  a = 1 ,\n\n  b = "2"\n  ]\n', { V: { A: "1", B: "2" } }],
        [
            "a vector on one line",
            'AR = [ TYPE = "IP4", IP = "10.0.0.2", SIZE = "10" ]',
            { AR: { TYPE: "IP4", IP: "10.0.0.2", SIZE: "10" } },
        ],
        ["a repeated vector key keeps the first value", "V = [ K = 1, k = 2 ]\n", { V: { K: "1" } }],
        ["empty vectors", "E = [ ]\nF=[]\n", { E: {}, F: {} }],
        [
            "repeated attributes in document order",
            'AR = [ IP = "a" ]\nDNS = "x"\nAR = [ IP = "b" ]\nAR = "c"\n',
            { AR: [{ IP: "a" }, { IP: "b" }, "c"], DNS: "x" },
        ],
        ["a character no rule matches is skipped (flex's default rule)", "A = 1\n;B = 2\n", { A: "1", B: "2" }],
        ["only comments", "# nothing\n   # here\n", {}],
    ];
    for (const [what, text, expected] of accepted) {
        it(`accepts ${what}`, () => {
            assert.deepStrictEqual(parseTemplate(text), expected);
        });
    }

    const rejected: [string, string, RegExp, string | undefined][] = [
        ["a name without =", "A\n", /line 2, column 1: expected "=" after an attribute name, found the end of the template/, undefined],
        ["two names", "A B = 1\n", /line 1, column 3: expected "=" after an attribute name, found a name/, undefined],
        ["= without a name", '= "x"\n', /line 1, column 1: expected an attribute name, found "="/, undefined],
        ["a value at the end of the text", "A =", /expected a value of A, found the end of the template/, "A"],
        ["a vector inside a vector", 'A = [\n  B = [ C = "1" ]\n]\n', /line 2, column 7: expected a value of A\/B, found "\["/, "A"],
        ["an unclosed vector", 'A = [ B = "1"', /expected "," or "\]" in vector A, found the end of the template/, "A"],
        ["a trailing comma in a vector", 'A = [ B = "1", ]', /expected a key of vector A, found "\]"/, "A"],
        ["a vector key without value", "A = [ B ]", /expected "=" and a value after A\/B, found "\]"/, "A"],
        ["an empty vector value", "A = [ B =\n ]", /expected "=" and a value after A\/B, found "=" at the end of a line/, "A"],
        ["a comma at top level", 'A = "1", B = "2"\n', /line 1, column 8: expected an attribute name, found ","/, undefined],
        [
            "a comment without a final newline",
            "A = 1\n# c",
            /line 2, column 4: expected "=" after an attribute name, found the end/,
            undefined,
        ],
        [
            '"]]>" on the value\'s first line',
            'A = "1"\nB = "x]]>"\n',
            /line 2, column 5: expected a value of B without "\]\]>" on its line/,
            "B",
        ],
        ['"]]>" later on a vector\'s opening line', 'A = [ B = "]]>" ]\n', /line 1, column 5: expected a value of A without "\]\]>"/, "A"],
    ];
    for (const [what, text, message, attribute] of rejected) {
        it(`rejects ${what} with line and column`, () => {
            assertTemplateError(() => parseTemplate(text), message, attribute);
        });
    }

    it("never echoes a value in a syntax error", () => {
        for (const text of ['PASSWORD = "s3cret" "more"\n', 'PASSWORD = "a" s3cret more\n', "A = [ B = s3cret C = 1 ]"]) {
            assert.throws(
                () => parseTemplate(text),
                (err: unknown) =>
                    err instanceof TemplateError && !/s3cret|more/i.test(err.message) && !/s3cret|more/i.test(err.attribute ?? ""),
            );
        }
    });
});

// ---------------------------------------------------------------------------------------------
// Parsing the XML form
// ---------------------------------------------------------------------------------------------

describe("template: parseTemplate (XML) and templateFromXmlElement", () => {
    it("reads scalars, vectors and repeated names, keeping whitespace and numeric-looking text", () => {
        const xml =
            "  \n<TEMPLATE>\n  <dns><![CDATA[ 1.1.1.1 ]]></dns>\n  <AR>\n    <IP><![CDATA[10.0.0.2]]></IP>\n    <SIZE>010</SIZE>\n  </AR>\n" +
            "  <AR><IP>10.0.0.9</IP></AR>\n  <EMPTY><![CDATA[]]></EMPTY>\n  <V><K>1</K><k>2</k></V>\n</TEMPLATE>\n";
        assert.deepStrictEqual(parseTemplate(xml), {
            DNS: " 1.1.1.1 ",
            AR: [{ IP: "10.0.0.2", SIZE: "010" }, { IP: "10.0.0.9" }],
            EMPTY: "",
            V: { K: "2" }, // OpenNebula's XML reader replaces a repeated vector key: the last one wins
        });
    });

    it("reads the TEMPLATE of an info response", () => {
        const vnet = parseXml(
            "<VNET><ID>3</ID><TEMPLATE><DNS><![CDATA[1.1.1.1]]></DNS><AR><IP><![CDATA[10.0.0.2]]></IP></AR></TEMPLATE></VNET>",
        );
        const template = templateFromXmlElement(vnet.children.find((c) => c.name === "TEMPLATE")!);
        assert.deepStrictEqual(template, { DNS: "1.1.1.1", AR: { IP: "10.0.0.2" } });
    });

    it("turns malformed XML into a TemplateError", () => {
        assertTemplateError(() => parseTemplate("<TEMPLATE><A>1</TEMPLATE>"), /XML template: Malformed XML/);
    });
});

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

describe("template: templatesEqual and pickAttributes", () => {
    const base: Template = { A: "1", AR: [{ IP: "a", SIZE: "1" }, { IP: "b" }], V: { X: "1", Y: "2" } };

    it("ignores the order of names and vector keys", () => {
        assert.ok(templatesEqual(base, { V: { Y: "2", X: "1" }, AR: [{ SIZE: "1", IP: "a" }, { IP: "b" }], A: "1" }));
    });

    it("sees changed values, order of repeated values, missing names and keys, scalar vs vector", () => {
        const variants: Template[] = [
            { ...base, A: "2" },
            { ...base, AR: [{ IP: "b" }, { IP: "a", SIZE: "1" }] },
            { ...base, AR: { IP: "a", SIZE: "1" } },
            { AR: base.AR, V: base.V },
            { ...base, EXTRA: "" },
            { ...base, V: { X: "1" } },
            { ...base, V: { X: "1", Z: "2" } },
            { ...base, A: { A: "1" } },
        ];
        for (const variant of variants) {
            assert.equal(templatesEqual(base, variant), false, JSON.stringify(variant));
            assert.equal(templatesEqual(variant, base), false, JSON.stringify(variant));
        }
    });

    it("picks the named attributes in any case, skips missing ones, and copies", () => {
        const picked = pickAttributes(base, ["ar", "MISSING", "a"]);
        assert.deepStrictEqual(picked, { AR: base.AR, A: "1" });
        (picked.AR as { IP: string }[])[0].IP = "changed";
        assert.equal((base.AR as { IP: string }[])[0].IP, "a");
    });
});
